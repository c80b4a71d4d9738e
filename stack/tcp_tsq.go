package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// Bits of sk_tsq_flags (enum tsq_flags).
const (
	// TSQF_THROTTLED: the socket held data back until a packet it sent
	// leaves its device (autocorking, TCP Small Queues).
	TSQF_THROTTLED uint32 = 1 << 0
	// TSQF_QUEUED: the socket is on the TSQ tasklet's list.
	TSQF_QUEUED uint32 = 1 << 1
	// TCP_TSQ_DEFERRED: the tasklet found the socket owned by a process;
	// release_sock runs the work (tcp_release_cb).
	TCP_TSQ_DEFERRED uint32 = 1 << 2
	// TCP_MTU_REDUCED_DEFERRED: an ICMP fragmentation needed came while a
	// process owned the socket; release_sock lowers the MSS
	// (tcp_v4_mtu_reduced).
	TCP_MTU_REDUCED_DEFERRED uint32 = 1 << 3
)

// tcpSetOwnerW charges a packet about to be sent to its socket, with the
// destructor __tcp_transmit_skb gives it: __sock_wfree for a pure ACK,
// tcp_wfree for anything else.
func (k *Kernel) tcpSetOwnerW(sk *sockets.Sock, s *skb.SkBuff, pureAck bool) {
	if pureAck {
		sockets.SkbSetOwnerW(s, sk, sockWfree)
		return
	}
	sockets.SkbSetOwnerW(s, sk, k.tcpWfreeFn)
}

// sockWfree is __sock_wfree: the packet's bytes go back to its socket.
func sockWfree(s *skb.SkBuff) { sockets.SkWmemUncharge(s) }

// tcpWfree is tcp_wfree: a sent packet is gone from its device. Its bytes
// go back to the socket, and if the socket was throttled waiting for
// this (TSQF_THROTTLED), it goes on the TSQ tasklet's list, keeping one
// reference on sk_wmem_alloc until the tasklet has run it.
func (k *Kernel) tcpWfree(s *skb.SkBuff) {
	sk, ok := s.Sk.(*sockets.Sock)
	if !ok {
		return
	}
	tp := tcpSk(sk)
	sk.SkWmemAlloc -= int32(s.Truesize) - 1 // keep one reference
	k.tr.Point(fnTcpWfree, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(sk.SkWmemAlloc-1)))
	if tp.tsqFlags&(TSQF_THROTTLED|TSQF_QUEUED) == TSQF_THROTTLED {
		tp.tsqFlags = tp.tsqFlags&^TSQF_THROTTLED | TSQF_QUEUED
		k.tsqQueue = append(k.tsqQueue, sk)
		return
	}
	sockets.SkFree(sk) // the reference kept above
}

// tcpTaskletFunc is tcp_tasklet_func: for each socket tcp_wfree queued,
// the held-back data may go now (tcp_tsq_handler).
func (k *Kernel) tcpTaskletFunc() {
	if len(k.tsqQueue) == 0 {
		return
	}
	k.tr.Enter(fnTcpTaskletFunc)
	k.inTasklet = true
	defer func() { k.inTasklet = false }()
	for len(k.tsqQueue) > 0 {
		sk := k.tsqQueue[0]
		k.tsqQueue[0] = nil
		k.tsqQueue = k.tsqQueue[1:]
		tcpSk(sk).tsqFlags &^= TSQF_QUEUED
		k.tcpTsqHandler(sk)
		sockets.SkFree(sk) // the reference tcp_wfree kept
	}
	k.tsqQueue = nil
	k.tr.Exit(fnTcpTaskletFunc, tracing.Arg{})
}

// tcpTsqHandler is tcp_tsq_handler: write now, or, when a process owns
// the socket, leave it to release_sock (TCP_TSQ_DEFERRED).
func (k *Kernel) tcpTsqHandler(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpTsqHandler, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpTsqHandler, tracing.Arg{})
	if sk.SkLock.Owned {
		tp.tsqFlags |= TCP_TSQ_DEFERRED
		return
	}
	k.tcpTsqWrite(sk)
}

// tcpTsqWrite is tcp_tsq_write: in a state that sends data, retransmit
// what is marked lost if cwnd allows, then send what waits.
func (k *Kernel) tcpTsqWrite(sk *sockets.Sock) {
	switch sk.SkcState {
	case sockets.TCP_ESTABLISHED, sockets.TCP_FIN_WAIT1, sockets.TCP_CLOSING, sockets.TCP_CLOSE_WAIT, sockets.TCP_LAST_ACK:
	default:
		return
	}
	tp := tcpSk(sk)
	if tp.lostOut > tp.RetransOut && tp.SndCwnd > tcpPacketsInFlight(tp) {
		k.tcpXmitRetransmitQueue(sk)
	}
	k.tcpWriteXmit(sk, k.tcpCurrentMss(sk), tp.Nonagle, false)
}

