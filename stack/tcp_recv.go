package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// tcpRcvEstablished is tcp_rcv_established. The kernel has a header-
// prediction fast path for the common in-order segment; the model always
// takes the slow path, which reaches the same result: validate, process
// the ACK, queue the data.
func (k *Kernel) tcpRcvEstablished(sk *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter2(fnTcpRcvEstablished, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer k.tr.Exit(fnTcpRcvEstablished, tracing.Arg{})
	tp := tcpSk(sk)
	tp.SegsIn++
	if !k.tcpValidateIncoming(sk, seg) {
		return
	}
	if !seg.has(header.TCP_FLAG_ACK) {
		_ = skb.KfreeSkbReason(seg.s, skb.SKB_DROP_REASON_TCP_FLAGS)
		return
	}
	if k.tcpAck(sk, seg) < 0 {
		_ = skb.KfreeSkbReason(seg.s, skb.SKB_DROP_REASON_TCP_ACK_UNSENT_DATA)
		return
	}
	k.tcpDataQueue(sk, seg)
}

// tcpDataQueue is tcp_data_queue: the segment's payload goes on
// sk_receive_queue if it starts at rcv_nxt and fits the receive buffer;
// its FIN is handled by tcp_fin. Segments with nothing new or out of order
// are answered with a duplicate ACK. (The kernel keeps out-of-order
// segments for later; the model drops them and lets the peer retransmit.)
func (k *Kernel) tcpDataQueue(sk *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter2(fnTcpDataQueue, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer k.tr.Exit(fnTcpDataQueue, tracing.Arg{})
	tp := tcpSk(sk)
	s := seg.s
	dlen := uint32(len(seg.th) - seg.th.DataOffset())
	fin := seg.has(header.TCP_FLAG_FIN)
	if dlen == 0 && !fin {
		_ = skb.ConsumeSkb(s) // a pure ACK: tcp_ack did all there was to do
		return
	}
	if seg.seq != tp.RcvNxt {
		reason := skb.SKB_DROP_REASON_TCP_OLD_DATA
		if after(seg.end, tp.RcvNxt) {
			k.mib.inc(LINUX_MIB_TCPOFODROP)
			reason = skb.SKB_DROP_REASON_TCP_OFO_DROP
		}
		k.tcpSendAck(sk)
		_ = skb.KfreeSkbReason(s, reason)
		return
	}
	if dlen > 0 && sk.SkShutdown&sockets.RCV_SHUTDOWN != 0 {
		// Data after we closed for reading: the kernel resets (tcp_reset
		// with "data after close"); so does the model.
		k.mib.inc(LINUX_MIB_TCPABORTONDATA)
		k.tcpSendActiveReset(sk)
		k.tcpDone(sk)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_TCP_ZEROWINDOW)
		return
	}
	if dlen > 0 && sk.SkRmemAlloc+int32(s.Truesize) > sk.SkRcvbuf {
		k.mib.inc(LINUX_MIB_TCPRCVQDROP)
		sk.SkDrops++
		k.tcpSendAck(sk)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_PROTO_MEM)
		return
	}
	tp.RcvNxt = seg.end
	tp.BytesReceived += uint64(dlen)
	if dlen > 0 {
		tp.DataSegsIn++
		_, _ = skb.SkbPull(s, uint32(seg.th.DataOffset()))
		sockets.SkRmemCharge(sk, s.Truesize)
		s.Sk = sk
		_ = skb.SkbQueueTail(&sk.SkReceiveQueue, s)
		s = nil
	}
	if fin {
		k.tcpFin(sk)
	}
	// The kernel delays the ACK of a single small segment (tcp_event_data_recv,
	// the delack timer); the model acknowledges every segment at once.
	k.tcpSendAck(sk)
	if s != nil {
		_ = skb.ConsumeSkb(s)
	}
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		sk.SkDataReady(sk)
	}
}

// tcpFin is tcp_fin: the peer has finished sending. Reads will see end of
// file; ESTABLISHED becomes CLOSE_WAIT (our application still has to
// close), FIN_WAIT1 becomes CLOSING.
func (k *Kernel) tcpFin(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpFin, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpFin, tracing.State(uint8(sk.SkcState)))
	sk.SkShutdown |= sockets.RCV_SHUTDOWN
	sk.SockSetFlag(sockets.SOCK_DONE)
	switch sk.SkcState {
	case sockets.TCP_SYN_RECV, sockets.TCP_ESTABLISHED:
		k.tcpSetState(sk, sockets.TCP_CLOSE_WAIT)
	case sockets.TCP_FIN_WAIT1:
		k.tcpSetState(sk, sockets.TCP_CLOSING)
	}
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		sk.SkStateChange(sk)
	}
}
