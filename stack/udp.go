package stack

import (
	"net/netip"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// UdpSock is struct udp_sock: an inet_sock plus its two hash keys.
type UdpSock struct {
	sockets.InetSock
	UdpPortHash     uint16 // the bound port
	UdpPortaddrHash uint32 // ipv4_portaddr_hash(rcv_saddr, port)
}

func udpSk(sk *sockets.Sock) *UdpSock { return sk.Self().(*UdpSock) }

// udpMaxPayload is the most one datagram carries: 65535 - 20 - 8.
const udpMaxPayload = header.IPv4MaxPacket - header.IPv4MinSize - header.UDPHeaderSize

// newUDPProt is udp_prot (net/ipv4/udp.c).
func (k *Kernel) newUDPProt() *sockets.Proto {
	return &sockets.Proto{
		Name: "UDP", ObjSize: sizeofUDPSock, SlabFlags: slab.SLAB_TYPESAFE_BY_RCU,
		Close:      func(sk *sockets.Sock, timeout int64) { k.skCommonRelease(sk) },
		Unhash:     k.udpLibUnhash,
		GetPort:    k.udpV4GetPort,
		Connect:    k.ip4DatagramConnect,
		Disconnect: k.udpDisconnect,
		Sendmsg:    k.udpSendmsg,
		Recvmsg:    k.udpRecvmsg,
		Ioctl:      k.udpIoctl,
		Alloc: func(*sockets.Proto) *sockets.Sock {
			u := &UdpSock{}
			sockets.AttachOwner(&u.Sock, u)
			return &u.Sock
		},
	}
}

// udpV4GetPort is udp_v4_get_port -> udp_lib_get_port: bind a port in the
// UDP table. Port 0 starts at a random port of ip_local_port_range and
// steps by an odd multiple of the table size, so every port is tried once,
// a hash slot at a time.
func (k *Kernel) udpV4GetPort(sk *sockets.Sock, snum uint16) error {
	tr := k.tr
	tr.Enter2(fnUdpLibGetPort, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(snum)))
	t, net := k.udpTable, k.net
	u := udpSk(sk)
	u.UdpPortaddrHash = sockets.Ipv4PortaddrHash(net, sk.SkcRcvSaddr, 0)
	if snum == 0 {
		low, high := net.Sysctl.IpLocalPortRange[0], net.Sysctl.IpLocalPortRange[1]
		remaining := uint32(high - low + 1)
		rand := k.GetRandomU32()
		first := uint16(uint64(rand)*uint64(remaining)>>32) + uint16(low) // reciprocal_scale
		rand = (rand | 1) * (t.Mask + 1)
		last := first + uint16(t.Mask+1)
		found := false
	scan:
		for ; first != last; first++ {
			slot := t.Slot(net, first)
			inuse := map[uint16]bool{} // the kernel's bitmap of ports in this slot
			slot.Each(func(sc *sockets.SockCommon) bool {
				if sk2 := sockOf(sc); sk2 != sk && udpConflict(sk, sk2) {
					inuse[udpSk(sk2).UdpPortHash>>t.Log] = true
				}
				return true
			})
			snum = first
			for {
				if int(snum) >= low && int(snum) <= high && !inuse[snum>>t.Log] {
					found = true
					break scan
				}
				snum += uint16(rand)
				if snum == first {
					break
				}
			}
		}
		if !found {
			tr.Exit(fnUdpLibGetPort, tracing.Errno(-tracing.EADDRINUSE))
			return sockets.Errno(tracing.EADDRINUSE)
		}
	} else {
		inuse := false
		t.Slot(net, snum).Each(func(sc *sockets.SockCommon) bool {
			sk2 := sockOf(sc)
			if sk2 != sk && udpSk(sk2).UdpPortHash == snum && udpConflict(sk, sk2) {
				inuse = true
				return false
			}
			return true
		})
		if inuse {
			tr.Exit(fnUdpLibGetPort, tracing.Errno(-tracing.EADDRINUSE))
			return sockets.Errno(tracing.EADDRINUSE)
		}
	}
	sk.SkcNum = snum
	u.UdpPortHash = snum
	u.UdpPortaddrHash ^= uint32(snum)
	if !sk.Hashed() {
		sk.SockSetFlag(sockets.SOCK_RCU_FREE)
		t.Add(sk, t.Slot(net, snum), t.Slot2(u.UdpPortaddrHash))
	}
	tr.Exit(fnUdpLibGetPort, tracing.Errno(0))
	return nil
}

func sockOf(sc *sockets.SockCommon) *sockets.Sock {
	return sc.Owner().(interface{ SockOf() *sockets.Sock }).SockOf()
}

// udpConflict is the test of udp_lib_lport_inuse: two socks on one port
// clash unless both set SO_REUSEADDR, they are bound to different devices
// or to different specific addresses.
func udpConflict(sk, sk2 *sockets.Sock) bool {
	if sk2.SkcReuse != 0 && sk.SkcReuse != 0 {
		return false
	}
	if sk2.SkcBoundDevIf != 0 && sk.SkcBoundDevIf != 0 && sk2.SkcBoundDevIf != sk.SkcBoundDevIf {
		return false
	}
	return sk.SkcRcvSaddr == 0 || sk2.SkcRcvSaddr == 0 || sk.SkcRcvSaddr == sk2.SkcRcvSaddr
}

