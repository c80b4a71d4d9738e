package stack

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// __icmp_send takes global credit only once the per-host limit has let a
// message go (icmpv4_xrlim_allow -> icmp_global_consume): 100 bad packets
// at once from one peer get the per-host burst of 6 answers and 94
// OutRateLimitHost; the global bucket (50) is never empty.
func TestIcmpHostLimitBeforeGlobalCredit(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	pkt := buildPacket(t, v4(peerIP, stackIP, layers.IPProtocol(99)), gopacket.Payload([]byte("x")))
	for range 100 {
		_ = f.k.Receive(dev, pkt)
	}
	_ = f.k.Sync()
	sent, host, global := len(c.Take()), f.mib(t, ICMP_MIB_RATELIMITHOST), f.mib(t, ICMP_MIB_RATELIMITGLOBAL)
	t.Logf("100 bad packets from one peer: %d sent, OutRateLimitHost %d, OutRateLimitGlobal %d", sent, host, global)
	if sent != 6 || host != 94 || global != 0 {
		t.Errorf("want 6 sent, OutRateLimitHost 94, OutRateLimitGlobal 0")
	}
}

// Errors about packets that came in through lo skip the global limit,
// and with it the per-host one: 100 datagrams to a closed port over
// loopback get 100 port unreachables.
func TestIcmpErrorsForLoopbackInputAreNotLimited(t *testing.T) {
	f := boot(t, Config{})
	fd := f.udpSocket(t)
	to := addr("127.0.0.1:9")
	for range 100 {
		if _, err := f.p.Sendto(fd, []byte("x"), 0, &to); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.k.Sync()
	out, global, host := f.mib(t, ICMP_MIB_OUTDESTUNREACHS), f.mib(t, ICMP_MIB_RATELIMITGLOBAL), f.mib(t, ICMP_MIB_RATELIMITHOST)
	t.Logf("lo: OutDestUnreachs %d, OutRateLimitGlobal %d, OutRateLimitHost %d", out, global, host)
	if out != 100 || global != 0 || host != 0 {
		t.Errorf("want 100 port unreachables, no rate limiting")
	}
}

// icmp_global_allow refills an empty bucket only when at least HZ/50
// (20 ms) has passed since the last refill, and then for the whole time
// since it (here 25 credits for 25 ms). Each peer is a new one, so only
// the global bucket limits.
func TestIcmpGlobalBucketRefill(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	peer := 0
	bad := func() {
		peer++
		src := netip.AddrFrom4([4]byte{198, 51, byte(peer >> 8), byte(peer)})
		_ = f.k.Receive(dev, buildPacket(t, v4(src, stackIP, layers.IPProtocol(99)), gopacket.Payload([]byte("x"))))
		_ = f.k.Sync()
	}
	for range 200 {
		bad()
	}
	sent := len(c.Take())
	global := f.mib(t, ICMP_MIB_RATELIMITGLOBAL)
	t.Logf("200 peers at once: %d sent, OutRateLimitGlobal %d", sent, global)
	// Each message takes 0-2 credits: about 50 go before the bucket is empty.
	if sent < 25 || sent > 110 || uint64(sent)+global != 200 {
		t.Errorf("sent %d, limited %d: want the burst of about 50 credits, the rest limited", sent, global)
	}
	_ = f.k.AdvanceTo(10e6)
	bad()
	if n := len(c.Take()); n != 0 {
		t.Errorf("10 ms later: %d sent, want none (the bucket refills after HZ/50)", n)
	}
	_ = f.k.AdvanceTo(25e6)
	for range 100 {
		bad()
	}
	n := len(c.Take())
	t.Logf("25 ms after boot: %d more sent", n)
	if n < 10 || n > 60 {
		t.Errorf("25 ms later: %d sent, want about 25 (25 credits refilled)", n)
	}
}

// icmp_timestamp answers a timestamp request (type 13) with a timestamp
// reply (type 14): the same identifier and sequence, the request's
// originate time and our receive and transmit times, 20 bytes of ICMP.
func TestIcmpTimestampIsAnswered(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	_ = f.k.AdvanceTo(1234e6)
	orig := []byte{0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0}
	_ = f.k.Receive(dev, buildPacket(t, v4(peerIP, stackIP, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(13, 0), Id: 7, Seq: 9}, gopacket.Payload(orig)))
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames, want a timestamp reply", len(out))
	}
	ic := decode(t, out[0]).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	t.Logf("reply %v id %d seq %d payload %x", ic.TypeCode, ic.Id, ic.Seq, ic.Payload)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(14, 0) || ic.Id != 7 || ic.Seq != 9 || len(ic.Payload) != 12 {
		t.Fatalf("reply %v id %d seq %d, %d bytes of times: want type 14, id 7, seq 9, 12 bytes", ic.TypeCode, ic.Id, ic.Seq, len(ic.Payload))
	}
	if binary.BigEndian.Uint32(ic.Payload) != 0x01020304 || binary.BigEndian.Uint32(ic.Payload[4:]) != 1234 ||
		binary.BigEndian.Uint32(ic.Payload[8:]) != 1234 {
		t.Errorf("times %x: want the originate time back and receive = transmit = 1234 ms", ic.Payload)
	}
	if in, o := f.mib(t, ICMP_MIB_INTIMESTAMPS), f.mib(t, ICMP_MIB_OUTTIMESTAMPREPS); in != 1 || o != 1 {
		t.Errorf("InTimestamps %d OutTimestampReps %d, want 1, 1", in, o)
	}
}

