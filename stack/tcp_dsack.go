package stack

import (
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// D-SACK, the receiver's side (RFC 2883): when a segment arrives that we
// already have, the next ACK reports its range as the first SACK block,
// below the cumulative ACK (TCPDSACKOldSent) or inside the out-of-order
// data (TCPDSACKOfoSent), so the sender learns that a retransmission was
// not needed. The block is sent once.

// tcpDsackSet is tcp_dsack_set: the next ACK carries [seq, end) as a
// D-SACK block (with SACK agreed and net.ipv4.tcp_dsack on).
func (k *Kernel) tcpDsackSet(sk *sockets.Sock, seq, end uint32) {
	tp := tcpSk(sk)
	if !tcpIsSack(tp) || k.net.Sysctl.TcpDsack == 0 {
		return
	}
	if before(seq, tp.RcvNxt) {
		k.mib.inc(LINUX_MIB_TCPDSACKOLDSENT)
	} else {
		k.mib.inc(LINUX_MIB_TCPDSACKOFOSENT)
	}
	k.tr.Point(fnTcpDsackSet, tracing.Uint(uint64(seq)), tracing.Uint(uint64(end)))
	tp.dsack = true
	tp.duplicateSack = header.SackBlock{Start: seq, End: end}
}

// tcpDsackExtend is tcp_dsack_extend: widen the pending D-SACK block by
// an adjacent or overlapping range, or start one.
func (k *Kernel) tcpDsackExtend(sk *sockets.Sock, seq, end uint32) {
	tp := tcpSk(sk)
	if !tp.dsack {
		k.tcpDsackSet(sk, seq, end)
		return
	}
	b := &tp.duplicateSack
	if !after(seq, b.End) && !after(b.Start, end) { // tcp_sack_extend
		if before(seq, b.Start) {
			b.Start = seq
		}
		if after(end, b.End) {
			b.End = end
		}
	}
}

// tcpSendDupack is tcp_send_dupack: a segment outside the window gets an
// immediate ACK; if it carried data we already have, in quick-ack mode
// and with a D-SACK of the old part.
func (k *Kernel) tcpSendDupack(sk *sockets.Sock, seg *tcpSegmentIn) {
	tp := tcpSk(sk)
	k.tr.Point(fnTcpSendDupack, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(seg.seq)))
	if seg.end != seg.seq && before(seg.seq, tp.RcvNxt) {
		k.mib.inc(LINUX_MIB_DELAYEDACKLOST)
		tcpEnterQuickackMode(tp, TCP_MAX_QUICKACKS)
		end := seg.end
		if after(end, tp.RcvNxt) {
			end = tp.RcvNxt
		}
		k.tcpDsackSet(sk, seg.seq, end)
	}
	k.tcpSendAck(sk)
}

// tcpAckSackBlocks are the SACK blocks of an outgoing ACK: a pending
// D-SACK first (then cleared, as tcp_options_write does), then the
// out-of-order queue's ranges, at most max in all.
func tcpAckSackBlocks(tp *TcpSock, max int) []header.SackBlock {
	var blocks []header.SackBlock
	if tp.dsack {
		blocks = append(blocks, tp.duplicateSack)
		tp.dsack = false
		max--
	}
	if tp.numSacks > 0 {
		blocks = append(blocks, tcpSackBlocks(tp, max)...)
	}
	return blocks
}
