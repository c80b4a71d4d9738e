package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// tcpWriteTimer is tcp_write_timer: the retransmit timer's function. When
// a process owns the socket the work must wait; the kernel defers it to
// release_sock (TCP_WRITE_TIMER_DEFERRED), the model retries in 50 ms as
// kernels before 3.7 did.
func (k *Kernel) tcpWriteTimer(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpWriteTimer, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpWriteTimer, tracing.Arg{})
	if sk.SkLock.Owned {
		k.ModTimer(tcpSk(sk).retransmitTimer, k.clock.Now()+50*1e6)
		return
	}
	if sk.SkcState == sockets.TCP_CLOSE {
		return
	}
	switch tcpSk(sk).icskPending {
	case ICSK_TIME_REO_TIMEOUT:
		k.tcpRackReoTimeout(sk)
	case ICSK_TIME_LOSS_PROBE:
		k.tcpSendLossProbe(sk)
	default:
		k.tcpRetransmitTimer(sk)
	}
}

// tcpRetransmitTimer is tcp_retransmit_timer: the oldest unacknowledged
// segment goes again and the RTO doubles (a SYN's first
// tcp_syn_linear_timeouts retransmissions keep 1 s). tcp_write_timeout
// gives up first if the connection has tried long enough.
func (k *Kernel) tcpRetransmitTimer(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpRetransmitTimer, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpRetransmitTimer, tracing.Arg{})
	tp := tcpSk(sk)
	head := skb.SkbPeek(&tp.rtxQueue)
	if head == nil {
		if !skb.SkbQueueEmpty(&sk.SkWriteQueue) {
			k.tcpProbeTimer(sk)
		}
		return
	}
	if tp.SndWnd == 0 && !sk.SockFlagSet(sockets.SOCK_DEAD) &&
		sk.SkcState != sockets.TCP_SYN_SENT && sk.SkcState != sockets.TCP_SYN_RECV {
		// The peer shut its window on data in flight: the retransmissions
		// are window probes, and the connection is not timed out by
		// tcp_retries2 but by tcp_rtx_probe0_timed_out.
		since := cbMstampOf(head)
		if tp.retransStampSet {
			since = tp.retransStamp
		}
		if k.tcpRtxProbe0TimedOut(sk, (k.clock.Now()-since)/1e6) {
			k.tcpWriteErr(sk)
			return
		}
		k.tcpEnterLoss(sk)
		k.tcpRetransmitSkb(sk, head, 1)
		k.tcpRetransmitTimerBackoff(sk)
		return
	}
	k.mib.inc(LINUX_MIB_TCPTIMEOUTS)
	if k.tcpWriteTimeout(sk) {
		return
	}
	if tp.IcskRetransmits == 0 {
		// The first RTO of an episode ends a recovery that failed.
		switch {
		case tp.IcskCaState == sockets.TCP_CA_Recovery && tcpIsSack(tp):
			k.mib.inc(LINUX_MIB_TCPSACKRECOVERYFAIL)
		case tp.IcskCaState == sockets.TCP_CA_Recovery:
			k.mib.inc(LINUX_MIB_TCPRENORECOVERYFAIL)
		case tp.IcskCaState == sockets.TCP_CA_Loss:
			k.mib.inc(LINUX_MIB_TCPLOSSFAILURES)
		case (tp.IcskCaState == sockets.TCP_CA_Disorder || tp.sackedOut != 0) && tcpIsSack(tp):
			k.mib.inc(LINUX_MIB_TCPSACKFAILURES)
		case tp.IcskCaState == sockets.TCP_CA_Disorder || tp.sackedOut != 0:
			k.mib.inc(LINUX_MIB_TCPRENOFAILURES)
		}
	}
	k.tcpEnterLoss(sk)
	k.tcpUpdateRtoStats(sk)
	k.tcpRetransmitSkb(sk, head, 1)
	k.tcpRetransmitTimerBackoff(sk)
}

// tcpRetransmitTimerBackoff is the end of tcp_retransmit_timer
// (out_reset_timer): the RTO doubles, up to TCP_RTO_MAX (a SYN's first
// tcp_syn_linear_timeouts retransmissions keep theirs), and the timer is
// armed again.
func (k *Kernel) tcpRetransmitTimerBackoff(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if sk.SkcState != sockets.TCP_SYN_SENT || int(tp.TotalRto) > k.net.Sysctl.TcpSynLinearTimeouts {
		tp.IcskBackoff++
		tp.IcskRto = min(tp.IcskRto*2, TCP_RTO_MAX)
	}
	k.tcpResetXmitTimer(sk, k.tcpClampRtoToUserTimeout(sk))
}

