package stack

import "github.com/stackscope/stackscope/stack/header"

// The receiver's SACK blocks (tp->selective_acks, RFC 2018 section 4):
// up to four ranges of out-of-order data, the most recently changed
// first. A new out-of-order segment extends the block it touches and
// moves it to the front, or starts a new block at the front; blocks that
// rcv_nxt has passed are removed. Each ACK reports them in this order, so
// a range the sender has not heard about stays in the first blocks for
// several ACKs, and one lost ACK does not hide it.

// TCP_NUM_SACKS is how many blocks the receiver remembers.
const TCP_NUM_SACKS = 4

// tcpSackExtend is tcp_sack_extend: grow b by [seq, end) if they touch.
func tcpSackExtend(b *header.SackBlock, seq, end uint32) bool {
	if !after(seq, b.End) && !after(b.Start, end) {
		if before(seq, b.Start) {
			b.Start = seq
		}
		if after(end, b.End) {
			b.End = end
		}
		return true
	}
	return false
}

// tcpSackMaybeCoalesce is tcp_sack_maybe_coalesce: the first block, just
// grown, may now touch others; merge them into it.
func tcpSackMaybeCoalesce(tp *TcpSock) {
	n := tp.numSacks
	sp := &tp.selectiveAcks
	for i := 1; i < n; {
		if tcpSackExtend(&sp[0], sp[i].Start, sp[i].End) {
			copy(sp[i:n], sp[i+1:n])
			n--
			continue
		}
		i++
	}
	tp.numSacks = n
}

// tcpSackBlocksExpected is TCP_SACK_BLOCKS_EXPECTED: the SACK blocks an
// ACK can be counted on to carry (SACKs get lost, so 2 of the 3 or 4).
const tcpSackBlocksExpected = 2

// tcpSackNewOfoSkb is tcp_sack_new_ofo_skb: [seq, end) joined the
// out-of-order queue. When the range lands in the third block or
// beyond, an ACK held back by SACK compression goes first, with the
// blocks as they were (flush, tcp_sack_compress_send_ack; nil: none).
func tcpSackNewOfoSkb(tp *TcpSock, seq, end uint32, flush func()) {
	sp := &tp.selectiveAcks
	n := tp.numSacks
	for i := 0; i < n; i++ {
		if tcpSackExtend(&sp[i], seq, end) {
			if i >= tcpSackBlocksExpected && flush != nil {
				flush()
			}
			for ; i > 0; i-- { // rotate it to the front
				sp[i], sp[i-1] = sp[i-1], sp[i]
			}
			if n > 1 {
				tcpSackMaybeCoalesce(tp)
			}
			return
		}
	}
	if n >= tcpSackBlocksExpected && flush != nil {
		flush()
	}
	if n >= TCP_NUM_SACKS {
		n-- // forget the oldest
	}
	copy(sp[1:n+1], sp[:n])
	sp[0] = header.SackBlock{Start: seq, End: end}
	tp.numSacks = n + 1
}

// tcpSackRemove is tcp_sack_remove: after rcv_nxt moved, drop the blocks
// it covers (all of them once the out-of-order queue is empty).
func tcpSackRemove(tp *TcpSock, ofoEmpty bool) {
	if ofoEmpty {
		tp.numSacks = 0
		return
	}
	sp := &tp.selectiveAcks
	n := tp.numSacks
	for i := 0; i < n; {
		if !before(tp.RcvNxt, sp[i].Start) {
			copy(sp[i:n], sp[i+1:n])
			n--
			continue
		}
		i++
	}
	tp.numSacks = n
}

// tcpSackBlocks are the SACK blocks an ACK carries, at most max.
func tcpSackBlocks(tp *TcpSock, max int) []header.SackBlock {
	n := min(tp.numSacks, max)
	out := make([]header.SackBlock, n)
	copy(out, tp.selectiveAcks[:n])
	return out
}