// udpLibUnhash is udp_lib_unhash: off both chains.
func (k *Kernel) udpLibUnhash(sk *sockets.Sock) {
	if !sk.Hashed() {
		return
	}
	k.tr.Enter1(fnUdpLibUnhash, tracing.Sock(uint64(sk.Addr())))
	u := udpSk(sk)
	k.udpTable.Remove(sk, k.udpTable.Slot(k.net, u.UdpPortHash), k.udpTable.Slot2(u.UdpPortaddrHash))
	sk.SkcNum = 0
	k.tr.Exit(fnUdpLibUnhash, tracing.Arg{})
}

// udpRehash is udp_v4_rehash: the local address changed (connect chose
// it), so the sock moves to its new hash2 slot.
func (k *Kernel) udpRehash(sk *sockets.Sock) {
	u := udpSk(sk)
	nh := sockets.Ipv4PortaddrHash(k.net, sk.SkcRcvSaddr, sk.SkcNum)
	if nh != u.UdpPortaddrHash && sk.Hashed() {
		k.udpTable.Move2(sk, k.udpTable.Slot2(u.UdpPortaddrHash), k.udpTable.Slot2(nh))
	}
	u.UdpPortaddrHash = nh
}

// inetAutobind is inet_autobind: a datagram socket used before bind()
// gets an ephemeral port.
func (k *Kernel) inetAutobind(sk *sockets.Sock) error {
	if sk.SkcNum != 0 || sk.SkcProt.GetPort == nil {
		return nil
	}
	k.tr.Enter1(fnInetAutobind, tracing.Sock(uint64(sk.Addr())))
	if err := sk.SkcProt.GetPort(sk, 0); err != nil {
		k.tr.Exit(fnInetAutobind, tracing.Errno(-tracing.EAGAIN))
		return sockets.Errno(tracing.EAGAIN)
	}
	sockets.InetOf(sk).InetSport = sockets.Htons(sk.SkcNum)
	k.tr.Exit(fnInetAutobind, tracing.Errno(0))
	return nil
}

