package stack

import (
	"encoding/binary"

	"github.com/stackscope/stackscope/skb"
)

// TCP_SKB_CB: TCP's per-packet state in skb->cb (struct tcp_skb_cb). The
// layout here is the model's: seq at 0, end_seq at 4, tcp_flags at 8,
// sacked at 9, the eor bit at 10, the send timestamp (skb->skb_mstamp_ns in the kernel)
// at 16, and at 24 the socket's transmission count when it was last sent.
// The kernel's clock always moves between two transmissions; the model's
// virtual clock may not, so RACK orders sends made at one instant by that
// count (the kernel's tsorted list order). At 32 is tx.delivered, the
// socket's delivered count when the skb was last sent, and at 36 whether
// it still stands for a delivery to come (the kernel zeroes
// tx.delivered_mstamp once the skb is SACKed).
const (
	cbSeq         = 0
	cbEndSeq      = 4
	cbFlags       = 8
	cbSacked      = 9
	cbEor         = 10
	cbMstamp      = 16
	cbTxNum       = 24
	cbTxDelivered = 32
	cbTxPending   = 36
)

func cbSeqOf(s *skb.SkBuff) uint32         { return binary.LittleEndian.Uint32(s.Cb[cbSeq:]) }
func cbEndSeqOf(s *skb.SkBuff) uint32      { return binary.LittleEndian.Uint32(s.Cb[cbEndSeq:]) }
func cbFlagsOf(s *skb.SkBuff) uint8        { return s.Cb[cbFlags] }
func cbMstampOf(s *skb.SkBuff) int64       { return int64(binary.LittleEndian.Uint64(s.Cb[cbMstamp:])) }
func setCbSeq(s *skb.SkBuff, v uint32)     { binary.LittleEndian.PutUint32(s.Cb[cbSeq:], v) }
func setCbEndSeq(s *skb.SkBuff, v uint32)  { binary.LittleEndian.PutUint32(s.Cb[cbEndSeq:], v) }
func setCbFlags(s *skb.SkBuff, v uint8)    { s.Cb[cbFlags] = v }
func setCbMstamp(s *skb.SkBuff, v int64)   { binary.LittleEndian.PutUint64(s.Cb[cbMstamp:], uint64(v)) }
func cbTxNumOf(s *skb.SkBuff) uint64       { return binary.LittleEndian.Uint64(s.Cb[cbTxNum:]) }
func setCbTxNum(s *skb.SkBuff, v uint64)   { binary.LittleEndian.PutUint64(s.Cb[cbTxNum:], v) }
func cbTxDeliveredOf(s *skb.SkBuff) uint32 { return binary.LittleEndian.Uint32(s.Cb[cbTxDelivered:]) }

// cbEorOf is TCP_SKB_CB(skb)->eor: a write with MSG_EOR ended in this
// skb, so no later data joins it.
func cbEorOf(s *skb.SkBuff) bool { return s.Cb[cbEor] != 0 }
func setCbEor(s *skb.SkBuff, v bool) {
	s.Cb[cbEor] = 0
	if v {
		s.Cb[cbEor] = 1
	}
}

// tcpSkbCanCollapseTo is tcp_skb_can_collapse_to: may later data be added
// to s? Not after an end of record (MSG_EOR).
func tcpSkbCanCollapseTo(s *skb.SkBuff) bool { return !cbEorOf(s) }

// Sequence number comparisons with wraparound (before(), after()).
func before(a, b uint32) bool { return int32(a-b) < 0 }
func after(a, b uint32) bool  { return before(b, a) }
