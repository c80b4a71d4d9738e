package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// Loss recovery as net/ipv4/tcp_input.c does it in 6.x. The congestion
// state machine (icsk_ca_state: Open, Disorder, CWR, Recovery, Loss) runs
// on every "dubious" ACK (tcp_fastretrans_alert). Losses are found by
// RACK (tcp_rack.go) with SACK, or by NewReno's rule without it
// (tcp_newreno_mark_lost: three duplicate ACKs, then each partial ACK);
// lost segments are retransmitted by tcp_xmit_retransmit_queue as the
// window allows; in Recovery the window follows Proportional Rate
// Reduction (RFC 6937, tcp_cwnd_reduction). After an RTO, F-RTO (RFC
// 5682) sends new data first. A recovery that proves needless is undone:
// when D-SACKs cover every retransmission, or the echoed timestamps show
// that the originals arrived (tcp_try_undo_dsack, _partial, _recovery,
// _loss).

// What tcp_xmit_recovery should send after an ACK.
const (
	REXMIT_NONE = 0 // nothing
	REXMIT_LOST = 1 // segments marked lost
	REXMIT_NEW  = 2 // new data (F-RTO step 2b)
)

// tcpInCwndReduction is tcp_in_cwnd_reduction: CWR or Recovery.
func tcpInCwndReduction(tp *TcpSock) bool {
	return tp.IcskCaState == sockets.TCP_CA_CWR || tp.IcskCaState == sockets.TCP_CA_Recovery
}

// tcpAckIsDubious is tcp_ack_is_dubious: an ACK that may be a duplicate,
// carries SACK or D-SACK news, or arrives outside the Open state goes
// through tcp_fastretrans_alert.
func tcpAckIsDubious(tp *TcpSock, flag int) bool {
	return flag&FLAG_NOT_DUP == 0 || flag&FLAG_CA_ALERT != 0 || tp.IcskCaState != sockets.TCP_CA_Open
}

// tcpMayRaiseCwnd is tcp_may_raise_cwnd: grow the window on in-order
// delivery, or on any progress once the path is known to reorder.
func (k *Kernel) tcpMayRaiseCwnd(tp *TcpSock, flag int) bool {
	if tp.Reordering > tcpReordering {
		return flag&FLAG_FORWARD_PROGRESS != 0
	}
	return flag&FLAG_DATA_ACKED != 0
}

// tcpCongControl is tcp_cong_control: in CWR or Recovery the window is
// reduced by PRR, otherwise the algorithm may grow it.
func (k *Kernel) tcpCongControl(sk *sockets.Sock, delivered, losses uint32, flag int) {
	tp := tcpSk(sk)
	if tcpInCwndReduction(tp) {
		k.tcpCwndReduction(sk, delivered, losses, flag)
	} else if k.tcpMayRaiseCwnd(tp, flag) {
		k.tcpCongAvoid(tp, delivered)
	}
	k.tcpUpdatePacingRate(sk)
}

// tcpCurrentSsthresh is tcp_current_ssthresh: in a reduction, ssthresh;
// otherwise at least three quarters of cwnd.
func tcpCurrentSsthresh(tp *TcpSock) uint32 {
	if tcpInCwndReduction(tp) {
		return tp.SndSsthresh
	}
	return max(tp.SndSsthresh, tp.SndCwnd>>1+tp.SndCwnd>>2)
}

