package stack

import (
	"encoding/binary"

	"slices"
	"strings"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// The scoreboard: each segment on the retransmit queue carries tag bits
// in TCP_SKB_CB(skb)->sacked, and the socket counts the segments with
// each bit (sacked_out, retrans_out, lost_out). From those counts
// tcp_packets_in_flight estimates what is still in the network.
const (
	TCPCB_SACKED_ACKED   = 0x01 // the peer SACKed it
	TCPCB_SACKED_RETRANS = 0x02 // retransmitted, and that copy is in flight
	TCPCB_LOST           = 0x04 // taken for lost
	TCPCB_TAGBITS        = TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS | TCPCB_LOST
	TCPCB_EVER_RETRANS   = 0x80 // sent more than once at some time
	TCPCB_RETRANS        = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS
)

// tcp_ack's flags: what one ACK did.
const (
	FLAG_DATA               = 0x01    // the segment carried data
	FLAG_WIN_UPDATE         = 0x02    // it updated the send window
	FLAG_DATA_ACKED         = 0x04    // it acknowledged new data
	FLAG_RETRANS_DATA_ACKED = 0x08    // some of that had been retransmitted
	FLAG_SYN_ACKED          = 0x10    // it acknowledged our SYN
	FLAG_DATA_SACKED        = 0x20    // it SACKed new data
	FLAG_LOST_RETRANS       = 0x80    // a retransmission was found lost
	FLAG_SLOWPATH           = 0x100   // tcp_ack called from the slow path
	FLAG_ORIG_SACK_ACKED    = 0x200   // never-retransmitted data was (S)ACKed
	FLAG_SND_UNA_ADVANCED   = 0x400   // snd_una moved
	FLAG_DSACKING_ACK       = 0x800   // it carried a D-SACK
	FLAG_SET_XMIT_TIMER     = 0x1000  // the TLP or RTO timer must be set again
	FLAG_SACK_RENEGING      = 0x2000  // the peer dropped data it had SACKed
	FLAG_UPDATE_TS_RECENT   = 0x4000  // the caller asks for tcp_replace_ts_recent
	FLAG_NO_CHALLENGE_ACK   = 0x8000  // the caller answers a too old ACK itself
	FLAG_DSACK_TLP          = 0x20000 // the D-SACK is of the loss probe

	FLAG_ACKED            = FLAG_DATA_ACKED | FLAG_SYN_ACKED
	FLAG_NOT_DUP          = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED
	FLAG_CA_ALERT         = FLAG_DATA_SACKED | FLAG_DSACKING_ACK
	FLAG_FORWARD_PROGRESS = FLAG_ACKED | FLAG_DATA_SACKED
)

// tcpSacktagState is struct tcp_sacktag_state: what tagging learned.
type tcpSacktagState struct {
	flag          int
	reord         uint32 // lowest never-retransmitted sequence newly SACKed below the highest SACK
	firstSackt    int64  // send time of the first and last newly SACKed
	lastSackt     int64  // never-retransmitted segments (RTT samples)
	haveSackt     bool
	sackDelivered uint32
	// The rate sample's part the model uses (struct rate_sample):
	// prior_delivered is tx.delivered of the most recently sent skb this
	// ACK (S)ACKed, 0 if it delivered nothing new; last_end_seq breaks
	// ties between skbs sent at one instant.
	priorDelivered uint32
	lastEndSeq     uint32
}

// tcpRateSkbSent is tcp_rate_skb_sent, the part the model uses: an skb
// just sent remembers the delivered count, and that its delivery is to
// come; the first packet out starts a send phase (first_tx_mstamp).
func tcpRateSkbSent(tp *TcpSock, s *skb.SkBuff) {
	if tp.PacketsOut == 0 {
		tp.firstTxMstamp = cbMstampOf(s)
	}
	binary.LittleEndian.PutUint32(s.Cb[cbTxDelivered:], tp.Delivered)
	s.Cb[cbTxPending] = 1
}

// tcpRateSkbDelivered is tcp_rate_skb_delivered, the part the model uses:
// an skb this ACK (S)ACKs gives the rate sample its prior_delivered if it
// is the most recently sent so far; once SACKed it gives nothing more
// (its later cumulative ACK, or a D-SACK of it, delivers nothing new).
func tcpRateSkbDelivered(tp *TcpSock, s *skb.SkBuff, state *tcpSacktagState) {
	if s.Cb[cbTxPending] == 0 {
		return
	}
	tx := cbMstampOf(s)
	if state.priorDelivered == 0 || tx > tp.firstTxMstamp || (tx == tp.firstTxMstamp && after(cbEndSeqOf(s), state.lastEndSeq)) {
		state.priorDelivered = cbTxDeliveredOf(s)
		state.lastEndSeq = cbEndSeqOf(s)
		tp.firstTxMstamp = tx
	}
	if s.Cb[cbSacked]&TCPCB_SACKED_ACKED != 0 {
		s.Cb[cbTxPending] = 0
	}
}

// tcpPacketsInFlight is tcp_packets_in_flight: segments sent, less those
// the peer has (SACKed) or that are gone (lost), plus the retransmitted
// copies on their way.
func tcpPacketsInFlight(tp *TcpSock) uint32 {
	return tp.PacketsOut - (tp.sackedOut + tp.lostOut) + tp.RetransOut
}

// tcpIsSack is tcp_is_sack: the peer agreed to SACK.
func tcpIsSack(tp *TcpSock) bool { return tp.RxOpt.SackOk }

// tcpHighestSackSeq is tcp_highest_sack_seq: the end of the highest
// SACKed segment, snd_una if nothing is SACKed.
func tcpHighestSackSeq(tp *TcpSock) uint32 {
	if tp.sackedOut == 0 || !tcpIsSack(tp) {
		return tp.SndUna
	}
	return tp.highestSack
}

// tcpSacktagWriteQueue is tcp_sacktag_write_queue: apply the SACK blocks
// of an ACK to the retransmit queue. Each segment a block covers whole is
// tagged SACKED_ACKED (a segment partly covered stays untagged, as the
// model sends no multi-segment skbs); a first block below the cumulative
// ACK, or inside the second, is a D-SACK (RFC 2883): the peer got
// something twice.
func (k *Kernel) tcpSacktagWriteQueue(sk *sockets.Sock, blocks []header.SackBlock, ackSeq, priorSndUna uint32, state *tcpSacktagState) {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpSacktagWriteQueue, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(len(blocks))))
	state.reord = tp.SndNxt
	if len(blocks) == 0 {
		k.tr.Exit(fnTcpSacktagWriteQueue, tracing.Int(0))
		return
	}
	foundDup := k.tcpCheckDsack(sk, blocks, ackSeq, priorSndUna, state)
	if foundDup {
		state.flag |= FLAG_DSACKING_ACK
	}
	if tp.PacketsOut == 0 {
		k.tr.Exit(fnTcpSacktagWriteQueue, tracing.Int(0))
		return
	}
	// Walk the blocks in sequence order, as the kernel sorts them, so
	// that a lower block is not taken for reordering below a higher one
	// that came first in the option.
	type sblock struct {
		b   header.SackBlock
		dup bool
	}
	var buf [TCP_NUM_SACKS]sblock // an option holds at most four blocks
	sorted := buf[:0]
	for i, b := range blocks {
		sorted = append(sorted, sblock{b, foundDup && i == 0})
	}
	slices.SortStableFunc(sorted, func(x, y sblock) int {
		if before(x.b.Start, y.b.Start) {
			return -1
		}
		if after(x.b.Start, y.b.Start) {
			return 1
		}
		return 0
	})
	for _, sb := range sorted {
		b, dup := sb.b, sb.dup
		if !tcpIsSackblockValid(tp, dup, b.Start, b.End) {
			switch {
			case dup && tp.undoMarker == 0:
				k.mib.inc(LINUX_MIB_TCPDSACKIGNOREDNOUNDO)
			case dup:
				k.mib.inc(LINUX_MIB_TCPDSACKIGNOREDOLD)
			case ackSeq != tp.SndUna && !after(b.End, tp.SndUna):
				// An old block of a reordered ACK is not counted.
			default:
				k.mib.inc(LINUX_MIB_TCPSACKDISCARD)
			}
			continue
		}
		for s := skb.SkbPeek(&tp.rtxQueue); s != nil; s = skb.SkbPeekNext(s, &tp.rtxQueue) {
			seq, end := cbSeqOf(s), cbEndSeqOf(s)
			if !after(end, b.Start) {
				continue
			}
			if !before(seq, b.End) {
				break
			}
			if before(seq, b.Start) || after(end, b.End) {
				continue // partly covered: not tagged
			}
			s.Cb[cbSacked] = k.tcpSacktagOne(sk, state, s.Cb[cbSacked], seq, end, dup, cbMstampOf(s), cbTxNumOf(s))
			tcpRateSkbDelivered(tp, s, state)
		}
	}
	if before(state.reord, tp.SndNxt) && (tp.IcskCaState != sockets.TCP_CA_Loss || tp.undoMarker != 0) {
		k.tcpCheckSackReordering(sk, state.reord, false)
	}
	k.tr.Exit(fnTcpSacktagWriteQueue, tracing.Int(int64(tp.sackedOut)))
}

