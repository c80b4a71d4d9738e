package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// Receive-buffer autotuning (net/ipv4/tcp_input.c, "Receiver
// autotuning"): the receiver estimates the RTT on its own (from the time
// a window's worth of data takes to arrive, or from the timestamps the
// sender echoes), counts the bytes the application read in each RTT, and
// grows sk_rcvbuf toward tcp_rmem[2] so that the window can stay ahead of
// a sender in slow start. rcv_ssthresh, the window actually offered,
// grows with each full-sized segment (tcp_grow_window) up to what the
// buffer allows. The model keeps the 6.x starting scaling ratio (half of
// a buffer is window) rather than learning it from skb->len/truesize.

// tcpRcvRtt is tcp_sock's rcv_rtt_est: the receiver's RTT estimate.
type tcpRcvRtt struct {
	rttUs   uint32 // the estimate << 3, µs (0: none yet)
	seq     uint32 // the window measurement ends when rcv_nxt passes this
	time    int64  // when it began (ns)
	started bool   // rcv_rtt_est.time != 0 in the kernel
}

// tcpRcvqSpace is tcp_sock's rcvq_space: what the application read in
// the last RTT.
type tcpRcvqSpace struct {
	space int32  // bytes read in the last measured RTT (the kernel's int)
	seq   uint32 // copied_seq when this measurement began
	time  int64  // when it began (ns)
}

// tcpSpaceFromWin is tcp_space_from_win: the buffer a window needs, with
// the window half of it.
func tcpSpaceFromWin(win int64) int64 {
	return win << tcpRmemToWinScale / tcpDefaultScalingRatio
}

// tcpRcvRttUpdate is tcp_rcv_rtt_update: take a sample (µs). A first
// sample or a smaller one replaces the estimate; a larger one is smoothed
// in (7/8 old, 1/8 new), except for per-window samples (winDep), which
// only ever lower it: a window can take longer than an RTT to arrive.
func tcpRcvRttUpdate(tp *TcpSock, sample uint32, winDep bool) {
	old := tp.rcvRttEst.rttUs
	m := sample << 3
	switch {
	case old == 0 || m < old:
		tp.rcvRttEst.rttUs = m
	case !winDep:
		tp.rcvRttEst.rttUs = old - old>>3 + sample
	}
}

// tcpRcvRttMeasure is tcp_rcv_rtt_measure (Dynamic Right-Sizing): the
// time from one measurement to the moment rcv_nxt passes the end of the
// window offered then is a sample of the RTT. Data calls it
// (tcp_event_data_recv).
func (k *Kernel) tcpRcvRttMeasure(tp *TcpSock) {
	est := &tp.rcvRttEst
	now := k.clock.Now()
	if est.started {
		if before(tp.RcvNxt, est.seq) {
			return
		}
		tcpRcvRttUpdate(tp, uint32(max((now-est.time)/1000, 1)), true)
		k.tr.Point(fnTcpRcvRttMeasure, tracing.Int((now-est.time)/1000), tracing.Int(int64(tp.rcvRttEst.rttUs>>3)))
	}
	est.seq = tp.RcvNxt + tp.RcvWnd
	est.time, est.started = now, true
}

// tcpRttTsoptUs is tcp_rtt_tsopt_us: the time since the peer's echoed
// timestamp was ours, in µs (minDelta if less than a tick, -1 if absurd).
func (k *Kernel) tcpRttTsoptUs(tp *TcpSock, minDelta uint32) int64 {
	const usPerTick = 1000000 / tcpTsHz
	delta := k.tcpClockTs() - tp.RxOpt.RcvTsecr // rcv_tsecr has had tsoffset taken off (tcp_validate_incoming)
	if delta >= (1<<31-1)/usPerTick {
		return -1
	}
	if delta == 0 {
		delta = minDelta
	}
	return int64(delta) * usPerTick
}

// tcpRcvRttMeasureTs is tcp_rcv_rtt_measure_ts: a full-sized segment
// echoing a timestamp not seen before gives a sample of the RTT (the
// sender's timestamps are in milliseconds, so a sample under 1 ms is
// none). tcp_rcv_established calls it for each segment.
func (k *Kernel) tcpRcvRttMeasureTs(sk *sockets.Sock, seq, endSeq uint32) {
	tp := tcpSk(sk)
	if tp.RxOpt.RcvTsecr == tp.rcvRttLastTsecr {
		return
	}
	tp.rcvRttLastTsecr = tp.RxOpt.RcvTsecr
	if endSeq-seq >= tp.RcvMss {
		if d := k.tcpRttTsoptUs(tp, 0); d > 0 {
			tcpRcvRttUpdate(tp, uint32(d), false)
			k.tr.Point(fnTcpRcvRttMeasureTs, tracing.Int(d), tracing.Int(int64(tp.rcvRttEst.rttUs>>3)))
		}
	}
}

