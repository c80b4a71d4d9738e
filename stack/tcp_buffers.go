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
// size or the congestion window is already full.
func tcpShouldExpandSndbuf(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	return sk.SkUserlocks&sockets.SOCK_SNDBUF_LOCK == 0 && tp.PacketsOut < tp.SndCwnd
}

// tcpNewSpace is tcp_new_space: ACKs made room in the send buffer; grow
// it if the window grew, and wake a writer waiting for space once the
// socket is writable again (sk_stream_write_space: at least a third of the
// buffer free), not for every byte acknowledged.
func (k *Kernel) tcpNewSpace(sk *sockets.Sock) {
	if tcpShouldExpandSndbuf(sk) {
		k.tcpSndbufExpand(sk)
	}
	k.tr.Point(fnTcpNewSpace, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(sk.SkSndbuf)))
	if skStreamIsWriteable(sk, tcpSk(sk), 1) {
		sk.SkWriteSpace(sk)
	}
}
