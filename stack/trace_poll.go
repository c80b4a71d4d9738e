package stack

import "github.com/stackscope/stackscope/tracing"

// Trace registrations for readiness: poll(2) and the protocols' poll.
var (
	fnDoSysPoll, fnDoPollfd, fnTcpPoll, fnUdpPoll, fnDatagramPoll tracing.FuncID
)

func init() {
	const selectC = "fs/select.c"
	sk := []string{"sk"}
	fnDoSysPoll = reg("do_sys_poll", selectC, (*Kernel).doSysPoll, []string{"nfds", "timeout_ms"},
		"poll(): asks each file for its events (do_poll); if none is ready it sleeps on all their wait queues at once "+
			"until one wakes it, the timeout passes or a signal comes, then asks again.")
	fnDoPollfd = tracing.Register(tracing.Spec{Name: "do_pollfd", File: selectC, Go: (*Kernel).doPollfd, Inline: true,
		Args: []string{"fd", "revents"}, Explain: "One pollfd: POLLNVAL for an fd with no file, otherwise the file's poll " +
			"(sock_poll) filtered to the events asked for, plus POLLERR and POLLHUP, which are always reported."})
	fnTcpPoll = reg("tcp_poll", tcpC, (*Kernel).tcpPoll, sk,
		"TCP's readiness: a listener is readable with a connection in its accept queue; a connection is readable with "+
			"unread bytes or after the peer's FIN (POLLRDHUP), writable while the send buffer has room and the handshake "+
			"is over, hung up (POLLHUP) when shut down both ways or closed, in error (POLLERR) when sk_err is set.")
	fnUdpPoll = reg("udp_poll", "net/ipv4/udp.c", (*Kernel).udpPoll, sk,
		"UDP's readiness: datagram_poll, which is readable when a datagram waits and writable while the send buffer is "+
			"less than half used.")
	fnDatagramPoll = reg("datagram_poll", "net/core/datagram.c", (*Kernel).datagramPoll, sk,
		"Readiness of a datagram socket: POLLIN with a datagram queued, POLLOUT while sk_wmem_alloc is under half of "+
			"sk_sndbuf, POLLERR for a pending error, POLLRDHUP/POLLHUP after shutdown.")
}