// tcpFastretransAlert is tcp_fastretrans_alert: the congestion state
// machine, on an ACK that is a duplicate, carries SACK news, or arrives
// outside Open. It decides the state and what is lost; what to send is
// left to tcp_xmit_recovery (the returned REXMIT_*).
func (k *Kernel) tcpFastretransAlert(sk *sockets.Sock, priorSndUna uint32, numDupack int, ackFlag *int) (rexmit int) {
	tp := tcpSk(sk)
	flag := *ackFlag
	k.tr.Enter2(fnTcpFastretransAlert, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(numDupack)))
	defer func() { k.tr.Exit(fnTcpFastretransAlert, tracing.Int(int64(tp.IcskCaState))) }()
	doLost := numDupack > 0 || (flag&FLAG_DATA_SACKED != 0 && tcpForceFastRetransmit(tp))
	if tp.PacketsOut == 0 && tp.sackedOut != 0 {
		tp.sackedOut = 0
	}

	// B. A peer that dropped data it had SACKed.
	if k.tcpCheckSackReneging(sk, ackFlag) {
		return REXMIT_NONE
	}

	// D. Leave a state once everything up to high_seq is acknowledged.
	if tp.IcskCaState == sockets.TCP_CA_Open {
		tcpClearRetransStamp(tp)
	} else if !before(tp.SndUna, tp.HighSeq) {
		switch tp.IcskCaState {
		case sockets.TCP_CA_CWR:
			// Held until something above high_seq is acknowledged.
			if tp.SndUna != tp.HighSeq {
				k.tcpEndCwndReduction(sk)
				k.tcpSetCaState(tp, sockets.TCP_CA_Open)
			}
		case sockets.TCP_CA_Recovery:
			if !tcpIsSack(tp) {
				tp.sackedOut = 0 // tcp_reset_reno_sack
			}
			if k.tcpTryUndoRecovery(sk) {
				return REXMIT_NONE
			}
			k.tcpEndCwndReduction(sk)
		}
	}

	// E. What this ACK means in the state we are in.
	fastRexmit := false
	switch tp.IcskCaState {
	case sockets.TCP_CA_Recovery:
		if flag&FLAG_SND_UNA_ADVANCED == 0 {
			if !tcpIsSack(tp) {
				k.tcpAddRenoSack(sk, numDupack)
			}
		} else if k.tcpTryUndoPartial(sk, priorSndUna, &doLost) {
			return REXMIT_NONE
		}
		if k.tcpTryUndoDsack(sk) {
			k.tcpTryToOpen(sk)
		}
		k.tcpIdentifyPacketLoss(sk, ackFlag)
		if tp.IcskCaState != sockets.TCP_CA_Recovery {
			// Undone; a loss now evident starts a new recovery.
			if !k.tcpTimeToRecover(sk) {
				return REXMIT_NONE
			}
			k.tcpEnterRecovery(sk)
		}
	case sockets.TCP_CA_Loss:
		rexmit = k.tcpProcessLoss(sk, flag, numDupack)
		if tp.IcskCaState != sockets.TCP_CA_Loss {
			k.tcpUpdateRtoTime(tp)
		}
		k.tcpIdentifyPacketLoss(sk, ackFlag)
		if tp.IcskCaState != sockets.TCP_CA_Open && *ackFlag&FLAG_LOST_RETRANS == 0 {
			return rexmit
		}
		// Open again, or a retransmission was lost: start over below.
		if !k.tcpOpenOrRecover(sk, numDupack, ackFlag) {
			return rexmit
		}
		fastRexmit = true
	default:
		if !k.tcpOpenOrRecover(sk, numDupack, ackFlag) {
			return REXMIT_NONE
		}
		fastRexmit = true
	}
	if !k.tcpRackEnabled() && doLost {
		k.tcpUpdateScoreboard(sk, fastRexmit)
	}
	return REXMIT_LOST
}

// tcpOpenOrRecover is the default arm of tcp_fastretrans_alert (Open,
// Disorder, CWR): count a Reno duplicate ACK, look for losses, and enter
// Recovery if one is proven; otherwise settle on Open or Disorder. It
// reports whether Recovery began.
func (k *Kernel) tcpOpenOrRecover(sk *sockets.Sock, numDupack int, ackFlag *int) bool {
	tp := tcpSk(sk)
	flag := *ackFlag
	if !tcpIsSack(tp) {
		if flag&FLAG_SND_UNA_ADVANCED != 0 {
			tp.sackedOut = 0 // tcp_reset_reno_sack
		}
		k.tcpAddRenoSack(sk, numDupack)
	}
	if tp.IcskCaState <= sockets.TCP_CA_Disorder {
		k.tcpTryUndoDsack(sk)
	}
	k.tcpIdentifyPacketLoss(sk, ackFlag)
	if !k.tcpTimeToRecover(sk) {
		k.tcpTryToOpen(sk)
		return false
	}
	k.tcpEnterRecovery(sk)
	return true
}

// tcpTimeToRecover is tcp_time_to_recover: a loss is proven (lost_out),
// or, without RACK, more than tcp_reordering segments were SACKed or
// duplicate-ACKed.
func (k *Kernel) tcpTimeToRecover(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	if tp.lostOut > 0 {
		return true
	}
	return !k.tcpRackEnabled() && tp.sackedOut+1 > tp.Reordering // tcp_dupack_heuristics
}

// tcpForceFastRetransmit is tcp_force_fast_retransmit: SACKs reach more
// than tcp_reordering segments beyond snd_una.
func tcpForceFastRetransmit(tp *TcpSock) bool {
	return after(tcpHighestSackSeq(tp), tp.SndUna+tp.Reordering*tp.MssCache)
}

