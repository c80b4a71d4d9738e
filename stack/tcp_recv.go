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
	if !seg.has(header.TCP_FLAG_ACK) && !seg.has(header.TCP_FLAG_RST) && !seg.has(header.TCP_FLAG_SYN) {
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_FLAGS)
		return
	}
	if !k.tcpValidateIncoming(sk, seg) {
		return
	}
	if !seg.has(header.TCP_FLAG_ACK) {
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_FLAGS)
		return
	}
	if r := k.tcpAck(sk, seg, FLAG_SLOWPATH|FLAG_UPDATE_TS_RECENT); r < 0 {
		tcpDropReason(sk, seg.s, tcpAckDropReason(r))
		return
	}
	k.tcpRcvRttMeasureTs(sk, seg.seq, seg.end)
	k.tcpUrg(sk, seg)
	k.tcpDataQueue(sk, seg)
	if sk.SkcState != sockets.TCP_CLOSE {
		k.tcpDataSndCheck(sk)
		k.tcpAckSndCheck(sk)
	}
}

// tcpDataQueue is tcp_data_queue: a segment that starts at rcv_nxt (or
// overlaps it: the old bytes are trimmed) goes on sk_receive_queue and
// may pull segments out of the out-of-order queue after it
// (tcp_ofo_queue); one that starts later goes to the out-of-order queue
// (tcp_data_queue_ofo). One with nothing new, one beyond the window and
// new data into a zero window are dropped and answered at once
// (quick-ack mode). Each makes an ACK owed; tcp_ack_snd_check decides
// afterwards whether it goes at once.
func (k *Kernel) tcpDataQueue(sk *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter2(fnTcpDataQueue, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer k.tr.Exit(fnTcpDataQueue, tracing.Arg{})
	tp := tcpSk(sk)
	s := seg.s
	if seg.seq == seg.end {
		_ = skb.ConsumeSkb(s) // a pure ACK: tcp_ack did all there was to do
		return
	}
	_, _ = skb.SkbPull(s, uint32(seg.th.DataOffset()))
	tp.dsack = false
	// outOfWindow drops the segment and asks for an ACK at once.
	outOfWindow := func(reason skb.DropReason) {
		tcpEnterQuickackMode(tp, TCP_MAX_QUICKACKS)
		tp.ack.Pending |= ICSK_ACK_SCHED
		tcpDropReason(sk, s, reason)
	}
	switch {
	case seg.seq == tp.RcvNxt:
		// A bare FIN is taken even into a zero window: some stacks send
		// one in a loop, and it costs no memory.
		if tcpReceiveWindow(tp) == 0 && !(s.Len == 0 && seg.has(header.TCP_FLAG_FIN)) {
			k.mib.inc(LINUX_MIB_TCPZEROWINDOWDROP)
			outOfWindow(skb.SKB_DROP_REASON_TCP_ZEROWINDOW)
			return
		}
	case !after(seg.end, tp.RcvNxt):
		// A retransmission of what we have: our ACK was lost, so ACK at
		// once, with a D-SACK.
		k.mib.inc(LINUX_MIB_DELAYEDACKLOST)
		k.tcpDsackSet(sk, seg.seq, seg.end)
		outOfWindow(skb.SKB_DROP_REASON_TCP_OLD_DATA)
		return
	case !before(seg.seq, tp.RcvNxt+tcpReceiveWindow(tp)):
		// Beyond the window (a zero-window probe, for example).
		outOfWindow(skb.SKB_DROP_REASON_TCP_OVERWINDOW)
		return
	case before(seg.seq, tp.RcvNxt):
		// Partly old: say so (D-SACK), and take the rest if the window
		// is open.
		k.tcpDsackSet(sk, seg.seq, tp.RcvNxt)
		if tcpReceiveWindow(tp) == 0 {
			k.mib.inc(LINUX_MIB_TCPZEROWINDOWDROP)
			outOfWindow(skb.SKB_DROP_REASON_TCP_ZEROWINDOW)
			return
		}
	default:
		k.tcpDataQueueOfo(sk, seg)
		return
	}
	// In sequence, in the window (queue_and_out).
	if !k.tcpTryRmemSchedule(sk, seg.seq) {
		tp.ack.Pending |= ICSK_ACK_NOMEM | ICSK_ACK_NOW | ICSK_ACK_SCHED
		if !sk.SockFlagSet(sockets.SOCK_DEAD) {
			sk.SkDataReady(sk)
		}
		if !skb.SkbQueueEmpty(&sk.SkReceiveQueue) && s.Len > 0 {
			k.mib.inc(LINUX_MIB_TCPRCVQDROP)
			tcpDropReason(sk, s, skb.SKB_DROP_REASON_PROTO_MEM)
			return
		}
		// Nothing queued to read yet, or only a FIN: it is taken anyway
		// (sk_forced_mem_schedule), or the connection could stall.
	}
	trimmed := before(seg.seq, tp.RcvNxt)
	if trimmed {
		_, _ = skb.SkbPull(s, min(tp.RcvNxt-seg.seq, s.Len))
		setCbSeq(s, tp.RcvNxt)
	}
	queued := s.Len > 0 // tcp_queue_rcv frees an skb with no data left
	fin, eaten := k.tcpQueueRcv(sk, s, trimmed)
	if eaten {
		defer k.tcpFreeEaten(sk, s) // at the end, as tcp_data_queue frees it
	}
	if queued {
		k.tcpEventDataRecv(sk, seg)
	}
	if fin {
		k.tcpFin(sk)
		if sk.SkcState == sockets.TCP_CLOSE {
			// tcp_fin acknowledged the FIN and handed the four-tuple to
			// a TIME_WAIT sock; this sock is done.
			return
		}
	}
	if !skb.SkbQueueEmpty(&tp.outOfOrderQueue) {
		k.tcpOfoQueue(sk)
		if sk.SkcState == sockets.TCP_CLOSE {
			return
		}
		if skb.SkbQueueEmpty(&tp.outOfOrderQueue) {
			// RFC 5681 4.2: ACK at once when a hole is filled.
			tp.ack.Pending |= ICSK_ACK_NOW
		}
	}
	if tp.numSacks > 0 {
		tcpSackRemove(tp, skb.SkbQueueEmpty(&tp.outOfOrderQueue))
	}
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		tcpDataReady(sk)
	}
}