// tcpSacktagOne is tcp_sacktag_one: the tag bits and counters of one
// segment the peer SACKed.
func (k *Kernel) tcpSacktagOne(sk *sockets.Sock, state *tcpSacktagState, sacked uint8, seq, end uint32, dup bool, xmit int64, txNum uint64) uint8 {
	tp := tcpSk(sk)
	if dup && sacked&TCPCB_RETRANS != 0 {
		// A D-SACK of a retransmission: one fewer that was needed.
		if tp.undoMarker != 0 && tp.undoRetrans > 0 && after(end, tp.undoMarker) {
			tp.undoRetrans--
		}
		if sacked&TCPCB_SACKED_ACKED != 0 && before(seq, state.reord) {
			state.reord = seq
		}
	}
	if !after(end, tp.SndUna) {
		return sacked
	}
	if sacked&TCPCB_SACKED_ACKED == 0 {
		k.tcpRackAdvance(tp, sacked, end, xmit, txNum)
		if sacked&TCPCB_SACKED_RETRANS != 0 {
			// A retransmission still thought in flight keeps RETRANS
			// unless it was marked lost.
			if sacked&TCPCB_LOST != 0 {
				sacked &^= TCPCB_LOST | TCPCB_SACKED_RETRANS
				tp.lostOut--
				tp.RetransOut--
			}
		} else {
			if sacked&TCPCB_RETRANS == 0 {
				// A never-retransmitted segment SACKed below the
				// highest SACK arrived out of order: reordering.
				if before(seq, tcpHighestSackSeq(tp)) && before(seq, state.reord) {
					state.reord = seq
				}
				if !after(end, tp.HighSeq) {
					state.flag |= FLAG_ORIG_SACK_ACKED
				}
				if !state.haveSackt {
					state.firstSackt, state.haveSackt = xmit, true
				}
				state.lastSackt = xmit
			}
			if sacked&TCPCB_LOST != 0 {
				sacked &^= TCPCB_LOST
				tp.lostOut--
			}
		}
		sacked |= TCPCB_SACKED_ACKED
		state.flag |= FLAG_DATA_SACKED
		tp.sackedOut++
		state.sackDelivered++
		if tp.sackedOut == 1 || after(end, tp.highestSack) {
			tp.highestSack = end
		}
	}
	if dup && sacked&TCPCB_SACKED_RETRANS != 0 {
		// D-SACK of a retransmission: that copy is not in flight.
		sacked &^= TCPCB_SACKED_RETRANS
		tp.RetransOut--
	}
	return sacked
}

