package stack

import "github.com/stackscope/stackscope/tracing"

var (
	fnCallTimerFn, fnModTimer, fnDelTimer, fnGetRandomU32, fnGetRandomU32Below                                  tracing.FuncID
	fnScheduleTimeout, fnTryToWakeUp                                                                            tracing.FuncID
	fnInetInit, fnProtoRegister, fnTcpInit, fnInetCreate, fnSkCommonRelease, fnInetRelease                      tracing.FuncID
	fnInetBind, fnInetBindSk, fnInetBindCore, fnInetListen, fnInetListenSk                                      tracing.FuncID
	fnInetAccept, fnInetAcceptCore, fnInetGetname, fnInetShutdown                                               tracing.FuncID
	fnInetCskBindConflict, fnInetCskFindOpenPort, fnInetCskGetPort, fnReqskQueueAlloc                           tracing.FuncID
	fnInetCskListenStart, fnInetSkStateStore, fnInetCskAccept, fnInetCskWaitForConnect                          tracing.FuncID
	fnReqskQueueRemove, fnReqskFree, fnInetCskListenStop, fnInetChildForget                                     tracing.FuncID
	fnInetCskDestroySock, fnTcpV4InitSock, fnTcpInitSock, fnTcpSetState, fnTcpClose                             tracing.FuncID
	fnTcpCloseCore, fnTcpV4DestroySock, fnTcpDisconnect, fnTcpSetsockopt, fnTcpGetsockopt, fnTcpSockSetQuickack tracing.FuncID
	fnPingInitSock, fnTcpGetInfo                                                                                tracing.FuncID
)

const (
	afInetC = "net/ipv4/af_inet.c"
	icskC   = "net/ipv4/inet_connection_sock.c"
	tcpC    = "net/ipv4/tcp.c"
	tcpV4C  = "net/ipv4/tcp_ipv4.c"
)

func reg(name, file string, goFn any, args []string, explain string) tracing.FuncID {
	return tracing.Register(tracing.Spec{Name: name, File: file, Go: goFn, Args: args, Explain: explain})
}

