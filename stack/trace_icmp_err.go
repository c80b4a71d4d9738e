package stack

import "github.com/stackscope/stackscope/tracing"

var fnTcpV4Err, fnTcpReqErr, fnTcpLdRtoRevert, fnTcpV4MtuReduced, fnIpRtUpdatePmtu, fnTcpSimpleRetransmit tracing.FuncID

var fnTcpCollapseRetrans, fnTcpCollapseOfoQueue, fnInetCskUpdatePmtu tracing.FuncID

func init() {
	const (
		tcpIpv4C  = "net/ipv4/tcp_ipv4.c"
		tcpInputC = "net/ipv4/tcp_input.c"
	)
	fnTcpV4Err = reg("tcp_v4_err", tcpIpv4C, (*Kernel).tcpV4Err, []string{"type", "code", "info"},
		"An ICMP error about a segment this host sent: the quoted ports find the connection and the quoted sequence "+
			"number must be in flight (OutOfWindowIcmps if not). A connection still opening fails with the error "+
			"(EHOSTUNREACH, ECONNREFUSED ...); an open one keeps trying and only remembers it as sk_err_soft, the "+
			"error a timeout reports instead of ETIMEDOUT. Fragmentation needed starts path MTU discovery.")
	fnTcpReqErr = reg("tcp_req_err", tcpIpv4C, (*Kernel).tcpReqErr, []string{"req", "abort"},
		"An ICMP error about a SYN-ACK: if it quotes the request's ISN and says the client cannot be reached, the "+
			"request sock is dropped quietly (ListenDrops); accept() never reports network errors.")
	fnTcpLdRtoRevert = reg("tcp_ld_RTO_revert", tcpIpv4C, (*Kernel).tcpLdRtoRevert, []string{"sk"},
		"TCP-LD (RFC 6069): an unreachable about the oldest unacknowledged segment while the RTO backs off means "+
			"the path is down, not congested; one doubling of the RTO is undone so the connection resumes sooner "+
			"when the path returns.")
	fnTcpV4MtuReduced = reg("tcp_v4_mtu_reduced", tcpIpv4C, (*Kernel).tcpV4MtuReduced, []string{"sk", "mtu"},
		"Path MTU discovery (RFC 1191): a router could not forward a segment with DF set. The route to the peer "+
			"learns the smaller MTU for 10 minutes, the MSS shrinks (tcp_sync_mss) and what no longer fits is resent "+
			"at once (tcp_simple_retransmit).")
	fnIpRtUpdatePmtu = reg("__ip_rt_update_pmtu", "net/ipv4/route.c", (*Kernel).ipRtUpdatePmtu, []string{"daddr", "mtu"},
		"Records a path MTU for a destination as a next-hop exception that expires after ip_rt_mtu_expires "+
			"(10 minutes). Below ip_rt_min_pmtu (552) the value is raised to it and locked.")
	fnTcpCollapseRetrans = tracing.Register(tracing.Spec{Name: "tcp_collapse_retrans", File: "net/ipv4/tcp_output.c",
		Go: (*Kernel).tcpCollapseRetrans, Args: []string{"skb", "next"}, Explain: "A retransmission takes the next small segment along (tcp_retrans_try_collapse): its data moves into this " +
			"skb, which takes over its end and its PSH or FIN, and the emptied skb leaves the retransmit queue."})
	fnTcpCollapseOfoQueue = tracing.Register(tracing.Spec{Name: "tcp_collapse_ofo_queue", File: tcpInputC,
		Go: (*Kernel).tcpCollapseOfoQueue, Args: []string{"sk"}, Explain: "Collapses each run of contiguous " +
			"out-of-order data into page-sized skbs (tcp_collapse); single small runs are left alone."})
	fnInetCskUpdatePmtu = tracing.Register(tracing.Spec{Name: "inet_csk_update_pmtu", File: "net/ipv4/inet_connection_sock.c",
		Go: (*Kernel).inetCskUpdatePmtu, Args: []string{"sk", "mtu"}, Explain: "Tells the route to the socket's peer the " +
			"path MTU an ICMP error reported, and returns the route as it is then."})
	fnTcpSimpleRetransmit = reg("tcp_simple_retransmit", tcpInputC, (*Kernel).tcpSimpleRetransmit, []string{"sk"},
		"After the path MTU dropped: every segment in flight bigger than the new MSS is marked lost and sent again "+
			"in pieces that fit. The congestion window is not cut: the same data is in the network, in more packets.")
}