// tcpRcvSpaceAdjust is tcp_rcv_space_adjust, called as the reader copies
// data out (tcp_recvmsg): once per receiver RTT it counts the bytes read
// in that RTT, less what is still queued. When that beats the last count,
// sk_rcvbuf grows (unless SO_RCVBUF fixed it, or tcp_moderate_rcvbuf is
// 0) to twice that much plus 16 segments, more if the count is growing
// (a sender in slow start doubles each RTT), as a buffer for that window,
// at most tcp_rmem[2]; window_clamp follows.
func (k *Kernel) tcpRcvSpaceAdjust(sk *sockets.Sock) {
	tp := tcpSk(sk)
	q := &tp.rcvqSpace
	now := k.clock.Now()
	rtt := tp.rcvRttEst.rttUs
	if rtt == 0 || (now-q.time)/1000 < int64(rtt>>3) {
		return
	}
	copied := int32(tp.CopiedSeq-q.seq) - int32(tp.RcvNxt-tp.CopiedSeq)
	if copied > q.space {
		sys := k.net.Sysctl
		if sys.TcpModerateRcvbuf != 0 && sk.SkUserlocks&sockets.SOCK_RCVBUF_LOCK == 0 {
			rcvwin := int64(copied)<<1 + 16*int64(tp.AdvMss)
			grow := rcvwin * int64(copied-q.space) / int64(max(q.space, 1))
			rcvwin += grow << 1
			rcvbuf := min(tcpSpaceFromWin(rcvwin), int64(sys.TcpRmem[2]))
			if rcvbuf > int64(sk.SkRcvbuf) {
				sk.SkRcvbuf = int32(rcvbuf)
				tp.WindowClamp = uint32(tcpWinFromSpace(int(rcvbuf)))
			}
		}
		q.space = copied
		k.tr.Point(fnTcpRcvSpaceAdjust, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(sk.SkRcvbuf)))
	}
	q.seq, q.time = tp.CopiedSeq, now
}

// truesizeAdjust is truesize_adjust: the truesize tcp_grow_window judges a
// segment by. With adjust, an skb whose payload is all in page frags (its
// head holds only the headers it no longer needs) counts without its head;
// the model keeps such skbs' payload linear and marks them PagedHeadEnd.
// A result below the length keeps the whole truesize.
func truesizeAdjust(adjust bool, s *skb.SkBuff) uint32 {
	t := s.Truesize
	if !adjust {
		return t
	}
	var head uint32
	switch {
	case s.PagedHeadEnd != 0:
		head = skb.SkbTruesize(s.PagedHeadEnd)
	case s.Len == s.DataLen: // skb_headlen 0
		head = skb.SkbTruesize(s.EndOffset())
	default:
		return t
	}
	if int64(t)-int64(head) < int64(s.Len) {
		return t
	}
	return t - head
}

// tcpGrowWindow is tcp_grow_window: a segment of len bytes that cost
// truesize arrived; while rcv_ssthresh is below what the buffer and
// window_clamp allow, it grows by two segments (at least twice this one)
// if skbs like it would fit the buffer: a segment whose truesize is more
// than twice its length only counts while rcv_ssthresh is small enough
// for such overhead (__tcp_grow_window). It also asks for an ACK at once,
// so that the sender learns of the window. adjust (in order data, not the
// out-of-order queue) lets a payload in page frags count without its
// head (truesize_adjust).
func (k *Kernel) tcpGrowWindow(sk *sockets.Sock, s *skb.SkBuff, adjust bool) {
	tp := tcpSk(sk)
	room := min(int64(tp.WindowClamp), int64(tcpSpace(sk))) - int64(tp.RcvSsthresh)
	if room <= 0 {
		return
	}
	truesize := truesizeAdjust(adjust, s)
	var incr int64
	if int64(tcpWinFromSpace(int(truesize))) <= int64(s.Len) {
		incr = 2 * int64(tp.AdvMss)
	} else {
		incr = k.tcpGrowWindowSlow(sk, s, truesize)
	}
	if incr > 0 {
		incr = max(incr, 2*int64(s.Len))
		tp.RcvSsthresh += uint32(min(room, incr))
		tp.ack.Quick |= 1
		k.tr.Point(fnTcpGrowWindow, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(tp.RcvSsthresh)))
	}
}

// tcpGrowWindowSlow is __tcp_grow_window: halve the skb's window share and
// the largest window together until the share fits in the segment's
// length; it counts (two segments) only if rcv_ssthresh is still below
// that window then.
func (k *Kernel) tcpGrowWindowSlow(sk *sockets.Sock, s *skb.SkBuff, skbTruesize uint32) int64 {
	tp := tcpSk(sk)
	truesize := int64(tcpWinFromSpace(int(skbTruesize)) >> 1)
	window := int64(tcpWinFromSpace(k.net.Sysctl.TcpRmem[2]) >> 1)
	for int64(tp.RcvSsthresh) <= window {
		if truesize <= int64(s.Len) {
			return 2 * int64(tp.RcvMss)
		}
		truesize >>= 1
		window >>= 1
	}
	return 0
}