// inetDgramConnect is inet_dgram_connect: AF_UNSPEC disconnects; otherwise
// bind a port if needed and let the protocol connect.
func (k *Kernel) inetDgramConnect(sock *sockets.Socket, addr sockets.SockaddrIn, addrLen int, flags int) error {
	sk := sock.Sk
	k.tr.Enter2(fnInetDgramConnect, tracing.Ptr(uint64(sock.Addr())), tracing.Int(int64(addrLen)))
	var err error
	switch {
	case addrLen < 2:
		err = sockets.Errno(tracing.EINVAL)
	case addr.Family == sockets.AF_UNSPEC:
		err = sk.SkcProt.Disconnect(sk, flags)
	case sk.SkcProt.Connect == nil:
		err = sockets.Errno(tracing.EOPNOTSUPP)
	default:
		if err = k.inetAutobind(sk); err == nil {
			err = sk.SkcProt.Connect(sk, addr)
		}
	}
	k.tr.Exit(fnInetDgramConnect, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	return err
}

// ip4DatagramConnect is ip4_datagram_connect: route to the peer, take the
// route's source if unbound, remember the peer and call the sock
// ESTABLISHED (UDP's way of saying "connected").
func (k *Kernel) ip4DatagramConnect(sk *sockets.Sock, addr sockets.SockaddrIn) error {
	tr := k.tr
	tr.Enter2(fnIp4DatagramConnect, tracing.Sock(uint64(sk.Addr())), tracing.IPv4(be32(addr.Addr)))
	fail := func(err error) error {
		tr.Exit(fnIp4DatagramConnect, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return err
	}
	if addr.Family != sockets.AF_INET || !addr.Addr.Is4() {
		return fail(sockets.Errno(tracing.EAFNOSUPPORT))
	}
	sockets.LockSock(sk)
	defer sockets.ReleaseSock(sk)
	inet := sockets.InetOf(sk)
	rt, err := k.dgramRoute(sk, addr.Addr)
	if err != nil {
		return fail(err)
	}
	if inet.InetSaddr == 0 {
		inet.InetSaddr = sockets.Be32From(rt.Src)
	}
	if sk.SkcRcvSaddr == 0 {
		sk.SkcRcvSaddr = sockets.Be32From(rt.Src)
		k.udpRehash(sk)
	}
	sk.SkcDaddr = sockets.Be32From(rt.Dst) // fl4->daddr
	sk.SkcDport = sockets.Htons(addr.Port)
	sk.SkcState = sockets.TCP_ESTABLISHED
	inet.InetId = uint16(k.GetRandomU32())
	tr.Exit(fnIp4DatagramConnect, tracing.Errno(0))
	return nil
}

// udpDisconnect is udp_disconnect: forget the peer; keep the address and
// port only if the user bound them.
func (k *Kernel) udpDisconnect(sk *sockets.Sock, flags int) error {
	sk.SkcState = sockets.TCP_CLOSE
	sk.SkcDaddr, sk.SkcDport = 0, 0
	if sk.SkUserlocks&sockets.SOCK_BINDADDR_LOCK == 0 {
		sk.SkcRcvSaddr = 0
		sockets.InetOf(sk).InetSaddr = 0
		k.udpRehash(sk)
	}
	if sk.SkUserlocks&sockets.SOCK_BINDPORT_LOCK == 0 {
		k.udpLibUnhash(sk)
		sockets.InetOf(sk).InetSport = 0
	}
	return nil
}

// inetSendmsg is inet_sendmsg: bind a port if needed, then the protocol's
// sendmsg.
func (k *Kernel) inetSendmsg(sock *sockets.Socket, data []byte, flags int, addr *sockets.SockaddrIn) (int, error) {
	sk := sock.Sk
	k.tr.Enter2(fnInetSendmsg, tracing.Ptr(uint64(sock.Addr())), tracing.Size(uint64(len(data))))
	if sk.SkcProt.Sendmsg == nil {
		k.tr.Exit(fnInetSendmsg, tracing.Errno(-tracing.EOPNOTSUPP))
		return -1, sockets.Errno(tracing.EOPNOTSUPP)
	}
	if sk.SkcProt == k.tcpProt {
		// tcp_prot sets no_autobind: an unconnected TCP socket fails in
		// tcp_sendmsg instead of getting a port.
	} else if err := k.inetAutobind(sk); err != nil {
		k.tr.Exit(fnInetSendmsg, tracing.Errno(-tracing.EAGAIN))
		return -1, err
	}
	n, err := sk.SkcProt.Sendmsg(sk, data, flags, addr)
	k.tr.Exit(fnInetSendmsg, retInt(n, err))
	return n, err
}

// inetRecvmsg is inet_recvmsg: the protocol's recvmsg.
func (k *Kernel) inetRecvmsg(sock *sockets.Socket, buf []byte, flags int) (int, sockets.RecvResult, error) {
	sk := sock.Sk
	k.tr.Enter2(fnInetRecvmsg, tracing.Ptr(uint64(sock.Addr())), tracing.Size(uint64(len(buf))))
	if sk.SkcProt.Recvmsg == nil {
		k.tr.Exit(fnInetRecvmsg, tracing.Errno(-tracing.EOPNOTSUPP))
		return -1, sockets.RecvResult{}, sockets.Errno(tracing.EOPNOTSUPP)
	}
	n, r, err := sk.SkcProt.Recvmsg(sk, buf, flags)
	k.tr.Exit(fnInetRecvmsg, retInt(n, err))
	return n, r, err
}

func retInt(n int, err error) tracing.Arg {
	if err != nil {
		return tracing.Errno(sockets.ErrnoOf(err).Ret())
	}
	return tracing.Int(int64(n))
}

// sockError is sock_error: take the pending error, if any.
func sockError(sk *sockets.Sock) error {
	if sk.SkErr == 0 {
		return nil
	}
	e := sockets.Errno(sk.SkErr)
	sk.SkErr = 0
	return e
}

// dgramRoute is the route a datagram socket's connect or send takes to
// daddr (0.0.0.0 meaning its own source address, or this host): no route
// counts OutNoRoutes, and a broadcast route needs SO_BROADCAST (EACCES),
// as ip4_datagram_connect and udp_sendmsg both check.
func (k *Kernel) dgramRoute(sk *sockets.Sock, daddr netip.Addr) (*Rtable, error) {
	rt, err := k.ipRouteOutput(routeDaddr(daddr, sockets.InetOf(sk).InetSaddr))
	if err != nil {
		k.mib.inc(IPSTATS_MIB_OUTNOROUTES)
		return nil, err
	}
	if rt.Type == sockets.RTN_BROADCAST && !sk.SockFlagSet(sockets.SOCK_BROADCAST) {
		return nil, sockets.Errno(tracing.EACCES) // RTCF_BROADCAST needs SO_BROADCAST
	}
	return rt, nil
}

// udpSendmsg is udp_sendmsg: one datagram to the given address or the
// connected peer, built (ip_make_skb) and sent (udp_send_skb).
func (k *Kernel) udpSendmsg(sk *sockets.Sock, data []byte, flags int, addr *sockets.SockaddrIn) (int, error) {
	tr := k.tr
	tr.Enter2(fnUdpSendmsg, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(len(data))))
	fail := func(err error) (int, error) {
		tr.Exit(fnUdpSendmsg, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return -1, err
	}
	if len(data) > 0xFFFF {
		return fail(sockets.Errno(tracing.EMSGSIZE))
	}
	if flags&sockets.MSG_OOB != 0 { // BSD's answer: no out-of-band data
		return fail(sockets.Errno(tracing.EOPNOTSUPP))
	}
	var daddr netip.Addr
	var dport uint16
	if addr != nil {
		if addr.Family != sockets.AF_INET && addr.Family != sockets.AF_UNSPEC {
			return fail(sockets.Errno(tracing.EAFNOSUPPORT))
		}
		if addr.Port == 0 {
			return fail(sockets.Errno(tracing.EINVAL))
		}
		daddr, dport = addr.Addr, addr.Port
	} else {
		if sk.SkcState != sockets.TCP_ESTABLISHED {
			return fail(sockets.Errno(tracing.EDESTADDRREQ))
		}
		daddr, dport = sk.SkcDaddr.Addr(), sk.SkcDport.Ntohs()
	}
	rt, err := k.dgramRoute(sk, daddr)
	if err != nil {
		return fail(err)
	}
	daddr = rt.Dst // fl4->daddr: 0.0.0.0 was rewritten
	// __ip_append_data: a datagram IP cannot carry (len + 8 over
	// 65535 - 20) is EMSGSIZE only now, after the route.
	if len(data) > udpMaxPayload {
		return fail(sockets.Errno(tracing.EMSGSIZE))
	}
	// sock_alloc_send_pskb: the pending error, then a socket shut down
	// for writing (EPIPE; UDP raises no SIGPIPE).
	if err := sockError(sk); err != nil {
		return fail(err)
	}
	if sk.SkShutdown&sockets.SEND_SHUTDOWN != 0 {
		return fail(sockets.Errno(tracing.EPIPE))
	}
	s, err := skb.AllocSkb(k.skbs, uint32(skbMaxHeader+header.UDPHeaderSize+len(data)))
	if err != nil {
		k.mib.inc(UDP_MIB_SNDBUFERRORS)
		return fail(sockets.Errno(tracing.ENOBUFS))
	}
	_ = skb.SkbReserve(s, skbMaxHeader)
	b, _ := skb.SkbPut(s, uint32(header.UDPHeaderSize+len(data)))
	copy(b[header.UDPHeaderSize:], data)
	skb.SkbResetTransportHeader(s)
	s.Sk = sk
	src := rt.Src
	if inet := sockets.InetOf(sk); inet.InetSaddr != 0 {
		src = inet.InetSaddr.Addr()
	}
	// udp_send_skb: the header and the checksum over the pseudo-header.
	tr.Enter1(fnUdpSendSkb, tracing.Skb(uint64(s.Addr())))
	header.UDP(b).Encode(sk.SkcNum, dport, src, daddr)
	k.mib.inc(UDP_MIB_OUTDATAGRAMS)
	// __ip_make_skb: every socket starts with IP_PMTUDISC_WANT
	// (inet_create), so a datagram that fits the path MTU goes with DF
	// unless that MTU is locked (ip_dont_fragment); WANT also sets
	// ignore_df (ip_sk_ignore_df).
	df := header.IPv4MinSize+int(s.Len) <= rt.MTU && !rt.MTULocked
	err = k.ipSendSkb(s, &ipPacket{src: src, dst: daddr, proto: header.IPPROTO_UDP, df: df, ignoreDf: true, sk: sk})
	tr.Exit(fnUdpSendSkb, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	if err != nil {
		return fail(err)
	}
	tr.Exit(fnUdpSendmsg, tracing.Int(int64(len(data))))
	return len(data), nil
}

// udpIoctl is udp_ioctl: SIOCINQ is the length of the first datagram
// waiting (first_packet_length; 0 when none), SIOCOUTQ what sent
// datagrams still hold of sk_wmem_alloc (sk_wmem_alloc_get).
func (k *Kernel) udpIoctl(sk *sockets.Sock, cmd int) (int64, error) {
	k.tr.Enter2(fnUdpIoctl, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(cmd)))
	var answ int64
	switch cmd {
	case sockets.SIOCOUTQ:
		answ = int64(max(sk.SkWmemAlloc-1, 0))
	case sockets.SIOCINQ:
		answ = int64(max(k.firstPacketLength(sk), 0))
	default:
		k.tr.Exit(fnUdpIoctl, tracing.Errno(-tracing.ENOIOCTLCMD))
		return -1, sockets.Errno(tracing.ENOIOCTLCMD)
	}
	k.tr.Exit(fnUdpIoctl, tracing.Int(answ))
	return answ, nil
}

// udpRecvmsg is udp_recvmsg: take the next datagram (sleeping for one
// unless MSG_DONTWAIT), copy as much as fits (MSG_TRUNC if it did not all
// fit) and report its source.
func (k *Kernel) udpRecvmsg(sk *sockets.Sock, buf []byte, flags int) (int, sockets.RecvResult, error) {
	tr := k.tr
	tr.Enter3(fnUdpRecvmsg, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(len(buf))), tracing.Uint(uint64(flags)))
	var res sockets.RecvResult
	fail := func(err error) (int, sockets.RecvResult, error) {
		tr.Exit(fnUdpRecvmsg, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return -1, res, err
	}
	if flags&sockets.MSG_ERRQUEUE != 0 {
		// ip_recv_error: the error queue is empty (IP_RECVERR is not
		// modelled).
		return fail(sockets.Errno(tracing.EAGAIN))
	}
	var s *skb.SkBuff
	var off int
	for {
		var err error
		if s, off, err = k.skbRecvUDP(sk, flags); err != nil {
			return fail(err)
		}
		if s == nil { // shut down for reading: 0 bytes
			tr.Exit(fnUdpRecvmsg, tracing.Int(0))
			return 0, res, nil
		}
		if udpLibChecksumComplete(s) {
			break
		}
		// csum_copy_err: the datagram goes, and the read tries the next.
		k.udpDropBadCsum(sk, s, flags&sockets.MSG_PEEK == 0)
	}
	// Copy from off (SO_PEEK_OFF's place in this datagram; 0 unless
	// peeking): a buffer holding the rest is no truncation, a smaller one
	// is MSG_TRUNC as soon as it is smaller than the whole datagram.
	data := s.Bytes()
	n := copy(buf, data[off:])
	if len(buf) < len(data)-off || (off > 0 && len(buf) == len(data)-off) {
		res.MsgFlags |= sockets.MSG_TRUNC
	}
	iph := ipHdr(s)
	uh := header.UDP(s.HeadBytes()[s.TransportHeader:])
	res.From = sockets.SockaddrIn{Family: sockets.AF_INET, Addr: iph.Src(), Port: uh.SrcPort()}
	ret := n
	if flags&sockets.MSG_TRUNC != 0 {
		ret = len(data)
	}
	// skb_consume_udp: with SO_PEEK_OFF set (peeking_with_offset), a
	// peek moves the offset on by what it returned, a read takes it back.
	skPeekOffsetMove(sk, ret, flags&sockets.MSG_PEEK != 0)
	if flags&sockets.MSG_PEEK == 0 {
		k.mib.inc(UDP_MIB_INDATAGRAMS)
		sockets.SkRmemUncharge(sk, s.Truesize)
		_ = skb.ConsumeSkb(s)
	}
	tr.Exit(fnUdpRecvmsg, tracing.Int(int64(ret)))
	return ret, res, nil
}

// udpCbCsumPending is the model's byte of UDP_SKB_CB: the datagram's
// checksum is still to be verified (it was longer than CHECKSUM_BREAK).
const udpCbCsumPending = 0

// udpLibChecksumComplete is udp_lib_checksum_complete, reporting whether
// the datagram is good: one whose checksum is pending is verified now
// (its UDP header is still in front of the data), and remembered as good.
func udpLibChecksumComplete(s *skb.SkBuff) bool {
	if s.Cb[udpCbCsumPending] == 0 {
		return true
	}
	iph := ipHdr(s)
	uh := header.UDP(s.HeadBytes()[s.TransportHeader:])
	if !uh.ChecksumValid(iph.Src(), iph.Dst()) {
		return false
	}
	s.Cb[udpCbCsumPending] = 0 // udp_skb_csum_unnecessary_set
	return true
}

// udpCsumError is __udp4_lib_rcv's csum_error: a datagram not yet queued
// whose checksum is bad is counted and dropped.
func (k *Kernel) udpCsumError(s *skb.SkBuff) {
	k.mib.inc(UDP_MIB_CSUMERRORS)
	k.ipDrop(s, UDP_MIB_INERRORS, skb.SKB_DROP_REASON_UDP_CSUM)
}

// udpDropBadCsum drops a queued datagram whose checksum proved bad when
// it was to be read: counted (CsumErrors, InErrors, sk_drops), taken off
// the queue if it is still there (a peek), and its memory given back.
func (k *Kernel) udpDropBadCsum(sk *sockets.Sock, s *skb.SkBuff, dequeued bool) {
	k.mib.inc(UDP_MIB_CSUMERRORS)
	k.mib.inc(UDP_MIB_INERRORS)
	sk.SkDrops++
	if !dequeued {
		_ = skb.SkbUnlink(s, &sk.SkReceiveQueue)
	}
	sockets.SkRmemUncharge(sk, s.Truesize)
	_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_UDP_CSUM)
}

// firstPacketLength is first_packet_length: drop the datagrams with bad
// checksums at the head of the queue and report the length of the first
// good one, or -1 if none is left.
func (k *Kernel) firstPacketLength(sk *sockets.Sock) (n int) {
	k.tr.Enter1(fnFirstPacketLength, tracing.Sock(uint64(sk.Addr())))
	defer func() { k.tr.Exit(fnFirstPacketLength, tracing.Int(int64(n))) }()
	for {
		s := skb.SkbPeek(&sk.SkReceiveQueue)
		if s == nil {
			return -1
		}
		if udpLibChecksumComplete(s) {
			return int(s.Len)
		}
		k.udpDropBadCsum(sk, s, false)
	}
}

// skbRecvUDP is __skb_recv_udp: the first datagram of the receive queue,
// waiting for one (__skb_wait_for_more_packets) if the call may block. A
// MSG_PEEK with SO_PEEK_OFF set starts sk_peek_off bytes in
// (__skb_try_recv_from_queue): whole datagrams that short are skipped,
// and the offset into the one found is returned with it.
func (k *Kernel) skbRecvUDP(sk *sockets.Sock, flags int) (*skb.SkBuff, int, error) {
	timeo := sockRcvtimeo(sk, flags&sockets.MSG_DONTWAIT != 0)
	for {
		if err := sockError(sk); err != nil {
			return nil, 0, err
		}
		q := &sk.SkReceiveQueue
		if flags&sockets.MSG_PEEK != 0 {
			if s, off := udpPeekAt(q, sk.SkPeekOff); s != nil {
				return s, off, nil
			}
		} else if !skb.SkbQueueEmpty(q) {
			return skb.SkbDequeue(q), 0, nil
		}
		if timeo == 0 {
			return nil, 0, sockets.Errno(tracing.EAGAIN)
		}
		if sk.SkShutdown&sockets.RCV_SHUTDOWN != 0 {
			// A reader that would wait is told "end" (0 bytes), as
			// __skb_wait_for_more_packets does: shutdown(SHUT_RD)
			// is how another thread wakes it.
			return nil, 0, nil
		}
		var intr bool
		timeo, intr = k.SleepOn(sk.SkWq, true, timeo)
		if intr {
			return nil, 0, sockets.Errno(tracing.EINTR)
		}
	}
}

// udpCbPeeked is the model's skb->peeked: a zero-length datagram once
// peeked is skipped by a peek at offset 0.
const udpCbPeeked = 1

// udpPeekAt is __skb_try_recv_from_queue for MSG_PEEK: with off >= 0
// (SO_PEEK_OFF) it skips the datagrams that off covers, and a peeked
// empty one; it returns the datagram found and the offset left in it.
func udpPeekAt(q *skb.SkBuffHead, off int32) (*skb.SkBuff, int) {
	peekAtOff := off >= 0
	o := 0
	if peekAtOff {
		o = int(off)
	}
	var found *skb.SkBuff
	skb.SkbQueueWalk(q, func(s *skb.SkBuff) bool {
		if peekAtOff && o >= int(s.Len) && (o > 0 || s.Cb[udpCbPeeked] != 0) {
			o -= int(s.Len)
			return true
		}
		if s.Len == 0 {
			s.Cb[udpCbPeeked] = 1 // skb_set_peeked
		}
		found = s
		return false
	})
	if found == nil {
		return nil, 0
	}
	return found, o
}

// udpPoll is udp_poll (net/ipv4/udp.c), the poll of UDP and ping
// sockets: datagram_poll, less POLLIN for a blocking reader when every
// queued datagram has a bad checksum. (The kernel also looks at udp_sk's
// reader_queue, which the model does not split from sk_receive_queue.)
func (k *Kernel) udpPoll(file *sockets.File, sock *sockets.Socket, wait *sockets.PollTable) uint32 {
	k.tr.Enter1(fnUdpPoll, tracing.Sock(uint64(sock.Sk.Addr())))
	mask := k.datagramPoll(file, sock, wait)
	// A blocking reader is not woken for datagrams whose checksums
	// prove bad: they are dropped here, and POLLIN goes with them.
	sk := sock.Sk
	if mask&sockets.POLLRDNORM != 0 && (file == nil || file.FFlags&sockets.O_NONBLOCK == 0) &&
		sk.SkShutdown&sockets.RCV_SHUTDOWN == 0 && sk.SkProtocol == sockets.IPPROTO_UDP && k.firstPacketLength(sk) == -1 {
		mask &^= sockets.POLLIN | sockets.POLLRDNORM
	}
	k.tr.Exit(fnUdpPoll, tracing.Uint(uint64(mask)))
	return mask
}

// udpRcv is udp_rcv -> __udp4_lib_rcv: check length and checksum, find
// the socket (__udp4_lib_lookup), queue the datagram for it; with no
// socket, count NoPorts and answer ICMP port unreachable.
func (k *Kernel) udpRcv(s *skb.SkBuff) {
	tr := k.tr
	tr.Enter1(fnUdpRcv, tracing.Skb(uint64(s.Addr())))
	defer tr.Exit(fnUdpRcv, tracing.Arg{})
	b := s.Bytes()
	iph := ipHdr(s)
	if len(b) < header.UDPHeaderSize {
		k.ipDrop(s, UDP_MIB_INERRORS, skb.SKB_DROP_REASON_PKT_TOO_SMALL)
		return
	}
	uh := header.UDP(b)
	ulen := uh.Length()
	if ulen > len(b) || ulen < header.UDPHeaderSize {
		k.ipDrop(s, UDP_MIB_INERRORS, skb.SKB_DROP_REASON_PKT_TOO_SMALL)
		return
	}
	_ = skb.SkbTrim(s, uint32(ulen))
	// udp4_csum_init: a short datagram's checksum is verified now; a
	// longer one's only when it is read (or dropped for want of a port).
	if ulen <= CHECKSUM_BREAK {
		if !header.UDP(s.Bytes()).ChecksumValid(iph.Src(), iph.Dst()) {
			k.udpCsumError(s)
			return
		}
	} else {
		s.Cb[udpCbCsumPending] = 1
	}
	if k.ipInputBroadcast(iph) {
		k.udp4LibMcastDeliver(s, iph, uh)
		return
	}
	sk := k.udp4LibLookup(iph.Src(), uh.SrcPort(), iph.Dst(), uh.DstPort())
	if sk == nil {
		if !udpLibChecksumComplete(s) {
			k.udpCsumError(s)
			return
		}
		k.mib.inc(UDP_MIB_NOPORTS)
		k.icmpSend(s, header.ICMP_DEST_UNREACH, header.ICMP_PORT_UNREACH, 0)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_NO_SOCKET)
		return
	}
	_, _ = skb.SkbPull(s, header.UDPHeaderSize)
	k.udpQueueRcvSkb(sk, s)
}