// tcpIdentifyPacketLoss is tcp_identify_packet_loss: without SACK,
// NewReno's rule; with SACK, RACK. A retransmission found lost sets
// FLAG_LOST_RETRANS; if RACK armed its reordering timer, the ACK must not
// re-arm the RTO.
func (k *Kernel) tcpIdentifyPacketLoss(sk *sockets.Sock, ackFlag *int) {
	tp := tcpSk(sk)
	if skb.SkbQueueEmpty(&tp.rtxQueue) {
		return
	}
	if !tcpIsSack(tp) {
		k.tcpNewrenoMarkLost(sk, *ackFlag&FLAG_SND_UNA_ADVANCED != 0)
		return
	}
	if !k.tcpRackEnabled() {
		return
	}
	priorRetrans := tp.RetransOut
	if k.tcpRackMarkLost(sk) {
		*ackFlag &^= FLAG_SET_XMIT_TIMER
	}
	if priorRetrans > tp.RetransOut {
		*ackFlag |= FLAG_LOST_RETRANS
	}
}

// tcpNewrenoMarkLost is tcp_newreno_mark_lost (RFC 6582): without SACK,
// the head of the retransmit queue is lost after tcp_reordering duplicate
// ACKs, and again after each partial ACK in Recovery.
func (k *Kernel) tcpNewrenoMarkLost(sk *sockets.Sock, sndUnaAdvanced bool) {
	tp := tcpSk(sk)
	state := tp.IcskCaState
	if (state < sockets.TCP_CA_Recovery && tp.sackedOut >= tp.Reordering) ||
		(state == sockets.TCP_CA_Recovery && sndUnaAdvanced) {
		head := skb.SkbPeek(&tp.rtxQueue)
		if head == nil || head.Cb[cbSacked]&TCPCB_LOST != 0 {
			return
		}
		k.tcpMarkSkbLost(sk, head)
	}
}

// tcpUpdateScoreboard is tcp_update_scoreboard, the classic rule with
// RACK off (tcp_recovery=0), for SACK only (without SACK,
// tcp_newreno_mark_lost does it all): everything from the head up to
// where more than sacked_out - tcp_reordering SACKed segments lie behind
// is lost; with fewer SACKed than that, a fast retransmit marks the head.
func (k *Kernel) tcpUpdateScoreboard(sk *sockets.Sock, fastRexmit bool) {
	tp := tcpSk(sk)
	if !tcpIsSack(tp) {
		return
	}
	if upto := int(tp.sackedOut) - int(tp.Reordering); upto >= 0 {
		k.tcpMarkHeadLost(sk, upto, false)
	} else if fastRexmit {
		k.tcpMarkHeadLost(sk, 1, true)
	}
}

// tcpMarkHeadLost is tcp_mark_head_lost (walking from the head, without
// the kernel's resume hints): mark lost each segment sent before snd_nxt
// until more than packets SACKed ones have been passed, or only the head
// if markHead.
func (k *Kernel) tcpMarkHeadLost(sk *sockets.Sock, packets int, markHead bool) {
	k.tr.Enter3(fnTcpMarkHeadLost, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(packets)), tracing.Bool(markHead))
	defer k.tr.Exit(fnTcpMarkHeadLost, tracing.Arg{})
	tp := tcpSk(sk)
	lossHigh := tp.SndNxt
	cnt := 0
	for s := skb.SkbPeek(&tp.rtxQueue); s != nil; s = skb.SkbPeekNext(s, &tp.rtxQueue) {
		if after(cbEndSeqOf(s), lossHigh) {
			break
		}
		if s.Cb[cbSacked]&TCPCB_SACKED_ACKED != 0 {
			cnt++
		}
		if cnt > packets {
			break
		}
		if s.Cb[cbSacked]&TCPCB_LOST == 0 {
			k.tcpMarkSkbLost(sk, s)
		}
		if markHead {
			break
		}
	}
}

// tcpAddRenoSack is tcp_add_reno_sack: without SACK, each duplicate ACK
// stands for a segment that left the network (sacked_out), never more
// than the holes allow.
func (k *Kernel) tcpAddRenoSack(sk *sockets.Sock, numDupack int) {
	if numDupack == 0 {
		return
	}
	tp := tcpSk(sk)
	prior := tp.sackedOut
	tp.sackedOut += uint32(numDupack)
	k.tcpCheckRenoReordering(sk, 0)
	if tp.sackedOut > prior {
		tp.Delivered += tp.sackedOut - prior
	}
}

// tcpRemoveRenoSacks is tcp_remove_reno_sacks: an ACK of new data
// without SACK: one acknowledged segment filled the hole, the rest were
// counted already as duplicate ACKs.
func (k *Kernel) tcpRemoveRenoSacks(sk *sockets.Sock, acked uint32) {
	tp := tcpSk(sk)
	if acked > 0 {
		tp.Delivered += uint32(max(int32(acked)-int32(tp.sackedOut), 1))
		if acked-1 >= tp.sackedOut {
			tp.sackedOut = 0
		} else {
			tp.sackedOut -= acked - 1
		}
	}
	k.tcpCheckRenoReordering(sk, acked)
}

