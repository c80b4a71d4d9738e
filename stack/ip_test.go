package stack

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/stack/netdev"
)

var (
	peerIP  = netip.MustParseAddr("192.0.2.1")
	stackIP = netip.MustParseAddr("192.0.2.2")
)

// scriptDev adds a point-to-point device whose transmitted frames the
// test collects.
func scriptDev(t testing.TB, f *fixture, mtu int) (*netdev.Device, *netdev.Capture) {
	t.Helper()
	c := &netdev.Capture{}
	d := netdev.New("script0", "script", 0, mtu, netip.PrefixFrom(stackIP, 24), c)
	d.Peer = peerIP
	if err := f.k.AddDevice(d); err != nil {
		t.Fatal(err)
	}
	return d, c
}

// ipPacket builds an IPv4 packet with gopacket (the independent encoder).
func buildPacket(t testing.TB, ip *layers.IPv4, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	all := append([]gopacket.SerializableLayer{ip}, ls...)
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}, all...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func v4(src, dst netip.Addr, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 4321, Protocol: proto,
		SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
}

func echoRequest(t testing.TB, seq uint16, data []byte) []byte {
	return buildPacket(t, v4(peerIP, stackIP, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x77, Seq: seq},
		gopacket.Payload(data))
}

// decode parses a frame the stack sent with gopacket and checks that its
// checksums are right.
func decode(t *testing.T, frame []byte) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeIPv4, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", frame, el.Error())
	}
	if !header.IPv4(frame).ChecksumValid() {
		t.Errorf("bad IP checksum in %x", frame)
	}
	return p
}

func (f *fixture) mib(t *testing.T, m Mib) uint64 {
	t.Helper()
	v, err := f.k.Mib(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPingIsAnswered(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	if err := f.k.Receive(dev, echoRequest(t, 1, []byte("abcdefgh"))); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames sent, want one echo reply", len(out))
	}
	p := decode(t, out[0])
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ip.SrcIP.String() != "192.0.2.2" || ip.DstIP.String() != "192.0.2.1" || ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply ||
		ic.Id != 0x77 || ic.Seq != 1 || string(ic.Payload) != "abcdefgh" || !header.ICMP(out[0][20:]).ChecksumValid() {
		t.Errorf("reply %v", p)
	}
	if f.mib(t, ICMP_MIB_INECHOS) != 1 || f.mib(t, ICMP_MIB_OUTECHOREPS) != 1 || f.mib(t, IPSTATS_MIB_INDELIVERS) != 1 {
		t.Error("counters not updated")
	}
}

// TestBadPacketsAreCountedAndDropped: each failure of ip_rcv_core lands in
// the kernel's counter and nothing is sent back.
func TestBadPacketsAreCountedAndDropped(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	good := echoRequest(t, 1, []byte("x"))
	corrupt := func(mod func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		mod(b)
		return b
	}
	cases := []struct {
		name  string
		frame []byte
		mib   Mib
	}{
		{"header checksum", corrupt(func(b []byte) { b[10] ^= 0xff }), IPSTATS_MIB_INHDRERRORS},
		{"version 5", corrupt(func(b []byte) { b[0] = 0x55; header.IPv4(b).SetChecksum() }), IPSTATS_MIB_INHDRERRORS},
		{"IHL 4", corrupt(func(b []byte) { b[0] = 0x44 }), IPSTATS_MIB_INHDRERRORS},
		{"shorter than a header", good[:12], IPSTATS_MIB_INHDRERRORS},
		{"tot_len past the end", corrupt(func(b []byte) { header.IPv4(b).SetTotalLength(200); header.IPv4(b).SetChecksum() }), IPSTATS_MIB_INTRUNCATEDPKTS},
		{"not our address", buildPacket(t, v4(peerIP, netip.MustParseAddr("192.0.2.99"), layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}), IPSTATS_MIB_INADDRERRORS},
	}
	for _, tc := range cases {
		before := f.mib(t, tc.mib)
		if err := f.k.Receive(dev, tc.frame); err != nil {
			t.Fatal(err)
		}
		_ = f.k.Sync()
		if got := f.mib(t, tc.mib); got != before+1 {
			t.Errorf("%s: %s went from %d to %d", tc.name, tc.mib, before, got)
		}
		if out := c.Take(); len(out) != 0 {
			t.Errorf("%s: the stack answered %d frames", tc.name, len(out))
		}
	}
	// Padding beyond tot_len is trimmed and the packet accepted.
	padded := append(append([]byte(nil), good...), 0, 0, 0, 0)
	_ = f.k.Receive(dev, padded)
	_ = f.k.Sync()
	if out := c.Take(); len(out) != 1 {
		t.Errorf("a padded ping got %d replies", len(out))
	}
}

func TestUnknownProtocolGetsProtocolUnreachable(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	pkt := buildPacket(t, v4(peerIP, stackIP, layers.IPProtocol(99)), gopacket.Payload([]byte("payload!")))
	_ = f.k.Receive(dev, pkt)
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames", len(out))
	}
	ic := decode(t, out[0]).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(3, 2) || len(ic.Payload) != len(pkt) {
		t.Errorf("got %v with %d quoted bytes", ic.TypeCode, len(ic.Payload))
	}
	if f.mib(t, IPSTATS_MIB_INUNKNOWNPROTOS) != 1 || f.mib(t, ICMP_MIB_OUTDESTUNREACHS) != 1 {
		t.Error("counters")
	}
}

