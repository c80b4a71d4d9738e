package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// tcpRetransTryCollapse is tcp_retrans_try_collapse: a retransmission of a
// short segment takes the segments after it along while they fit in space
// (an MSS, or the peer's window if less) and the window: three lost
// 100-byte writes go again as one 300-byte segment. Only unsacked,
// single-segment skbs that no clone still holds are merged, and not after
// a SYN; tcp_retrans_collapse 0 turns it off.
func (k *Kernel) tcpRetransTryCollapse(sk *sockets.Sock, to *skb.SkBuff, space int64) {
	if k.net.Sysctl.TcpRetransCollapse == 0 || cbFlagsOf(to)&header.TCP_FLAG_SYN != 0 {
		return
	}
	k.tr.Point(fnTcpRetransTryCollapse, tracing.Skb(uint64(to.Addr())), tracing.Int(space))
	tp := tcpSk(sk)
	first := true
	for s := to; s != nil; {
		next := skb.SkbPeekNext(s, &tp.rtxQueue)
		if !tcpCanCollapse(s) || !tcpSkbCanCollapseTo(to) {
			return // tcp_skb_can_collapse: nothing joins an end of record
		}
		space -= int64(s.Len)
		if first {
			first = false
			s = next
			continue
		}
		if space < 0 || after(cbEndSeqOf(s), tp.SndUna+tp.SndWnd) {
			return
		}
		if !k.tcpCollapseRetrans(sk, to) {
			return
		}
		s = next
	}
}

// tcpCanCollapse is tcp_can_collapse: a single-segment skb, not cloned (a
// copy of it still waits in a device) and not SACKed.
func tcpCanCollapse(s *skb.SkBuff) bool {
	return !skb.SkbCloned(s) && s.Cb[cbSacked]&TCPCB_SACKED_ACKED == 0
}

// tcpCollapseRetrans is tcp_collapse_retrans: move the data of the skb
// after to into to, which takes over its end, its flags (PSH, FIN) and its
// EVER_RETRANS tag; the emptied skb leaves the retransmit queue, one
// packet fewer in flight (and lost, or retransmitted, if it was).
func (k *Kernel) tcpCollapseRetrans(sk *sockets.Sock, to *skb.SkBuff) bool {
	tp := tcpSk(sk)
	next := skb.SkbPeekNext(to, &tp.rtxQueue)
	if next == nil {
		return false
	}
	k.tr.Point(fnTcpCollapseRetrans, tracing.Skb(uint64(to.Addr())), tracing.Skb(uint64(next.Addr())))
	if n := next.Len; n > 0 {
		// skb_shift: the bytes and their truesize move to to. The model
		// makes linear room for them, where the kernel adds frags; to's
		// truesize does not grow with its head (skb.SkBuff.PagedHeadEnd).
		if room := skb.SkbTailroom(to); room < n {
			oldTruesize := to.Truesize
			if err := skb.PskbExpandHead(to, 0, n-room); err != nil {
				return false
			}
			sk.SkWmemQueued += int32(to.Truesize) - int32(oldTruesize)
		}
		tcpSkbShiftBytes(to, next, n)
	}
	setCbEndSeq(to, cbEndSeqOf(next))
	setCbFlags(to, cbFlagsOf(to)|cbFlagsOf(next))
	setCbEor(to, cbEorOf(next))
	to.Cb[cbSacked] |= next.Cb[cbSacked] & TCPCB_EVER_RETRANS
	// tcp_adjust_pcount for the skb that goes away.
	tp.PacketsOut--
	sacked := next.Cb[cbSacked]
	if sacked&TCPCB_SACKED_RETRANS != 0 {
		tp.RetransOut--
	}
	if sacked&TCPCB_LOST != 0 {
		tp.lostOut--
	}
	// tcp_rtx_queue_unlink_and_free
	_ = skb.SkbUnlinkLocked(next, &tp.rtxQueue)
	sk.SkWmemQueued -= int32(next.Truesize)
	_ = skb.ConsumeSkb(next)
	return true
}
