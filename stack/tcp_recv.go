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
	k.tcpDataSndCheck(sk)
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
	if dlen > 0 && sk.SkRmemAlloc > sk.SkRcvbuf {
		k.tcpPruneQueue(sk)
	}
	if dlen > 0 && sk.SkRmemAlloc > sk.SkRcvbuf {
		// tcp_try_rmem_schedule: only a receive queue still over
		// sk_rcvbuf after tcp_prune_queue refuses data.
		k.mib.inc(LINUX_MIB_TCPRCVQDROP)
		sk.SkDrops++
		k.tcpSendAck(sk)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_PROTO_MEM)
		return
	}
	tp.BytesReceived += uint64(seg.end - tp.RcvNxt) // tcp_rcv_nxt_update: the FIN counts too
	tp.RcvNxt = seg.end
	if dlen > 0 {
		tp.Lrcvtime = k.clock.Now() // tcp_event_data_recv
		_, _ = skb.SkbPull(s, uint32(seg.th.DataOffset()))
		sockets.SkRmemCharge(sk, s.Truesize)
		s.Sk = sk
		_ = skb.SkbQueueTail(&sk.SkReceiveQueue, s)
		s = nil
	}
	if fin {
		k.tcpFin(sk)
	}
	if sk.SkcState == sockets.TCP_TIME_WAIT {
		// tcp_fin acknowledged the FIN already; a second ACK would reach a
		// peer that has closed, and its RST would end our TIME_WAIT.
		if s != nil {
			_ = skb.ConsumeSkb(s)
		}
		return
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
	case sockets.TCP_FIN_WAIT2:
		// Both FINs are acknowledged (ours was, theirs is about to be).
		k.tcpSendAck(sk)
		k.tcpTimeWait(sk, sockets.TCP_TIME_WAIT, TCP_TIMEWAIT_LEN)
	}
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		sk.SkStateChange(sk)
	}
}

// skbMaxOrder0 is SKB_MAX_ORDER(0, 0): the data one page holds after its
// skb_shared_info, the size tcp_collapse packs received bytes into.
const skbMaxOrder0 = 4096 - 320

// tcpPruneQueue is tcp_prune_queue -> tcp_collapse: the receive queue is
// over sk_rcvbuf, often because skbs carry far more truesize than data
// (a 64 KB loopback segment sits in a 128 KB buffer). Its bytes are copied
// into page-sized skbs, and the bloated originals freed.
func (k *Kernel) tcpPruneQueue(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpPruneQueue, tracing.Sock(uint64(sk.Addr())))
	before := sk.SkRmemAlloc
	defer func() { k.tr.Exit(fnTcpPruneQueue, tracing.Int(int64(before-sk.SkRmemAlloc))) }()
	q := &sk.SkReceiveQueue
	var fresh skb.SkBuffHead
	skb.SkbQueueHeadInit(&fresh, nil, 0)
	for s := skb.SkbDequeueLocked(q); s != nil; s = skb.SkbDequeueLocked(q) {
		data := s.Bytes()
		seq := cbSeqOf(s)
		if s.Truesize <= uint32(len(data))+uint32(len(data))/4+1024 {
			_ = skb.SkbQueueTailLocked(&fresh, s) // already compact
			continue
		}
		ok := true
		var parts []*skb.SkBuff
		for off := 0; off < len(data); off += skbMaxOrder0 {
			n := min(skbMaxOrder0, len(data)-off)
			c, err := skb.AllocSkb(k.skbs, uint32(n))
			if err != nil {
				ok = false
				break
			}
			b, _ := skb.SkbPut(c, uint32(n))
			copy(b, data[off:off+n])
			setCbSeq(c, seq+uint32(off))
			setCbEndSeq(c, seq+uint32(off+n))
			c.Sk = sk
			parts = append(parts, c)
		}
		if !ok || len(parts) == 0 {
			for _, c := range parts {
				_ = skb.KfreeSkb(c)
			}
			_ = skb.SkbQueueTailLocked(&fresh, s)
			continue
		}
		setCbEndSeq(parts[len(parts)-1], cbEndSeqOf(s))
		for _, c := range parts {
			sockets.SkRmemCharge(sk, c.Truesize)
			_ = skb.SkbQueueTailLocked(&fresh, c)
		}
		sockets.SkRmemUncharge(sk, s.Truesize)
		_ = skb.ConsumeSkb(s)
	}
	for s := skb.SkbDequeueLocked(&fresh); s != nil; s = skb.SkbDequeueLocked(&fresh) {
		_ = skb.SkbQueueTailLocked(q, s)
	}
}