// tcpIsSackblockValid is tcp_is_sackblock_valid: a block must lie within
// what was sent and above snd_una; a D-SACK may lie below snd_una but
// not before the current recovery episode (undo_marker).
func tcpIsSackblockValid(tp *TcpSock, dsack bool, start, end uint32) bool {
	if after(end, tp.SndNxt) || !before(start, end) || !before(start, tp.SndNxt) {
		return false
	}
	if after(start, tp.SndUna) {
		return true
	}
	if !dsack || tp.undoMarker == 0 || after(end, tp.SndUna) {
		return false
	}
	if !before(start, tp.undoMarker) {
		return true
	}
	if !after(end, tp.undoMarker) {
		return false
	}
	return !before(start, end-tp.MaxWindow)
}

// tcpCheckDsack is tcp_check_dsack: the first block is a D-SACK if it
// lies below the cumulative ACK (TCPDSACKRecv) or inside the second block
// (TCPDSACKOfoRecv). A D-SACK larger than the window, or of more segments
// than were ever retransmitted, is ignored as dubious.
func (k *Kernel) tcpCheckDsack(sk *sockets.Sock, blocks []header.SackBlock, ackSeq, priorSndUna uint32, state *tcpSacktagState) bool {
	tp := tcpSk(sk)
	b0 := blocks[0]
	switch {
	case before(b0.Start, ackSeq):
		k.mib.inc(LINUX_MIB_TCPDSACKRECV)
	case len(blocks) > 1:
		b1 := blocks[1]
		if after(b0.End, b1.End) || before(b0.Start, b1.Start) {
			return false
		}
		k.mib.inc(LINUX_MIB_TCPDSACKOFORECV)
	default:
		return false
	}
	dups := k.tcpDsackSeen(tp, b0.Start, b0.End, state)
	if dups == 0 {
		k.mib.inc(LINUX_MIB_TCPDSACKIGNOREDDUBIOUS)
		return false
	}
	k.mib.add(LINUX_MIB_TCPDSACKRECVSEGS, uint64(dups))
	// A D-SACK for data already acknowledged and forgotten.
	if tp.undoMarker != 0 && tp.undoRetrans > 0 && !after(b0.End, priorSndUna) && after(b0.End, tp.undoMarker) {
		tp.undoRetrans = max(tp.undoRetrans-int32(dups), 0)
	}
	return true
}