func init() {
	sk := []string{"sk"}
	fnCallTimerFn = reg("call_timer_fn", "kernel/time/timer.c", nil, []string{"timer"},
		"Runs an expired timer's function in softirq context: a retransmit, a delayed ACK, a TIME_WAIT ending.")
	fnModTimer = reg("mod_timer", "kernel/time/timer.c", (*Kernel).ModTimer, []string{"timer", "expires"},
		"Arms (or re-arms) a timer to fire at a given time.")
	fnDelTimer = reg("del_timer", "kernel/time/timer.c", (*Kernel).DelTimer, []string{"timer"},
		"Disarms a pending timer (timer_delete in newer kernels).")
	fnGetRandomU32 = reg("get_random_u32", "drivers/char/random.c", (*Kernel).GetRandomU32, nil,
		"A random number from the kernel's pool. stackscope seeds it, so runs repeat exactly.")
	fnGetRandomU32Below = reg("get_random_u32_below", "drivers/char/random.c", (*Kernel).GetRandomU32Below, []string{"ceil"},
		"A uniform random number below a bound, used to pick where port scans start.")
	fnScheduleTimeout = reg("schedule_timeout", "kernel/time/sleep_timeout.c", (*Kernel).SleepOn, []string{"timeout"},
		"The task sleeps: the CPU runs something else until a wake-up, a signal or the timeout. "+
			"Its kernel stack stays where it is, and it returns from here when woken.")
	fnTryToWakeUp = reg("try_to_wake_up", "kernel/sched/core.c", nil, []string{"pid"},
		"Makes a sleeping task runnable again; it continues in schedule_timeout when the scheduler picks it.")
	fnInetInit = reg("inet_init", afInetC, (*Kernel).inetInit, nil,
		"Boot-time setup of IPv4: registers tcp_prot, udp_prot, raw_prot and ping_prot (creating their slab caches), "+
			"the AF_INET family and the inetsw table.")
	fnProtoRegister = reg("proto_register", "net/core/sock.c", (*Kernel).protoRegister, nil,
		"Registers a transport protocol and creates its slab cache, named after it (\"TCP\"); for TCP also request_sock_TCP and tw_sock_TCP.")
	fnTcpInit = reg("tcp_init", tcpC, (*Kernel).tcpInit, nil,
		"Boot-time setup of TCP: sizes and allocates ehash, bhash, bhash2 and lhash2 (the thash_entries boot parameter overrides the size).")
	fnInetCreate = reg("inet_create", afInetC, (*Kernel).inetCreate, []string{"sock", "protocol"},
		"AF_INET's create function: looks up the type and protocol in inetsw[] (SOCK_STREAM -> tcp_prot with inet_stream_ops), "+
			"allocates the sock with sk_alloc, runs sock_init_data and the protocol's init.")
	fnSkCommonRelease = reg("sk_common_release", "net/core/sock.c", (*Kernel).skCommonRelease, sk,
		"Closes a sock the simple way (datagram sockets, failed setups): destroy, unhash, orphan, drop the reference.")
	fnInetRelease = reg("inet_release", afInetC, (*Kernel).inetRelease, []string{"sock"},
		"The release operation of inet sockets: calls the protocol's close (tcp_close), with the SO_LINGER timeout if set.")
	fnInetBind = reg("inet_bind", afInetC, (*Kernel).inetBind, []string{"sock", "addrlen"},
		"The bind operation of inet sockets: runs the BPF hook and __inet_bind.")
	fnInetBindSk = tracing.Register(tracing.Spec{Name: "inet_bind_sk", File: afInetC, Inline: true, Args: sk,
		Explain: "Runs the cgroup BPF bind hook, which may rewrite the address. The model has no BPF programs, so here it does nothing."})
	fnInetBindCore = reg("__inet_bind", afInetC, (*Kernel).inetBindCore, []string{"sk", "addr", "port"},
		"Checks the address (EADDRNOTAVAIL if the host does not own it, EACCES for a port below 1024 without privilege), "+
			"requires a sock in CLOSE that has no port yet (EINVAL), sets inet_rcv_saddr and asks get_port for the port.")
	fnInetListen = reg("inet_listen", afInetC, (*Kernel).inetListen, []string{"sock", "backlog"},
		"The listen operation of inet stream sockets: locks the sock and runs __inet_listen_sk.")
	fnInetListenSk = reg("__inet_listen_sk", afInetC, (*Kernel).inetListenSk, []string{"sk", "backlog"},
		"Requires an unconnected stream socket in CLOSE or LISTEN (EINVAL otherwise), stores the backlog in "+
			"sk_max_ack_backlog, and starts listening unless it already does.")
	fnInetAccept = reg("inet_accept", afInetC, (*Kernel).inetAccept, []string{"sock", "newsock"},
		"The accept operation of inet sockets: takes a child from the protocol (inet_csk_accept) and grafts it onto the new socket.")
	fnInetAcceptCore = reg("__inet_accept", afInetC, nil, []string{"sock", "newsk"},
		"Attaches the accepted sock to the new struct socket and marks it SS_CONNECTED.")
	fnInetGetname = reg("inet_getname", afInetC, (*Kernel).inetGetname, []string{"sock", "peer"},
		"Reports the local address (inet_rcv_saddr, or inet_saddr when bound to any) or the peer's, ENOTCONN if there is no peer.")
	fnInetShutdown = reg("inet_shutdown", afInetC, (*Kernel).inetShutdown, []string{"sock", "how"},
		"Records SHUT_RD/SHUT_WR in sk_shutdown and tells the protocol; shutting a listener down for reading stops it "+
			"listening (tcp_disconnect) and wakes anybody blocked in accept.")
	fnInetCskBindConflict = reg("inet_csk_bind_conflict", icskC, (*Kernel).inetCskBindConflict, []string{"sk", "port"},
		"Whether another sock already bound to this port stops the bind: a sock on the same or an overlapping address "+
			"(INADDR_ANY overlaps everything), unless both set SO_REUSEADDR and the other is not listening.")
	fnInetCskFindOpenPort = reg("inet_csk_find_open_port", icskC, (*Kernel).inetCskFindOpenPort, sk,
		"bind() with port 0: scans ip_local_port_range from a random odd offset, odd ports first, "+
			"leaving the even ones for connect(), which scans from the other parity.")
	fnInetCskGetPort = reg("inet_csk_get_port", icskC, (*Kernel).inetCskGetPort, []string{"sk", "snum"},
		"TCP's get_port: finds or creates the port's bind bucket (bhash) and the (port, address) bucket (bhash2), "+
			"checks for conflicts (EADDRINUSE) and records the sock as an owner (inet_bind_hash).")
	fnReqskQueueAlloc = reg("reqsk_queue_alloc", "net/core/request_sock.c", (*Kernel).reqskQueueAlloc, nil,
		"Initialises the accept queue. In 2.6 it allocated a per-listener SYN table; since 4.4 request socks live in ehash "+
			"and this allocates nothing.")
	fnInetCskListenStart = reg("inet_csk_listen_start", icskC, (*Kernel).inetCskListenStart, sk,
		"Starts listening: resets the accept queue, sets the state to LISTEN, makes sure the port is taken (get_port) "+
			"and puts the sock into lhash2, where incoming SYNs look.")
	fnInetSkStateStore = tracing.Register(tracing.Spec{Name: "inet_sk_state_store", File: "include/net/inet_sock.h", Inline: true,
		Args:    []string{"sk", "state"},
		Explain: "Writes the new TCP state into sk_state."})
	fnInetCskAccept = reg("inet_csk_accept", icskC, (*Kernel).inetCskAccept, []string{"sk", "flags"},
		"Takes the first established child from the accept queue. If the queue is empty, a non-blocking socket gets "+
			"EAGAIN and a blocking one sleeps in inet_csk_wait_for_connect. (2.6 had inet_csk_accept(sk, flags, &err) "+
			"and took the child with reqsk_queue_get_child.)")
	fnInetCskWaitForConnect = reg("inet_csk_wait_for_connect", icskC, (*Kernel).inetCskWaitForConnect, []string{"sk", "timeo"},
		"Sleeps on the listener's wait queue as an exclusive waiter, so each new connection wakes one accept(), "+
			"until a child arrives, the socket stops listening, a signal comes, or SO_RCVTIMEO runs out.")
	fnReqskQueueRemove = reg("reqsk_queue_remove", "include/net/request_sock.h", (*Kernel).reqskQueueRemove, []string{"parent"},
		"Pops the head of the accept queue and decrements sk_ack_backlog.")
	fnReqskFree = reg("reqsk_free", "include/net/request_sock.h", (*Kernel).reqskPut, []string{"req"},
		"Returns a request sock to request_sock_TCP once its last reference is gone.")
	fnInetCskListenStop = reg("inet_csk_listen_stop", icskC, (*Kernel).inetCskListenStop, sk,
		"A listener closes: children nobody accepted are closed and their request socks freed.")
	fnInetChildForget = reg("inet_child_forget", icskC, (*Kernel).inetChildForget, []string{"child"},
		"Closes a child connection that was never accepted.")
	fnInetCskDestroySock = reg("inet_csk_destroy_sock", icskC, (*Kernel).inetCskDestroySock, sk,
		"Final teardown of a dead sock in CLOSE: the protocol's destroy releases the port, then the last reference is dropped.")
	fnTcpV4InitSock = reg("tcp_v4_init_sock", tcpV4C, (*Kernel).tcpV4InitSock, sk,
		"TCP's init for IPv4: tcp_init_sock, then icsk_af_ops = &ipv4_specific (ip_queue_xmit, tcp_v4_conn_request, ...).")
	fnTcpInitSock = reg("tcp_init_sock", tcpC, (*Kernel).tcpInitSock, sk,
		"Sets a new TCP sock's starting values: RTO 1 s (3 s before 3.1), cwnd 10 (2 before 2.6.39), MSS 536 until the route "+
			"says more, send and receive buffers from tcp_wmem[1] and tcp_rmem[1].")
	fnTcpSetState = reg("tcp_set_state", tcpC, (*Kernel).tcpSetState, []string{"sk", "state"},
		"Changes the TCP state. Going to CLOSE unhashes the sock and, unless the user bound the port explicitly, releases the port.")
	fnTcpClose = reg("tcp_close", tcpC, (*Kernel).tcpClose, []string{"sk", "timeout"},
		"TCP's close: locks the sock, runs __tcp_close, and drops the socket's reference.")
	fnTcpCloseCore = reg("__tcp_close", tcpC, nil, []string{"sk", "timeout"},
		"Shuts the sock down: a listener stops listening; a connection would send FIN (or RST with unread data); "+
			"the sock is orphaned and, once in CLOSE, destroyed.")
	fnTcpV4DestroySock = reg("tcp_v4_destroy_sock", tcpV4C, (*Kernel).tcpV4DestroySock, sk,
		"TCP's destroy: stops the timers, frees the queues and releases the bind bucket.")
	fnTcpDisconnect = reg("tcp_disconnect", tcpC, (*Kernel).tcpDisconnect, []string{"sk", "flags"},
		"Aborts the connection (RFC 793's ABORT) and returns the sock to CLOSE so it could be reused; a listener stops listening.")
	fnTcpSetsockopt = reg("tcp_setsockopt", tcpC, (*Kernel).tcpSetsockopt, []string{"sk", "optname", "val"},
		"TCP-level options: TCP_NODELAY turns Nagle's algorithm off, TCP_CORK holds partial segments, "+
			"TCP_KEEPIDLE/KEEPINTVL/KEEPCNT tune keepalive.")
	fnTcpGetsockopt = reg("tcp_getsockopt", tcpC, (*Kernel).tcpGetsockopt, []string{"sk", "optname"},
		"Reads TCP-level options back.")
	fnTcpSockSetQuickack = reg("__tcp_sock_set_quickack", tcpC, (*Kernel).tcpSockSetQuickack, []string{"sk", "val"},
		"TCP_QUICKACK: 0 enters pingpong mode (ACKs wait to ride on our data); 1 leaves it and sends an ACK that is "+
			"scheduled now, as a read would. Linux does not keep the setting: the next delayed-ACK decision may enter "+
			"pingpong again.")
	fnTcpGetInfo = reg("tcp_get_info", tcpC, (*Kernel).tcpGetInfo, sk,
		"Fills struct tcp_info (getsockopt TCP_INFO, ss -ti): state, negotiated options, RTO, RTT and its variance, "+
			"MSS, windows, congestion window and ssthresh, segments and bytes in and out, retransmissions. "+
			"A listener reports its accept queue instead: tcpi_unacked = sk_ack_backlog, tcpi_sacked = the backlog.")
	fnPingInitSock = reg("ping_init_sock", "net/ipv4/ping.c", (*Kernel).pingInitSock, sk,
		"Allows an ICMP echo socket only for groups in net.ipv4.ping_group_range; the kernel default \"1 0\" allows nobody.")
}