// udp4LibMcastDeliver is __udp4_lib_mcast_deliver: a datagram whose
// input route is broadcast goes to every socket on its port that would
// take it (__udp_is_mcast_sock), a clone each but the first; with none it
// is dropped and counted IgnoredMulti, without port unreachable.
func (k *Kernel) udp4LibMcastDeliver(s *skb.SkBuff, iph header.IPv4, uh header.UDP) {
	k.tr.Enter2(fnUdp4LibMcastDeliver, tracing.IPv4(be32(iph.Dst())), tracing.Int(int64(uh.DstPort())))
	defer k.tr.Exit(fnUdp4LibMcastDeliver, tracing.Arg{})
	hnum := uh.DstPort()
	saddr, daddr := sockets.Be32From(iph.Src()), sockets.Be32From(iph.Dst())
	sport := sockets.Htons(uh.SrcPort())
	dif := 0
	if dev, ok := s.Dev.(*netdev.Device); ok {
		dif = dev.Ifindex
	}
	var socks []*sockets.Sock
	k.udpTable.Slot(k.net, hnum).Each(func(sc *sockets.SockCommon) bool {
		if sk := sockOf(sc); udpIsMcastSock(sk, hnum, daddr, sport, saddr, dif) {
			socks = append(socks, sk)
		}
		return true
	})
	_, _ = skb.SkbPull(s, header.UDPHeaderSize)
	if len(socks) == 0 {
		k.mib.inc(UDP_MIB_IGNOREDMULTI)
		_ = skb.KfreeSkb(s)
		return
	}
	for _, sk := range socks[1:] {
		n, err := skb.SkbClone(s)
		if err != nil {
			sk.SkDrops++
			k.mib.inc(UDP_MIB_RCVBUFERRORS)
			k.mib.inc(UDP_MIB_INERRORS)
			continue
		}
		k.udpQueueRcvSkb(sk, n)
	}
	k.udpQueueRcvSkb(socks[0], s)
}