// tcpReleaseCb is tcp_release_cb: what was deferred while a process owned
// the socket runs when it lets go (the model defers only TSQ's write; its
// timers re-arm themselves instead).
func (k *Kernel) tcpReleaseCb(sk *sockets.Sock) {
	tp := tcpSk(sk)
	flags := tp.tsqFlags & (TCP_TSQ_DEFERRED | TCP_MTU_REDUCED_DEFERRED)
	if flags == 0 {
		return
	}
	tp.tsqFlags &^= flags
	k.tr.Point(fnTcpReleaseCb, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(flags)))
	if flags&TCP_TSQ_DEFERRED != 0 {
		k.tcpTsqWrite(sk)
	}
	if flags&TCP_MTU_REDUCED_DEFERRED != 0 {
		k.tcpV4MtuReduced(sk)
	}
}

// tcpSkbStillInHostQueue is skb_still_in_host_queue: the last copy of s
// sent has not left its device yet, so sending it again would put two
// copies in the same queue. The socket is throttled instead, and
// tcp_wfree wakes it when that copy is gone.
func (k *Kernel) tcpSkbStillInHostQueue(sk *sockets.Sock, s *skb.SkBuff) bool {
	if !skb.SkbFcloneBusy(s, sk) {
		return false
	}
	tcpSk(sk).tsqFlags |= TSQF_THROTTLED
	k.mib.inc(LINUX_MIB_TCPSPURIOUSRTXHOSTQUEUES)
	k.tr.Point(fnSkbStillInHostQueue, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())))
	return true
}

// tcpUpdatePacingRate is tcp_update_pacing_rate: sk_pacing_rate is
// cwnd*mss/srtt, times tcp_pacing_ss_ratio (200%) while cwnd is below
// half of ssthresh, else tcp_pacing_ca_ratio (120%). The model paces
// nothing by it (no fq, no internal pacing); TCP Small Queues sizes its
// limit with it.
func (k *Kernel) tcpUpdatePacingRate(sk *sockets.Sock) {
	tp := tcpSk(sk)
	rate := uint64(tp.MssCache) * (uint64(1_000_000/100) << 3) // per second, over srtt<<3 in µs
	if tp.SndCwnd < tp.SndSsthresh/2 {
		rate *= uint64(k.net.Sysctl.TcpPacingSsRatio)
	} else {
		rate *= uint64(k.net.Sysctl.TcpPacingCaRatio)
	}
	rate *= uint64(max(tp.SndCwnd, tp.PacketsOut))
	if tp.Srtt != 0 {
		rate /= uint64(tp.Srtt)
	}
	sk.SkPacingRate = min(rate, sk.SkMaxPacingRate)
	k.tr.Point(fnTcpUpdatePacingRate, tracing.Sock(uint64(sk.Addr())), tracing.Uint(sk.SkPacingRate))
}

// tcpSmallQueueCheck is tcp_small_queue_check (TCP Small Queues): stop
// sending while more of the socket's bytes than about a millisecond at
// its pacing rate (at least two packets, at most tcp_limit_output_bytes;
// twice that for retransmissions, factor 1) still wait in its device.
// tcp_wfree sends the rest when they leave. A socket with at most one
// packet in flight always sends.
func (k *Kernel) tcpSmallQueueCheck(sk *sockets.Sock, s *skb.SkBuff, factor uint) bool {
	tp := tcpSk(sk)
	limit := max(2*uint64(s.Truesize), sk.SkPacingRate>>sk.SkPacingShift)
	limit = min(limit, uint64(k.net.Sysctl.TcpLimitOutputBytes)) // sk_pacing_status is SK_PACING_NONE
	limit <<= factor
	if uint64(max(sk.SkWmemAlloc, 0)) <= limit {
		return false
	}
	if skb.SkbQueueLen(&tp.rtxQueue) <= 1 { // tcp_rtx_queue_empty_or_single_skb
		return false
	}
	tp.tsqFlags |= TSQF_THROTTLED
	k.tr.Point(fnTcpSmallQueueCheck, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(sk.SkWmemAlloc)))
	return true
}

// tcpShouldAutocork is tcp_should_autocork: hold a small write back when
// the socket has data in flight and a packet of its own still waits in a
// device. Its completion (tcp_wfree) sends the held data, joined by what
// the program writes meanwhile, in fewer and fuller segments.
func (k *Kernel) tcpShouldAutocork(sk *sockets.Sock, s *skb.SkBuff, sizeGoal uint32) bool {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpShouldAutocork, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())))
	cork := s.Len < sizeGoal &&
		k.net.Sysctl.TcpAutocorking != 0 &&
		!skb.SkbQueueEmpty(&tp.rtxQueue) &&
		sk.SkWmemAlloc > int32(s.Truesize) // tcp_skb_can_collapse_to: the model has no MSG_EOR, so always
	k.tr.Exit(fnTcpShouldAutocork, tracing.Bool(cork))
	return cork
}
