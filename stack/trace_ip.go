package stack

import "github.com/stackscope/stackscope/tracing"

var (
	fnIpRouteOutputKey, fnIpRouteInputNoref, fnNetifReceiveSkb, fnDevQueueXmit, fnNdoStartXmit tracing.FuncID
	fnLoopbackXmit, fnNetifRx, fnNetRxAction, fnProcessBacklog, fnIpRcv, fnIpRcvCore           tracing.FuncID
	fnNfHookPreRouting, fnIpRcvFinish, fnIpLocalDeliver, fnNfHookLocalIn                       tracing.FuncID
	fnIpLocalDeliverFinish, fnIpProtocolDeliverRcu, fnIpLocalOut, fnNfHookLocalOut             tracing.FuncID
	fnIpOutput, fnNfHookPostRouting, fnIpFinishOutput, fnIpFinishOutput2, fnIpSendSkb          tracing.FuncID
	fnIpDefrag, fnIpFragReasm, fnIpExpire, fnIpFragment                                        tracing.FuncID
	fnIcmpRcv, fnIcmpEcho, fnIcmpUnreach, fnIcmpSend                                           tracing.FuncID
)

const (
	devC      = "net/core/dev.c"
	ipInputC  = "net/ipv4/ip_input.c"
	ipOutputC = "net/ipv4/ip_output.c"
	icmpC     = "net/ipv4/icmp.c"
	nfNote    = " The model has no netfilter rules, so here it lets everything through."
)