// tcpCheckRenoReordering is tcp_check_reno_reordering: more duplicate
// ACKs than segments beyond the hole means the path reorders.
func (k *Kernel) tcpCheckRenoReordering(sk *sockets.Sock, addend uint32) {
	tp := tcpSk(sk)
	holes := min(max(tp.lostOut, 1), tp.PacketsOut)
	if tp.sackedOut+holes <= tp.PacketsOut {
		return // tcp_limit_reno_sacked
	}
	tp.sackedOut = tp.PacketsOut - holes
	tp.Reordering = min(tp.PacketsOut+addend, uint32(tcpMaxReordering))
	tp.reordSeen++
	k.mib.inc(LINUX_MIB_TCPRENOREORDER)
}

// tcpEnterRecovery is tcp_enter_recovery: a loss is proven. Count it
// (TCPSackRecovery or TCPRenoRecovery), start the PRR reduction (ssthresh
// from the algorithm, high_seq = snd_nxt) and enter Recovery.
func (k *Kernel) tcpEnterRecovery(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpEnterRecovery, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.SndCwnd)))
	tcpRetransStampCleanup(tp) // the clock starts with this fast retransmit
	if tcpIsSack(tp) {
		k.mib.inc(LINUX_MIB_TCPSACKRECOVERY)
	} else {
		k.mib.inc(LINUX_MIB_TCPRENORECOVERY)
	}
	tp.priorSsthresh = 0
	tcpInitUndo(tp)
	if !tcpInCwndReduction(tp) {
		tp.priorSsthresh = tcpCurrentSsthresh(tp)
		k.tcpInitCwndReduction(sk)
	}
	k.tcpSetCaState(tp, sockets.TCP_CA_Recovery)
	k.tr.Exit(fnTcpEnterRecovery, tracing.Uint(uint64(tp.SndSsthresh)))
}

// tcpInitCwndReduction is tcp_init_cwnd_reduction: PRR starts from the
// window at the loss (prior_cwnd) toward the algorithm's ssthresh.
func (k *Kernel) tcpInitCwndReduction(sk *sockets.Sock) {
	tp := tcpSk(sk)
	tp.HighSeq = tp.SndNxt
	tp.TlpHighSeq = 0
	tp.sndCwndCnt = 0
	tp.priorCwnd = tp.SndCwnd
	tp.prrDelivered = 0
	tp.prrOut = 0
	tp.SndSsthresh = tp.tcpSsthresh()
	k.tr.Point(fnTcpInitCwndReduction, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.SndSsthresh)))
}

// tcpCwndReduction is tcp_cwnd_reduction, Proportional Rate Reduction
// (RFC 6937): while more is in flight than ssthresh, send in proportion
// ssthresh/prior_cwnd to what is delivered, so that the window comes
// down over one round trip; below ssthresh, send as much as is delivered
// (one more when snd_una advances without new losses), up to ssthresh.
// The first ACK of a recovery always lets the fast retransmit go.
func (k *Kernel) tcpCwndReduction(sk *sockets.Sock, newlyAckedSacked, newlyLost uint32, flag int) {
	tp := tcpSk(sk)
	if newlyAckedSacked == 0 || tp.priorCwnd == 0 {
		return
	}
	inFlight := int64(tcpPacketsInFlight(tp))
	delta := int64(tp.SndSsthresh) - inFlight
	tp.prrDelivered += newlyAckedSacked
	var sndcnt int64
	if delta < 0 {
		dividend := uint64(tp.SndSsthresh)*uint64(tp.prrDelivered) + uint64(tp.priorCwnd) - 1
		sndcnt = int64(dividend/uint64(tp.priorCwnd)) - int64(tp.prrOut)
	} else {
		sndcnt = max(int64(tp.prrDelivered)-int64(tp.prrOut), int64(newlyAckedSacked))
		if flag&FLAG_SND_UNA_ADVANCED != 0 && newlyLost == 0 {
			sndcnt++
		}
		sndcnt = min(delta, sndcnt)
	}
	if tp.prrOut == 0 {
		sndcnt = max(sndcnt, 1)
	} else {
		sndcnt = max(sndcnt, 0)
	}
	tp.SndCwnd = uint32(inFlight + sndcnt)
	k.tr.Point(fnTcpCwndReduction, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.SndCwnd)))
}

// tcpEndCwndReduction is tcp_end_cwnd_reduction: CWR or Recovery is over;
// cwnd is set to ssthresh.
func (k *Kernel) tcpEndCwndReduction(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if tp.SndSsthresh < TCP_INFINITE_SSTHRESH && (tp.IcskCaState == sockets.TCP_CA_CWR || tp.undoMarker != 0) {
		tp.SndCwnd = tp.SndSsthresh
		tp.sndCwndStamp = k.clock.Now()
	}
	k.tr.Point(fnTcpEndCwndReduction, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.SndCwnd)))
}