// tcpDataReady is tcp_data_ready: wake the reader (sk_data_ready) only
// once what is queued reaches SO_RCVLOWAT (tcp_epollin_ready) or the
// peer's FIN has come; less than the mark wakes nobody.
func tcpDataReady(sk *sockets.Sock) {
	if tcpStreamIsReadable(sk, sk.SkRcvlowat) || sk.SockFlagSet(sockets.SOCK_DONE) {
		sk.SkDataReady(sk)
	}
}

// tcpDropReason is tcp_drop_reason: a segment the socket drops counts in
// sk_drops (ss -m's d, the queues pane) and is freed with its reason.
func tcpDropReason(sk *sockets.Sock, s *skb.SkBuff, reason skb.DropReason) {
	sk.SkDrops++
	_ = skb.KfreeSkbReason(s, reason)
}

// tcpTryRmemSchedule is tcp_try_rmem_schedule: room for one more segment
// (the one starting at inSeq) in the receive buffer, pruning
// (tcp_prune_queue) when it is over: first by collapsing, then by
// dropping out-of-order data beyond the segment (tcp_prune_ofo_queue),
// so that a segment that fills a hole is never refused for memory the
// segments after the hole take.
func (k *Kernel) tcpTryRmemSchedule(sk *sockets.Sock, inSeq uint32) bool {
	if sk.SkRmemAlloc <= sk.SkRcvbuf {
		return true
	}
	ok := k.tcpPruneQueue(sk, inSeq)
	k.tr.Point(fnTcpTryRmemSchedule, tracing.Sock(uint64(sk.Addr())), tracing.Bool(ok))
	return ok
}