func init() {
	s := []string{"skb"}
	hook := func(name, what string) tracing.FuncID {
		return tracing.Register(tracing.Spec{Name: name, File: "include/linux/netfilter.h", Inline: true, Args: s,
			Explain: "The netfilter " + what + " hook: where iptables/nftables rules run." + nfNote})
	}
	fnIpRouteOutputKey = reg("ip_route_output_key", "net/ipv4/route.c", (*Kernel).ipRouteOutput, []string{"daddr"},
		"Looks up where a packet to daddr goes: out of which device, via which next hop, from which source address.")
	fnIpRouteInputNoref = reg("ip_route_input_noref", "net/ipv4/route.c", (*Kernel).ipRouteInput, []string{"daddr"},
		"Decides what to do with a received packet: deliver it locally if the address is ours; a host that does not forward drops the rest.")
	fnNetifReceiveSkb = reg("__netif_receive_skb", devC, (*Kernel).netifReceiveSkb, s,
		"The generic receive entry: hands the packet to the protocol its type names (ip_rcv for IPv4).")
	fnDevQueueXmit = reg("dev_queue_xmit", devC, (*Kernel).devQueueXmit, []string{"skb", "ifindex"},
		"Hands a packet to its device for transmission (a real device queues it in its qdisc first; the model has none).")
	fnNdoStartXmit = reg("ndo_start_xmit", "include/linux/netdevice.h", nil, s,
		"The driver's transmit function: the packet leaves the kernel (for TUN, it is read by the process holding /dev/net/tun).")
	fnLoopbackXmit = reg("loopback_xmit", "drivers/net/loopback.c", (*Kernel).loopbackXmit, s,
		"The loopback device's transmit: the packet turns straight round into netif_rx, to be received on this host.")
	fnNetifRx = reg("__netif_rx", devC, nil, s,
		"Queues a received packet on this CPU's backlog (enqueue_to_backlog) and raises the NET_RX softirq.")
	fnNetRxAction = reg("net_rx_action", devC, (*Kernel).doSoftirq, nil,
		"The NET_RX softirq: polls devices and backlogs for received packets. Loopback traffic is processed here, "+
			"when the sender re-enables bottom halves.")
	fnProcessBacklog = reg("process_backlog", devC, nil, nil,
		"The NAPI poll function of the per-CPU backlog: feeds each queued packet to __netif_receive_skb.")
	fnIpRcv = reg("ip_rcv", ipInputC, (*Kernel).ipRcv, s,
		"The IPv4 receive entry, called for every IPv4 packet the host receives.")
	fnIpRcvCore = reg("ip_rcv_core", ipInputC, (*Kernel).ipRcvCore, s,
		"Sanity checks: version 4, header length at least 20, header checksum, total length within the packet. "+
			"Failures are counted (InHdrErrors, InTruncatedPkts) and dropped. Link padding beyond tot_len is trimmed.")
	fnNfHookPreRouting = hook("nf_hook_prerouting", "PRE_ROUTING")
	fnIpRcvFinish = reg("ip_rcv_finish", ipInputC, (*Kernel).ipRcvFinish, s,
		"Routes the received packet (ip_route_input_noref) and sends it on with dst_input: to ip_local_deliver if it is for this host.")
	fnIpLocalDeliver = reg("ip_local_deliver", ipInputC, (*Kernel).ipLocalDeliver, s,
		"Delivers a packet addressed to this host: reassembles fragments first (ip_defrag), then the LOCAL_IN hook.")
	fnNfHookLocalIn = hook("nf_hook_local_in", "LOCAL_IN")
	fnIpLocalDeliverFinish = reg("ip_local_deliver_finish", ipInputC, (*Kernel).ipLocalDeliverFinish, s,
		"Pulls the IP header off (skb->data moves to the transport header) and calls the protocol's handler.")
	fnIpProtocolDeliverRcu = reg("ip_protocol_deliver_rcu", ipInputC, nil, []string{"skb", "protocol"},
		"Finds the handler for the IP protocol number in inet_protos[] (icmp_rcv, udp_rcv, tcp_v4_rcv); "+
			"with none, the sender gets ICMP protocol unreachable.")
	fnIpLocalOut = reg("ip_local_out", ipOutputC, (*Kernel).ipLocalOut, s,
		"Finishes a locally built packet: sets tot_len and the header checksum, runs the LOCAL_OUT hook, then dst_output.")
	fnNfHookLocalOut = hook("nf_hook_local_out", "LOCAL_OUT")
	fnIpOutput = reg("ip_output", ipOutputC, (*Kernel).ipOutput, s,
		"The output step for unicast packets: the POST_ROUTING hook, then ip_finish_output.")
	fnNfHookPostRouting = hook("nf_hook_postrouting", "POST_ROUTING")
	fnIpFinishOutput = reg("ip_finish_output", ipOutputC, nil, s,
		"Fragments a packet larger than the device's MTU (or refuses it if DF is set), then ip_finish_output2.")
	fnIpFinishOutput2 = reg("ip_finish_output2", ipOutputC, (*Kernel).ipFinishOutput2, s,
		"On Ethernet this is where the neighbour layer (ARP) adds the link header. TUN, lo and the model's wire "+
			"carry bare IP packets, so there is no neighbour step: straight to dev_queue_xmit.")
	fnIpSendSkb = reg("ip_send_skb", ipOutputC, (*Kernel).ipSendSkb, []string{"skb", "daddr"},
		"Sends a datagram built by ICMP or UDP: route it, push the IP header (with an IP ID from ip_select_ident), ip_local_out.")
	fnIpDefrag = reg("ip_defrag", "net/ipv4/ip_fragment.c", (*Kernel).ipDefrag, s,
		"Queues a fragment with the others of its datagram (same source, destination, ID and protocol) and "+
			"returns the whole datagram once every piece is there. Overlaps discard the datagram; 30 s without completing expire it.")
	fnIpFragReasm = reg("ip_frag_reasm", "net/ipv4/ip_fragment.c", (*Kernel).ipFragReasm, nil,
		"Joins the fragments into one packet with the first fragment's header.")
	fnIpExpire = reg("ip_expire", "net/ipv4/ip_fragment.c", (*Kernel).ipExpire, nil,
		"The reassembly timer (30 s, net.ipv4.ipfrag_time) ran out: the fragments are dropped and the sender told with ICMP time exceeded.")
	fnIpFragment = reg("ip_do_fragment", ipOutputC, (*Kernel).ipFragment, []string{"skb", "mtu"},
		"Splits a packet bigger than the MTU into fragments whose data are multiples of 8 bytes, each with a copy of the header.")
	fnIcmpRcv = reg("icmp_rcv", icmpC, (*Kernel).icmpRcv, s,
		"Receives an ICMP message: checks its checksum, counts it, and acts on its type (echo, destination unreachable ...).")
	fnIcmpEcho = reg("icmp_echo", icmpC, (*Kernel).icmpEcho, s,
		"Answers a ping: an echo reply with the same identifier, sequence number and data.")
	fnIcmpUnreach = reg("icmp_unreach", icmpC, (*Kernel).icmpUnreach, s,
		"Passes a destination unreachable message to the protocol of the packet it quotes, which reports it on the socket.")
	fnIcmpSend = reg("__icmp_send", icmpC, (*Kernel).icmpSend, []string{"skb", "type", "code"},
		"Sends an ICMP error about a packet to its sender, quoting its header and first bytes; never about an ICMP error, "+
			"and rate limited (net.ipv4.icmp_ratelimit, icmp_msgs_per_sec).")
}

var (
	fnUdpLibGetPort, fnUdpLibUnhash, fnInetAutobind, fnInetDgramConnect, fnIp4DatagramConnect tracing.FuncID
	fnInetSendmsg, fnInetRecvmsg, fnUdpSendmsg, fnUdpSendSkb, fnUdpRecvmsg, fnUdpRcv          tracing.FuncID
	fnUdpIoctl, fnFirstPacketLength                                                           tracing.FuncID
	fnUdp4LibLookup, fnUdpQueueRcvSkb, fnUdpErr                                               tracing.FuncID
)

