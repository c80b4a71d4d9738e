package stack

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// fragsOfPing returns a function that cuts an echo request with n bytes
// of data into fragments: [off, off+len) of its IP payload, MF as given.
func fragsOfPing(t *testing.T, id uint16, n int) func(off, len int, more bool) []byte {
	payload := echoRequest(t, 9, make([]byte, n))[20:]
	return func(off, l int, more bool) []byte {
		ip := v4(peerIP, stackIP, layers.IPProtocolICMPv4)
		ip.Id = id
		ip.FragOffset = uint16(off / 8)
		if more {
			ip.Flags = layers.IPv4MoreFragments
		}
		return buildPacket(t, ip, gopacket.Payload(payload[off:off+l]))
	}
}

// ip_frag_queue trims a fragment with MF whose length is not a multiple
// of 8 (end &= ~7) instead of dropping it: 1001 bytes at 0 and the rest at
// 1000 reassemble, and the ping is answered.
func TestOddLengthFragmentIsTrimmed(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	frag := fragsOfPing(t, 1, 1500)
	_ = f.k.Receive(dev, frag(0, 1001, true), frag(1000, 1508-1000, false))
	_ = f.k.Sync()
	out, oks, fails := len(c.Take()), f.mib(t, IPSTATS_MIB_REASMOKS), f.mib(t, IPSTATS_MIB_REASMFAILS)
	t.Logf("%d reply frames, ReasmOKs %d, ReasmFails %d", out, oks, fails)
	if oks != 1 || fails != 0 || out == 0 {
		t.Errorf("want the datagram reassembled and answered")
	}
}

// A fragment lying inside data already queued (here 8 bytes in the
// middle of the first fragment) is a duplicate: it goes alone, the queue
// stays and completes. One that overlaps partly kills the queue and counts
// ReasmOverlaps and ReasmFails.
func TestFragmentDuplicatesAndOverlaps(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	frag := fragsOfPing(t, 2, 1000)
	_ = f.k.Receive(dev, frag(0, 512, true), frag(256, 8, true), frag(512, 1008-512, false))
	_ = f.k.Sync()
	out, oks, fails, ovl := len(c.Take()), f.mib(t, IPSTATS_MIB_REASMOKS), f.mib(t, IPSTATS_MIB_REASMFAILS), f.mib(t, IPSTATS_MIB_REASMOVERLAPS)
	t.Logf("inner duplicate: %d reply frames, ReasmOKs %d, ReasmFails %d, ReasmOverlaps %d", out, oks, fails, ovl)
	if out != 1 || oks != 1 || fails != 0 || ovl != 0 {
		t.Errorf("want the datagram reassembled despite the duplicate")
	}
	frag = fragsOfPing(t, 3, 1000)
	_ = f.k.Receive(dev, frag(0, 512, true), frag(504, 16, true), frag(512, 1008-512, false))
	_ = f.k.Sync()
	out, oks, fails, ovl = len(c.Take()), f.mib(t, IPSTATS_MIB_REASMOKS), f.mib(t, IPSTATS_MIB_REASMFAILS), f.mib(t, IPSTATS_MIB_REASMOVERLAPS)
	t.Logf("partial overlap: %d reply frames, ReasmOKs %d, ReasmFails %d, ReasmOverlaps %d", out, oks, fails, ovl)
	if out != 0 || oks != 1 || fails != 1 || ovl != 1 {
		t.Errorf("want the queue killed: ReasmFails 1, ReasmOverlaps 1, and the last fragment starting a new queue")
	}
}

// A last fragment that ends before data already queued corrupts the
// datagram: ip_frag_queue kills the queue at once (ReasmFails), without
// waiting for the 30 s timer.
func TestLastFragmentEndingEarlyKillsTheQueue(t *testing.T) {
	f := boot(t, Config{})
	dev, _ := scriptDev(t, f, 1500)
	frag := fragsOfPing(t, 4, 1000)
	_ = f.k.Receive(dev, frag(512, 256, true), frag(256, 128, false))
	_ = f.k.Sync()
	fails := f.mib(t, IPSTATS_MIB_REASMFAILS)
	var queues int
	f.onLoop(t, func(k *Kernel) { queues = len(k.frags.byKey) })
	t.Logf("ReasmFails %d, queues left %d", fails, queues)
	if fails != 1 || queues != 0 {
		t.Errorf("want the queue killed at once: ReasmFails 1, no queue")
	}
}

// ip_frag_reasm refuses a datagram longer than 65535 bytes once it is
// complete (out_oversize: ReasmFails), not when the fragment arrives.
func TestOversizeDatagramFailsAtReassembly(t *testing.T) {
	f := boot(t, Config{})
	dev, _ := scriptDev(t, f, 1500)
	mk := func(off, n int, more bool) []byte {
		ip := v4(peerIP, stackIP, layers.IPProtocolICMPv4)
		ip.Id = 5
		ip.FragOffset = uint16(off / 8)
		if more {
			ip.Flags = layers.IPv4MoreFragments
		}
		return buildPacket(t, ip, gopacket.Payload(make([]byte, n)))
	}
	// The last fragment ends at 65528+16 = 65544: too long by itself.
	_ = f.k.Receive(dev, mk(65528, 16, false))
	_ = f.k.Sync()
	fails := f.mib(t, IPSTATS_MIB_REASMFAILS)
	var queues int
	f.onLoop(t, func(k *Kernel) { queues = len(k.frags.byKey) })
	t.Logf("last fragment past 65535: ReasmFails %d, queues %d", fails, queues)
	if fails != 0 || queues != 1 {
		t.Errorf("ReasmFails %d, %d queues on arrival: 6.12 queues it and only refuses the whole datagram", fails, queues)
	}
}

// onLoop runs fn on the loop.
func (f *fixture) onLoop(t *testing.T, fn func(k *Kernel)) {
	t.Helper()
	if _, err := f.k.Do("peek", func(k *Kernel) any { fn(k); return nil }); err != nil {
		t.Fatal(err)
	}
}
