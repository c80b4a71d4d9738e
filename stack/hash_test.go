package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stackscope/stackscope/sockets"
)

// TestCollidingListenersChainNewestFirst: with 256-bucket tables, ports
// 8080 and 8336 on one address land in the same lhash2 and bhash buckets
// (the port is XORed into, or added to, a value masked to 8 bits), and the
// chains list the newest entry first, as hlist_add_head builds them.
func TestCollidingListenersChainNewestFirst(t *testing.T) {
	f := boot(t, Config{})
	var sks []string
	for _, port := range []string{"8080", "8336"} {
		fd := f.socket(t)
		if err := f.p.Bind(fd, addr("127.0.0.1:"+port)); err != nil {
			t.Fatal(err)
		}
		if err := f.p.Listen(fd, 5); err != nil {
			t.Fatal(err)
		}
		s := f.snapshot(t)
		sks = append(sks, s.Socks[len(s.Socks)-1].Sk)
	}
	s := f.snapshot(t)
	if len(s.Hashinfo.Lhash2) != 1 || len(s.Hashinfo.Lhash2[0].Chain) != 2 {
		t.Fatalf("lhash2: %+v, want one bucket with both listeners", s.Hashinfo.Lhash2)
	}
	if c := s.Hashinfo.Lhash2[0].Chain; c[0].Addr != sks[1] || c[1].Addr != sks[0] {
		t.Errorf("lhash2 chain %v, want the 8336 listener (newest) first", c)
	}
	if len(s.Hashinfo.Bhash) != 1 || s.Hashinfo.Bhash[0].Buckets[0].Port != 8336 || s.Hashinfo.Bhash[0].Buckets[1].Port != 8080 {
		t.Errorf("bhash: %+v, want one bucket with 8336 then 8080", s.Hashinfo.Bhash)
	}
	// The listener lookup still finds each by its port.
	r, _ := f.k.Do("lookup", func(k *Kernel) any {
		lo := sockets.Be32From(addr("127.0.0.1:1").Addr)
		return [2]string{
			hexAddr(sockets.InetLookupListener(k.net, k.hash, lo, 8080, 0).Addr()),
			hexAddr(sockets.InetLookupListener(k.net, k.hash, lo, 8336, 0).Addr()),
		}
	})
	if got := r.([2]string); got[0] != sks[0] || got[1] != sks[1] {
		t.Errorf("__inet_lookup_listener found %v, want %v", got, sks)
	}
}

// TestListenerOnAnyIsFoundForEveryLocalAddress: __inet_lookup_listener
// tries the exact address, then INADDR_ANY.
func TestListenerOnAnyIsFoundForEveryLocalAddress(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	if err := f.p.Bind(fd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Listen(fd, 5); err != nil {
		t.Fatal(err)
	}
	r, _ := f.k.Do("lookup", func(k *Kernel) any {
		a := sockets.InetLookupListener(k.net, k.hash, sockets.Be32From(addr("127.0.0.9:1").Addr), 80, 0)
		b := sockets.InetLookupListener(k.net, k.hash, sockets.Be32From(addr("127.0.0.9:1").Addr), 81, 0)
		return a != nil && b == nil
	})
	if !r.(bool) {
		t.Error("the INADDR_ANY listener is not found for 127.0.0.9:80, or is found for port 81")
	}
}

// TestRealClockFiresTimers: in live mode the loop fires timers on the
// machine's clock by itself.
func TestRealClockFiresTimers(t *testing.T) {
	k, err := New(Config{Seed: 1, Clock: NewRealClock()})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	defer k.Stop()
	fired := make(chan int64, 1)
	_, err = k.Do("arm", func(k *Kernel) any {
		k.ModTimer(NewTimer("test_timer", func() { fired <- k.clock.Now() }), k.clock.Now()+int64(20*time.Millisecond))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-fired:
		if at < int64(20*time.Millisecond) {
			t.Errorf("fired at %d ns, before its expiry", at)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the timer never fired")
	}
}

// TestSnapshotSaltsRecomputeEveryBucket: with the snapshot's
// inet_ehash_secret and net_hash_mix, inet_ehashfn gives each ehash
// entry's skc_hash and bucket, and ipv4_portaddr_hash each listener's
// lhash2 bucket, as the kernel computed them.
func TestSnapshotSaltsRecomputeEveryBucket(t *testing.T) {
	f := boot(t, Config{})
	if _, err := f.p.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 4); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	s := f.snapshot(t)
	h := s.Hashinfo
	if h.EhashSecret == 0 || h.NetHashMix == 0 {
		t.Fatalf("salts not in the snapshot: secret %#x mix %#x", h.EhashSecret, h.NetHashMix)
	}
	be := func(ap netip.AddrPort) uint32 { return uint32(sockets.Be32From(ap.Addr())) }
	n := 0
	for _, b := range h.Ehash {
		for _, e := range b.Chain {
			l, p := netip.MustParseAddrPort(e.Local), netip.MustParseAddrPort(e.Peer)
			hash := sockets.Jhash3Words(be(l), be(p), uint32(l.Port())<<16|uint32(sockets.Htons(p.Port())), h.EhashSecret+h.NetHashMix)
			if hash != e.Hash || int(hash)&(h.EhashSize-1) != b.Index {
				t.Errorf("ehash[%d] %s: recomputed hash %#x (bucket %d), snapshot says %#x", b.Index, e.Addr, hash, int(hash)&(h.EhashSize-1), e.Hash)
			}
			n++
		}
	}
	for _, b := range h.Lhash2 {
		for _, e := range b.Chain {
			l := netip.MustParseAddrPort(e.Local)
			idx := int(sockets.Jhash1Word(be(l), h.NetHashMix)^uint32(l.Port())) & (h.Lhash2Size - 1)
			if idx != b.Index {
				t.Errorf("lhash2 %s: recomputed bucket %d, snapshot says %d", e.Addr, idx, b.Index)
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("checked %d entries, want 3 (listener, client, child)", n)
	}
}