func init() {
	const udpC = "net/ipv4/udp.c"
	fnUdpLibGetPort = reg("udp_lib_get_port", udpC, (*Kernel).udpV4GetPort, []string{"sk", "snum"},
		"UDP's get_port: claims a port in the UDP table (hash by port, hash2 by address and port). Port 0 starts at a random "+
			"port and steps by an odd multiple of the table size, so every port is tried once.")
	fnUdpLibUnhash = reg("udp_lib_unhash", udpC, (*Kernel).udpLibUnhash, []string{"sk"},
		"Takes a UDP sock out of both hash chains; its port is free again.")
	fnInetAutobind = reg("inet_autobind", afInetC, (*Kernel).inetAutobind, []string{"sk"},
		"A datagram socket used without bind() gets an ephemeral port now.")
	fnInetDgramConnect = reg("inet_dgram_connect", afInetC, (*Kernel).inetDgramConnect, []string{"sock", "addrlen"},
		"connect() on a datagram socket: AF_UNSPEC disconnects; otherwise bind a port if needed and let the protocol connect.")
	fnIp4DatagramConnect = reg("ip4_datagram_connect", "net/ipv4/datagram.c", (*Kernel).ip4DatagramConnect, []string{"sk", "daddr"},
		"Connecting a UDP socket sends nothing: it routes to the peer, fixes the source address, remembers the peer and "+
			"marks the sock ESTABLISHED, so send() needs no address and only the peer's datagrams arrive.")
	fnInetSendmsg = reg("inet_sendmsg", afInetC, (*Kernel).inetSendmsg, []string{"sock", "len"},
		"The sendmsg operation of inet sockets: binds a port if needed (inet_send_prepare) and calls the protocol's sendmsg.")
	fnInetRecvmsg = reg("inet_recvmsg", afInetC, (*Kernel).inetRecvmsg, []string{"sock", "len"},
		"The recvmsg operation of inet sockets: calls the protocol's recvmsg.")
	fnUdpSendmsg = reg("udp_sendmsg", udpC, (*Kernel).udpSendmsg, []string{"sk", "len"},
		"Sends one datagram: checks the size (at most 65507 bytes), finds the route and builds the packet.")
	fnUdpSendSkb = reg("udp_send_skb", udpC, nil, []string{"skb"},
		"Fills in the UDP header and its checksum (over a pseudo-header of the addresses) and hands the packet to IP.")
	fnFirstPacketLength = reg("first_packet_length", udpC, (*Kernel).firstPacketLength, []string{"sk"},
		"Drops the datagrams at the head of the receive queue whose checksums prove bad, and returns the length "+
			"of the first good one (-1: none). Blocking poll and SIOCINQ ask it.")
	fnUdpIoctl = reg("udp_ioctl", udpC, (*Kernel).udpIoctl, []string{"sk", "cmd"},
		"UDP's ioctl: SIOCINQ (FIONREAD) returns the length of the next datagram to be read (0 if none), not the "+
			"bytes queued; SIOCOUTQ the bytes of sent datagrams still in the device, sk_wmem_alloc - 1.")
	fnUdpRecvmsg = reg("udp_recvmsg", udpC, (*Kernel).udpRecvmsg, []string{"sk", "len", "flags"},
		"Takes the next datagram from the receive queue (sleeping for one unless non-blocking), copies what fits, "+
			"and reports the sender. A datagram bigger than the buffer is truncated (MSG_TRUNC); the rest is lost.")
	fnUdpRcv = reg("udp_rcv", udpC, (*Kernel).udpRcv, []string{"skb"},
		"Receives a UDP datagram: checks its length and checksum, finds the socket, and queues it. With no socket "+
			"on the port the sender gets ICMP port unreachable.")
	fnUdp4LibLookup = reg("__udp4_lib_lookup", udpC, (*Kernel).udp4LibLookup, []string{"daddr", "dport"},
		"Finds the socket for a datagram in hash2: sockets bound to the exact address first, then INADDR_ANY; a connected "+
			"socket matching the sender scores higher.")
	fnUdpQueueRcvSkb = reg("udp_queue_rcv_skb", udpC, (*Kernel).udpQueueRcvSkb, []string{"sk", "skb"},
		"Charges the datagram to the socket's receive memory and queues it, waking a reader. If sk_rmem_alloc is over "+
			"sk_rcvbuf the datagram is dropped and counted (RcvbufErrors).")
	fnUdpErr = reg("__udp4_lib_err", udpC, (*Kernel).udpErr, []string{"type", "code"},
		"An ICMP error about a datagram we sent: a connected socket gets it as sk_err (port unreachable is ECONNREFUSED), "+
			"reported by its next send or receive.")
}