// tcpTryUndoRecovery is tcp_try_undo_recovery: high_seq is acknowledged.
// If the recovery proves needless (every retransmission D-SACKed, or the
// timestamps show the originals arrived), the reduction is undone
// (TCPFullUndo, or TCPLossUndo after an RTO). Then Recovery or Loss ends,
// except that a connection without SACK holds Recovery until something
// above high_seq is acknowledged (RFC 6582), so late duplicate ACKs of the
// old window cannot start a false fast retransmit. It reports whether the
// state was held.
func (k *Kernel) tcpTryUndoRecovery(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	if k.tcpMayUndo(sk) {
		loss := tp.IcskCaState == sockets.TCP_CA_Loss
		k.tcpUndoCwndReduction(sk, false)
		if loss {
			k.mib.inc(LINUX_MIB_TCPLOSSUNDO)
		} else {
			k.mib.inc(LINUX_MIB_TCPFULLUNDO)
		}
	} else if tp.rack.reoWndPersist > 0 {
		tp.rack.reoWndPersist--
	}
	if !tcpIsSack(tp) && tp.SndUna == tp.HighSeq {
		tcpRetransStampCleanup(tp)
		return true // tcp_is_non_sack_preventing_reopen
	}
	k.tcpSetCaState(tp, sockets.TCP_CA_Open)
	return false
}

// tcpInitUndo is tcp_init_undo: a recovery begins at snd_una; count the
// retransmissions already in flight (a later D-SACK may clear them).
func tcpInitUndo(tp *TcpSock) {
	tp.undoMarker = tp.SndUna
	tp.undoRetrans = int32(tp.RetransOut)
	if tp.TlpHighSeq != 0 && tp.tlpRetrans {
		tp.undoRetrans++
	}
	if tp.undoRetrans == 0 {
		tp.undoRetrans = -1 // 0 would mean "may undo now"
	}
}

// tcpPacketDelayed is tcp_packet_delayed: the ACK echoes a timestamp from
// before the episode's first retransmission, so what it acknowledges is
// an original that was only delayed (Eifel detection, RFC 3522).
func (k *Kernel) tcpPacketDelayed(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	if tp.retransStampSet {
		return tp.RxOpt.SawTstamp && tp.RxOpt.RcvTsecr != 0 &&
			before(tp.RxOpt.RcvTsecr, uint32(tp.retransStamp/(1e9/tcpTsHz)))
	}
	if !tcpIsSack(tp) && !before(tp.SndUna, tp.HighSeq) {
		return false
	}
	return sk.SkcState != sockets.TCP_SYN_SENT // nothing retransmitted yet
}

// tcpMayUndo is tcp_may_undo: a recovery is on record and either none of
// its retransmissions was needed or the originals arrived.
func (k *Kernel) tcpMayUndo(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	return tp.undoMarker != 0 && (tp.undoRetrans == 0 || k.tcpPacketDelayed(sk))
}

// tcpUndoCwndReduction is tcp_undo_cwnd_reduction: the loss was not real.
// cwnd goes back (the algorithms' undo_cwnd: the larger of cwnd and
// prior_cwnd) and ssthresh too; with unmarkLoss the lost marks go.
func (k *Kernel) tcpUndoCwndReduction(sk *sockets.Sock, unmarkLoss bool) {
	tp := tcpSk(sk)
	k.tr.Point(fnTcpUndoCwndReduction, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.priorCwnd)))
	if unmarkLoss {
		for s := skb.SkbPeek(&tp.rtxQueue); s != nil; s = skb.SkbPeekNext(s, &tp.rtxQueue) {
			s.Cb[cbSacked] &^= TCPCB_LOST
		}
		tp.lostOut = 0
	}
	if tp.priorSsthresh != 0 {
		tp.SndCwnd = max(tp.SndCwnd, tp.priorCwnd)
		if tp.priorSsthresh > tp.SndSsthresh {
			tp.SndSsthresh = tp.priorSsthresh
		}
	}
	tp.sndCwndStamp = k.clock.Now()
	tp.undoMarker = 0
	tp.rack.advanced = true // RACK looks again
}

// tcpTryUndoDsack is tcp_try_undo_dsack: D-SACKs have covered every
// retransmission of the recovery: undo it (TCPDSACKUndo), and keep RACK's
// wider reordering window for longer.
func (k *Kernel) tcpTryUndoDsack(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	if tp.undoMarker == 0 || tp.undoRetrans != 0 {
		return false
	}
	tp.rack.reoWndPersist = min(tp.rack.reoWndPersist+1, TCP_RACK_RECOVERY_THRESH)
	k.tcpUndoCwndReduction(sk, false)
	k.mib.inc(LINUX_MIB_TCPDSACKUNDO)
	return true
}

