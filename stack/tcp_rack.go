package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// RACK (RFC 8985, net/ipv4/tcp_recovery.c), Linux 6.x's default loss
// detection: a segment is lost if a segment sent after it has been
// delivered (ACKed or SACKed) and more than an RTT plus a reordering
// window has passed since it was sent. It works in time, not in counts of
// duplicate ACKs, so it also catches lost retransmissions.

// tcpRack is struct tcp_rack.
type tcpRack struct {
	mstamp        int64  // send time of the most recently sent delivered segment
	rttUs         uint32 // the RTT of that delivery
	endSeq        uint32 // its end_seq
	txNum         uint64 // its transmission number, to order segments sent at one instant
	advanced      bool   // mstamp moved since the last detection
	reoWndSteps   uint8  // the reordering window in steps of min_rtt/4
	dsackSeen     bool   // a D-SACK asks for a wider window
	reoWndPersist uint8  // recoveries left before the window shrinks back
	lastDelivered uint32 // delivered when the window last grew
}

// TCP_RACK_RECOVERY_THRESH is how many recoveries a widened reordering
// window lasts.
const TCP_RACK_RECOVERY_THRESH = 16

// tcpRackEnabled is tcp_is_rack: net.ipv4.tcp_recovery has
// TCP_RACK_LOSS_DETECTION (1, the default).
func (k *Kernel) tcpRackEnabled() bool { return k.net.Sysctl.TcpRecovery&1 != 0 }

// tcpSkbSentAfter is tcp_skb_sent_after: was (t1, n1) sent after
// (t2, n2)? The kernel orders segments sent at one time by sequence
// number; the model by transmission number (see tcp_cb.go), which is the
// order they left in.
func tcpSkbSentAfter(t1, t2 int64, n1, n2 uint64) bool {
	return t1 > t2 || (t1 == t2 && n1 > n2)
}

// tcpMinRttUs is tcp_min_rtt, in µs (~0 when nothing was measured).
func tcpMinRttUs(tp *TcpSock) uint32 { return tp.rttMin }

// tcpRackAdvance is tcp_rack_advance: a segment was delivered; remember
// the latest send time among delivered segments and the RTT it implies.
// A retransmitted segment delivered faster than min_rtt is ambiguous
// (the original may have arrived) and does not count.
func (k *Kernel) tcpRackAdvance(tp *TcpSock, sacked uint8, endSeq uint32, xmit int64, txNum uint64) {
	rttUs := uint32(max((k.clock.Now()-xmit)/1000, 0))
	if rttUs < tcpMinRttUs(tp) && sacked&TCPCB_RETRANS != 0 {
		return
	}
	tp.rack.advanced = true
	tp.rack.rttUs = rttUs
	if tcpSkbSentAfter(xmit, tp.rack.mstamp, txNum, tp.rack.txNum) {
		tp.rack.mstamp = xmit
		tp.rack.endSeq = endSeq
		tp.rack.txNum = txNum
	}
}

// tcpRackReoWnd is tcp_rack_reo_wnd: the reordering window, in µs. Until
// reordering has been seen it is 0 in recovery, or once tcp_reordering
// segments are SACKed (the duplicate-ACK threshold's answer); otherwise a
// quarter of min_rtt per step, at most srtt.
func (k *Kernel) tcpRackReoWnd(sk *sockets.Sock) uint32 {
	tp := tcpSk(sk)
	if tp.reordSeen == 0 {
		if tp.IcskCaState >= sockets.TCP_CA_Recovery {
			return 0
		}
		if tp.sackedOut >= tp.Reordering && k.net.Sysctl.TcpRecovery&TCP_RACK_NO_DUPTHRESH == 0 {
			return 0
		}
	}
	minRtt := tcpMinRttUs(tp)
	if minRtt == ^uint32(0) {
		minRtt = 0
	}
	return min((minRtt>>2)*uint32(max(tp.rack.reoWndSteps, 1)), tp.Srtt>>3)
}

// TCP_RACK_NO_DUPTHRESH is tcp_recovery's bit 4: no duplicate-ACK
// threshold shortcut.
const TCP_RACK_NO_DUPTHRESH = 0x4

// tcpRackSkbTimeout is tcp_rack_skb_timeout: how long, in µs, before s
// counts as lost (<= 0: it does now).
func (k *Kernel) tcpRackSkbTimeout(tp *TcpSock, s *skb.SkBuff, reoWnd uint32) int64 {
	return int64(tp.rack.rttUs) + int64(reoWnd) - (k.clock.Now()-cbMstampOf(s))/1000
}