// tcpQueueRcv is tcp_queue_rcv: an in-order skb (its data starting at
// rcv_nxt, header pulled) is merged into the tail of sk_receive_queue if
// it can be (tcp_try_coalesce; eaten: the caller frees it), or else joins
// the queue, charged to the socket; rcv_nxt moves past it. It reports the
// skb's FIN. A FIN with no data joins the queue too (or marks the tail it
// merges into): the reader consumes its sequence number.
func (k *Kernel) tcpQueueRcv(sk *sockets.Sock, s *skb.SkBuff, trimmed bool) (fin, eaten bool) {
	tp := tcpSk(sk)
	k.tr.Point(fnTcpQueueRcv, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(s.Len)))
	fin = cbFlagsOf(s)&header.TCP_FLAG_FIN != 0
	// The tail of the receive queue may take the data (tcp_try_coalesce).
	// trimmed says the model cut bytes already received off the front,
	// which the kernel leaves for recvmsg to skip: its seq would not
	// follow on from the tail's end_seq, so it is not merged.
	if tail := skb.SkbPeekTail(&sk.SkReceiveQueue); tail != nil && !trimmed {
		eaten = k.tcpTryCoalesce(sk, tail, s)
	}
	// tcp_rcv_nxt_update: bytes_received counts the FIN's sequence number too.
	tp.BytesReceived += uint64(cbEndSeqOf(s) - tp.RcvNxt)
	tp.RcvNxt = cbEndSeqOf(s)
	if eaten {
		return fin, true // the caller frees s once it is done with it
	}
	if s.Len == 0 && !fin {
		_ = skb.ConsumeSkb(s) // nothing to read and no FIN: not reached
		return fin, false
	}
	// A bare FIN is queued as it is: its sequence number is read
	// (found_fin_ok in tcp_recvmsg) and it stays charged until then.
	if s.Sk == nil {
		sockets.SkRmemCharge(sk, s.Truesize)
		s.Sk = sk
	}
	_ = skb.SkbQueueTail(&sk.SkReceiveQueue, s)
	return fin, false
}

// tcpFreeEaten frees an skb tcp_try_coalesce merged into the receive
// queue's tail (kfree_skb_partial), giving back what it was charged if it
// had waited in the out-of-order queue (sock_rfree).
func (k *Kernel) tcpFreeEaten(sk *sockets.Sock, s *skb.SkBuff) {
	if s.Sk != nil {
		sockets.SkRmemUncharge(sk, s.Truesize)
		s.Sk = nil
	}
	_ = skb.KfreeSkbPartial(s)
}

// tcpTryCoalesce is tcp_try_coalesce: merge from into to, the tail of the
// receive queue, when from's data follows on from to's (skb_try_coalesce
// copies it into to's room after its tail). to then ends where from ended
// and carries its flags; the socket is charged only what to grew by
// (nothing, for a copy into its room). Small segments so share one skb
// and one truesize, and the receive window stays open longer.
func (k *Kernel) tcpTryCoalesce(sk *sockets.Sock, to, from *skb.SkBuff) bool {
	if cbSeqOf(from) != cbEndSeqOf(to) {
		return false
	}
	ok, delta := skb.SkbTryCoalesce(to, from)
	k.tr.Point(fnTcpTryCoalesce, tracing.Skb(uint64(from.Addr())), tracing.Bool(ok))
	if !ok {
		return false
	}
	sockets.SkRmemCharge(sk, delta)
	to.Truesize += delta
	k.mib.inc(LINUX_MIB_TCPRCVCOALESCE)
	setCbEndSeq(to, cbEndSeqOf(from))
	setCbFlags(to, cbFlagsOf(to)|cbFlagsOf(from))
	return true
}