// tcpTryUndoPartial is tcp_try_undo_partial: a partial ACK in Recovery.
// If the timestamps show the hole was filled by a delayed original, the
// path reorders: undo, unless retransmissions are still out (then send
// new data but retransmit no more; it reports true). Otherwise the next
// hole may be retransmitted at once (doLost).
func (k *Kernel) tcpTryUndoPartial(sk *sockets.Sock, priorSndUna uint32, doLost *bool) bool {
	tp := tcpSk(sk)
	if tp.undoMarker != 0 && k.tcpPacketDelayed(sk) {
		k.tcpCheckSackReordering(sk, priorSndUna, true)
		if tp.RetransOut > 0 {
			return true
		}
		tcpRetransStampCleanup(tp)
		k.tcpUndoCwndReduction(sk, true)
		k.mib.inc(LINUX_MIB_TCPPARTIALUNDO)
		k.tcpTryKeepOpen(sk)
		return false
	}
	*doLost = tcpForceFastRetransmit(tp)
	return false
}

// tcpTryKeepOpen is tcp_try_keep_open: Disorder while anything is SACKed,
// lost or retransmitted, else Open.
func (k *Kernel) tcpTryKeepOpen(sk *sockets.Sock) {
	tp := tcpSk(sk)
	state := uint8(sockets.TCP_CA_Open)
	if tp.sackedOut+tp.lostOut > 0 || tcpAnyRetransDone(tp) {
		state = sockets.TCP_CA_Disorder
	}
	if tp.IcskCaState != state {
		k.tcpSetCaState(tp, state)
		tp.HighSeq = tp.SndNxt
	}
}

// tcpTryToOpen is tcp_try_to_open: no loss proven; Open or Disorder
// (CWR stays).
func (k *Kernel) tcpTryToOpen(sk *sockets.Sock) {
	tp := tcpSk(sk)
	tcpRetransStampCleanup(tp)
	if tp.IcskCaState != sockets.TCP_CA_CWR {
		k.tcpTryKeepOpen(sk)
	}
}

// tcpProcessLoss is tcp_process_loss: an ACK in the Loss state (after an
// RTO). With F-RTO, the first ACK that advances snd_una lets new data go
// instead of retransmissions (step 2b); if the next ACK shows
// never-retransmitted data arrived, the timeout was spurious and is
// undone (step 3b, TCPSpuriousRTOs); a SACK or duplicate ACK instead
// means the loss was real (3a). Loss ends when high_seq is acknowledged.
func (k *Kernel) tcpProcessLoss(sk *sockets.Sock, flag, numDupack int) int {
	tp := tcpSk(sk)
	recovered := !before(tp.SndUna, tp.HighSeq)
	if flag&FLAG_SND_UNA_ADVANCED != 0 && k.tcpTryUndoLoss(sk, false) {
		return REXMIT_NONE
	}
	if tp.frto {
		if flag&FLAG_ORIG_SACK_ACKED != 0 && k.tcpTryUndoLoss(sk, true) {
			return REXMIT_NONE
		}
		if after(tp.SndNxt, tp.HighSeq) {
			if flag&FLAG_DATA_SACKED != 0 || numDupack > 0 {
				tp.frto = false
			}
		} else if flag&FLAG_SND_UNA_ADVANCED != 0 && !recovered {
			tp.HighSeq = tp.SndNxt
			if !skb.SkbQueueEmpty(&sk.SkWriteQueue) && after(tp.SndUna+tp.SndWnd, tp.SndNxt) {
				return REXMIT_NEW
			}
			tp.frto = false
		}
	}
	if recovered {
		k.tcpTryUndoRecovery(sk)
		return REXMIT_NONE
	}
	if !tcpIsSack(tp) {
		if after(tp.SndNxt, tp.HighSeq) && numDupack > 0 {
			k.tcpAddRenoSack(sk, numDupack)
		} else if flag&FLAG_SND_UNA_ADVANCED != 0 {
			tp.sackedOut = 0
		}
	}
	return REXMIT_LOST
}

// tcpTryUndoLoss is tcp_try_undo_loss: in Loss, the RTO proves spurious
// (F-RTO saw never-retransmitted data arrive, or tcp_may_undo): the lost
// marks go, cwnd and ssthresh go back (TCPLossUndo; TCPSpuriousRTOs for
// F-RTO), and the connection is Open. It reports whether it undid.
func (k *Kernel) tcpTryUndoLoss(sk *sockets.Sock, frtoUndo bool) bool {
	tp := tcpSk(sk)
	if !frtoUndo && !k.tcpMayUndo(sk) {
		return false
	}
	k.tcpUndoCwndReduction(sk, true)
	k.mib.inc(LINUX_MIB_TCPLOSSUNDO)
	if frtoUndo {
		k.mib.inc(LINUX_MIB_TCPSPURIOUSRTOS)
	}
	tp.IcskRetransmits = 0
	if !tcpIsSack(tp) && tp.SndUna == tp.HighSeq {
		tcpRetransStampCleanup(tp)
		return true // tcp_is_non_sack_preventing_reopen
	}
	if frtoUndo || tcpIsSack(tp) {
		k.tcpSetCaState(tp, sockets.TCP_CA_Open)
		k.tcpUpdateRtoTime(tp)
	}
	return true
}

