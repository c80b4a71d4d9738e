package stack

import (
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// inetStreamConnect is inet_stream_connect -> __inet_stream_connect:
// start the handshake (the protocol's connect), then, unless the socket is
// non-blocking (EINPROGRESS), sleep until it is established or fails.
func (k *Kernel) inetStreamConnect(sock *sockets.Socket, addr sockets.SockaddrIn, addrLen int, flags int) error {
	tr := k.tr
	sk := sock.Sk
	tr.Enter2(fnInetStreamConnect, tracing.Ptr(uint64(sock.Addr())), tracing.Int(int64(addrLen)))
	sockets.LockSock(sk)
	err := k.inetStreamConnectLocked(sock, addr, addrLen, flags)
	sockets.ReleaseSock(sk)
	tr.Exit(fnInetStreamConnect, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	return err
}

func (k *Kernel) inetStreamConnectLocked(sock *sockets.Socket, addr sockets.SockaddrIn, addrLen int, flags int) error {
	sk := sock.Sk
	if addrLen < 2 {
		return sockets.Errno(tracing.EINVAL)
	}
	if addr.Family == sockets.AF_UNSPEC {
		err := sk.SkcProt.Disconnect(sk, flags)
		if err != nil {
			sock.State = sockets.SS_DISCONNECTING
		} else {
			sock.State = sockets.SS_UNCONNECTED
		}
		return err
	}
	var err error
	switch sock.State {
	default:
		return sockets.Errno(tracing.EINVAL)
	case sockets.SS_CONNECTED:
		return sockets.Errno(tracing.EISCONN)
	case sockets.SS_CONNECTING:
		err = sockets.Errno(tracing.EALREADY)
	case sockets.SS_UNCONNECTED:
		if sk.SkcState != sockets.TCP_CLOSE {
			return sockets.Errno(tracing.EISCONN)
		}
		if err := sk.SkcProt.Connect(sk, addr); err != nil {
			return err
		}
		sock.State = sockets.SS_CONNECTING
		err = sockets.Errno(tracing.EINPROGRESS)
	}
	timeo := sk.SkSndtimeo
	if flags&sockets.O_NONBLOCK != 0 {
		timeo = 0
	}
	if sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
		if timeo == 0 {
			return err
		}
		var intr bool
		timeo, intr = k.inetWaitForConnect(sk, timeo)
		if intr {
			return sockets.Errno(tracing.EINTR)
		}
		if timeo == 0 && (sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV) {
			return err
		}
	}
	if sk.SkcState == sockets.TCP_CLOSE {
		// sock_error: RST, timeout or ICMP error.
		e := sockError(sk)
		if e == nil {
			e = sockets.Errno(tracing.ECONNABORTED)
		}
		sock.State = sockets.SS_UNCONNECTED
		_ = sk.SkcProt.Disconnect(sk, flags)
		return e
	}
	sock.State = sockets.SS_CONNECTED
	return nil
}

// inetWaitForConnect is inet_wait_for_connect: sleep while the handshake
// runs.
func (k *Kernel) inetWaitForConnect(sk *sockets.Sock, timeo int64) (int64, bool) {
	k.tr.Enter2(fnInetWaitForConnect, tracing.Sock(uint64(sk.Addr())), tracing.Int(timeo))
	intr := false
	connecting := func() bool { return sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV }
	for connecting() {
		// release_sock runs the backlog, which may finish the handshake:
		// the kernel was already on the wait queue then (prepare_to_wait
		// came first), so its schedule returns at once.
		sockets.ReleaseSock(sk)
		if connecting() {
			timeo, intr = k.SleepOn(sk.SkWq, false, timeo)
		}
		sockets.LockSock(sk)
		if intr || timeo == 0 {
			break
		}
	}
	k.tr.Exit(fnInetWaitForConnect, tracing.Int(timeo))
	return timeo, intr
}

// tcpV4Connect is tcp_v4_connect: route to the peer, fix the source
// address, go to SYN_SENT, pick a port and hash into ehash
// (inet_hash_connect), choose the ISN and timestamp offset, and send the
// SYN (tcp_connect).
func (k *Kernel) tcpV4Connect(sk *sockets.Sock, addr sockets.SockaddrIn) error {
	tr := k.tr
	tr.Enter2(fnTcpV4Connect, tracing.Sock(uint64(sk.Addr())), tracing.IPv4(be32(addr.Addr)))
	fail := func(err error) error {
		tr.Exit(fnTcpV4Connect, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return err
	}
	if addr.Family != sockets.AF_INET || !addr.Addr.Is4() {
		return fail(sockets.Errno(tracing.EAFNOSUPPORT))
	}
	inet := sockets.InetOf(sk)
	rt, err := k.ipRouteOutput(routeDaddr(addr.Addr, inet.InetSaddr))
	if err != nil {
		k.mib.inc(IPSTATS_MIB_OUTNOROUTES)
		return fail(err)
	}
	if rt.Type == sockets.RTN_BROADCAST || rt.Type == sockets.RTN_MULTICAST {
		return fail(sockets.Errno(tracing.ENETUNREACH)) // RTCF_BROADCAST, RTCF_MULTICAST
	}
	if inet.InetSaddr == 0 {
		// The route's source address; a sock bound to 0.0.0.0:port moves
		// to that address's bhash2 bucket.
		if err := sockets.InetBhash2UpdateSaddr(k.net, k.hash, sk, sockets.Be32From(rt.Src), false); err != nil {
			return fail(err)
		}
	} else {
		sk.SkcRcvSaddr = inet.InetSaddr
	}
	tp := tcpSk(sk)
	daddr := sockets.Be32From(rt.Dst) // fl4->daddr: 0.0.0.0 was rewritten
	if tp.RxOpt.TsRecentStamp != 0 && sk.SkcDaddr != daddr {
		// Timestamps and a sequence number kept for another peer.
		tp.RxOpt.TsRecent, tp.RxOpt.TsRecentStamp = 0, 0
		tp.WriteSeq = 0
	}
	sk.SkcDport = sockets.Htons(addr.Port)
	sk.SkcDaddr = daddr
	tp.RxOpt.MssClamp = TCP_MSS_DEFAULT
	k.tcpSetState(sk, sockets.TCP_SYN_SENT)
	if err := k.inetHashConnect(sk); err != nil {
		k.tcpV4ConnectFailure(sk)
		return fail(err)
	}
	if tp.WriteSeq == 0 {
		tp.WriteSeq = k.secureTCPSeq(inet.InetSaddr, sk.SkcDaddr, sk.SkcNum, addr.Port)
	}
	tp.SndIsn = tp.WriteSeq
	tp.TsOffset = k.secureTCPTsOff(inet.InetSaddr, sk.SkcDaddr)
	inet.InetId = uint16(k.GetRandomU32())
	if err := k.tcpConnect(sk, rt); err != nil {
		k.tcpV4ConnectFailure(sk)
		return fail(err)
	}
	tr.Exit(fnTcpV4Connect, tracing.Errno(0))
	return nil
}

// tcpV4ConnectFailure is tcp_v4_connect's failure path: back to CLOSE
// (which unhashes the sock and gives back a port connect() took), the
// source address back to 0.0.0.0 unless bind() chose it
// (inet_bhash2_reset_saddr), and no peer port.
func (k *Kernel) tcpV4ConnectFailure(sk *sockets.Sock) {
	k.tcpSetState(sk, sockets.TCP_CLOSE)
	if sk.SkUserlocks&sockets.SOCK_BINDADDR_LOCK == 0 {
		_ = sockets.InetBhash2UpdateSaddr(k.net, k.hash, sk, 0, true)
	}
	sk.SkcDport = 0
}

// inetHashConnect is inet_hash_connect -> __inet_hash_connect: a socket
// bound with bind() keeps its port if the 4-tuple is unique; otherwise a
// port is chosen from ip_local_port_range, starting from a keyed-hash
// offset, ports of the range's low parity (even) first, skipping ports
// that bind() owns, then the other parity.
func (k *Kernel) inetHashConnect(sk *sockets.Sock) error {
	tr := k.tr
	tr.Enter1(fnInetHashConnect, tracing.Sock(uint64(sk.Addr())))
	h, net := k.hash, k.net
	if sk.SkcNum != 0 {
		ok, tw := k.inetCheckEstablished(sk, sk.SkcNum, true)
		if !ok {
			tr.Exit(fnInetHashConnect, tracing.Errno(-tracing.EADDRNOTAVAIL))
			return sockets.Errno(tracing.EADDRNOTAVAIL)
		}
		_ = sockets.InetEhashNolisten(net, h, sk)
		if tw != nil {
			k.inetTwskDeschedulePut(tw)
		}
		tr.Exit(fnInetHashConnect, tracing.Errno(0))
		return nil
	}
	low, high := net.Sysctl.IpLocalPortRange[0], net.Sysctl.IpLocalPortRange[1]+1
	remaining := uint32(high - low)
	if remaining > 1 {
		remaining &^= 1
	}
	portOffset := sockets.Jhash3Words(uint32(sk.SkcRcvSaddr), uint32(sk.SkcDaddr), uint32(sk.SkcDport), k.isnSecret^0xa5a5a5a5)
	index := portOffset & (tablePerturbSize - 1)
	offset := (k.tablePerturb[index] + portOffset) % remaining
	offset &^= 1
	var tb *sockets.InetBindBucket
	var tw *sockets.InetTimewaitSock // a TIME_WAIT the new connection takes over
	port := 0
	i := uint32(0)
	found := false
	for pass := 0; pass < 2 && !found; pass++ {
		port = low + int(offset)
		for i = 0; i < remaining; i, port = i+2, port+2 {
			if port >= high {
				port -= int(remaining)
			}
			p := uint16(port)
			head := &h.Bhash[sockets.InetBhashfn(net, p, h.BhashSize)]
			if b := sockets.InetBindBucketFind(head, p, 0); b != nil {
				if b.Fastreuse >= 0 || b.Fastreuseport >= 0 {
					continue // bind() owns it
				}
				ok, t := k.inetCheckEstablished(sk, p, false)
				if !ok {
					continue
				}
				tb, tw, found = b, t, true
				break
			}
			var err error
			if tb, err = sockets.InetBindBucketCreate(net, h, head, p, 0); err != nil {
				tr.Exit(fnInetHashConnect, tracing.Errno(-tracing.ENOMEM))
				return err
			}
			tb.Fastreuse, tb.Fastreuseport = -1, -1
			found = true
			break
		}
		offset++
		if offset&1 == 0 || remaining <= 1 {
			break
		}
	}
	if !found {
		tr.Exit(fnInetHashConnect, tracing.Errno(-tracing.EADDRNOTAVAIL))
		return sockets.Errno(tracing.EADDRNOTAVAIL)
	}
	p := uint16(port)
	head2 := &h.Bhash2[h.Bhash2Index(net, sk.SkcRcvSaddr, p)]
	tb2 := sockets.InetBind2BucketFind(head2, p, 0, sk)
	if tb2 == nil {
		var err error
		if tb2, err = sockets.InetBind2BucketCreate(net, h, head2, tb, sk); err != nil {
			tr.Exit(fnInetHashConnect, tracing.Errno(-tracing.ENOMEM))
			return err
		}
	}
	// A little randomness for the next source port (table_perturb).
	i = max(i, k.GetRandomU32Below(8)*2)
	k.tablePerturb[index] += i + 2
	sockets.InetBindHash(net, sk, tb, tb2, p)
	sockets.InetOf(sk).InetSport = sockets.Htons(p)
	_ = sockets.InetEhashNolisten(net, h, sk)
	if tw != nil {
		// The port stays with its bucket: sk owns it now.
		k.inetTwskDeschedulePut(tw)
	}
	tr.Exit(fnInetHashConnect, tracing.Int(int64(p)))
	return nil
}

// tablePerturbSize is INET_TABLE_PERTURB_SIZE.
const tablePerturbSize = 1 << 16

// inetCheckEstablished is __inet_check_established: may sk use local port
// lport for its four-tuple? Not while another sock holds the tuple, unless
// that is a timewait sock tcp_twsk_unique lets it take over (the tw is
// returned, to be killed once sk is hashed; TWRecycled counts it). bound
// says the port came from bind() (inet_hash_connect's twp == NULL).
func (k *Kernel) inetCheckEstablished(sk *sockets.Sock, lport uint16, bound bool) (bool, *sockets.InetTimewaitSock) {
	sc := sockets.InetLookupEstablished(k.net, k.hash, sk.SkcDaddr, sk.SkcDport, sk.SkcRcvSaddr, lport, sk.SkcBoundDevIf)
	var tw *sockets.InetTimewaitSock
	ok := sc == nil
	if !ok && sc.SkcState == sockets.TCP_TIME_WAIT {
		if t, isTw := sc.Owner().(*sockets.InetTimewaitSock); isTw && k.tcpTwskUnique(sk, t, bound) {
			ok, tw = true, t
			k.mib.inc(LINUX_MIB_TIMEWAITRECYCLED)
		}
	}
	k.tr.Point(fnInetCheckEstablished, tracing.Int(int64(lport)), tracing.Bool(!ok))
	return ok, tw
}

// tcpTwskUnique is tcp_twsk_unique: may a connect() take over this
// TIME_WAIT four-tuple? Only if the tw has timestamps (PAWS then tells the
// two connections apart), and, for a port connect() picks itself, only if
// tcp_tw_reuse allows it (2: loopback only; never from FIN_WAIT2) and a
// second has passed since the tw's last timestamp. A port bind() chose
// takes it over whatever tcp_tw_reuse says. The new connection starts its
// sequence space a window past the old one's and keeps its ts_recent.
func (k *Kernel) tcpTwskUnique(sk *sockets.Sock, tw *sockets.InetTimewaitSock, bound bool) bool {
	reuse := k.net.Sysctl.TcpTwReuse
	if tw.TwSubstate == sockets.TCP_FIN_WAIT2 {
		reuse = 0
	}
	if reuse == 2 && tw.SkcBoundDevIf != loopbackIfindex && !ipv4IsLoopback(tw.SkcDaddr) && !ipv4IsLoopback(tw.SkcRcvSaddr) {
		reuse = 0
	}
	stamp := tw.TwTsRecentStamp
	// time_after32(ktime_get_seconds(), ts_recent_stamp): whole seconds.
	unique := stamp != 0 && (bound || (reuse != 0 && k.clock.Now()/1e9 > stamp/1e9))
	if unique {
		tp := tcpSk(sk)
		seq := tw.TwSndNxt + 65535 + 2
		if seq == 0 {
			seq = 1
		}
		tp.WriteSeq = seq
		tp.RxOpt.TsRecent, tp.RxOpt.TsRecentStamp = tw.TwTsRecent, stamp
	}
	k.tr.Point(fnTcpTwskUnique, tracing.Ptr(uint64(tw.Addr())), tracing.Bool(unique))
	return unique
}

// loopbackIfindex is LOOPBACK_IFINDEX: lo is always ifindex 1.
const loopbackIfindex = 1

// ipv4IsLoopback is ipv4_is_loopback: an address in 127.0.0.0/8.
func ipv4IsLoopback(a sockets.Be32) bool { return a&0xff == 127 }