// tcpDataQueueOfo is tcp_data_queue_ofo: a segment beyond rcv_nxt waits in
// the out-of-order queue, kept sorted by sequence number (an rb-tree in
// the kernel). A segment that adds nothing is dropped (TCPOFOMerge);
// segments it covers entirely are dropped in its favour. The ACK that
// answers it repeats rcv_nxt (a duplicate ACK, which tells the sender of
// the hole) and carries SACK blocks for what waits.
func (k *Kernel) tcpDataQueueOfo(sk *sockets.Sock, seg *tcpSegmentIn) {
	tp := tcpSk(sk)
	s := seg.s
	k.tr.Enter2(fnTcpDataQueueOfo, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnTcpDataQueueOfo, tracing.Arg{})
	if !k.tcpTryRmemSchedule(sk, seg.seq) {
		// No room even after pruning: dropped without an ACK of its
		// own; the reader is told there is data to make room with.
		k.mib.inc(LINUX_MIB_TCPOFODROP)
		if !sk.SockFlagSet(sockets.SOCK_DEAD) {
			sk.SkDataReady(sk)
		}
		tcpDropReason(sk, s, skb.SKB_DROP_REASON_PROTO_MEM)
		return
	}
	// Out-of-order segments tell the receiver the peer's MSS too.
	thlen := uint32(seg.th.DataOffset())
	tcpMeasureRcvMss(tp, uint32(len(seg.th))-thlen, thlen, seg.flag)
	k.mib.inc(LINUX_MIB_TCPOFOQUEUE)
	tp.rcvOoopack++
	q := &tp.outOfOrderQueue
	seq, end := seg.seq, seg.end
	// prev is the last queued skb that starts at or before it. New data
	// usually lands at the tail, which the kernel finds at once through
	// ooo_last_skb; the model's list is searched from the tail for the
	// same reason, so a long queue costs one step per segment, not one
	// per queued skb.
	var prev *skb.SkBuff
	for x := skb.SkbPeekTail(q); x != nil; x = skb.SkbQueuePrev(x, q) {
		if !after(cbSeqOf(x), seq) {
			prev = x
			break
		}
	}
	replaced := false
	if prev != nil && before(seq, cbEndSeqOf(prev)) {
		if !after(end, cbEndSeqOf(prev)) {
			// All of it is queued already.
			k.mib.inc(LINUX_MIB_TCPOFOMERGE)
			k.tcpDsackSet(sk, seq, end)
			if tcpIsSack(tp) {
				k.tr.Point(fnTcpSackNewOfoSkb, tracing.Uint(uint64(seq)), tracing.Uint(uint64(end)))
				tcpSackNewOfoSkb(tp, seq, end, func() { k.tcpSackCompressSendAck(sk) })
			}
			tp.ack.Pending |= ICSK_ACK_SCHED
			tcpDropReason(sk, s, skb.SKB_DROP_REASON_TCP_OFOMERGE)
			return
		}
		if after(seq, cbSeqOf(prev)) {
			k.tcpDsackSet(sk, seq, cbEndSeqOf(prev)) // a partial overlap
		} else {
			// The same start and more data: it takes prev's place.
			old := prev
			prev = skb.SkbQueuePrev(old, q)
			k.tcpDsackExtend(sk, cbSeqOf(old), cbEndSeqOf(old))
			k.tcpOfoDrop(sk, old)
			replaced = true
		}
	}
	// Data that follows on from prev joins it if prev has room
	// (tcp_ooo_try_coalesce), and is only SACKed; whatever it overlaps
	// after it stays queued, as in the kernel. Not after it replaced a
	// queued skb of the same start: the kernel's walk meets that skb
	// first (when it sits above prev in the rb-tree, as it does when it
	// came first).
	if prev != nil && !replaced && seq == cbEndSeqOf(prev) && k.tcpTryCoalesce(sk, prev, s) {
		tp.ack.Pending |= ICSK_ACK_SCHED
		if tp.RxOpt.SackOk {
			k.tcpGrowWindow(sk, s, true)
		}
		k.tcpFreeEaten(sk, s)
		if tcpIsSack(tp) {
			k.tr.Point(fnTcpSackNewOfoSkb, tracing.Uint(uint64(seq)), tracing.Uint(uint64(end)))
			tcpSackNewOfoSkb(tp, seq, end, func() { k.tcpSackCompressSendAck(sk) })
		}
		return
	}
	var next *skb.SkBuff
	if prev != nil {
		next = skb.SkbPeekNext(prev, q)
	} else {
		next = skb.SkbPeek(q)
	}
	// Drop the queued skbs after it that it covers; one it only overlaps
	// ends the D-SACK block.
	for next != nil && after(end, cbSeqOf(next)) {
		if before(end, cbEndSeqOf(next)) {
			k.tcpDsackExtend(sk, cbSeqOf(next), end)
			break
		}
		x := next
		next = skb.SkbPeekNext(x, q)
		k.tcpDsackExtend(sk, cbSeqOf(x), cbEndSeqOf(x))
		k.tcpOfoDrop(sk, x)
	}
	sockets.SkRmemCharge(sk, s.Truesize)
	s.Sk = sk
	if prev != nil {
		_ = skb.SkbQueueAfterLocked(q, prev, s)
	} else {
		_ = skb.SkbQueueHeadLocked(q, s)
	}
	tp.ack.Pending |= ICSK_ACK_SCHED
	if tcpIsSack(tp) {
		k.tr.Point(fnTcpSackNewOfoSkb, tracing.Uint(uint64(seq)), tracing.Uint(uint64(end)))
		tcpSackNewOfoSkb(tp, seq, end, func() { k.tcpSackCompressSendAck(sk) })
	}
	if tp.RxOpt.SackOk {
		// Without SACK the window stays, so that the sender sees
		// duplicate ACKs and retransmits.
		k.tcpGrowWindow(sk, s, false)
	}
}

