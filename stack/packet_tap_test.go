package stack

import (
	"sync"
	"testing"

	"github.com/stackscope/stackscope/stack/header"
)

// TestPacketTapSeesTheHandshake: a tap on a loopback connection sees the
// SYN, SYN-ACK and ACK once each, leaving through lo, with the skb as it
// was: data at the IP header, the TCP header after it, headroom in front.
func TestPacketTapSeesTheHandshake(t *testing.T) {
	f := boot(t, Config{})
	var mu sync.Mutex
	var recs []PacketRecord
	if err := f.k.SetPacketTap(func(r PacketRecord) { mu.Lock(); recs = append(recs, r); mu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	lfd := f.socket(t)
	_ = f.p.Bind(lfd, addr("127.0.0.1:8080"))
	_ = f.p.Listen(lfd, 8)
	cfd := f.socket(t)
	if err := f.p.Connect(cfd, addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recs) != 3 {
		t.Fatalf("%d packets tapped, want 3", len(recs))
	}
	for i, want := range []uint8{header.TCP_FLAG_SYN, header.TCP_FLAG_SYN | header.TCP_FLAG_ACK, header.TCP_FLAG_ACK} {
		r := recs[i]
		b := r.Skb.Bytes[r.Skb.Data:]
		ip := header.IPv4(b)
		if r.Dir != PacketOut || r.Dev != "lo" || !ip.ChecksumValid() || r.Skb.Len != uint32(ip.TotalLength()) {
			t.Fatalf("packet %d: %s on %s, len %d", i, r.Dir, r.Dev, r.Skb.Len)
		}
		if th := header.TCP(b[ip.IHL():]); th.Flags() != want || r.Skb.Data == 0 || r.Skb.Tail != r.Skb.Data+r.Skb.Len {
			t.Errorf("packet %d: flags %#x (want %#x), data +%d tail +%d", i, th.Flags(), want, r.Skb.Data, r.Skb.Tail)
		}
	}
}

// TestDescribeSkbFindsAQueuedSkb: an skb waiting in a receive queue is
// found by the address the snapshot lists, with its payload at data.
func TestDescribeSkbFindsAQueuedSkb(t *testing.T) {
	f := boot(t, Config{})
	lfd := f.socket(t)
	_ = f.p.Bind(lfd, addr("127.0.0.1:8080"))
	_ = f.p.Listen(lfd, 8)
	cfd := f.socket(t)
	if err := f.p.Connect(cfd, addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	afd, _, err := f.p.Accept4(lfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Sendto(cfd, []byte("queued bytes"), 0, nil); err != nil {
		t.Fatal(err)
	}
	var q []string
	for _, sk := range f.snapshot(t).Socks {
		if sk.SkReceiveQueue.Qlen > 0 {
			q = sk.SkReceiveQueue.Skbs
		}
	}
	if len(q) != 1 {
		t.Fatalf("receive queues hold %v", q)
	}
	s, err := f.k.DescribeSkb(q[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Bytes[s.Data:s.Tail]) != "queued bytes" || s.Len != 12 || s.Users != 1 || s.Truesize == 0 || s.Cache == "" {
		t.Errorf("described skb: %+v", s)
	}
	if _, err := f.k.DescribeSkb("0xffff888000000000"); err == nil {
		t.Error("a made-up address was found")
	}
	_ = afd
}