// icmp_rcv counts as InErrors a type above NR_ICMP_TYPES, and icmp_unreach
// and icmp_socket_deliver an error that does not quote a whole IP header
// plus 8 bytes; a redirect too short for an IP header is one too (and
// counts InRedirects).
func TestIcmpMalformedInputCountsInErrors(t *testing.T) {
	f := boot(t, Config{})
	dev, _ := scriptDev(t, f, 1500)
	send := func(name string, typ, code uint8, quote []byte) {
		t.Helper()
		before := f.mib(t, ICMP_MIB_INERRORS)
		_ = f.k.Receive(dev, buildPacket(t, v4(peerIP, stackIP, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code)}, gopacket.Payload(quote)))
		_ = f.k.Sync()
		after := f.mib(t, ICMP_MIB_INERRORS)
		t.Logf("%s: InErrors %d -> %d", name, before, after)
		if after != before+1 {
			t.Errorf("%s: InErrors %d -> %d, want one more", name, before, after)
		}
	}
	hdr := buildPacket(t, v4(stackIP, peerIP, layers.IPProtocolUDP), gopacket.Payload(make([]byte, 8)))
	send("type 40", 40, 0, nil)
	send("unreachable quoting 10 bytes", 3, 3, hdr[:10])
	send("unreachable quoting an IP header only", 3, 3, hdr[:20])
	bad := append([]byte(nil), hdr...)
	bad[0] = 0x44 // IHL 4
	send("unreachable quoting a header with IHL 4", 3, 3, bad)
	send("redirect quoting 10 bytes", 5, 1, hdr[:10])
	if got := f.mib(t, ICMP_MIB_INREDIRECTS); got != 1 {
		t.Errorf("InRedirects %d, want 1", got)
	}
}

// The "fragment reassembly time exceeded" that ip_expire sends counts
// OutTimeExcds (icmp_out_count).
func TestReassemblyTimeoutCountsOutTimeExcds(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	ip := v4(peerIP, stackIP, layers.IPProtocolICMPv4)
	ip.Flags = layers.IPv4MoreFragments
	_ = f.k.Receive(dev, buildPacket(t, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload(make([]byte, 64))))
	_ = f.k.Sync()
	_ = f.k.AdvanceTo(31e9)
	n, te := len(c.Take()), f.mib(t, ICMP_MIB_OUTTIMEEXCDS)
	t.Logf("%d frames, OutTimeExcds %d, OutMsgs %d", n, te, f.mib(t, ICMP_MIB_OUTMSGS))
	if n != 1 || te != 1 {
		t.Errorf("want one time exceeded, OutTimeExcds 1")
	}
}

// icmp_rcv hands PROBE (RFC 8335) requests and replies, types 42 and 43,
// to icmp_echo and ping_rcv before it checks NR_ICMP_TYPES: with probing
// off and no ping sockets they are dropped, but not counted as InErrors
// (type 44 is).
func TestIcmpProbeTypesAreNoErrors(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	for _, typ := range []uint8{42, 43, 44} {
		_ = f.k.Receive(dev, buildPacket(t, v4(peerIP, stackIP, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0)}, gopacket.Payload(make([]byte, 8))))
	}
	_ = f.k.Sync()
	if got := f.mib(t, ICMP_MIB_INERRORS); got != 1 {
		t.Errorf("InErrors %d after types 42, 43 and 44, want 1 (44 only)", got)
	}
	if out := c.Take(); len(out) != 0 {
		t.Errorf("%d frames answered them, want none", len(out))
	}
}
