package stack

import "github.com/stackscope/stackscope/tracing"

// Trace registrations for socket options and ioctls: TCP_CONGESTION,
// SIOCINQ and SIOCOUTQ.
var (
	fnInetIoctl, fnTcpIoctl, fnTcpReinitCongestionControl tracing.FuncID
)

func init() {
	fnInetIoctl = reg("inet_ioctl", afInetC, (*Kernel).inetIoctl, []string{"sock", "cmd"},
		"The ioctl of inet sockets: routing, ARP and interface commands would go to their owners (the model has "+
			"none of them); everything else goes to the protocol through sk_ioctl.")
	fnTcpIoctl = reg("tcp_ioctl", tcpC, (*Kernel).tcpIoctl, []string{"sk", "cmd"},
		"TCP's ioctl: SIOCINQ (FIONREAD) returns the bytes waiting to be read, rcv_nxt - copied_seq; SIOCOUTQ the "+
			"bytes not yet acknowledged, write_seq - snd_una, sent or still queued; SIOCOUTQNSD the bytes not yet "+
			"sent, write_seq - snd_nxt. A listener has no such queues: EINVAL.")
	fnTcpReinitCongestionControl = reg("tcp_reinit_congestion_control", "net/ipv4/tcp_cong.c",
		(*Kernel).tcpReinitCongestionControl, []string{"sk"},
		"setsockopt(TCP_CONGESTION) chose another algorithm: it replaces the socket's tcp_congestion_ops with its "+
			"private state cleared, and starts at once if the connection is established.")
}