// udpIsMcastSock is __udp_is_mcast_sock: the socket is on the port, not
// connected elsewhere, bound to no other local address and no other
// device.
func udpIsMcastSock(sk *sockets.Sock, hnum uint16, locAddr sockets.Be32, rmtPort sockets.Be16, rmtAddr sockets.Be32, dif int) bool {
	return udpSk(sk).UdpPortHash == hnum &&
		(sk.SkcDaddr == 0 || sk.SkcDaddr == rmtAddr) &&
		(sk.SkcDport == 0 || sk.SkcDport == rmtPort) &&
		(sk.SkcRcvSaddr == 0 || sk.SkcRcvSaddr == locAddr) &&
		(sk.SkcBoundDevIf == 0 || int(sk.SkcBoundDevIf) == dif)
}

// udp4LibLookup is __udp4_lib_lookup: hash2 for the exact local address,
// then for INADDR_ANY; the best compute_score wins (connected sockets
// match more closely).
func (k *Kernel) udp4LibLookup(saddr netip.Addr, sport uint16, daddr netip.Addr, dport uint16) *sockets.Sock {
	k.tr.Enter2(fnUdp4LibLookup, tracing.IPv4(be32(daddr)), tracing.Int(int64(dport)))
	var best *sockets.Sock
	for _, local := range []sockets.Be32{sockets.Be32From(daddr), sockets.INADDR_ANY} {
		bestScore := -1
		slot := k.udpTable.Slot2(sockets.Ipv4PortaddrHash(k.net, local, dport))
		slot.Each2(func(sc *sockets.SockCommon) bool {
			sk := sockOf(sc)
			if sc := udpComputeScore(sk, sockets.Be32From(saddr), sockets.Htons(sport), local, dport); sc > bestScore {
				best, bestScore = sk, sc
			}
			return true
		})
		if best != nil {
			break
		}
	}
	var a uint64
	if best != nil {
		a = uint64(best.Addr())
	}
	k.tr.Exit(fnUdp4LibLookup, tracing.Sock(a))
	return best
}

