package stack

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stackscope/stackscope/sockets"
)

// FuzzReceivePath feeds arbitrary bytes to the stack as IPv4 packets from
// a device, with a TCP listener and a UDP socket to reach. Nothing may
// panic, every frame must show up in the device's rx counter, and once
// the timers have run out and the sockets are closed, every skb the
// packets used must be back in its slab cache.
func FuzzReceivePath(f *testing.F) {
	f.Add(echoRequest(f, 1, []byte("ping")))
	f.Add(peerTCP(f, 4000, 80, 1, 0, "S", synOpts(), nil))
	f.Add(peerTCP(f, 4000, 80, 1, 7, "A", nil, []byte("data")))
	f.Add(peerTCP(f, 4000, 81, 1, 0, "S", nil, nil))
	udp := &layers.UDP{SrcPort: 4000, DstPort: 53}
	ip := v4(peerIP, stackIP, layers.IPProtocolUDP)
	_ = udp.SetNetworkLayerForChecksum(ip)
	f.Add(buildPacket(f, ip, udp))
	frag := buildPacket(f, v4(peerIP, stackIP, layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)})
	frag[6] = 0x20 // more fragments
	f.Add(frag)
	f.Fuzz(func(t *testing.T, frame []byte) {
		// A hang is a failure too: crash the worker so the fuzzer keeps the input.
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("receive path hung on % x", frame)) })
		t.Cleanup(func() { watchdog.Stop() }) // runs last: it covers the kernel's Stop too
		fx := boot(t, Config{})
		dev, _ := scriptDev(t, fx, 1500)
		lfd := fx.socket(t)
		_ = fx.p.Bind(lfd, addr("0.0.0.0:80"))
		_ = fx.p.Listen(lfd, 4)
		ufd, _ := fx.p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0)
		_ = fx.p.Bind(ufd, sockets.SockaddrIn{Family: sockets.AF_INET, Addr: netip.IPv4Unspecified(), Port: 53})
		if err := fx.k.Receive(dev, frame, frame); err != nil {
			t.Fatal(err)
		}
		_ = fx.k.Sync()
		if err := fx.k.AdvanceTo(300e9); err != nil { // reassembly, SYN-ACK retries
			t.Fatal(err)
		}
		if got := dev.Stats.RxPackets; got != 2 {
			t.Errorf("rx_packets %d for 2 frames", got)
		}
		_ = fx.p.Close(lfd)
		_ = fx.p.Close(ufd)
		_ = fx.k.Sync()
		in := fx.cacheInUse(t)
		for _, c := range []string{"skbuff_head_cache", "skbuff_fclone_cache", "request_sock_TCP", "TCP"} {
			if in[c] != 0 {
				t.Errorf("%s: %d objects still in use", c, in[c])
			}
		}
	})
}
