package ui

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/header"
)

// TestSkbPaneGolden: the child's queued "hello" skb, zoomed: the drawing
// with the pulled headers behind data, the counters, the headers decoded
// and the hex dump.
func TestSkbPaneGolden(t *testing.T) {
	k, _, _ := testKernel(t)
	screen := runKeys(t, newTestModel(t, k), append(childKeys, "4", "z")...)
	for _, want := range []string{"4 skb 0x", "len 5  data_len 0", "0000  68 65 6c 6c 6f", "hello"} {
		if !strings.Contains(screen, want) {
			t.Errorf("skb pane lacks %q:\n%s", want, screen)
		}
	}
	requireGolden(t, screen)
}

// TestSkbPaneNothingSelected says how to select an skb.
func TestSkbPaneNothingSelected(t *testing.T) {
	k, _, _ := testKernel(t)
	screen := runKeys(t, newTestModel(t, k), "4")
	if !strings.Contains(screen, "no sk_buff selected: pick a queued one in the queues pane") {
		t.Errorf("skb pane:\n%s", screen)
	}
}

// TestSkbPaneQueuedSkbLayout: the received skb's headers are behind data:
// the drawing puts IP and TCP before ^data, labels network_header and
// transport_header, and the hex dump starts at the payload.
func TestSkbPaneQueuedSkbLayout(t *testing.T) {
	k, _, _ := testKernel(t)
	addr := childOf(t, snapOf(t, k)).SkReceiveQueue.Skbs[0]
	s, err := k.DescribeSkb(addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &Context{Styles: NewStyles(true), Keys: DefaultKeys(), Frame: &Frame{Skb: s}, Sel: Selection{Skb: addr}}
	p := newSkbPane()
	v := render(p, c, 158, 40)
	lines := strings.Split(v, "\n")
	bar := lines[2]
	ip, tcp, data := strings.Index(bar, "IP 20"), strings.Index(bar, "TCP 32"), -1
	for _, ml := range lines[3:5] {
		if i := strings.Index(ml, "^data"); i >= 0 {
			data = i
		}
	}
	if ip < 0 || tcp < ip || strings.Index(bar, "payload 5") < tcp {
		t.Errorf("the bar does not run headroom | IP 20 | TCP 32 | payload 5:\n%s", v)
	}
	if data < tcp {
		t.Errorf("^data is not after the TCP header:\n%s", v)
	}
	for _, want := range []string{"IP at network_header +", "TCP at transport_header +", "behind data (+", "skb->data .. tail: 5 bytes", "0000  68 65 6c 6c 6f", "fclone ", "dataref 0x"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if p.Title(c) != "skb "+addr+" (queued)" {
		t.Errorf("title %q", p.Title(c))
	}
	for _, w := range []int{30, 70, 158} {
		bar, marks := skbBar(s, layoutOf(s), w)
		if len(bar) != w {
			t.Errorf("width %d: the bar is %d wide: %s", w, len(bar), bar)
		}
		for _, m := range marks {
			if len(m) > w {
				t.Errorf("width %d: a marker line is %d wide", w, len(m))
			}
		}
	}
}

// TestSkbPaneFreed: a selected skb that a read consumed is reported freed.
func TestSkbPaneFreed(t *testing.T) {
	k, srv, _ := testKernel(t)
	addr := childOf(t, snapOf(t, k)).SkReceiveQueue.Skbs[0]
	afd, _, err := srv.Accept4(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b, _, err := srv.Recvfrom(afd, 100, 0); err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
	s, err := k.DescribeSkb(addr)
	if err == nil {
		t.Fatalf("the consumed skb is still described: %+v", s)
	}
	c := &Context{Styles: NewStyles(true), Keys: DefaultKeys(), Frame: &Frame{SkbErr: err}, Sel: Selection{Skb: addr}}
	if v := render(newSkbPane(), c, 100, 10); !strings.Contains(v, "sk_buff "+addr+" was freed") {
		t.Errorf("view: %s", v)
	}
}

// TestSkbPanePacketHeaders: a packet's skb, selected from the frame's
// packets after a connect, shows its IP and TCP headers decoded with both
// checksums ok; a corrupted copy shows BAD.
func TestSkbPanePacketHeaders(t *testing.T) {
	k, cli, _ := testKernel(t)
	m := newTestModel(t, k)
	if _, err := cli.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	m.Update(m.fetch()())
	pk := m.ctx.Frame.Packets
	if len(pk) < 3 {
		t.Fatalf("%d packets after a connect", len(pk))
	}
	syn := pk[0]
	m.ctx.Sel.Packet = &syn
	m.Update(m.fetch()())
	m.Update(keyMsg("4"))
	m.Update(keyMsg("z"))
	screen := ansi.Strip(m.View().Content)
	for _, want := range []string{"4 skb " + syn.Skb.Addr + " (packet out lo at t=", "IPv4  version 4  ihl 20", "DF", "ttl 64", "protocol 6 (TCP)",
		"127.0.0.1 > 127.0.0.1", "> 8080  seq ", "flags S (SYN)", "options <mss ", "sackOK", "TS val ", "wscale ", "^data=network"} {
		if !strings.Contains(screen, want) {
			t.Errorf("skb pane lacks %q:\n%s", want, screen)
		}
	}
	if n := strings.Count(screen, " ok "); n != 2 || strings.Contains(screen, "BAD") {
		t.Errorf("%d checksums ok, want IP and TCP:\n%s", n, screen)
	}

	// Flip a bit of the TCP header in a copy: its checksum goes bad.
	bad := syn.Skb
	bad.Bytes = append([]byte(nil), bad.Bytes...)
	bad.Bytes[int(bad.Data)+header.IPv4MinSize+14] ^= 1 // the window
	c := &Context{Styles: NewStyles(true), Keys: DefaultKeys(), Frame: &Frame{}, Sel: Selection{Packet: &stack.PacketRecord{Dir: "out", Dev: "lo", Skb: bad}}}
	if v := render(newSkbPane(), c, 158, 40); !strings.Contains(v, "BAD") {
		t.Errorf("a corrupted TCP header checks ok:\n%s", v)
	}
}

// bigSkb is an skb with 100 bytes of data and no headers (a write-queue
// skb before it is sent).
func bigSkb() *stack.SkbSnap {
	b := make([]byte, 228)
	for i := range b {
		b[i] = byte(i)
	}
	return &stack.SkbSnap{Addr: "0xffff888004a00000", Cache: "skbuff_fclone_cache", Head: "0xffff888004b00000", Data: 128, Tail: 228,
		End: 448, NetworkHeader: 0xffff, TransportHeader: 0xffff, Len: 100, Truesize: 1280, Users: 1, Dataref: 1, Fclone: 1, Bytes: b}
}

// TestSkbPaneScrolls: up and down scroll the hex dump under the drawing,
// which stays; g and G go to the ends.
func TestSkbPaneScrolls(t *testing.T) {
	s := bigSkb()
	c := &Context{Styles: NewStyles(true), Keys: DefaultKeys(), Frame: &Frame{Skb: s}, Sel: Selection{Skb: s.Addr}}
	p := newSkbPane()
	v := render(p, c, 70, 11)
	for _, want := range []string{"headroom 128", "data 100", "unset (0xffff): no headers", "hex  skb->data .. tail: 100 bytes", "0000  80 81 82", "↓ 3 more"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "0040  ") {
		t.Errorf("the fifth hex line shows before scrolling in 11 lines:\n%s", v)
	}
	p.Update(c, keyMsg("down"))
	p.Update(c, keyMsg("down"))
	v = ansi.Strip(p.View(c))
	if strings.Contains(v, "\n0000  ") || !strings.Contains(v, "0010  90 91") || !strings.Contains(v, "sk_buff "+s.Addr) || !strings.Contains(v, "headroom 128") {
		t.Errorf("after two downs the dump does not start at 0x10 under the drawing:\n%s", v)
	}
	p.Update(c, keyMsg("G"))
	if v = ansi.Strip(p.View(c)); !strings.Contains(v, "0060  e0 e1 e2 e3") || strings.Contains(v, "more") {
		t.Errorf("G does not show the last line:\n%s", v)
	}
	p.Update(c, keyMsg("g"))
	if v = ansi.Strip(p.View(c)); !strings.Contains(v, "hex  skb->data .. tail: 100 bytes") {
		t.Errorf("g does not go back to the top:\n%s", v)
	}
}

// TestSkbPaneFollowsSelection: the pane shows the queued skb only when it
// is the one selected (a frame sampled before a new selection does not
// count), and a packet when no queued skb is selected.
func TestSkbPaneFollowsSelection(t *testing.T) {
	s := bigSkb()
	c := &Context{Styles: NewStyles(true), Keys: DefaultKeys(), Frame: &Frame{Skb: s}, Sel: Selection{Skb: "0xffff888004c00000"}}
	if v := render(newSkbPane(), c, 100, 20); !strings.Contains(v, "described at the next frame") {
		t.Errorf("a stale Frame.Skb is shown:\n%s", v)
	}
	c.Sel = Selection{Packet: &stack.PacketRecord{Dir: "in", Dev: "tun0", TimeNs: 1e9, Skb: *s}}
	p := newSkbPane()
	if v := render(p, c, 100, 20); !strings.Contains(v, "sk_buff "+s.Addr) || p.Title(c) != "skb "+s.Addr+" (packet in tun0 at t=00:00:01.000)" {
		t.Errorf("the selected packet is not shown (title %q):\n%s", p.Title(c), v)
	}
}
