package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

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
	// tcp_jiffies32 - lsndtime, against icsk_rto, in jiffies: the
	// difference of two whole-jiffy stamps, not of the two times.
	delta := int64(int32(stampJiffies32(k.clock.Now()) - stampJiffies32(tp.Lsndtime)))
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
	tp.sndCwndStamp = k.clock.Now()
	tp.sndCwndUsed = 0 // snd_cwnd_cnt carries on
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
			timeout += tp.IcskRtoMin // tcp_rto_min_us
		} else {
			timeout += TCP_TIMEOUT_MIN
		}
		timeout = roundUpToJiffy(timeout)
	} else {
		timeout = TCP_TIMEOUT_INIT
	}
	// If the RTO would fire earlier, the probe goes then.
	rtoDelta := tp.IcskRto
	if !advancingRto {
		if head := skb.SkbPeek(&tp.rtxQueue); head != nil {
			rtoDelta = k.tcpRtoDelta(tp, head)
		}
	}
	if rtoDelta > 0 {
		timeout = min(timeout, roundUpToJiffy(rtoDelta))
	}
	k.tr.Point(fnTcpScheduleLossProbe, tracing.Sock(uint64(sk.Addr())), tracing.Int(timeout))
	k.inetCskResetXmitTimer(sk, ICSK_TIME_LOSS_PROBE, timeout)
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
	mss := k.tcpCurrentMss(sk) // what the window test counts, as the send would
	sent := false
	if tp.TlpHighSeq == 0 { // at most one probe outstanding
		tp.tlpRetrans = false
		if s := skb.SkbPeek(&sk.SkWriteQueue); s != nil &&
			!after(cbSeqOf(s)+min(s.Len, mss), tp.SndUna+tp.SndWnd) {
			// tcp_snd_wnd_test passed: new data is the probe, or
			// (the send failing) there is none this time.
			sent = k.tcpSendNewSegment(sk)
		} else if tail := skb.SkbPeekTail(&tp.rtxQueue); tail != nil && k.tcpRetransmitSkbOnce(sk, tail, 1) {
			sent = true // __tcp_retransmit_skb: not counted in retrans_out
			tp.tlpRetrans = true
		}
	}
	if sent {
		k.mib.inc(LINUX_MIB_TCPLOSSPROBES)
		tp.TlpHighSeq = tp.SndNxt
		tp.icskPending = 0 // so that tcp_rearm_rto runs a full RTO from now
	}
	k.tcpRearmRto(sk)
	k.tr.Exit(fnTcpSendLossProbe, tracing.Bool(sent))
}

// tcpRearmRto is tcp_rearm_rto: the retransmit timer again, a full RTO
// from now; if the timer was running as the loss probe or the reordering
// timer, only what the RTO has left, counted from when the oldest
// unacknowledged segment was sent. Nothing outstanding: no timer.
func (k *Kernel) tcpRearmRto(sk *sockets.Sock) {
	tp := tcpSk(sk)
	head := skb.SkbPeek(&tp.rtxQueue)
	if tp.PacketsOut == 0 || head == nil {
		if tp.retransmitTimer != nil {
			k.DelTimer(tp.retransmitTimer)
		}
		tp.icskPending = 0
		return
	}
	rto := tp.IcskRto
	if tp.icskPending == ICSK_TIME_REO_TIMEOUT || tp.icskPending == ICSK_TIME_LOSS_PROBE {
		rto = roundUpToJiffy(max(k.tcpRtoDelta(tp, head), 1)) // in whole jiffies
	}
	k.tcpResetXmitTimer(sk, rto)
}

// tcpRtoDelta is tcp_rto_delta_us: how far in the future the RTO of the
// head of the retransmit queue falls, in whole microseconds (as ns).
func (k *Kernel) tcpRtoDelta(tp *TcpSock, head *skb.SkBuff) int64 {
	return (cbMstampOf(head) + tp.IcskRto - k.clock.Now()) / 1000 * 1000
}

// tcpSetXmitTimer is tcp_set_xmit_timer: after an ACK, the loss probe if
// it may run, else the RTO.
func (k *Kernel) tcpSetXmitTimer(sk *sockets.Sock) {
	if !k.tcpScheduleLossProbe(sk, true) {
		k.tcpRearmRto(sk)
	}
}

// tcpProcessTlpAck is tcp_process_tlp_ack: the ACK that answers a loss
// probe. If the probe was new data, or a D-SACK or a pure duplicate ACK
// shows the original and the probe both arrived, nothing was lost. If the
// probe retransmitted the tail and the ACK goes beyond it, the tail was
// lost and repaired: the window is reduced once (CWR,
// TCPLossProbeRecovery).
func (k *Kernel) tcpProcessTlpAck(sk *sockets.Sock, ack uint32, flag int) {
	tp := tcpSk(sk)
	if before(ack, tp.TlpHighSeq) {
		return
	}
	k.tr.Point(fnTcpProcessTlpAck, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(ack)))
	switch {
	case !tp.tlpRetrans:
		tp.TlpHighSeq = 0
	case flag&FLAG_DSACK_TLP != 0:
		tp.TlpHighSeq = 0
	case after(ack, tp.TlpHighSeq):
		k.tcpInitCwndReduction(sk)
		k.tcpSetCaState(tp, sockets.TCP_CA_CWR)
		k.tcpEndCwndReduction(sk)
		k.tcpTryKeepOpen(sk)
		k.mib.inc(LINUX_MIB_TCPLOSSPROBERECOVERY)
	case flag&(FLAG_SND_UNA_ADVANCED|FLAG_NOT_DUP|FLAG_DATA_SACKED) == 0:
		tp.TlpHighSeq = 0
	}
}
