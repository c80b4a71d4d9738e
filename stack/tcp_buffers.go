package stack

import (
	"math/bits"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// tcpSndbufExpand is tcp_sndbuf_expand: size the send buffer for twice
// the congestion window (at least TCP_INIT_CWND segments), counting each
// segment as the skb it costs without TSO (the head rounded up to a power
// of two, plus the sk_buff), so a writer can keep the window full while it
// waits for ACKs. It only grows, up to tcp_wmem[2].
func (k *Kernel) tcpSndbufExpand(sk *sockets.Sock) {
	tp := tcpSk(sk)
	perMss := max(uint32(tp.RxOpt.MssClamp), tp.MssCache) + uint32(skb.MaxTCPHeader) +
		skb.SkbDataAlign(skb.SizeofSkbSharedInfo)
	perMss = roundupPow2(perMss) + skb.SkbDataAlign(skb.SizeofSkBuff)
	nrSegs := max(uint32(TCP_INIT_CWND), tp.SndCwnd, tp.Reordering+1)
	sndmem := int64(2) * int64(nrSegs) * int64(perMss)
	if int64(sk.SkSndbuf) < sndmem {
		sk.SkSndbuf = int32(min(sndmem, int64(k.net.Sysctl.TcpWmem[2])))
		k.tr.Point(fnTcpSndbufExpand, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(sk.SkSndbuf)))
	}
}

func roundupPow2(x uint32) uint32 {
	if x <= 1 {
		return 1
	}
	return 1 << bits.Len32(x-1)
}

// tcpInitBufferSpace is tcp_init_buffer_space, run when a connection is
// established (tcp_init_transfer): unless the application fixed
// SO_SNDBUF, the send buffer grows to what the initial window needs; the
// receive side's window_clamp and rcv_ssthresh fit the receive buffer,
// and autotuning starts (tcpInitRcvBufferSpace).
func (k *Kernel) tcpInitBufferSpace(sk *sockets.Sock) {
	if sk.SkUserlocks&sockets.SOCK_SNDBUF_LOCK == 0 {
		k.tcpSndbufExpand(sk)
	}
	k.tcpInitRcvBufferSpace(sk)
	k.tr.Point(fnTcpInitBufferSpace, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(sk.SkSndbuf)))
}

// tcpShouldExpandSndbuf is tcp_should_expand_sndbuf: grow the send
// buffer after ACKs freed some of it, unless the application fixed its
// size or the packets in flight (not those SACKed or lost) already fill
// the congestion window.
func tcpShouldExpandSndbuf(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	return sk.SkUserlocks&sockets.SOCK_SNDBUF_LOCK == 0 && tcpPacketsInFlight(tp) < tp.SndCwnd
}

// tcpNewSpace is tcp_new_space: ACKs made room in the send buffer of a
// writer that had run out of it; grow the buffer if the window is not
// full, and wake the writer once the socket is writable again
// (sk_write_space).
func (k *Kernel) tcpNewSpace(sk *sockets.Sock) {
	if tcpShouldExpandSndbuf(sk) {
		k.tcpSndbufExpand(sk)
		tcpSk(sk).sndCwndStamp = k.clock.Now()
	}
	k.tr.Point(fnTcpNewSpace, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(sk.SkSndbuf)))
	sk.SkWriteSpace(sk)
}

// tcpCheckSpace is tcp_check_space: only a writer that found the buffer
// full (SOCK_NOSPACE) is of interest when ACKs free space; a socket whose
// writer never waited neither wakes anybody nor grows its buffer.
func (k *Kernel) tcpCheckSpace(sk *sockets.Sock) {
	if sk.SkSocket != nil && sk.SkSocket.TestFlag(sockets.SOCK_NOSPACE) {
		k.tcpNewSpace(sk)
	}
}

// skStreamWriteSpace is sk_stream_write_space, TCP's sk_write_space:
// once the socket is writable (at least a third of the buffer free, and
// little enough unsent), SOCK_NOSPACE is cleared and writers and pollers
// are woken; before that, nothing happens.
func (k *Kernel) skStreamWriteSpace(sk *sockets.Sock) {
	if sk.SkSocket == nil || !skStreamIsWriteable(sk, tcpSk(sk), 1) {
		return
	}
	k.tr.Point(fnSkStreamWriteSpace, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(sk.SkSndbuf-sk.SkWmemQueued)))
	sk.SkSocket.ClearFlag(sockets.SOCK_NOSPACE)
	if sk.SkWq != nil {
		sk.SkWq.WakeUp(1)
	}
}
