package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// datagramPoll is datagram_poll (net/core/datagram.c), the poll of the
// datagram sockets (inet_sockraw_ops; udp_poll starts with it):
//   - POLLERR when sk_err is set or the error queue holds something;
//   - POLLRDHUP|POLLIN|POLLRDNORM after shutdown(SHUT_RD), POLLHUP after
//     shutdown both ways;
//   - POLLIN|POLLRDNORM when a datagram waits in sk_receive_queue;
//   - POLLOUT|POLLWRNORM|POLLWRBAND while sk_wmem_alloc is under half of
//     sk_sndbuf (sock_writeable).
func (k *Kernel) datagramPoll(file *sockets.File, sock *sockets.Socket, wait *sockets.PollTable) uint32 {
	sk := sock.Sk
	k.tr.Enter1(fnDatagramPoll, tracing.Sock(uint64(sk.Addr())))
	sockets.SockPollWait(file, sock, wait)
	var mask uint32
	if sk.SkErr != 0 || !skb.SkbQueueEmpty(&sk.SkErrorQueue) {
		mask |= sockets.POLLERR
	}
	shutdown := sk.SkShutdown
	if shutdown&sockets.RCV_SHUTDOWN != 0 {
		mask |= sockets.POLLRDHUP | sockets.POLLIN | sockets.POLLRDNORM
	}
	if shutdown == sockets.SHUTDOWN_MASK {
		mask |= sockets.POLLHUP
	}
	if !skb.SkbQueueEmpty(&sk.SkReceiveQueue) {
		mask |= sockets.POLLIN | sockets.POLLRDNORM
	}
	// connection_based() is false for these socket types: no state checks.
	if sockWriteable(sk) {
		mask |= sockets.POLLOUT | sockets.POLLWRNORM | sockets.POLLWRBAND
	}
	k.tr.Exit(fnDatagramPoll, tracing.Uint(uint64(mask)))
	return mask
}

// sockWriteable is sock_writeable: less than half the send buffer is in
// flight.
func sockWriteable(sk *sockets.Sock) bool {
	return sk.SkWmemAlloc < sk.SkSndbuf>>1
}