// tcpRetransmitSkb is tcp_retransmit_skb: send a segment of the
// retransmit queue again and tag it SACKED_RETRANS (that copy counts in
// retrans_out until it is acknowledged, SACKed or found lost). It reports
// whether the segment went.
func (k *Kernel) tcpRetransmitSkb(sk *sockets.Sock, s *skb.SkBuff, segs int) bool {
	tp := tcpSk(sk)
	ok := k.tcpRetransmitSkbOnce(sk, s, segs)
	if ok {
		if s.Cb[cbSacked]&TCPCB_SACKED_RETRANS == 0 {
			tp.RetransOut++
		}
		s.Cb[cbSacked] |= TCPCB_RETRANS
	}
	if !tp.retransStampSet {
		// The episode is timed from its first (attempted)
		// retransmission.
		tp.retransStamp, tp.retransStampSet = cbMstampOf(s), true
	}
	tp.undoRetrans = max(tp.undoRetrans, 0) + 1 // retransmissions a D-SACK may prove needless
	return ok
}

// tcpRetransmitSkbOnce is __tcp_retransmit_skb: the transmission itself (a
// clone, or a copy if a clone is still out), tagged EVER_RETRANS and
// counted (RetransSegs, total_retrans), of at most segs segments. It goes
// only as far as the peer's window reaches (a segment wholly beyond a
// shrunk window waits, unless it is the first unacknowledged one, which
// goes as a probe); a longer skb is cut (tcp_fragment), a shorter one may
// take small segments after it along (tcp_retrans_try_collapse). The loss
// probe uses it directly.
func (k *Kernel) tcpRetransmitSkbOnce(sk *sockets.Sock, s *skb.SkBuff, segs int) bool {
	tp := tcpSk(sk)
	k.tr.Point(fnTcpRetransmitSkb, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())))
	if k.tcpSkbStillInHostQueue(sk, s) {
		return false // -EBUSY
	}
	curMss := k.tcpCurrentMss(sk)
	availWnd := int64(int32(tp.SndUna + tp.SndWnd - cbSeqOf(s))) // tcp_wnd_end - seq
	if availWnd <= 0 {
		if cbSeqOf(s) != tp.SndUna {
			return false // -EAGAIN: beyond the shrunk window
		}
		availWnd = int64(curMss)
	}
	n := int64(curMss) * int64(max(segs, 1))
	if n > availWnd {
		if n = availWnd / int64(curMss) * int64(curMss); n == 0 {
			n = availWnd
		}
	}
	// Without GSO the model sends one segment per skb, so an skb longer
	// than the MSS (it shrank since s was sent) is also cut at the MSS:
	// on the wire the same segments as the kernel's GSO would make.
	n = min(n, int64(curMss))
	if int64(s.Len) > n {
		if k.tcpFragment(sk, TCP_FRAG_IN_RTX_QUEUE, s, uint32(n)) != nil {
			return false // -ENOMEM: later
		}
	} else if space := min(availWnd, int64(curMss)); int64(s.Len) < space {
		k.tcpRetransTryCollapse(sk, s, space)
	}
	if k.tcpTransmitSkb(sk, s, true) != nil {
		return false
	}
	s.Cb[cbSacked] |= TCPCB_EVER_RETRANS
	k.mib.inc(TCP_MIB_RETRANSSEGS)
	tp.TotalRetrans++
	tp.BytesRetrans += uint64(s.Len)
	return true
}

// tcpUpdateRtoStats is tcp_update_rto_stats: one more RTO expiry
// (icsk_retransmits, total_rto); the first of a run starts an RTO
// recovery, timed until an ACK ends it.
func (k *Kernel) tcpUpdateRtoStats(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if tp.IcskRetransmits == 0 {
		tp.TotalRtoRecoveries++
		tp.rtoStamp, tp.inRto = k.clock.Now(), true
	}
	tp.IcskRetransmits++
	tp.TotalRto++
}

// tcpUpdateRtoTime is tcp_update_rto_time: an RTO recovery is over; its
// length joins total_rto_time.
func (k *Kernel) tcpUpdateRtoTime(tp *TcpSock) {
	if tp.inRto {
		// tcp_time_stamp_ms: the difference of two whole-millisecond stamps.
		tp.TotalRtoTime += uint32(k.clock.Now()/1e6) - uint32(tp.rtoStamp/1e6)
		tp.inRto = false
	}
}

// tcpSendActiveReset is tcp_send_active_reset: abort the connection with a
// RST carrying a sequence number the peer accepts (tcp_acceptable_seq).
// It is sent once and never retransmitted.
func (k *Kernel) tcpSendActiveReset(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpSendActiveReset, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpSendActiveReset, tracing.Arg{})
	k.tcpSendControl(sk, tcpAcceptableSeq(tcpSk(sk)), header.TCP_FLAG_RST|header.TCP_FLAG_ACK)
}

