package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// Fast retransmit and recovery, as Linux does them for a connection
// without SACK information (its "Reno" path of tcp_fastretrans_alert:
// duplicate ACKs counted in sacked_out by tcp_add_reno_sack). The SACK
// scoreboard, RACK and PRR are not modelled: the model counts duplicate
// ACKs even when the peer sends SACK blocks, and inflates the window as
// RFC 5681 does instead of PRR's proportional pacing.

// tcpIsDupack says whether an ACK that acknowledges nothing new is a
// duplicate ACK: none of Linux's FLAG_NOT_DUP reasons hold (it carries no
// data, no SYN or FIN, and tcp_ack_update_window did not take its window),
// and data is outstanding.
func tcpIsDupack(tp *TcpSock, seg *tcpSegmentIn, winUpdate bool) bool {
	return seg.ack == tp.SndUna && tp.PacketsOut > 0 && len(seg.th) == seg.th.DataOffset() &&
		seg.flag&(header.TCP_FLAG_SYN|header.TCP_FLAG_FIN) == 0 && !winUpdate
}

// tcpFastretransAlert is tcp_fastretrans_alert on a duplicate ACK: count
// it (tcp_add_reno_sack); at tcp_reordering (3) of them, the segment at
// snd_una is taken for lost: retransmit it at once, halve ssthresh and
// enter Recovery until everything sent so far (high_seq) is acknowledged.
// In Recovery each further duplicate ACK lets one more segment out.
func (k *Kernel) tcpFastretransAlert(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpFastretransAlert, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(tp.sackedOut+1)))
	defer k.tr.Exit(fnTcpFastretransAlert, tracing.Int(int64(tp.IcskCaState)))
	tp.sackedOut++
	switch tp.IcskCaState {
	case sockets.TCP_CA_Open, sockets.TCP_CA_Disorder:
		if tp.sackedOut < max(tp.Reordering, 1) {
			tp.IcskCaState = sockets.TCP_CA_Disorder
			return
		}
		head := skb.SkbPeek(&tp.rtxQueue)
		if head == nil {
			return
		}
		// tcp_enter_recovery.
		if tp.RxOpt.SackOk {
			k.mib.inc(LINUX_MIB_TCPSACKRECOVERY)
		} else {
			k.mib.inc(LINUX_MIB_TCPRENORECOVERY)
		}
		tp.HighSeq = tp.SndNxt
		tp.SndSsthresh = tp.tcpSsthresh() // the algorithm's: 1/2 for Reno, 717/1024 for CUBIC
		tp.IcskCaState = sockets.TCP_CA_Recovery
		k.tcpRetransmitSkb(sk, head)
		k.mib.inc(LINUX_MIB_TCPFASTRETRANS)
		// RFC 5681 3.2: cwnd = ssthresh + the segments that left the
		// network (the duplicate ACKs).
		tp.SndCwnd = tp.SndSsthresh + tp.sackedOut
		k.tcpResetXmitTimer(sk, tp.IcskRto)
	case sockets.TCP_CA_Recovery:
		tp.SndCwnd++ // another segment has left the network
	}
}

// tcpRecoveryAck handles an ACK of new data during Recovery: a partial
// ACK (below high_seq) means the next segment was lost too, and it is
// retransmitted at once (NewReno); a full ACK ends Recovery with cwnd at
// ssthresh (tcp_end_cwnd_reduction), except that a connection without
// SACK stays in Recovery until an ACK goes beyond high_seq. Outside
// Recovery it forgets the duplicate ACKs.
func (k *Kernel) tcpRecoveryAck(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if tp.IcskCaState == sockets.TCP_CA_Disorder {
		tp.IcskCaState = sockets.TCP_CA_Open
	}
	if tp.IcskCaState != sockets.TCP_CA_Recovery {
		tp.sackedOut = 0
		return
	}
	if before(tp.SndUna, tp.HighSeq) {
		if head := skb.SkbPeek(&tp.rtxQueue); head != nil {
			k.tcpRetransmitSkb(sk, head)
		}
		tp.sackedOut = 0
		return
	}
	tp.sackedOut = 0 // tcp_reset_reno_sack
	if !tp.RxOpt.SackOk && tp.SndUna == tp.HighSeq {
		// tcp_is_non_sack_preventing_reopen: without SACK, Recovery
		// is held until something above high_seq is acknowledged, so
		// that duplicate ACKs of the old window cannot start a second,
		// false fast retransmit (RFC 6582).
		return
	}
	tp.SndCwnd = max(tp.SndSsthresh, 2)
	tp.sndCwndCnt = 0
	tp.IcskCaState = sockets.TCP_CA_Open
}

// tcpSlowStartAfterIdleCheck is tcp_slow_start_after_idle_check: with
// tcp_slow_start_after_idle on and nothing in flight, a connection idle
// for longer than its RTO has a congestion window that no longer says
// anything about the path (RFC 2861), so it is restarted before new data
// goes out.
func (k *Kernel) tcpSlowStartAfterIdleCheck(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if k.net.Sysctl.TcpSlowStartAfterIdle == 0 || tp.PacketsOut > 0 {
		return
	}
	// tcp_jiffies32 - lsndtime, against icsk_rto, in jiffies.
	delta := (k.clock.Now() - tp.Lsndtime) / NsecPerJiffy
	if rto := tp.IcskRto / NsecPerJiffy; delta > rto {
		k.tcpCwndRestart(sk, delta)
	}
}

