package stack

import "github.com/stackscope/stackscope/tracing"

// Trace registrations for socket options: TCP_CONGESTION.
var (
	fnTcpReinitCongestionControl tracing.FuncID
)

func init() {
	fnTcpReinitCongestionControl = reg("tcp_reinit_congestion_control", "net/ipv4/tcp_cong.c",
		(*Kernel).tcpReinitCongestionControl, []string{"sk"},
		"setsockopt(TCP_CONGESTION) chose another algorithm: it replaces the socket's tcp_congestion_ops with its "+
			"private state cleared, and starts at once if the connection is established.")
}