// TestFragmentsAreReassembledAndRepliesFragmented: a 3000-byte ping in two
// fragments is put back together, and the 3000-byte reply leaves in
// fragments that fit the 1500-byte MTU.
func TestFragmentsAreReassembledAndRepliesFragmented(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(i)
	}
	whole := echoRequest(t, 9, data)
	payload := whole[20:]
	frag := func(off, n int, more bool) []byte {
		ip := v4(peerIP, stackIP, layers.IPProtocolICMPv4)
		ip.FragOffset = uint16(off / 8)
		if more {
			ip.Flags = layers.IPv4MoreFragments
		}
		return buildPacket(t, ip, gopacket.Payload(payload[off:off+n]))
	}
	// Second half first: order must not matter.
	_ = f.k.Receive(dev, frag(1480, len(payload)-1480, false), frag(0, 1480, true))
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 3 {
		t.Fatalf("%d frames sent, want the reply in 3 fragments", len(out))
	}
	var got []byte
	for i, fr := range out {
		ip := decode(t, fr).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if len(fr) > 1500 || int(ip.FragOffset)*8 != len(got) || (i < 2) != (ip.Flags&layers.IPv4MoreFragments != 0) {
			t.Errorf("fragment %d: len %d offset %d flags %v", i, len(fr), ip.FragOffset, ip.Flags)
		}
		got = append(got, fr[20:]...)
	}
	ic := header.ICMP(got)
	if ic.Type() != 0 || ic.Seq() != 9 || !ic.ChecksumValid() || string(got[8:]) != string(data) {
		t.Error("reassembled reply differs")
	}
	if f.mib(t, IPSTATS_MIB_REASMOKS) != 1 || f.mib(t, IPSTATS_MIB_FRAGCREATES) != 3 || f.mib(t, IPSTATS_MIB_FRAGOKS) != 1 {
		t.Error("fragment counters")
	}
}

func TestIncompleteDatagramExpiresAfter30s(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	ip := v4(peerIP, stackIP, layers.IPProtocolICMPv4)
	ip.Flags = layers.IPv4MoreFragments
	first := buildPacket(t, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload(make([]byte, 64)))
	_ = f.k.Receive(dev, first)
	_ = f.k.Sync()
	if err := f.k.AdvanceTo(29e9); err != nil {
		t.Fatal(err)
	}
	if len(c.Take()) != 0 || f.mib(t, IPSTATS_MIB_REASMTIMEOUT) != 0 {
		t.Fatal("expired too early")
	}
	if err := f.k.AdvanceTo(31e9); err != nil {
		t.Fatal(err)
	}
	out := c.Take()
	if len(out) != 1 || f.mib(t, IPSTATS_MIB_REASMTIMEOUT) != 1 {
		t.Fatalf("%d frames, ReasmTimeout %d", len(out), f.mib(t, IPSTATS_MIB_REASMTIMEOUT))
	}
	ic := decode(t, out[0]).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(11, 1) {
		t.Errorf("got %v, want time exceeded / fragment reassembly", ic.TypeCode)
	}
}

// TestIcmpErrorsAreRateLimitedPerHost: six at once, then one a second.
func TestIcmpErrorsAreRateLimitedPerHost(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	pkt := buildPacket(t, v4(peerIP, stackIP, layers.IPProtocol(99)), gopacket.Payload([]byte("x")))
	for i := 0; i < 10; i++ {
		_ = f.k.Receive(dev, pkt)
	}
	_ = f.k.Sync()
	if n := len(c.Take()); n != 6 {
		t.Errorf("%d errors sent for 10 bad packets at once, want the burst of 6", n)
	}
	_ = f.k.AdvanceTo(1e9)
	for i := 0; i < 3; i++ {
		_ = f.k.Receive(dev, pkt)
	}
	_ = f.k.Sync()
	if n := len(c.Take()); n != 1 {
		t.Errorf("%d errors a second later, want 1", n)
	}
	if f.mib(t, ICMP_MIB_RATELIMITHOST) != 6 {
		t.Errorf("OutRateLimitHost %d", f.mib(t, ICMP_MIB_RATELIMITHOST))
	}
}