// udpComputeScore is compute_score (net/ipv4/udp.c).
func udpComputeScore(sk *sockets.Sock, saddr sockets.Be32, sport sockets.Be16, daddr sockets.Be32, hnum uint16) int {
	if udpSk(sk).UdpPortHash != hnum || sk.SkcRcvSaddr != daddr {
		return -1
	}
	score := 2
	if sk.SkcDaddr != 0 {
		if sk.SkcDaddr != saddr {
			return -1
		}
		score += 4
	}
	if sk.SkcDport != 0 {
		if sk.SkcDport != sport {
			return -1
		}
		score += 4
	}
	if sk.SkcBoundDevIf != 0 {
		score += 4
	}
	return score
}

// udpQueueRcvSkb is udp_queue_rcv_skb -> __udp_enqueue_schedule_skb: charge
// the datagram to sk_rmem_alloc and queue it, unless the receive buffer is
// full (RcvbufErrors, sk_drops).
func (k *Kernel) udpQueueRcvSkb(sk *sockets.Sock, s *skb.SkBuff) {
	k.tr.Enter2(fnUdpQueueRcvSkb, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnUdpQueueRcvSkb, tracing.Arg{})
	rcvbuf := sk.SkRcvbuf
	if sk.SkRmemAlloc > rcvbuf || sk.SkRmemAlloc+int32(s.Truesize) > int32(s.Truesize)+rcvbuf {
		sk.SkDrops++
		k.mib.inc(UDP_MIB_RCVBUFERRORS)
		k.ipDrop(s, UDP_MIB_INERRORS, skb.SKB_DROP_REASON_SOCKET_RCVBUFF)
		return
	}
	sockets.SkRmemCharge(sk, s.Truesize)
	s.Sk = sk
	_ = skb.SkbQueueTail(&sk.SkReceiveQueue, s)
	sk.SkDataReady(sk)
}