// tcpAcceptableSeq is tcp_acceptable_seq: the sequence number for a
// segment without data: snd_nxt, unless that is beyond the peer's window
// (by at least one unit of our window scale), when it is the window's
// end, where the peer's check will still take it.
func tcpAcceptableSeq(tp *TcpSock) uint32 {
	end := tp.SndUna + tp.SndWnd // tcp_wnd_end
	if !before(end, tp.SndNxt) || (tp.RxOpt.WscaleOk && tp.SndNxt-end < 1<<tp.RxOpt.RcvWscale) {
		return tp.SndNxt
	}
	return end
}

// tcpProbeTimer is tcp_probe_timer: data waits with nothing in flight,
// because the peer's window is shut or because Nagle or a cork holds it.
// RFC 1122 4.2.2.17 keeps the connection open as long as the peer answers
// the probes (any ACK resets icsk_probes_out), but after tcp_retries2
// unanswered probes (an orphan's tcp_orphan_retries), or TCP_USER_TIMEOUT
// since the first, it gives up (tcp_write_err). Otherwise
// tcp_send_probe0 probes again.
func (k *Kernel) tcpProbeTimer(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Point(fnTcpProbeTimer, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(tp.IcskProbesOut)))
	if tp.PacketsOut != 0 || skb.SkbQueueEmpty(&sk.SkWriteQueue) {
		tp.IcskProbesOut, tp.probesTstampSet = 0, false
		return
	}
	abort := false
	if !tp.probesTstampSet {
		tp.probesTstamp, tp.probesTstampSet = k.clock.Now(), true
	} else if ut := int64(tp.IcskUserTimeout) * 1e6; ut != 0 && k.clock.Now()-tp.probesTstamp >= ut {
		abort = true
	}
	maxProbes := k.net.Sysctl.TcpRetries2
	if !abort && sk.SockFlagSet(sockets.SOCK_DEAD) {
		alive := min(tp.IcskRto<<tp.IcskBackoff, TCP_RTO_MAX) < TCP_RTO_MAX // inet_csk_rto_backoff
		maxProbes = k.tcpOrphanRetries(sk, alive)
		abort = !alive && int(tp.IcskBackoff) >= maxProbes
	}
	if abort || int(tp.IcskProbesOut) >= maxProbes {
		k.tcpWriteErr(sk)
		return
	}
	k.tcpSendProbe0(sk)
}

// tcpSendProbe0 is tcp_send_probe0: tcp_write_wakeup sends what the window
// allows of the first waiting segment, with PSH; if the window is shut, a
// segment with an old sequence number (snd_una - 1, tcp_xmit_probe_skb)
// makes the peer answer with its current window (TCPWinProbe). The probe
// interval backs off like the RTO, at most tcp_retries2 doublings.
func (k *Kernel) tcpSendProbe0(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Point(fnTcpSendProbe0, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.SndWnd)))
	if !k.tcpWriteWakeup(sk) {
		k.tcpSendControl(sk, tp.SndUna-1, header.TCP_FLAG_ACK)
		k.mib.inc(LINUX_MIB_TCPWINPROBE)
	}
	if tp.PacketsOut != 0 || skb.SkbQueueEmpty(&sk.SkWriteQueue) {
		// Data went out: its retransmit timer runs now.
		tp.IcskProbesOut, tp.IcskBackoff, tp.probesTstampSet = 0, 0, false
		return
	}
	tp.IcskProbesOut++
	if int(tp.IcskBackoff) < k.net.Sysctl.TcpRetries2 {
		tp.IcskBackoff++
	}
	k.tcpResetXmitTimer(sk, k.tcpClampProbe0ToUserTimeout(tp, tcpProbe0When(tp)))
}

// tcpClampProbe0ToUserTimeout is tcp_clamp_probe0_to_user_timeout: with
// TCP_USER_TIMEOUT, the next probe is due no later than the moment the
// timeout runs out (counted from the first probe), so that the connection
// is given up on time; at least TCP_TIMEOUT_MIN from now.
func (k *Kernel) tcpClampProbe0ToUserTimeout(tp *TcpSock, when int64) int64 {
	ut := int64(tp.IcskUserTimeout) * 1e6
	if ut == 0 || !tp.probesTstampSet {
		return when
	}
	elapsed := max(k.clock.Now()-tp.probesTstamp, 0)
	return min(max(ut-elapsed, TCP_TIMEOUT_MIN), when)
}