// tcpPurgeRcvQueue empties a queue of received skbs (the receive or the
// out-of-order queue), giving their memory back, and returns the bytes
// they held.
func tcpPurgeRcvQueue(sk *sockets.Sock, q *skb.SkBuffHead) int {
	n := 0
	for s := skb.SkbDequeueLocked(q); s != nil; s = skb.SkbDequeueLocked(q) {
		n += int(s.Len)
		sockets.SkRmemUncharge(sk, s.Truesize)
		_ = skb.KfreeSkb(s)
	}
	return n
}

// tcpOfoPurge is skb_rbtree_purge of the out-of-order queue.
func tcpOfoPurge(sk *sockets.Sock) {
	tp := tcpSk(sk)
	tcpPurgeRcvQueue(sk, &tp.outOfOrderQueue)
}

// tcpOfoDrop takes a queued skb that newer data made redundant off the
// out-of-order queue and frees it (TCPOFOMerge).
func (k *Kernel) tcpOfoDrop(sk *sockets.Sock, x *skb.SkBuff) {
	tp := tcpSk(sk)
	_ = skb.SkbUnlinkLocked(x, &tp.outOfOrderQueue)
	sockets.SkRmemUncharge(sk, x.Truesize)
	k.mib.inc(LINUX_MIB_TCPOFOMERGE)
	tcpDropReason(sk, x, skb.SKB_DROP_REASON_TCP_OFOMERGE)
}