// tcpEnterLoss is tcp_enter_loss: the RTO fired. Everything not SACKed
// (and not sent too recently, by RACK's clock) is taken for lost;
// ssthresh is set once per episode; cwnd becomes what is still in flight
// plus one; the state is Loss until snd_nxt (high_seq) is acknowledged,
// with F-RTO judging the timeout if tcp_frto allows.
func (k *Kernel) tcpEnterLoss(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpEnterLoss, tracing.Sock(uint64(sk.Addr())))
	newRecovery := tp.IcskCaState < sockets.TCP_CA_Recovery
	k.tcpTimeoutMarkLost(sk)
	if tp.IcskCaState <= sockets.TCP_CA_Disorder || !after(tp.HighSeq, tp.SndUna) ||
		(tp.IcskCaState == sockets.TCP_CA_Loss && tp.IcskRetransmits == 0) {
		tp.priorSsthresh = tcpCurrentSsthresh(tp)
		tp.priorCwnd = tp.SndCwnd
		tp.SndSsthresh = tp.tcpSsthresh()
		tcpInitUndo(tp)
	}
	tp.SndCwnd = tcpPacketsInFlight(tp) + 1
	tp.sndCwndCnt = 0
	tp.sndCwndStamp = k.clock.Now()
	if tp.IcskCaState <= sockets.TCP_CA_Disorder && tp.sackedOut >= tcpReordering {
		tp.Reordering = min(tp.Reordering, tcpReordering)
	}
	k.tcpSetCaState(tp, sockets.TCP_CA_Loss)
	tp.HighSeq = tp.SndNxt
	tp.TlpHighSeq = 0
	tp.frto = k.net.Sysctl.TcpFrto != 0 && (newRecovery || tp.IcskRetransmits > 0)
	k.tr.Exit(fnTcpEnterLoss, tracing.Uint(uint64(tp.lostOut)))
}

// tcpCheckSackReneging is tcp_check_sack_reneging: an ACK that moved
// snd_una up to data the peer had SACKed says the peer dropped that data
// (reneged). The scoreboard cannot be trusted, so nothing is decided on
// it: the retransmission timer fires after half an RTT (at least 10 ms)
// unless an ACK clears things up, and the RTO then clears the SACK marks
// (tcp_timeout_mark_lost).
func (k *Kernel) tcpCheckSackReneging(sk *sockets.Sock, ackFlag *int) bool {
	if *ackFlag&FLAG_SACK_RENEGING == 0 || *ackFlag&FLAG_SND_UNA_ADVANCED == 0 {
		return false
	}
	tp := tcpSk(sk)
	half := roundUpToJiffy(int64(tp.Srtt>>4) * 1000) // usecs_to_jiffies rounds up
	delay := max(half, 10*int64(1e6))
	k.tr.Point(fnTcpCheckSackReneging, tracing.Sock(uint64(sk.Addr())), tracing.Int(delay))
	k.inetCskResetXmitTimer(sk, ICSK_TIME_RETRANS, delay)
	*ackFlag &^= FLAG_SET_XMIT_TIMER
	return true
}

// tcpTimeoutMarkLost is tcp_timeout_mark_lost. If the head was SACKed,
// the peer reneged (dropped data it had SACKed): the SACK marks go and
// everything is lost (TCPSACKReneging). Otherwise the head and every
// segment whose RACK time has passed are lost.
func (k *Kernel) tcpTimeoutMarkLost(sk *sockets.Sock) {
	tp := tcpSk(sk)
	head := skb.SkbPeek(&tp.rtxQueue)
	reneg := head != nil && head.Cb[cbSacked]&TCPCB_SACKED_ACKED != 0
	if reneg {
		k.mib.inc(LINUX_MIB_TCPSACKRENEGING)
		tp.sackedOut = 0
	} else if !tcpIsSack(tp) {
		tp.sackedOut = 0 // tcp_reset_reno_sack
	}
	for s := head; s != nil; s = skb.SkbPeekNext(s, &tp.rtxQueue) {
		if reneg {
			s.Cb[cbSacked] &^= TCPCB_SACKED_ACKED
		} else if k.tcpRackEnabled() && s != head && k.tcpRackSkbTimeout(tp, s, 0) > 0 {
			continue // sent too recently to call lost
		}
		k.tcpMarkSkbLost(sk, s)
	}
}