// tcpProbe0When is tcp_probe0_when: the window-probe interval,
// tcp_probe0_base (the RTO, at least TCP_RTO_MIN) doubled per backoff, at
// most TCP_RTO_MAX.
func tcpProbe0When(tp *TcpSock) int64 {
	base := max(tp.IcskRto, TCP_RTO_MIN)
	return min(base<<min(tp.IcskBackoff, 10), TCP_RTO_MAX)
}

// tcpCheckProbeTimer is tcp_check_probe_timer: with nothing in flight and
// no timer armed, the window-probe timer starts, one probe0 base from now.
func (k *Kernel) tcpCheckProbeTimer(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if tp.PacketsOut == 0 && (tp.retransmitTimer == nil || !tp.retransmitTimer.Pending()) {
		k.tcpResetXmitTimer(sk, max(tp.IcskRto, TCP_RTO_MIN)) // ICSK_TIME_PROBE0, tcp_probe0_base
	}
}

// tcpAckProbe is tcp_ack_probe: an ACK came with nothing in flight and
// data waiting. If the window now takes the first waiting segment, the
// probe backoff is over and the timer stops (tcp_data_snd_check sends);
// otherwise the probe timer starts again from now, backed off as it was.
func (k *Kernel) tcpAckProbe(sk *sockets.Sock, head *skb.SkBuff) {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpAckProbe, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpAckProbe, tracing.Arg{})
	if !after(cbEndSeqOf(head), tp.SndUna+tp.SndWnd) {
		tp.IcskBackoff, tp.probesTstampSet = 0, false
		if tp.retransmitTimer != nil && tp.retransmitTimer.Pending() {
			k.DelTimer(tp.retransmitTimer)
		}
		return
	}
	k.tcpResetXmitTimer(sk, k.tcpClampProbe0ToUserTimeout(tp, tcpProbe0When(tp)))
}

// tcpWriteWakeup is tcp_write_wakeup: if the peer's window has room for
// the start of the first waiting segment, send that much of it (at most
// an MSS) with PSH, whatever Nagle or a cork say; report whether it did.
// A segment cut to the window is split first, with PSH already on it, so
// the rest keeps PSH (and a FIN that does not fit waits in it); what goes
// counts as pushed (pushed_seq), as tcp_push's forced push sees it.
func (k *Kernel) tcpWriteWakeup(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	s := skb.SkbPeek(&sk.SkWriteQueue)
	wndEnd := tp.SndUna + tp.SndWnd
	if s == nil || !before(cbSeqOf(s), wndEnd) {
		return false
	}
	mss := k.tcpCurrentMss(sk)
	size := wndEnd - cbSeqOf(s)
	if before(tp.PushedSeq, cbEndSeqOf(s)) {
		tp.PushedSeq = cbEndSeqOf(s)
	}
	if size < cbEndSeqOf(s)-cbSeqOf(s) || s.Len > mss {
		setCbFlags(s, cbFlagsOf(s)|header.TCP_FLAG_PSH)
		if k.tcpFragment(sk, TCP_FRAG_IN_WRITE_QUEUE, s, min(size, mss)) != nil {
			return false
		}
	}
	setCbFlags(s, cbFlagsOf(s)|header.TCP_FLAG_PSH)
	return k.tcpSendHead(sk, s)
}

// tcpSendNewSegment sends what the peer's window allows of the first
// waiting segment (at most an MSS) regardless of cwnd, Nagle or a cork:
// the loss probe's way of sending new data.
func (k *Kernel) tcpSendNewSegment(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	s := skb.SkbPeek(&sk.SkWriteQueue)
	wndEnd := tp.SndUna + tp.SndWnd
	if s == nil || !before(cbSeqOf(s), wndEnd) {
		return false
	}
	size := min(wndEnd-cbSeqOf(s), k.tcpCurrentMss(sk))
	if size < cbEndSeqOf(s)-cbSeqOf(s) && size < s.Len {
		if k.tcpFragment(sk, TCP_FRAG_IN_WRITE_QUEUE, s, size) != nil {
			return false
		}
	}
	return k.tcpSendHead(sk, s)
}

// tcpSendHead sends s, the first waiting segment, and moves it to the
// retransmit queue (tcp_transmit_skb, then tcp_event_new_data_sent).
func (k *Kernel) tcpSendHead(sk *sockets.Sock, s *skb.SkBuff) bool {
	tp := tcpSk(sk)
	_ = skb.SkbUnlinkLocked(s, &sk.SkWriteQueue)
	_ = skb.SkbQueueTailLocked(&tp.rtxQueue, s)
	if k.tcpTransmitSkb(sk, s, true) != nil {
		return false
	}
	k.tcpEventNewDataSent(sk, s)
	return true
}
