package stack

import "github.com/stackscope/stackscope/tracing"

// Trace registrations for socket options and ioctls: TCP_CONGESTION,
// TCP_WINDOW_CLAMP, SIOCINQ, SIOCOUTQ and SIOCATMARK.
var (
	fnInetIoctl, fnTcpIoctl, fnTcpReinitCongestionControl, fnTcpSetWindowClamp tracing.FuncID
)

func init() {
	fnInetIoctl = reg("inet_ioctl", afInetC, (*Kernel).inetIoctl, []string{"sock", "cmd"},
		"The ioctl of inet sockets: routing, ARP and interface commands would go to their owners (the model has "+
			"none of them); everything else goes to the protocol through sk_ioctl.")
	fnTcpIoctl = reg("tcp_ioctl", tcpC, (*Kernel).tcpIoctl, []string{"sk", "cmd"},
		"TCP's ioctl: SIOCINQ (FIONREAD) returns the bytes waiting to be read, rcv_nxt - copied_seq; SIOCOUTQ the "+
			"bytes not yet acknowledged, write_seq - snd_una, sent or still queued; SIOCOUTQNSD the bytes not yet "+
			"sent, write_seq - snd_nxt. A listener has no such queues: EINVAL. SIOCATMARK asks whether the next "+
			"byte to read is the urgent mark; the model keeps no urgent data, so the answer is 0.")
	fnTcpSetWindowClamp = reg("tcp_set_window_clamp", tcpC, (*Kernel).tcpSetWindowClamp, []string{"sk", "val"},
		"setsockopt(TCP_WINDOW_CLAMP): the largest window this end will advertise, at least SOCK_MIN_RCVBUF/2 "+
			"bytes. Lowering it lowers rcv_ssthresh (the window's growth target) at once; 0 removes the clamp, "+
			"but only on a closed socket (EINVAL otherwise).")
	fnTcpReinitCongestionControl = reg("tcp_reinit_congestion_control", "net/ipv4/tcp_cong.c",
		(*Kernel).tcpReinitCongestionControl, []string{"sk"},
		"setsockopt(TCP_CONGESTION) chose another algorithm: it replaces the socket's tcp_congestion_ops with its "+
			"private state cleared, and starts at once unless the socket is closed or listening (prior_ssthresh is forgotten: "+
			"nothing the old algorithm reduced is undone).")
}