// tcpOfoQueue is tcp_ofo_queue: after rcv_nxt moved, the out-of-order
// skbs it reached move to the receive queue (their old bytes trimmed);
// those it passed entirely are dropped. Bytes that were already there
// when it began are reported in a D-SACK block. An skb carrying the FIN
// runs tcp_fin, which empties the queue, and ends the walk.
func (k *Kernel) tcpOfoQueue(sk *sockets.Sock) {
	tp := tcpSk(sk)
	q := &tp.outOfOrderQueue
	k.tr.Enter1(fnTcpOfoQueue, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpOfoQueue, tracing.Arg{})
	dsackHigh := tp.RcvNxt
	for x := skb.SkbPeek(q); x != nil && !after(cbSeqOf(x), tp.RcvNxt); x = skb.SkbPeek(q) {
		if before(cbSeqOf(x), dsackHigh) {
			k.tcpDsackExtend(sk, cbSeqOf(x), min32seq(cbEndSeqOf(x), dsackHigh))
		}
		_ = skb.SkbUnlinkLocked(x, q)
		if !after(cbEndSeqOf(x), tp.RcvNxt) {
			sockets.SkRmemUncharge(sk, x.Truesize)
			tcpDropReason(sk, x, skb.SKB_DROP_REASON_TCP_OFO_DROP)
			continue
		}
		d := tp.RcvNxt - cbSeqOf(x)
		if d > 0 {
			_, _ = skb.SkbPull(x, min(d, x.Len))
			setCbSeq(x, tp.RcvNxt)
		}
		fin, eaten := k.tcpQueueRcv(sk, x, d > 0)
		if eaten {
			k.tcpFreeEaten(sk, x)
		}
		if fin {
			k.tcpFin(sk)
			return
		}
	}
}

// min32seq is the earlier of two sequence numbers.
func min32seq(a, b uint32) uint32 {
	if before(a, b) {
		return a
	}
	return b
}

// tcpFin is tcp_fin: the peer has finished sending. Reads will see end of
// file; ESTABLISHED becomes CLOSE_WAIT (our application still has to
// close), FIN_WAIT1 becomes CLOSING.
func (k *Kernel) tcpFin(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpFin, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpFin, tracing.State(uint8(sk.SkcState)))
	tp := tcpSk(sk)
	tp.ack.Pending |= ICSK_ACK_SCHED // inet_csk_schedule_ack
	sk.SkShutdown |= sockets.RCV_SHUTDOWN
	sk.SockSetFlag(sockets.SOCK_DONE)
	switch sk.SkcState {
	case sockets.TCP_SYN_RECV, sockets.TCP_ESTABLISHED:
		// Our FIN will likely follow soon and can carry the ACK.
		k.tcpSetState(sk, sockets.TCP_CLOSE_WAIT)
		tp.ack.Pingpong = TCP_PINGPONG_THRESH
	case sockets.TCP_FIN_WAIT1:
		// Simultaneous close: ACK their FIN now, ours is in flight.
		k.tcpSendAck(sk)
		k.tcpSetState(sk, sockets.TCP_CLOSING)
	case sockets.TCP_FIN_WAIT2:
		// Both FINs are acknowledged (ours was, theirs is about to be).
		k.tcpSendAck(sk)
		k.tcpTimeWait(sk, sockets.TCP_TIME_WAIT, TCP_TIMEWAIT_LEN)
	}
	// Data out of order beyond the FIN can never be read: drop it, and
	// the SACK blocks that describe it.
	tcpOfoPurge(sk)
	if tcpIsSack(tp) {
		tp.dsack, tp.numSacks = false, 0 // tcp_sack_reset
	}
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		sk.SkStateChange(sk)
	}
}

// skbMaxOrder0 is SKB_MAX_ORDER(0, 0): the data one page holds after its
// skb_shared_info, the size tcp_collapse packs received bytes into.
const skbMaxOrder0 = 4096 - 320