// tcpRackDetectLoss is tcp_rack_detect_loss: every segment sent before
// the latest delivered one and not delivered within RTT + reordering
// window is lost; for the others it returns the longest wait (µs), for
// the reordering timer. The kernel walks a list in send-time order; the
// model walks the retransmit queue and compares send times.
func (k *Kernel) tcpRackDetectLoss(sk *sockets.Sock) (reoTimeout int64) {
	tp := tcpSk(sk)
	reoWnd := k.tcpRackReoWnd(sk)
	k.tr.Enter2(fnTcpRackDetectLoss, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(reoWnd)))
	marked := 0
	for s := skb.SkbPeek(&tp.rtxQueue); s != nil; s = skb.SkbPeekNext(s, &tp.rtxQueue) {
		sacked := s.Cb[cbSacked]
		if sacked&TCPCB_SACKED_ACKED != 0 {
			continue
		}
		if sacked&TCPCB_LOST != 0 && sacked&TCPCB_SACKED_RETRANS == 0 {
			continue // lost, waiting for its retransmission
		}
		if !tcpSkbSentAfter(tp.rack.mstamp, cbMstampOf(s), tp.rack.txNum, cbTxNumOf(s)) {
			continue
		}
		if remaining := k.tcpRackSkbTimeout(tp, s, reoWnd); remaining <= 0 {
			k.tcpMarkSkbLost(sk, s)
			marked++
		} else {
			reoTimeout = max(reoTimeout, remaining)
		}
	}
	k.tr.Exit(fnTcpRackDetectLoss, tracing.Int(int64(marked)))
	return reoTimeout
}

// tcpRackMarkLost is tcp_rack_mark_lost: run detection if a delivery
// moved RACK on; if some segments must still wait, arm the reordering
// timer (ICSK_TIME_REO_TIMEOUT) for the longest wait. It reports whether
// it armed the timer.
func (k *Kernel) tcpRackMarkLost(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	if !tp.rack.advanced {
		return false
	}
	tp.rack.advanced = false
	timeout := k.tcpRackDetectLoss(sk)
	if timeout == 0 {
		return false
	}
	// usecs_to_jiffies(timeout + TCP_TIMEOUT_MIN_US), rounded up.
	j := (timeout*1000 + TCP_TIMEOUT_MIN + NsecPerJiffy - 1) / NsecPerJiffy
	k.inetCskResetXmitTimer(sk, ICSK_TIME_REO_TIMEOUT, j*NsecPerJiffy)
	return true
}

// tcpRackReoTimeout is tcp_rack_reo_timeout: the reordering window has
// passed. Mark what is now lost; if anything was, enter Recovery (a PRR
// step of one) and retransmit.
func (k *Kernel) tcpRackReoTimeout(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpRackReoTimeout, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpRackReoTimeout, tracing.Arg{})
	lost := tp.lost
	prior := tcpPacketsInFlight(tp)
	k.tcpRackDetectLoss(sk)
	if prior != tcpPacketsInFlight(tp) {
		if tp.IcskCaState != sockets.TCP_CA_Recovery {
			k.tcpEnterRecovery(sk)
			k.tcpCwndReduction(sk, 1, tp.lost-lost, 0)
		}
		k.tcpXmitRetransmitQueue(sk)
	}
	if tp.icskPending != ICSK_TIME_RETRANS {
		k.tcpRearmRto(sk)
	}
}

// tcpRackUpdateReoWnd is tcp_rack_update_reo_wnd: after a D-SACK that
// suggests RACK retransmitted too early, widen the reordering window one
// step (once per round trip) and keep it for 16 recoveries.
func (k *Kernel) tcpRackUpdateReoWnd(tp *TcpSock, priorDelivered uint32) {
	if k.net.Sysctl.TcpRecovery&TCP_RACK_STATIC_REO_WND != 0 || priorDelivered == 0 {
		return
	}
	if before(priorDelivered, tp.rack.lastDelivered) {
		tp.rack.dsackSeen = false
	}
	if tp.rack.dsackSeen {
		tp.rack.reoWndSteps = uint8(min(int(tp.rack.reoWndSteps)+1, 0xFF))
		tp.rack.dsackSeen = false
		tp.rack.lastDelivered = tp.Delivered
		tp.rack.reoWndPersist = TCP_RACK_RECOVERY_THRESH
	} else if tp.rack.reoWndPersist == 0 {
		tp.rack.reoWndSteps = 1
	}
}

// TCP_RACK_STATIC_REO_WND is tcp_recovery's bit 2: a fixed window.
const TCP_RACK_STATIC_REO_WND = 0x2