// tcpXmitRecovery is tcp_xmit_recovery: send what recovery decided, new
// data first for F-RTO, then lost segments.
func (k *Kernel) tcpXmitRecovery(sk *sockets.Sock, rexmit int) {
	tp := tcpSk(sk)
	if rexmit == REXMIT_NONE || sk.SkcState == sockets.TCP_SYN_SENT {
		return
	}
	if rexmit == REXMIT_NEW {
		k.tcpPushPendingFrames(sk, TCP_NAGLE_OFF)
		if after(tp.SndNxt, tp.HighSeq) {
			return
		}
		tp.frto = false
	}
	k.tcpXmitRetransmitQueue(sk)
}

// tcpXmitRetransmitQueue is tcp_xmit_retransmit_queue: retransmit the
// segments marked lost and not yet retransmitted, in sequence order, as
// long as cwnd has room over what is in flight. Counted as
// TCPFastRetrans, or TCPSlowStartRetrans in Loss; in CWR or Recovery each
// counts toward PRR's prr_out.
func (k *Kernel) tcpXmitRetransmitQueue(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if tp.PacketsOut == 0 {
		return
	}
	k.tr.Enter2(fnTcpXmitRetransmitQueue, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.lostOut)))
	sent := 0
	head := skb.SkbPeek(&tp.rtxQueue)
	rearm := false
	for s := head; s != nil; s = skb.SkbPeekNext(s, &tp.rtxQueue) {
		if int64(tp.SndCwnd)-int64(tcpPacketsInFlight(tp)) <= 0 || tp.RetransOut >= tp.lostOut {
			break
		}
		sacked := s.Cb[cbSacked]
		if sacked&TCPCB_LOST == 0 || sacked&(TCPCB_SACKED_ACKED|TCPCB_SACKED_RETRANS) != 0 {
			continue
		}
		if k.tcpSmallQueueCheck(sk, s, 1) {
			break
		}
		if !k.tcpRetransmitSkb(sk, s, int(int64(tp.SndCwnd)-int64(tcpPacketsInFlight(tp)))) {
			break
		}
		sent++
		if tp.IcskCaState != sockets.TCP_CA_Loss {
			k.mib.inc(LINUX_MIB_TCPFASTRETRANS)
		} else {
			k.mib.inc(LINUX_MIB_TCPSLOWSTARTRETRANS)
		}
		if tcpInCwndReduction(tp) {
			tp.prrOut++
		}
		if s == head && tp.icskPending != ICSK_TIME_REO_TIMEOUT {
			rearm = true
		}
	}
	if rearm {
		k.tcpResetXmitTimer(sk, tp.IcskRto)
	}
	k.tr.Exit(fnTcpXmitRetransmitQueue, tracing.Int(int64(sent)))
}

// tcpSimpleRetransmit is tcp_simple_retransmit: the path MTU dropped, so
// every segment in flight bigger than the new MSS is lost; they go again
// at once, in pieces that fit. cwnd and ssthresh keep their values: the
// same data is in the network, only in more packets.
func (k *Kernel) tcpSimpleRetransmit(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpSimpleRetransmit, tracing.Sock(uint64(sk.Addr())))
	defer func() { k.tr.Exit(fnTcpSimpleRetransmit, tracing.Uint(uint64(tp.lostOut))) }()
	mss := k.tcpCurrentMss(sk)
	for s := skb.SkbPeek(&tp.rtxQueue); s != nil; s = skb.SkbPeekNext(s, &tp.rtxQueue) {
		if s.Len > mss { // tcp_skb_seglen: the data, not the FIN
			k.tcpMarkSkbLost(sk, s)
		}
	}
	if tp.lostOut == 0 {
		return
	}
	if !tcpIsSack(tp) {
		// tcp_limit_reno_sacked
		holes := min(max(tp.lostOut, 1), tp.PacketsOut)
		if tp.sackedOut+holes > tp.PacketsOut {
			tp.sackedOut = tp.PacketsOut - holes
		}
	}
	k.tcpNonCongestionLossRetransmit(sk)
}

// tcpNonCongestionLossRetransmit is tcp_non_congestion_loss_retransmit:
// enter Loss without touching the congestion window (ssthresh keeps
// what cwnd allows now, and nothing is to be undone), and retransmit
// what is marked lost.
func (k *Kernel) tcpNonCongestionLossRetransmit(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Point(fnTcpNonCongestionLossRetransmit, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.lostOut)))
	if tp.IcskCaState != sockets.TCP_CA_Loss {
		tp.HighSeq = tp.SndNxt
		tp.SndSsthresh = tcpCurrentSsthresh(tp)
		tp.priorSsthresh = 0
		tp.undoMarker = 0
		k.tcpSetCaState(tp, sockets.TCP_CA_Loss)
	}
	k.tcpXmitRetransmitQueue(sk)
}