// tcpPruneQueue is tcp_prune_queue: the socket is over sk_rcvbuf. First
// the window is clamped (the buffer may grow instead); then both queues
// are collapsed: runs of skbs that carry far more truesize than data (a
// segment of a few bytes sits in a whole skb) are copied into page-sized
// skbs and the originals freed (tcp_collapse_ofo_queue, tcp_collapse);
// only if that is not enough, out-of-order data is thrown away
// (tcp_prune_ofo_queue). It reports whether the socket is within its
// buffer again; if not, the incoming segment is dropped (RcvPruned).
func (k *Kernel) tcpPruneQueue(sk *sockets.Sock, inSeq uint32) (ok bool) {
	k.tr.Enter1(fnTcpPruneQueue, tracing.Sock(uint64(sk.Addr())))
	before := sk.SkRmemAlloc
	defer func() { k.tr.Exit(fnTcpPruneQueue, tracing.Int(int64(before-sk.SkRmemAlloc))) }()
	tp := tcpSk(sk)
	k.mib.inc(LINUX_MIB_PRUNECALLED)
	if sk.SkRmemAlloc >= sk.SkRcvbuf {
		k.tcpClampWindow(sk)
	}
	if sk.SkRmemAlloc <= sk.SkRcvbuf {
		return true
	}
	k.tcpCollapseOfoQueue(sk)
	if head := skb.SkbPeek(&sk.SkReceiveQueue); head != nil {
		k.tcpCollapse(sk, &sk.SkReceiveQueue, head, nil, tp.CopiedSeq, tp.RcvNxt)
	}
	if sk.SkRmemAlloc <= sk.SkRcvbuf {
		return true
	}
	// Collapsing did not help: destructive measures.
	k.tcpPruneOfoQueue(sk, inSeq)
	if sk.SkRmemAlloc <= sk.SkRcvbuf {
		return true
	}
	k.mib.inc(LINUX_MIB_RCVPRUNED)
	return false
}

// tcpCollapse is tcp_collapse: copy the data of the skbs from head up to
// (not including) tail, sequence numbers start to end, into as few
// page-sized skbs as it fits (SKB_MAX_ORDER(0, 0) bytes each), freeing the
// originals. It begins at the first skb worth it: one whose truesize
// would offer less window than it holds data, one partly read already,
// or one followed by a gap. Skbs with SYN or FIN are left alone, and
// stop the copying.
func (k *Kernel) tcpCollapse(sk *sockets.Sock, q *skb.SkBuffHead, head, tail *skb.SkBuff, start, end uint32) {
	s := head
	synFin := func(s *skb.SkBuff) bool {
		return cbFlagsOf(s)&(header.TCP_FLAG_SYN|header.TCP_FLAG_FIN) != 0
	}
restart:
	endOfSkbs := true
	for s != nil && s != tail {
		n := skb.SkbPeekNext(s, q)
		if !before(start, cbEndSeqOf(s)) { // nothing new in it (the ofo queue)
			if s = k.tcpCollapseOne(sk, s, q); s == nil {
				break
			}
			goto restart
		}
		if !synFin(s) && (tcpWinFromSpace(int(s.Truesize)) > int(s.Len) || before(cbSeqOf(s), start)) {
			endOfSkbs = false
			break
		}
		if n != nil && n != tail && cbEndSeqOf(s) != cbSeqOf(n) {
			endOfSkbs = false
			break
		}
		start = cbEndSeqOf(s) // not worth it: skip
		s = n
	}
	if endOfSkbs || s == nil || synFin(s) {
		return
	}
	k.tr.Enter2(fnTcpCollapse, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(start)))
	defer k.tr.Exit(fnTcpCollapse, tracing.Uint(uint64(start)))
	for before(start, end) {
		room := min(uint32(skbMaxOrder0), end-start)
		nskb, err := skb.AllocSkb(k.skbs, room)
		if err != nil {
			return
		}
		nskb.Cb = s.Cb
		setCbSeq(nskb, start)
		setCbEndSeq(nskb, start)
		_ = skb.SkbQueueBeforeLocked(q, s, nskb)
		sockets.SkRmemCharge(sk, nskb.Truesize) // skb_set_owner_r
		nskb.Sk = sk
		for room > 0 {
			if size := cbEndSeqOf(s) - start; int32(size) > 0 {
				size = min(room, size)
				b, _ := skb.SkbPut(nskb, size)
				off := start - cbSeqOf(s)
				copy(b, s.Bytes()[off:off+size])
				setCbEndSeq(nskb, cbEndSeqOf(nskb)+size)
				room -= size
				start += size
			}
			if !before(start, cbEndSeqOf(s)) {
				s = k.tcpCollapseOne(sk, s, q)
				if s == nil || s == tail || synFin(s) {
					return
				}
			}
		}
	}
}

