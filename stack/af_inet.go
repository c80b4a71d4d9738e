package stack

import (
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// IPPROTO_MAX bounds the protocol argument of socket().
const ipprotoMax = 256

// inetInit is inet_init (net/ipv4/af_inet.c): register the protocols and
// their slab caches, the AF_INET family and the inetsw table, then tcp_init
// sizes the hash tables.
func (k *Kernel) inetInit() error {
	k.tr.Enter(fnInetInit)
	defer k.tr.Exit(fnInetInit, tracing.Arg{})
	k.tcpProt = k.newTCPProt()
	k.udpProt = k.newUDPProt()
	k.udpTable = sockets.NewUdpTable(max(k.cfg.ThashEntries, sockets.UDP_HTABLE_SIZE_MIN))
	k.inetProtos[header.IPPROTO_UDP] = k.udpRcv
	k.inetProtos[header.IPPROTO_TCP] = k.tcpV4Rcv
	k.icmpErrHandlers[header.IPPROTO_UDP] = k.udpErr
	k.icmpErrHandlers[header.IPPROTO_TCP] = k.tcpV4Err
	k.rawProt = newDgramProt("RAW", sizeofRawSock)
	k.pingProt = newDgramProt("PING", sizeofPingSock)
	k.pingProt.Init = k.pingInitSock
	k.pingProt.SlabFlags = 0
	for _, p := range []*sockets.Proto{k.tcpProt, k.udpProt, k.rawProt, k.pingProt} {
		if err := k.protoRegister(p); err != nil {
			return err
		}
	}
	k.net.SockRegister(&sockets.NetProtoFamily{Family: sockets.AF_INET, Name: "inet_family_ops", Create: k.inetCreate})
	stream := k.inetStreamOps()
	dgram := k.inetDgramOps("inet_dgram_ops")
	raw := k.inetDgramOps("inet_sockraw_ops")
	// inetsw_array
	for _, sw := range []*sockets.InetProtosw{
		{Type: sockets.SOCK_STREAM, Protocol: sockets.IPPROTO_TCP, Prot: k.tcpProt, Ops: stream,
			Flags: sockets.INET_PROTOSW_PERMANENT | sockets.INET_PROTOSW_ICSK},
		{Type: sockets.SOCK_DGRAM, Protocol: sockets.IPPROTO_UDP, Prot: k.udpProt, Ops: dgram,
			Flags: sockets.INET_PROTOSW_PERMANENT},
		{Type: sockets.SOCK_DGRAM, Protocol: sockets.IPPROTO_ICMP, Prot: k.pingProt, Ops: dgram,
			Flags: sockets.INET_PROTOSW_REUSE},
		{Type: sockets.SOCK_RAW, Protocol: sockets.IPPROTO_IP, Prot: k.rawProt, Ops: raw,
			Flags: sockets.INET_PROTOSW_REUSE},
	} {
		k.net.InetRegisterProtosw(sw)
	}
	return k.tcpInit()
}

// protoRegister is proto_register(prot, 1): the protocol's slab cache, and
// for TCP its request sock and timewait sock caches.
func (k *Kernel) protoRegister(p *sockets.Proto) error {
	k.tr.Enter(fnProtoRegister)
	defer k.tr.Exit(fnProtoRegister, tracing.Arg{})
	if err := k.net.ProtoRegister(p, true); err != nil {
		return err
	}
	if p != k.tcpProt {
		return nil
	}
	var err error
	// req_prot_init: "request_sock_%s"; tw_prot_init: "tw_sock_%s".
	if k.reqCache, err = k.mem.KmemCacheCreate("request_sock_TCP", sizeofTCPRequestSock, 0,
		slabSockFlags, false); err != nil {
		return err
	}
	k.twCache, err = k.mem.KmemCacheCreate("tw_sock_TCP", sizeofTCPTimewaitSock, 0, slabSockFlags, false)
	return err
}

// inetAddrType is inet_addr_type: what an IPv4 address is to this host,
// as the local routing table says. All of 0.0.0.0/8 and 255.255.255.255
// are broadcast (__inet_dev_addr_type); so is each subnet's broadcast
// address (fib_add_ifaddr); lo owns the rest of 127.0.0.0/8.
func (k *Kernel) inetAddrType(a sockets.Be32) sockets.AddrType {
	ip := a.Addr()
	switch {
	case ip.As4()[0] == 0 || a == 0xffffffff: // ipv4_is_zeronet, ipv4_is_lbcast
		return sockets.RTN_BROADCAST
	case ip.IsMulticast():
		return sockets.RTN_MULTICAST
	case k.fibBroadcast(ip):
		return sockets.RTN_BROADCAST
	}
	if _, _, ok := k.localAddr(ip); ok {
		return sockets.RTN_LOCAL
	}
	return sockets.RTN_UNICAST
}

// inetCreate is inet_create: find the protocol in inetsw[type], allocate
// its sock (sk_alloc), set it up (sock_init_data) and run the protocol's
// init (tcp_v4_init_sock for TCP).
func (k *Kernel) inetCreate(net *sockets.Net, sock *sockets.Socket, protocol int, kern bool) error {
	tr := k.tr
	tr.Enter2(fnInetCreate, tracing.Ptr(uint64(sock.Addr())), tracing.Int(int64(protocol)))
	fail := func(err error) error {
		tr.Exit(fnInetCreate, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return err
	}
	if protocol < 0 || protocol >= ipprotoMax {
		return fail(sockets.Errno(tracing.EINVAL))
	}
	sock.State = sockets.SS_UNCONNECTED
	var answer *sockets.InetProtosw
	err := error(sockets.Errno(sockets.ESOCKTNOSUPPORT))
	for _, a := range net.Inetsw[sock.Type] {
		err = nil
		if protocol == a.Protocol {
			if protocol != sockets.IPPROTO_IP {
				answer = a
				break
			}
		} else {
			if protocol == sockets.IPPROTO_IP {
				protocol = a.Protocol
				answer = a
				break
			}
			if a.Protocol == sockets.IPPROTO_IP {
				answer = a
				break
			}
		}
		err = sockets.Errno(tracing.EPROTONOSUPPORT)
	}
	if answer == nil {
		if err == nil {
			err = sockets.Errno(tracing.EPROTONOSUPPORT)
		}
		return fail(err)
	}
	if sock.Type == sockets.SOCK_RAW && !kern && !k.Capable(sockets.CAP_NET_RAW) {
		return fail(sockets.Errno(tracing.EPERM))
	}
	sock.Ops = answer.Ops
	sk, err := sockets.SkAlloc(net, sockets.AF_INET, answer.Prot, kern)
	if err != nil {
		return fail(err)
	}
	if answer.Flags&sockets.INET_PROTOSW_REUSE != 0 {
		sk.SkcReuse = sockets.SK_CAN_REUSE
	}
	inet := sockets.InetOf(sk)
	if sock.Type == sockets.SOCK_RAW {
		sk.SkcNum = uint16(protocol)
	}
	sockets.SockInitData(net, sock, sk)
	sk.SkProtocol = uint16(protocol)
	inet.UcTtl = -1
	if sk.SkcNum != 0 {
		inet.InetSport = sockets.Htons(sk.SkcNum)
		if h := sk.SkcProt.Hash; h != nil {
			if err := h(sk); err != nil {
				k.skCommonRelease(sk)
				return fail(err)
			}
		}
	}
	if init := sk.SkcProt.Init; init != nil {
		if err := init(sk); err != nil {
			k.skCommonRelease(sk)
			return fail(err)
		}
	}
	tr.Exit(fnInetCreate, tracing.Errno(0))
	return nil
}

// skCommonRelease is sk_common_release: undo a sock whose setup failed, or
// close a datagram sock.
func (k *Kernel) skCommonRelease(sk *sockets.Sock) {
	k.tr.Enter1(fnSkCommonRelease, tracing.Sock(uint64(sk.Addr())))
	if d := sk.SkcProt.Destroy; d != nil {
		d(sk)
	}
	if u := sk.SkcProt.Unhash; u != nil {
		u(sk)
	}
	sockets.SockOrphan(sk)
	sockets.SockPut(sk)
	k.tr.Exit(fnSkCommonRelease, tracing.Arg{})
}

// inetRelease is inet_release: hand the sock to the protocol's close, with
// the SO_LINGER timeout if one is set.
func (k *Kernel) inetRelease(sock *sockets.Socket) error {
	sk := sock.Sk
	k.tr.Enter1(fnInetRelease, tracing.Ptr(uint64(sock.Addr())))
	if sk != nil {
		var timeout int64
		if sk.SockFlagSet(sockets.SOCK_LINGER) {
			timeout = sk.SkLingertime
		}
		sk.SkcProt.Close(sk, timeout)
		sock.Sk = nil
	}
	k.tr.Exit(fnInetRelease, tracing.Errno(0))
	return nil
}

// inetBind is inet_bind -> inet_bind_sk -> __inet_bind.
func (k *Kernel) inetBind(sock *sockets.Socket, addr sockets.SockaddrIn, addrLen int) error {
	tr := k.tr
	tr.Enter2(fnInetBind, tracing.Ptr(uint64(sock.Addr())), tracing.Int(int64(addrLen)))
	sockets.Noop(tr, fnInetBindSk, tracing.Sock(uint64(sock.Sk.Addr())))
	err := k.inetBindCore(sock.Sk, addr, addrLen)
	tr.Exit(fnInetBind, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	return err
}

// sizeofSockaddrIn is sizeof(struct sockaddr_in).
const sizeofSockaddrIn = 16

// inetBindCore is __inet_bind: check the address, then take the port with
// the protocol's get_port (inet_csk_get_port for TCP).
func (k *Kernel) inetBindCore(sk *sockets.Sock, addr sockets.SockaddrIn, addrLen int) error {
	tr := k.tr
	net := k.net
	var a sockets.Be32
	if addr.Addr.IsValid() {
		a = sockets.Be32From(addr.Addr)
	}
	tr.Enter3(fnInetBindCore, tracing.Sock(uint64(sk.Addr())), tracing.IPv4(uint32(a)), tracing.Int(int64(addr.Port)))
	fail := func(e int) error {
		tr.Exit(fnInetBindCore, tracing.Errno(-int64(e)))
		return sockets.Errno(e)
	}
	if addrLen < sizeofSockaddrIn {
		return fail(tracing.EINVAL)
	}
	if addr.Family != sockets.AF_INET {
		// AF_UNSPEC with INADDR_ANY is accepted for old programs.
		if addr.Family != sockets.AF_UNSPEC || a != sockets.INADDR_ANY {
			return fail(tracing.EAFNOSUPPORT)
		}
	}
	if addr.Addr.IsValid() && !addr.Addr.Is4() {
		return fail(tracing.EAFNOSUPPORT)
	}
	chk := net.AddrType(a)
	inet := sockets.InetOf(sk)
	if !(net.Sysctl.IpNonlocalBind != 0 || inet.Freebind || a == sockets.INADDR_ANY ||
		chk == sockets.RTN_LOCAL || chk == sockets.RTN_MULTICAST || chk == sockets.RTN_BROADCAST) {
		return fail(tracing.EADDRNOTAVAIL)
	}
	snum := addr.Port
	if snum != 0 && int(snum) < net.Sysctl.IpUnprivPortStart && !k.Capable(sockets.CAP_NET_BIND_SERVICE) {
		return fail(tracing.EACCES)
	}
	sockets.LockSock(sk)
	defer sockets.ReleaseSock(sk)
	if sk.SkcState != sockets.TCP_CLOSE || sk.SkcNum != 0 {
		return fail(tracing.EINVAL)
	}
	sk.SkcRcvSaddr = a
	inet.InetSaddr = a
	if chk == sockets.RTN_MULTICAST || chk == sockets.RTN_BROADCAST {
		inet.InetSaddr = 0
	}
	if gp := sk.SkcProt.GetPort; gp != nil {
		if err := gp(sk, snum); err != nil {
			inet.InetSaddr, sk.SkcRcvSaddr = 0, 0
			tr.Exit(fnInetBindCore, tracing.Errno(sockets.ErrnoOf(err).Ret()))
			return err
		}
	} else {
		return fail(tracing.EOPNOTSUPP)
	}
	if sk.SkcRcvSaddr != 0 {
		sk.SkUserlocks |= sockets.SOCK_BINDADDR_LOCK
	}
	if snum != 0 {
		sk.SkUserlocks |= sockets.SOCK_BINDPORT_LOCK
	}
	inet.InetSport = sockets.Htons(sk.SkcNum)
	sk.SkcDaddr = 0
	sk.SkcDport = 0
	tr.Exit(fnInetBindCore, tracing.Errno(0))
	return nil
}

// inetListen is inet_listen -> __inet_listen_sk: only an unconnected
// stream socket in CLOSE or LISTEN may listen; a listener only changes its
// backlog.
func (k *Kernel) inetListen(sock *sockets.Socket, backlog int) error {
	tr := k.tr
	sk := sock.Sk
	tr.Enter2(fnInetListen, tracing.Ptr(uint64(sock.Addr())), tracing.Int(int64(backlog)))
	sockets.LockSock(sk)
	err := k.inetListenSk(sock, sk, backlog)
	sockets.ReleaseSock(sk)
	tr.Exit(fnInetListen, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	return err
}

func (k *Kernel) inetListenSk(sock *sockets.Socket, sk *sockets.Sock, backlog int) error {
	tr := k.tr
	tr.Enter2(fnInetListenSk, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(backlog)))
	fail := func(e int) error {
		tr.Exit(fnInetListenSk, tracing.Errno(-int64(e)))
		return sockets.Errno(e)
	}
	if sock.State != sockets.SS_UNCONNECTED || sock.Type != sockets.SOCK_STREAM {
		return fail(tracing.EINVAL)
	}
	old := sk.SkcState
	if old != sockets.TCP_CLOSE && old != sockets.TCP_LISTEN {
		return fail(tracing.EINVAL)
	}
	sk.SkMaxAckBacklog = uint32(backlog)
	if old != sockets.TCP_LISTEN {
		if err := k.inetCskListenStart(sk); err != nil {
			tr.Exit(fnInetListenSk, tracing.Errno(sockets.ErrnoOf(err).Ret()))
			return err
		}
	}
	tr.Exit(fnInetListenSk, tracing.Errno(0))
	return nil
}

// inetAccept is inet_accept: the protocol's accept (inet_csk_accept) gives
// a child sock, which __inet_accept grafts onto the new socket.
func (k *Kernel) inetAccept(sock, newsock *sockets.Socket, flags int) error {
	tr := k.tr
	tr.Enter2(fnInetAccept, tracing.Ptr(uint64(sock.Addr())), tracing.Ptr(uint64(newsock.Addr())))
	sk1 := sock.Sk
	newsk, err := sk1.SkcProt.Accept(sk1, flags)
	if err != nil {
		tr.Exit(fnInetAccept, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return err
	}
	tr.Enter2(fnInetAcceptCore, tracing.Ptr(uint64(sock.Addr())), tracing.Sock(uint64(newsk.Addr())))
	sockets.LockSock(newsk)
	sockets.SockGraft(k.net, newsk, newsock)
	newsock.State = sockets.SS_CONNECTED
	sockets.ReleaseSock(newsk)
	tr.Exit(fnInetAcceptCore, tracing.Arg{})
	tr.Exit(fnInetAccept, tracing.Errno(0))
	return nil
}

// inetGetname is inet_getname: the local address (inet_rcv_saddr, or
// inet_saddr when bound to any) or, for the peer, inet_daddr, ENOTCONN if
// there is none. peer is 0 for getsockname, 1 for getpeername (which also
// refuses a CLOSE or SYN_SENT sock) and 2 for do_accept (which does not:
// a connection reset in the accept queue still reports its peer).
func (k *Kernel) inetGetname(sock *sockets.Socket, peer int) (sockets.SockaddrIn, error) {
	tr := k.tr
	tr.Enter2(fnInetGetname, tracing.Ptr(uint64(sock.Addr())), tracing.Int(int64(peer)))
	sk := sock.Sk
	out := sockets.SockaddrIn{Family: sockets.AF_INET}
	if peer != 0 {
		st := sk.SkcState
		if sk.SkcDport == 0 || (peer == 1 && (st == sockets.TCP_CLOSE || st == sockets.TCP_SYN_SENT)) {
			tr.Exit(fnInetGetname, tracing.Errno(-tracing.ENOTCONN))
			return out, sockets.Errno(tracing.ENOTCONN)
		}
		out.Addr, out.Port = sk.SkcDaddr.Addr(), sk.SkcDport.Ntohs()
	} else {
		a := sk.SkcRcvSaddr
		if a == 0 {
			a = sockets.InetOf(sk).InetSaddr
		}
		out.Addr, out.Port = a.Addr(), sockets.InetOf(sk).InetSport.Ntohs()
	}
	tr.Exit(fnInetGetname, tracing.Int(sizeofSockaddrIn))
	return out, nil
}

// inetShutdown is inet_shutdown: record the shutdown in sk_shutdown and
// tell the protocol; a listener shut down for reading stops listening
// (tcp_disconnect), which wakes anybody blocked in accept.
func (k *Kernel) inetShutdown(sock *sockets.Socket, how int) error {
	tr := k.tr
	sk := sock.Sk
	tr.Enter2(fnInetShutdown, tracing.Ptr(uint64(sock.Addr())), tracing.Int(int64(how)))
	how++ // SHUT_RD -> RCV_SHUTDOWN, SHUT_WR -> SEND_SHUTDOWN, SHUT_RDWR -> both
	if how&^sockets.SHUTDOWN_MASK != 0 || how == 0 {
		tr.Exit(fnInetShutdown, tracing.Errno(-tracing.EINVAL))
		return sockets.Errno(tracing.EINVAL)
	}
	sockets.LockSock(sk)
	if sock.State == sockets.SS_CONNECTING {
		// A connect in progress is over as far as the socket is
		// concerned: a later connect() says EINVAL or EISCONN.
		switch sk.SkcState {
		case sockets.TCP_SYN_SENT, sockets.TCP_SYN_RECV, sockets.TCP_CLOSE:
			sock.State = sockets.SS_DISCONNECTING
		default:
			sock.State = sockets.SS_CONNECTED
		}
	}
	var err error
	switch sk.SkcState {
	case sockets.TCP_LISTEN:
		if how&sockets.RCV_SHUTDOWN != 0 {
			err = sk.SkcProt.Disconnect(sk, sockets.O_NONBLOCK)
			if err != nil {
				sock.State = sockets.SS_DISCONNECTING
			} else {
				sock.State = sockets.SS_UNCONNECTED
			}
		}
	case sockets.TCP_SYN_SENT:
		err = sk.SkcProt.Disconnect(sk, sockets.O_NONBLOCK)
		if err != nil {
			sock.State = sockets.SS_DISCONNECTING
		} else {
			sock.State = sockets.SS_UNCONNECTED
		}
	default:
		if sk.SkcState == sockets.TCP_CLOSE {
			err = sockets.Errno(tracing.ENOTCONN)
		}
		sk.SkShutdown |= uint8(how)
		if sd := sk.SkcProt.Shutdown; sd != nil {
			sd(sk, how)
		}
	}
	sk.SkStateChange(sk)
	sockets.ReleaseSock(sk)
	tr.Exit(fnInetShutdown, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	return err
}

// sockCommonSetsockopt is sock_common_setsockopt: the protocol's
// setsockopt (tcp_setsockopt).
func (k *Kernel) sockCommonSetsockopt(sock *sockets.Socket, level, optname int, val sockets.Optval) error {
	sk := sock.Sk
	if sk.SkcProt.Setsockopt == nil {
		return sockets.Errno(tracing.ENOPROTOOPT)
	}
	return sk.SkcProt.Setsockopt(sk, level, optname, val)
}

// sockCommonGetsockopt is sock_common_getsockopt.
func (k *Kernel) sockCommonGetsockopt(sock *sockets.Socket, level, optname, optlen int) (sockets.Optval, error) {
	sk := sock.Sk
	if sk.SkcProt.Getsockopt == nil {
		// The protocol's own level and SOL_IP know no such option;
		// ip_getsockopt answers any other level with EOPNOTSUPP.
		if level == sockets.SOL_IP || level == int(sk.SkProtocol) {
			return sockets.Optval{}, sockets.Errno(tracing.ENOPROTOOPT)
		}
		return sockets.Optval{}, sockets.Errno(tracing.EOPNOTSUPP)
	}
	return sk.SkcProt.Getsockopt(sk, level, optname, optlen)
}

// inetIoctl is inet_ioctl: the routing, ARP and interface commands it
// handles itself are not modelled, so every command goes to the protocol
// (sk_ioctl -> tcp_ioctl).
func (k *Kernel) inetIoctl(sock *sockets.Socket, cmd int) (int64, error) {
	k.tr.Enter2(fnInetIoctl, tracing.Ptr(uint64(sock.Addr())), tracing.Uint(uint64(cmd)))
	v, err := sockets.SkIoctl(k.net, sock.Sk, cmd)
	k.tr.Exit(fnInetIoctl, retInt(int(v), err))
	return v, err
}

// inetStreamOps is inet_stream_ops.
func (k *Kernel) inetStreamOps() *sockets.ProtoOps {
	return &sockets.ProtoOps{
		Name: "inet_stream_ops", Family: sockets.AF_INET,
		Release: k.inetRelease, Bind: k.inetBind, Accept: k.inetAccept, Getname: k.inetGetname,
		Listen: k.inetListen, Shutdown: k.inetShutdown, Connect: k.inetStreamConnect,
		Sendmsg: k.inetSendmsg, Recvmsg: k.inetRecvmsg,
		Setsockopt: k.sockCommonSetsockopt, Getsockopt: k.sockCommonGetsockopt,
		Ioctl: k.inetIoctl, Poll: k.tcpPoll, SetRcvlowat: k.tcpSetRcvlowat, SetPeekOff: k.skSetPeekOff,
	}
}

// inetDgramOps is inet_dgram_ops (and inet_sockraw_ops): no listen, no
// accept (sock_no_listen, sock_no_accept answer EOPNOTSUPP).
func (k *Kernel) inetDgramOps(name string) *sockets.ProtoOps {
	ops := &sockets.ProtoOps{
		Name: name, Family: sockets.AF_INET,
		Release: k.inetRelease, Bind: k.inetBind, Getname: k.inetGetname, Shutdown: k.inetShutdown,
		Accept:     func(*sockets.Socket, *sockets.Socket, int) error { return sockets.Errno(tracing.EOPNOTSUPP) },
		Listen:     func(*sockets.Socket, int) error { return sockets.Errno(tracing.EOPNOTSUPP) },
		Setsockopt: k.sockCommonSetsockopt, Getsockopt: k.sockCommonGetsockopt, Ioctl: k.inetIoctl,
		Connect: k.inetDgramConnect, Sendmsg: k.inetSendmsg, Recvmsg: k.inetRecvmsg,
		Poll: k.udpPoll,
	}
	if name == "inet_sockraw_ops" {
		ops.Poll = k.datagramPoll
	} else {
		// udp_set_peek_off: sk_set_peek_off, and peeking_with_offset
		// while it is not negative (the model reads that off
		// sk_peek_off).
		ops.SetPeekOff = k.skSetPeekOff
	}
	return ops
}
