package stack

import (
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