// udpErr is udp_err -> __udp4_lib_err: an ICMP error about a datagram we
// sent. A connected socket gets a hard error as sk_err (port unreachable
// becomes ECONNREFUSED, a parameter problem EPROTO) and its next call
// reports it. Fragmentation needed lowers the path MTU to the destination,
// socket or none, and is reported as EMSGSIZE. Without IP_RECVERR, which the model lacks, soft
// errors are not reported at all.
func (k *Kernel) udpErr(typ, code uint8, info uint16, quoted header.IPv4) {
	k.tr.Enter2(fnUdpErr, tracing.Int(int64(typ)), tracing.Int(int64(code)))
	defer k.tr.Exit(fnUdpErr, tracing.Arg{})
	if typ == header.ICMP_DEST_UNREACH && code == header.ICMP_FRAG_NEEDED {
		// udp_err: the path MTU is lowered before any socket is looked
		// up (ipv4_update_pmtu), so it holds with no socket too.
		k.ipRtUpdatePmtu(quoted.Dst(), uint32(info))
	}
	uh := header.UDP(quoted[quoted.IHL():])
	sk := k.udp4LibLookup(quoted.Dst(), uh.DstPort(), quoted.Src(), uh.SrcPort())
	if sk == nil {
		k.mib.inc(ICMP_MIB_INERRORS)
		return
	}
	var errno int
	var hard bool
	switch typ {
	case header.ICMP_SOURCE_QUENCH, header.ICMP_REDIRECT:
		return
	case header.ICMP_PARAMETERPROB:
		errno, hard = tracing.EPROTO, true
	case header.ICMP_DEST_UNREACH:
		if code == header.ICMP_FRAG_NEEDED {
			k.ipRtUpdatePmtu(quoted.Dst(), uint32(info)) // ipv4_sk_update_pmtu
			errno, hard = tracing.EMSGSIZE, true
			break
		}
		errno, hard = icmpErrConvert(typ, code)
	default:
		errno = tracing.EHOSTUNREACH
	}
	if !hard || sk.SkcState != sockets.TCP_ESTABLISHED {
		return
	}
	sk.SkErr = int32(errno)
	sk.SkErrorReport(sk)
}

