package stack

import "github.com/stackscope/stackscope/tracing"

var fnTcpProbeTimer, fnTcpNonCongestionLossRetransmit, fnTcpRetransTryCollapse, fnTcpCurrentMss tracing.FuncID

func init() {
	const (
		tcpTimerC  = "net/ipv4/tcp_timer.c"
		tcpInputC  = "net/ipv4/tcp_input.c"
		tcpOutputC = "net/ipv4/tcp_output.c"
	)
	fnTcpProbeTimer = tracing.Register(tracing.Spec{Name: "tcp_probe_timer", File: tcpTimerC, Go: (*Kernel).tcpProbeTimer,
		Args: []string{"sk", "probes_out"}, Explain: "The zero-window probe timer: while the peer answers, probing goes on; " +
			"after tcp_retries2 unanswered probes (or TCP_USER_TIMEOUT since the first) the connection is given up."})
	fnTcpNonCongestionLossRetransmit = tracing.Register(tracing.Spec{Name: "tcp_non_congestion_loss_retransmit", File: tcpInputC,
		Go: (*Kernel).tcpNonCongestionLossRetransmit, Args: []string{"sk", "lost_out"},
		Explain: "Loss that is not congestion (the path MTU dropped): enter Loss with cwnd and ssthresh kept, nothing to undo, " +
			"and retransmit what is marked lost."})
	fnTcpRetransTryCollapse = tracing.Register(tracing.Spec{Name: "tcp_retrans_try_collapse", File: tcpOutputC,
		Go: (*Kernel).tcpRetransTryCollapse, Args: []string{"skb", "space"},
		Explain: "A short retransmission may take the small segments after it along, up to an MSS and the window."})
	fnTcpCurrentMss = tracing.Register(tracing.Spec{Name: "tcp_current_mss", File: tcpOutputC, Go: (*Kernel).tcpCurrentMss,
		Args: []string{"sk", "mss"}, Explain: "The MSS to send with now: synced again if the route's MTU changed, less the room " +
			"of the SACK blocks the next segment carries."})
}
