package stack

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

func (f *fixture) udpSocket(t *testing.T) int {
	t.Helper()
	fd, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func TestUDPOverLoopback(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	srv, cli := f.udpSocket(t), f.udpSocket(t)
	if err := p.Bind(srv, addr("127.0.0.1:7")); err != nil {
		t.Fatal(err)
	}
	to := addr("127.0.0.1:7")
	if n, err := p.Sendto(cli, []byte("hello"), 0, &to); n != 5 || err != nil {
		t.Fatalf("sendto: %d %v", n, err)
	}
	data, from, err := p.Recvfrom(srv, 100, 0)
	if err != nil || string(data) != "hello" || from.Addr.String() != "127.0.0.1" || from.Port < 32768 {
		t.Fatalf("recvfrom: %q from %v: %v", data, from, err)
	}
	cliAddr, _ := p.Getsockname(cli)
	if cliAddr.Port != from.Port {
		t.Errorf("the sender's autobound port %d, the receiver saw %d", cliAddr.Port, from.Port)
	}
	// A datagram longer than the buffer is cut, the rest lost.
	if _, err := p.Sendto(cli, []byte("0123456789"), 0, &to); err != nil {
		t.Fatal(err)
	}
	data, _, err = p.Recvfrom(srv, 4, 0)
	if string(data) != "0123" || err != nil {
		t.Errorf("short read: %q %v", data, err)
	}
	if _, _, err := p.Recvfrom(srv, 100, sockets.MSG_DONTWAIT); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("empty queue, MSG_DONTWAIT: %v", err)
	}
	if _, err := p.Sendto(cli, make([]byte, 65508), 0, &to); errnoOf(err) != tracing.EMSGSIZE {
		t.Errorf("65508 bytes: %v, want EMSGSIZE", err)
	}
	big := bytes.Repeat([]byte("x"), 65507)
	if _, err := p.Sendto(cli, big, 0, &to); err != nil {
		t.Fatalf("the largest datagram: %v", err)
	}
	if data, _, err := p.Recvfrom(srv, 70000, 0); len(data) != 65507 || err != nil {
		t.Errorf("the largest datagram arrived as %d bytes: %v", len(data), err)
	}
	if _, err := p.Sendto(cli, []byte("x"), 0, nil); errnoOf(err) != tracing.EDESTADDRREQ {
		t.Errorf("send without an address on an unconnected socket: %v", err)
	}
	if f.mib(t, UDP_MIB_INDATAGRAMS) != 3 || f.mib(t, UDP_MIB_OUTDATAGRAMS) != 3 {
		t.Errorf("InDatagrams %d OutDatagrams %d", f.mib(t, UDP_MIB_INDATAGRAMS), f.mib(t, UDP_MIB_OUTDATAGRAMS))
	}
}

// TestConnectedUDPHearsPortUnreachable: a connected socket sending to a
// closed port gets ICMP port unreachable back, which becomes ECONNREFUSED
// on its next call; an unconnected one does not.
func TestConnectedUDPHearsPortUnreachable(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd := f.udpSocket(t)
	if err := p.Connect(fd, addr("127.0.0.1:9")); err != nil {
		t.Fatal(err)
	}
	if peer, err := p.Getpeername(fd); err != nil || peer.Port != 9 {
		t.Fatalf("getpeername %v %v", peer, err)
	}
	if _, err := p.Sendto(fd, []byte("anyone?"), 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Recvfrom(fd, 10, 0); errnoOf(err) != tracing.ECONNREFUSED {
		t.Errorf("recv after port unreachable: %v, want ECONNREFUSED", err)
	}
	if _, _, err := p.Recvfrom(fd, 10, sockets.MSG_DONTWAIT); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("the error is reported once: %v", err)
	}
	if f.mib(t, UDP_MIB_NOPORTS) != 1 || f.mib(t, ICMP_MIB_INDESTUNREACHS) != 1 {
		t.Error("counters")
	}
	other := f.udpSocket(t)
	to := addr("127.0.0.1:9")
	_, _ = p.Sendto(other, []byte("x"), 0, &to)
	if _, _, err := p.Recvfrom(other, 10, sockets.MSG_DONTWAIT); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("an unconnected socket got %v", err)
	}
	// AF_UNSPEC disconnects.
	if err := p.Connect(fd, sockets.SockaddrIn{Family: sockets.AF_UNSPEC}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Getpeername(fd); errnoOf(err) != tracing.ENOTCONN {
		t.Errorf("getpeername after disconnect: %v", err)
	}
}