// tcpCwndRestart is tcp_cwnd_restart: ssthresh keeps what the window
// reached (tcp_current_ssthresh), and cwnd halves once per RTO of the idle
// period, but never below the initial window (or what it was, if less).
func (k *Kernel) tcpCwndRestart(sk *sockets.Sock, delta int64) {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpCwndRestart, tracing.Sock(uint64(sk.Addr())), tracing.Int(delta))
	k.tcpCaEvent(tp, CA_EVENT_CWND_RESTART)
	if tp.IcskCaState != sockets.TCP_CA_Recovery && tp.IcskCaState != sockets.TCP_CA_CWR {
		tp.SndSsthresh = max(tp.SndSsthresh, tp.SndCwnd>>1+tp.SndCwnd>>2)
	}
	restart := min(uint32(TCP_INIT_CWND), tp.SndCwnd)
	cwnd := tp.SndCwnd
	rto := max(tp.IcskRto/NsecPerJiffy, 1)
	for delta -= rto; delta > 0 && cwnd > restart; delta -= rto {
		cwnd >>= 1
	}
	tp.SndCwnd = max(cwnd, restart)
	tp.sndCwndCnt = 0
	k.tr.Exit(fnTcpCwndRestart, tracing.Int(int64(tp.SndCwnd)))
}

// TCP_TIMEOUT_MIN is the shortest timer the kernel arms: two jiffies.
const TCP_TIMEOUT_MIN = 2 * NsecPerJiffy

// tcpScheduleLossProbe is tcp_schedule_loss_probe: with tcp_early_retrans
// 3 or 4, SACK on, and the connection in the Open state, arm the loss
// probe timer (PTO) at two smoothed RTTs (plus the minimum RTO if a single
// segment is out, as its ACK may be delayed), or the RTO if that comes
// first. It reports whether it did; the caller arms the RTO otherwise.
func (k *Kernel) tcpScheduleLossProbe(sk *sockets.Sock, advancingRto bool) bool {
	tp := tcpSk(sk)
	er := k.net.Sysctl.TcpEarlyRetrans
	if (er != 3 && er != 4) || tp.PacketsOut == 0 || !tp.RxOpt.SackOk ||
		(tp.IcskCaState != sockets.TCP_CA_Open && tp.IcskCaState != sockets.TCP_CA_CWR) ||
		sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
		return false
	}
	var timeout int64
	if tp.Srtt != 0 {
		timeout = int64(tp.Srtt>>2) * 1000 // srtt_us is kept << 3: this is 2 * srtt
		if tp.PacketsOut == 1 {
			timeout += TCP_RTO_MIN
		} else {
			timeout += TCP_TIMEOUT_MIN
		}
	} else {
		timeout = TCP_TIMEOUT_INIT
	}
	// If the RTO would fire earlier, the probe goes then.
	rtoDelta := tp.IcskRto
	if !advancingRto {
		if head := skb.SkbPeek(&tp.rtxQueue); head != nil {
			rtoDelta = cbMstampOf(head) + tp.IcskRto - k.clock.Now()
		}
	}
	if rtoDelta > 0 {
		timeout = min(timeout, rtoDelta)
	}
	k.tr.Point(fnTcpScheduleLossProbe, tracing.Sock(uint64(sk.Addr())), tracing.Int(timeout))
	k.tcpResetXmitTimer(sk, timeout)
	tp.lossProbe = true
	return true
}

// tcpSendLossProbe is tcp_send_loss_probe: the probe timer fired with
// segments unacknowledged. A new segment goes if there is one the window
// allows, else the last segment sent goes again; either way an ACK (with
// SACK blocks) will show which of the tail was lost, and fast recovery
// can repair it instead of the RTO. One probe per episode (tlp_high_seq);
// then the RTO is armed again.
func (k *Kernel) tcpSendLossProbe(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpSendLossProbe, tracing.Sock(uint64(sk.Addr())))
	sent := false
	if tp.TlpHighSeq == 0 { // at most one probe outstanding
		if s := skb.SkbPeek(&sk.SkWriteQueue); s != nil &&
			!after(cbSeqOf(s)+min(s.Len, max(tp.MssCache, 1)), tp.SndUna+tp.SndWnd) && k.tcpSendNewSegment(sk, false) {
			sent = true // tcp_snd_wnd_test passed: new data is the probe
		} else if tail := skb.SkbPeekTail(&tp.rtxQueue); tail != nil {
			k.tcpRetransmitSkb(sk, tail)
			sent = true
		}
	}
	if sent {
		k.mib.inc(LINUX_MIB_TCPLOSSPROBES)
		tp.TlpHighSeq = tp.SndNxt
	}
	k.tcpRearmRto(sk)
	k.tr.Exit(fnTcpSendLossProbe, tracing.Bool(sent))
}

// tcpRearmRto is tcp_rearm_rto: the retransmit timer for what the RTO has
// left, counted from when the oldest unacknowledged segment was sent.
func (k *Kernel) tcpRearmRto(sk *sockets.Sock) {
	tp := tcpSk(sk)
	head := skb.SkbPeek(&tp.rtxQueue)
	if head == nil {
		if tp.retransmitTimer != nil {
			k.DelTimer(tp.retransmitTimer)
		}
		return
	}
	left := cbMstampOf(head) + tp.IcskRto - k.clock.Now()
	k.tcpResetXmitTimer(sk, max(left, 1))
}