// tcpClampWindow is tcp_clamp_window, for tcp_prune_queue: the receive
// queue has reached sk_rcvbuf. Unless SO_RCVBUF fixed it, the buffer grows
// to what is allocated (at most tcp_rmem[2]) rather than pruning; if it
// is still overrun, rcv_ssthresh drops to two segments. Quick ACKs stop.
func (k *Kernel) tcpClampWindow(sk *sockets.Sock) {
	tp := tcpSk(sk)
	tp.ack.Quick = 0
	rmem2 := int32(k.net.Sysctl.TcpRmem[2])
	if sk.SkRcvbuf < rmem2 && sk.SkUserlocks&sockets.SOCK_RCVBUF_LOCK == 0 {
		sk.SkRcvbuf = min(sk.SkRmemAlloc, rmem2)
	}
	if sk.SkRmemAlloc > sk.SkRcvbuf {
		tp.RcvSsthresh = min(tp.WindowClamp, 2*uint32(tp.AdvMss))
	}
	k.tr.Point(fnTcpClampWindow, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(sk.SkRcvbuf)))
}

// tcpRcvbufLockedClamp is the check tcp_connect_init,
// tcp_openreq_init_rwin and cookie_v4_check make before choosing the
// first window: a receive buffer the application fixed with SO_RCVBUF
// limits window_clamp (and so the window scale) to what the buffer
// holds.
func tcpRcvbufLockedClamp(sk *sockets.Sock, clamp uint32) uint32 {
	full := uint32(tcpFullSpace(sk))
	if sk.SkUserlocks&sockets.SOCK_RCVBUF_LOCK != 0 && (clamp > full || clamp == 0) {
		return full
	}
	return clamp
}

// tcpInitRcvBufferSpace is the receive part of tcp_init_buffer_space,
// when the connection is established: window_clamp becomes what the
// buffer allows (keeping a 1/2^tcp_app_win share and one segment for the
// application), rcv_ssthresh stays within it, and autotuning starts
// counting from a first guess of ten segments.
func (k *Kernel) tcpInitRcvBufferSpace(sk *sockets.Sock) {
	tp := tcpSk(sk)
	appWin := k.net.Sysctl.TcpAppWin
	advmss := int64(tp.AdvMss)
	now := k.clock.Now()
	tp.rcvqSpace.time, tp.rcvqSpace.seq = now, tp.CopiedSeq
	maxwin := int64(tcpFullSpace(sk))
	if int64(tp.WindowClamp) >= maxwin {
		tp.WindowClamp = uint32(maxwin)
		if appWin != 0 && maxwin > 4*advmss {
			tp.WindowClamp = uint32(max(maxwin-maxwin>>appWin, 4*advmss))
		}
	}
	if appWin != 0 && int64(tp.WindowClamp) > 2*advmss && int64(tp.WindowClamp)+advmss > maxwin {
		tp.WindowClamp = uint32(max(2*advmss, maxwin-advmss))
	}
	tp.RcvSsthresh = min(tp.RcvSsthresh, tp.WindowClamp)
	tp.rcvqSpace.space = int32(min(tp.RcvSsthresh, tp.RcvWnd, TCP_INIT_CWND*uint32(tp.AdvMss)))
}

// tcpSetRcvlowat is tcp_set_rcvlowat, SO_RCVLOWAT on a TCP socket. The
// mark is capped at half of what the receive buffer may become (its fixed
// size after SO_RCVBUF, else tcp_rmem[2]); readers are woken if enough is
// queued already; and unless SO_RCVBUF fixed it, the buffer grows to what
// a window of that many bytes needs, so that the peer can send enough to
// reach the mark at all.
func (k *Kernel) tcpSetRcvlowat(sk *sockets.Sock, val int32) error {
	tp := tcpSk(sk)
	locked := sk.SkUserlocks&sockets.SOCK_RCVBUF_LOCK != 0
	capacity := int32(k.net.Sysctl.TcpRmem[2] >> 1)
	if locked {
		capacity = sk.SkRcvbuf >> 1
	}
	val = min(val, capacity)
	sk.SkRcvlowat = max(val, 1)
	k.tr.Point(fnTcpSetRcvlowat, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(sk.SkRcvlowat)))
	tcpDataReady(sk) // the new mark may already be reached
	if locked {
		return nil
	}
	if space := tcpSpaceFromWin(int64(val)); space > int64(sk.SkRcvbuf) {
		sk.SkRcvbuf = int32(min(space, 1<<31-1))
		if tp.WindowClamp != 0 && tp.WindowClamp < uint32(val) {
			tp.WindowClamp = uint32(val)
		}
	}
	return nil
}