// tcpCollapseOne is tcp_collapse_one: free an skb whose data tcp_collapse
// has copied (TCPRcvCollapsed), and return the one after it.
func (k *Kernel) tcpCollapseOne(sk *sockets.Sock, s *skb.SkBuff, q *skb.SkBuffHead) *skb.SkBuff {
	next := skb.SkbPeekNext(s, q)
	_ = skb.SkbUnlinkLocked(s, q)
	sockets.SkRmemUncharge(sk, s.Truesize)
	_ = skb.ConsumeSkb(s)
	k.mib.inc(LINUX_MIB_TCPRCVCOLLAPSED)
	return next
}

// tcpCollapseOfoQueue is tcp_collapse_ofo_queue: collapse each run of
// contiguous out-of-order data. A run of one skb that is not larger than
// a page's worth is tiny and left alone, until tiny runs add up to an
// eighth of the buffer.
func (k *Kernel) tcpCollapseOfoQueue(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Point(fnTcpCollapseOfoQueue, tracing.Sock(uint64(sk.Addr())), tracing.Arg{})
	q := &tp.outOfOrderQueue
	var sumTiny uint32
	s := skb.SkbPeek(q)
	for s != nil {
		start, end := cbSeqOf(s), cbEndSeqOf(s)
		rangeTruesize := s.Truesize
		head := s
		for {
			s = skb.SkbPeekNext(s, q)
			if s == nil || after(cbSeqOf(s), end) || before(cbEndSeqOf(s), start) {
				break
			}
			rangeTruesize += s.Truesize
			if before(cbSeqOf(s), start) {
				start = cbSeqOf(s)
			}
			if after(cbEndSeqOf(s), end) {
				end = cbEndSeqOf(s)
			}
		}
		if rangeTruesize != head.Truesize || end-start >= skbMaxOrder0 {
			k.tcpCollapse(sk, q, head, s, start, end)
		} else {
			sumTiny += rangeTruesize
			if sumTiny > uint32(sk.SkRcvbuf>>3) {
				return
			}
		}
	}
}

// tcpPruneOfoQueue is tcp_prune_ofo_queue: drop out-of-order segments from
// the highest sequence down, an eighth of the receive buffer at a time,
// until the buffer has room, but none that the incoming segment (at
// inSeq) would come after. The sender will send them again.
func (k *Kernel) tcpPruneOfoQueue(sk *sockets.Sock, inSeq uint32) bool {
	tp := tcpSk(sk)
	q := &tp.outOfOrderQueue
	if skb.SkbQueueEmpty(q) {
		return false
	}
	goal := int64(sk.SkRcvbuf >> 3)
	pruned := false
	for s := skb.SkbPeekTail(q); s != nil; s = skb.SkbPeekTail(q) {
		if after(inSeq, cbSeqOf(s)) {
			break // the incoming segment would come after it
		}
		_ = skb.SkbUnlinkLocked(s, q)
		goal -= int64(s.Truesize)
		sockets.SkRmemUncharge(sk, s.Truesize)
		tcpDropReason(sk, s, skb.SKB_DROP_REASON_TCP_OFO_QUEUE_PRUNE)
		pruned = true
		if goal <= 0 || skb.SkbQueueEmpty(q) {
			if sk.SkRmemAlloc <= sk.SkRcvbuf {
				break
			}
			goal = int64(sk.SkRcvbuf >> 3)
		}
	}
	if pruned {
		k.mib.inc(LINUX_MIB_OFOPRUNED)
		if tp.RxOpt.SackOk {
			tp.dsack, tp.numSacks = false, 0 // tcp_sack_reset: the blocks no longer hold
		}
	}
	return pruned
}