func TestUDPReceiveBufferOverflowIsCounted(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	srv, cli := f.udpSocket(t), f.udpSocket(t)
	_ = p.Bind(srv, addr("127.0.0.1:9999"))
	if err := p.Setsockopt(srv, sockets.SOL_SOCKET, sockets.SO_RCVBUF, sockets.Optval{Int: 1}); err != nil {
		t.Fatal(err)
	}
	to := addr("127.0.0.1:9999")
	for i := 0; i < 10; i++ {
		if _, err := p.Sendto(cli, make([]byte, 1000), 0, &to); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for {
		if _, _, err := p.Recvfrom(srv, 2000, sockets.MSG_DONTWAIT); err != nil {
			break
		}
		got++
	}
	drops := f.mib(t, UDP_MIB_RCVBUFERRORS)
	if got == 0 || got == 10 || uint64(got)+drops != 10 {
		t.Errorf("received %d, dropped %d, of 10 into a %d-byte buffer", got, drops, sockets.SOCK_MIN_RCVBUF)
	}
	s := f.snapshot(t)
	for _, sk := range s.Socks {
		if sk.SockCommon.SkcNum == 9999 && sk.SkRmemAlloc != 0 {
			t.Errorf("sk_rmem_alloc %d after reading everything", sk.SkRmemAlloc)
		}
	}
}

func TestUDPPortBinding(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	a, b := f.udpSocket(t), f.udpSocket(t)
	if err := p.Bind(a, addr("0.0.0.0:5000")); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(b, addr("127.0.0.1:5000")); errnoOf(err) != tracing.EADDRINUSE {
		t.Errorf("bind over a wildcard: %v", err)
	}
	seen := map[uint16]bool{}
	for i := 0; i < 20; i++ {
		fd := f.udpSocket(t)
		if err := p.Bind(fd, addr("127.0.0.1:0")); err != nil {
			t.Fatal(err)
		}
		sa, _ := p.Getsockname(fd)
		if sa.Port < 32768 || sa.Port > 60999 || seen[sa.Port] {
			t.Errorf("port 0 gave %d", sa.Port)
		}
		seen[sa.Port] = true
	}
	one := sockets.Optval{Int: 1}
	c, d := f.udpSocket(t), f.udpSocket(t)
	_ = p.Setsockopt(c, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one)
	_ = p.Setsockopt(d, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one)
	if err := p.Bind(c, addr("127.0.0.1:6000")); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(d, addr("127.0.0.1:6000")); err != nil {
		t.Errorf("SO_REUSEADDR on both: %v", err)
	}
	before := f.cacheInUse(t)["UDP"]
	if err := p.Close(a); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(b, addr("127.0.0.1:5000")); err != nil {
		t.Errorf("bind after the owner closed: %v", err)
	}
	if after := f.cacheInUse(t)["UDP"]; after != before-1 {
		t.Errorf("UDP objects %d -> %d", before, after)
	}
}

func TestUDPOnTheWire(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	p := f.p
	fd := f.udpSocket(t)
	_ = p.Bind(fd, addr("192.0.2.2:53"))
	// A datagram from the peer arrives; one to a closed port is refused.
	mk := func(dport uint16, payload []byte) []byte {
		ip := v4(peerIP, stackIP, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 4000, DstPort: layers.UDPPort(dport)}
		_ = u.SetNetworkLayerForChecksum(ip)
		return buildPacket(t, ip, u, gopacket.Payload(payload))
	}
	_ = f.k.Receive(dev, mk(53, []byte("query")), mk(54, []byte("nobody")))
	_ = f.k.Sync()
	data, from, err := p.Recvfrom(fd, 100, sockets.MSG_DONTWAIT)
	if string(data) != "query" || from.String() != "192.0.2.1:4000" || err != nil {
		t.Errorf("got %q from %v: %v", data, from, err)
	}
	out := c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames sent", len(out))
	}
	if ic := decode(t, out[0]).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ic.TypeCode != layers.CreateICMPv4TypeCode(3, 3) {
		t.Errorf("got %v, want port unreachable", ic.TypeCode)
	}
	// A bad checksum is dropped and counted.
	bad := mk(53, []byte("corrupt"))
	bad[len(bad)-1] ^= 0xff
	_ = f.k.Receive(dev, bad)
	_ = f.k.Sync()
	if f.mib(t, UDP_MIB_CSUMERRORS) != 1 {
		t.Error("checksum error not counted")
	}
	// The reply leaves with a checksum gopacket agrees with, fragmented
	// when bigger than the MTU.
	to := from
	if _, err := p.Sendto(fd, bytes.Repeat([]byte("r"), 3000), 0, &to); err != nil {
		t.Fatal(err)
	}
	out = c.Take()
	if len(out) != 3 {
		t.Fatalf("a 3000-byte datagram left in %d frames", len(out))
	}
	first := decode(t, out[0])
	ip := first.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip.Flags&layers.IPv4MoreFragments == 0 || ip.SrcIP.String() != "192.0.2.2" {
		t.Errorf("first fragment %v", ip)
	}
	var whole []byte
	for _, fr := range out {
		whole = append(whole, fr[20:]...)
	}
	if u := header.UDP(whole); u.Length() != 3008 || !u.ChecksumValid(stackIP, peerIP) {
		t.Errorf("reassembled datagram: length %d, checksum valid %v", u.Length(), u.ChecksumValid(stackIP, peerIP))
	}
}