// tcpDsackSeen is tcp_dsack_seen: count the segments a D-SACK reports
// and note it for RACK's reordering window.
func (k *Kernel) tcpDsackSeen(tp *TcpSock, start, end uint32, state *tcpSacktagState) uint32 {
	if !before(start, end) {
		return 0
	}
	n := end - start
	if n > tp.MaxWindow {
		return 0
	}
	dups := uint32(1)
	mss := max(tp.MssCache, 1)
	if n > mss {
		dups = (n + mss - 1) / mss
	} else if tp.TlpHighSeq != 0 && tp.TlpHighSeq == end {
		state.flag |= FLAG_DSACK_TLP
	}
	tp.dsackDups += dups
	if tp.dsackDups > tp.TotalRetrans {
		return 0 // we never sent those twice
	}
	if tp.reordSeen != 0 && state.flag&FLAG_DSACK_TLP == 0 {
		tp.rack.dsackSeen = true
	}
	state.flag |= FLAG_DSACKING_ACK
	state.sackDelivered += dups
	return dups
}

// tcpCheckSackReordering is tcp_check_sack_reordering: a hole at lowSeq
// was filled by the original transmission after higher data was SACKed,
// so the path reorders. The reordering degree (in segments) grows to the
// distance seen, at most tcp_max_reordering (300).
func (k *Kernel) tcpCheckSackReordering(sk *sockets.Sock, lowSeq uint32, ts bool) {
	tp := tcpSk(sk)
	fack := tcpHighestSackSeq(tp)
	if !before(lowSeq, fack) {
		return
	}
	mss := tp.MssCache
	if metric := fack - lowSeq; mss != 0 && metric > tp.Reordering*mss {
		tp.Reordering = min((metric+mss-1)/mss, uint32(tcpMaxReordering))
	}
	tp.reordSeen++
	k.tr.Point(fnTcpCheckSackReordering, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.Reordering)))
	if ts {
		k.mib.inc(LINUX_MIB_TCPTSREORDER)
	} else {
		k.mib.inc(LINUX_MIB_TCPSACKREORDER)
	}
}

// tcpMaxReordering is sysctl_tcp_max_reordering.
const tcpMaxReordering = 300

// tcpMarkSkbLost is tcp_mark_skb_lost: take a segment for lost (a SACKed
// one never is). A retransmission lost again stops counting as in flight
// (TCPLostRetransmit).
func (k *Kernel) tcpMarkSkbLost(sk *sockets.Sock, s *skb.SkBuff) {
	tp := tcpSk(sk)
	sacked := s.Cb[cbSacked]
	if sacked&TCPCB_SACKED_ACKED != 0 {
		return
	}
	k.tr.Point(fnTcpMarkSkbLost, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(cbSeqOf(s))))
	if sacked&TCPCB_LOST != 0 {
		if sacked&TCPCB_SACKED_RETRANS != 0 {
			s.Cb[cbSacked] &^= TCPCB_SACKED_RETRANS
			tp.RetransOut--
			k.mib.inc(LINUX_MIB_TCPLOSTRETRANSMIT)
			tp.lost++
		}
		return
	}
	tp.lostOut++
	s.Cb[cbSacked] |= TCPCB_LOST
	tp.lost++
}

// tcpcbSackedNames names the tag bits of a sacked byte ("" for none).
func tcpcbSackedNames(b uint8) string {
	var names []string
	for _, f := range []struct {
		bit  uint8
		name string
	}{{TCPCB_SACKED_ACKED, "SACKED_ACKED"}, {TCPCB_SACKED_RETRANS, "SACKED_RETRANS"}, {TCPCB_LOST, "LOST"}, {TCPCB_EVER_RETRANS, "EVER_RETRANS"}} {
		if b&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, "|")
}
