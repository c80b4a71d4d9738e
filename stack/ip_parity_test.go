package stack

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
)

// sockOfFd returns the sock behind fd and runs read on the loop with it.
func (f *fixture) sockOfFd(t *testing.T, fd int, read func(k *Kernel, sk *sockets.Sock)) {
	t.Helper()
	if _, err := f.k.Do("sock", func(k *Kernel) any {
		read(k, f.p.Fdt.Get(fd).PrivateData.Sk)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// UDP sockets start with IP_PMTUDISC_WANT (inet_create), so __ip_make_skb
// sets DF on every datagram that fits the path MTU. An unconnected
// socket's datagrams keep taking their IP ID from the ip_idents bucket
// (ignore_df is set, so DF does not mean ID 0); a connected socket's take
// inet_id after the increment (ip_select_ident_segs).
func TestUDPDatagramsCarryDF(t *testing.T) {
	f := boot(t, Config{})
	_, c := scriptDev(t, f, 1500)
	to := sockets.SockaddrIn{Family: sockets.AF_INET, Addr: peerIP, Port: 9}
	fd := f.udpSocket(t)
	for range 2 {
		if _, err := f.p.Sendto(fd, []byte("hello"), 0, &to); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 2 {
		t.Fatalf("unconnected: %d frames, want 2", len(out))
	}
	a, b := header.IPv4(out[0]), header.IPv4(out[1])
	t.Logf("unconnected: DF %v %v, id %d %d", a.DontFragment(), b.DontFragment(), a.ID(), b.ID())
	if !a.DontFragment() || !b.DontFragment() {
		t.Errorf("unconnected UDP datagrams without DF")
	}
	if b.ID() != a.ID()+1 {
		t.Errorf("unconnected ids %d, %d: want consecutive ids from the ip_idents bucket", a.ID(), b.ID())
	}

	fd2 := f.udpSocket(t)
	if err := f.p.Connect(fd2, to); err != nil {
		t.Fatal(err)
	}
	var id0 uint16
	f.sockOfFd(t, fd2, func(_ *Kernel, sk *sockets.Sock) { id0 = sockets.InetOf(sk).InetId })
	for range 2 {
		if _, err := f.p.Sendto(fd2, []byte("hello"), 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.k.Sync()
	out = c.Take()
	if len(out) != 2 {
		t.Fatalf("connected: %d frames, want 2", len(out))
	}
	a, b = header.IPv4(out[0]), header.IPv4(out[1])
	t.Logf("connected: inet_id %d, DF %v %v, id %d %d", id0, a.DontFragment(), b.DontFragment(), a.ID(), b.ID())
	if !a.DontFragment() || !b.DontFragment() {
		t.Errorf("connected UDP datagrams without DF")
	}
	if a.ID() != id0+1 || b.ID() != id0+2 {
		t.Errorf("connected ids %d, %d: want inet_id+1, +2 = %d, %d", a.ID(), b.ID(), id0+1, id0+2)
	}
}

// A UDP datagram larger than the path MTU goes without DF, as fragments.
func TestUDPDatagramOverMTUHasNoDF(t *testing.T) {
	f := boot(t, Config{})
	_, c := scriptDev(t, f, 1500)
	fd := f.udpSocket(t)
	to := sockets.SockaddrIn{Family: sockets.AF_INET, Addr: peerIP, Port: 9}
	if _, err := f.p.Sendto(fd, make([]byte, 2000), 0, &to); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 2 {
		t.Fatalf("%d frames, want 2 fragments", len(out))
	}
	for _, fr := range out {
		if header.IPv4(fr).DontFragment() {
			t.Errorf("fragment with DF: %x", fr[:20])
		}
	}
}

// ip_select_ident_segs asks "connected socket?" first: a connected TCP
// socket's packet without DF (a locked path MTU) takes inet_id too, not
// the ip_idents bucket.
func TestConnectedTCPWithoutDFUsesInetId(t *testing.T) {
	f := boot(t, Config{})
	_, cfd, _ := f.loopbackPair(t, 7000)
	f.sockOfFd(t, cfd, func(k *Kernel, sk *sockets.Sock) {
		inet := sockets.InetOf(sk)
		before := inet.InetId
		id := k.ipSelectIdent(&ipPacket{src: sk.SkcRcvSaddr.Addr(), dst: sk.SkcDaddr.Addr(), proto: header.IPPROTO_TCP, sk: sk})
		t.Logf("inet_id %d: id %d, inet_id after %d", before, id, inet.InetId)
		if id != before || inet.InetId != before+1 {
			t.Errorf("id %d (inet_id %d -> %d): want the socket's inet_id %d, then %d", id, before, inet.InetId, before, before+1)
		}
	})
}

// fragNeeded builds an ICMP "fragmentation needed" from the peer quoting a
// UDP datagram stack:sport -> peer:dport, announcing mtu.
func fragNeeded(sport, dport uint16, mtu uint32) []byte {
	frame := make([]byte, 20+8+20+8)
	q := frame[28:]
	header.IPv4(q).Encode(header.IPv4Fields{Total: 1400, TTL: 64, Protocol: header.IPPROTO_UDP, Src: stackIP, Dst: peerIP})
	binary.BigEndian.PutUint16(q[20:], sport)
	binary.BigEndian.PutUint16(q[22:], dport)
	header.ICMP(frame[20:]).Encode(header.ICMP_DEST_UNREACH, header.ICMP_FRAG_NEEDED, mtu)
	header.IPv4(frame).Encode(header.IPv4Fields{Total: len(frame), TTL: 64, Protocol: header.IPPROTO_ICMP, Src: peerIP, Dst: stackIP})
	return frame
}

// ip_finish_output fragments at ip_skb_dst_mtu, the route's MTU: after a
// "fragmentation needed" announcing 1200, a 1400-byte datagram leaves in
// fragments of at most 1200 bytes, not as one 1400-byte packet that fits
// the device.
func TestFragmentationUsesThePathMTU(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	fd := f.udpSocket(t)
	if err := f.p.Bind(fd, sockets.SockaddrIn{Family: sockets.AF_INET, Addr: stackIP, Port: 5000}); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Receive(dev, fragNeeded(5000, 9, 1200))
	_ = f.k.Sync()
	to := sockets.SockaddrIn{Family: sockets.AF_INET, Addr: peerIP, Port: 9}
	if _, err := f.p.Sendto(fd, make([]byte, 1372), 0, &to); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Sync()
	var lens []int
	for _, fr := range c.Take() {
		lens = append(lens, len(fr))
	}
	t.Logf("frames after PMTU 1200: %v", lens)
	if len(lens) != 2 || lens[0] != 1196 || lens[1] != 20+(1400-20-1176) {
		t.Errorf("frames %v: want fragments [1196 224]", lens)
	}
}

// __icmp_send's room is min(route MTU, 576) less the headers: with the
// path to the peer at 552 bytes an error quotes 552-28 bytes and fits.
func TestIcmpErrorQuoteFollowsTheRouteMTU(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	if _, err := control(f.k, "pmtu", true, func(k *Kernel) (int, error) { k.ipRtUpdatePmtu(peerIP, 500); return 0, nil }); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Receive(dev, buildPacket(t, v4(peerIP, stackIP, layers.IPProtocol(99)), gopacket.Payload(make([]byte, 1000))))
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames, want one protocol unreachable", len(out))
	}
	ip := header.IPv4(out[0])
	t.Logf("protocol unreachable with PMTU 552: %d bytes, MF %v", len(out[0]), ip.MoreFragments())
	if len(out[0]) != ipRtMinPmtu || ip.MoreFragments() {
		t.Errorf("error of %d bytes (MF %v): want one unfragmented packet of %d", len(out[0]), ip.MoreFragments(), ipRtMinPmtu)
	}
}

// ip_route_input_slow refuses martians, and ip_rcv_finish_core drops
// them without a counter: a loopback destination or source arriving on a
// real device, a multicast, limited-broadcast or 0.0.0.0 source, a
// 0.0.0.0 destination, our own address as the source of a packet from
// outside (fib_validate_source), and a multicast group the host has not
// joined. None is answered, delivered or counted as InAddrErrors.
func TestMartiansAreDroppedSilently(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	ip := netip.MustParseAddr
	cases := []struct{ name, src, dst string }{
		{"loopback destination", "192.0.2.1", "127.0.0.1"},
		{"loopback source", "127.0.0.5", "192.0.2.2"},
		{"multicast source", "224.0.0.5", "192.0.2.2"},
		{"broadcast source", "255.255.255.255", "192.0.2.2"},
		{"zero source", "0.0.0.0", "192.0.2.2"},
		{"zero destination", "192.0.2.1", "0.0.0.0"},
		{"our own address as source (LAND)", "192.0.2.2", "192.0.2.2"},
		{"our own address as source, to the broadcast", "192.0.2.2", "255.255.255.255"},
		{"multicast group not joined", "192.0.2.1", "224.0.0.1"},
	}
	for i, tc := range cases {
		_ = f.k.Receive(dev, buildPacket(t, v4(ip(tc.src), ip(tc.dst), layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: uint16(i)}))
		_ = f.k.Sync()
		out := c.Take()
		addrErr, delivers := f.mib(t, IPSTATS_MIB_INADDRERRORS), f.mib(t, IPSTATS_MIB_INDELIVERS)
		t.Logf("%s (%s -> %s): %d frames out, InAddrErrors %d, InDelivers %d", tc.name, tc.src, tc.dst, len(out), addrErr, delivers)
		if len(out) != 0 || addrErr != 0 || delivers != 0 {
			t.Errorf("%s: %d frames out, InAddrErrors %d, InDelivers %d: want a silent drop", tc.name, len(out), addrErr, delivers)
		}
	}
	if got := f.mib(t, IPSTATS_MIB_INRECEIVES); got != uint64(len(cases)) {
		t.Errorf("InReceives %d, want %d", got, len(cases))
	}
	// A plain unicast that is not ours is still InAddrErrors (ip_error).
	_ = f.k.Receive(dev, buildPacket(t, v4(peerIP, ip("198.51.100.7"), layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)}))
	_ = f.k.Sync()
	if got := f.mib(t, IPSTATS_MIB_INADDRERRORS); got != 1 {
		t.Errorf("not ours: InAddrErrors %d, want 1", got)
	}
}

// icmp_rcv with icmp_echo_ignore_broadcasts = 1: an echo request to the
// limited or the subnet broadcast is counted (InEchos, InBcastPkts) and
// ignored as an error (InErrors); no reply.
func TestEchoToBroadcastIsIgnored(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	for _, dst := range []string{"255.255.255.255", "192.0.2.255"} {
		_ = f.k.Receive(dev, buildPacket(t, v4(peerIP, netip.MustParseAddr(dst), layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1},
			gopacket.Payload([]byte("abcd"))))
	}
	_ = f.k.Sync()
	out := c.Take()
	inErr, echos, bcast := f.mib(t, ICMP_MIB_INERRORS), f.mib(t, ICMP_MIB_INECHOS), f.mib(t, IPSTATS_MIB_INBCASTPKTS)
	t.Logf("echo to broadcasts: %d replies, InErrors %d, InEchos %d, InBcastPkts %d", len(out), inErr, echos, bcast)
	if len(out) != 0 || inErr != 2 || echos != 2 || bcast != 2 || f.mib(t, ICMP_MIB_OUTECHOREPS) != 0 {
		t.Errorf("want no reply, InErrors 2, InEchos 2, InBcastPkts 2")
	}
}

// fib_add_ifaddr makes 192.0.2.255 (the /24's prefix|~mask) a broadcast
// route: UDP to it reaches a socket bound to 0.0.0.0 or to the broadcast
// address (__udp4_lib_mcast_deliver, a copy each), not one bound to the
// unicast address; with no socket the datagram counts IgnoredMulti, not
// NoPorts, and nobody hears port unreachable. inet_addr_type calls the
// address broadcast, so bind() to it succeeds.
func TestUDPToTheSubnetBroadcast(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	bcast := netip.MustParseAddr("192.0.2.255")
	anyFd, bFd, uniFd := f.udpSocket(t), f.udpSocket(t), f.udpSocket(t)
	for _, fd := range []int{anyFd, bFd} {
		if err := f.p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, sockets.Optval{Int: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.p.Bind(anyFd, addr("0.0.0.0:5000")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Bind(bFd, sockets.SockaddrIn{Family: sockets.AF_INET, Addr: bcast, Port: 5000}); err != nil {
		t.Fatalf("bind to the subnet broadcast: %v", err)
	}
	if err := f.p.Bind(uniFd, sockets.SockaddrIn{Family: sockets.AF_INET, Addr: stackIP, Port: 5001}); err != nil {
		t.Fatal(err)
	}
	send := func(port uint16) {
		ip := v4(peerIP, bcast, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 1234, DstPort: layers.UDPPort(port)}
		_ = u.SetNetworkLayerForChecksum(ip)
		_ = f.k.Receive(dev, buildPacket(t, ip, u, gopacket.Payload([]byte("bcast"))))
		_ = f.k.Sync()
	}
	send(5000)
	for _, fd := range []int{anyFd, bFd} {
		data, _, err := f.p.Recvfrom(fd, 100, sockets.MSG_DONTWAIT)
		t.Logf("fd %d: %q %v", fd, data, err)
		if err != nil || string(data) != "bcast" {
			t.Errorf("fd %d: %q, %v: want the broadcast datagram", fd, data, err)
		}
	}
	send(5001)
	send(5002)
	_, _, err := f.p.Recvfrom(uniFd, 100, sockets.MSG_DONTWAIT)
	out := c.Take()
	ignored, noPorts := f.mib(t, UDP_MIB_IGNOREDMULTI), f.mib(t, UDP_MIB_NOPORTS)
	t.Logf("ports 5001, 5002: unicast-bound socket %v; IgnoredMulti %d NoPorts %d; %d frames out", err, ignored, noPorts, len(out))
	if err == nil || ignored != 2 || noPorts != 0 || len(out) != 0 {
		t.Errorf("want nothing for the unicast-bound socket, IgnoredMulti 2, NoPorts 0, no ICMP")
	}
	var got sockets.AddrType
	f.sockOfFd(t, bFd, func(k *Kernel, sk *sockets.Sock) {
		got = k.inetAddrType(sockets.Be32From(bcast))
		if sockets.InetOf(sk).InetSaddr != 0 {
			t.Errorf("bound to the broadcast: inet_saddr %v, want 0", sockets.InetOf(sk).InetSaddr.Addr())
		}
	})
	if got != sockets.RTN_BROADCAST {
		t.Errorf("inet_addr_type(192.0.2.255) = %d, want RTN_BROADCAST", got)
	}
}

// udp_err lowers the path MTU (ipv4_update_pmtu) before it looks for the
// socket: a "fragmentation needed" about a datagram from a port nobody has
// (any more) still teaches the route, and still counts Icmp InErrors.
func TestUDPFragNeededWithoutSocketUpdatesPMTU(t *testing.T) {
	f := boot(t, Config{})
	dev, _ := scriptDev(t, f, 1500)
	_ = f.k.Receive(dev, fragNeeded(5999, 9, 1200))
	_ = f.k.Sync()
	mtu, err := control(f.k, "route", true, func(k *Kernel) (int, error) {
		rt, err := k.routeOutput(peerIP)
		if err != nil {
			return 0, err
		}
		return rt.MTU, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inErr := f.mib(t, ICMP_MIB_INERRORS)
	t.Logf("route MTU to the peer %d, Icmp InErrors %d", mtu, inErr)
	if mtu != 1200 || inErr != 1 {
		t.Errorf("route MTU %d, InErrors %d: want 1200, 1", mtu, inErr)
	}
}