// icmpErrConvert is icmp_err_convert[]: the errno a destination
// unreachable code stands for, and whether the error is fatal (hard).
// Other ICMP errors are EHOSTUNREACH and soft.
func icmpErrConvert(typ, code uint8) (int, bool) {
	if typ != header.ICMP_DEST_UNREACH || code > header.NR_ICMP_UNREACH {
		return tracing.EHOSTUNREACH, false
	}
	e := icmpErrTable[code]
	return e.errno, e.fatal
}

// icmpErrTable is icmp_err_convert, indexed by the unreachable code.
var icmpErrTable = [header.NR_ICMP_UNREACH + 1]struct {
	errno int
	fatal bool
}{
	{tracing.ENETUNREACH, false},  // ICMP_NET_UNREACH
	{tracing.EHOSTUNREACH, false}, // ICMP_HOST_UNREACH
	{tracing.ENOPROTOOPT, true},   // ICMP_PROT_UNREACH
	{tracing.ECONNREFUSED, true},  // ICMP_PORT_UNREACH
	{tracing.EMSGSIZE, false},     // ICMP_FRAG_NEEDED
	{tracing.EOPNOTSUPP, false},   // ICMP_SR_FAILED
	{tracing.ENETUNREACH, true},   // ICMP_NET_UNKNOWN
	{tracing.EHOSTDOWN, true},     // ICMP_HOST_UNKNOWN
	{tracing.ENONET, true},        // ICMP_HOST_ISOLATED
	{tracing.ENETUNREACH, true},   // ICMP_NET_ANO
	{tracing.EHOSTUNREACH, true},  // ICMP_HOST_ANO
	{tracing.ENETUNREACH, false},  // ICMP_NET_UNR_TOS
	{tracing.EHOSTUNREACH, false}, // ICMP_HOST_UNR_TOS
	{tracing.EHOSTUNREACH, true},  // ICMP_PKT_FILTERED
	{tracing.EHOSTUNREACH, true},  // ICMP_PREC_VIOLATION
	{tracing.EHOSTUNREACH, true},  // ICMP_PREC_CUTOFF
}

var fnUdp4LibMcastDeliver tracing.FuncID

func init() {
	fnUdp4LibMcastDeliver = reg("__udp4_lib_mcast_deliver", "net/ipv4/udp.c", (*Kernel).udp4LibMcastDeliver, []string{"daddr", "dport"},
		"Delivers a broadcast datagram to every socket on its port that accepts it (bound to INADDR_ANY or to the "+
			"broadcast address); with none it is dropped and counted IgnoredMulti, and the sender hears nothing.")
}
