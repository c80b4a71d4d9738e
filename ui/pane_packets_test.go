package ui

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/header"
)

// packetKernel boots a kernel on a virtual clock (seed 1) and builds the
// inspector over it first, so its packet tap sees everything after: a
// server listening on 127.0.0.1:8080, a client connecting to it at t=0
// and, at t=1.25 ms, writing "hello". With two, a second client connects
// at t=2 ms and writes "world". It returns the model and the client
// sockets' struct sock addresses.
func packetKernel(t *testing.T, clients int) (*Model, []string) {
	t.Helper()
	k := freshKernel(t)
	m := newTestModel(t, k)
	srv, _ := k.NewProcess("server")
	if _, err := srv.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 16); err != nil {
		t.Fatal(err)
	}
	var locals []string
	for i, msg := range []string{"hello", "world"}[:clients] {
		cli, _ := k.NewProcess(fmt.Sprintf("client%d", i+1))
		if i > 0 {
			if err := k.AdvanceTo(2_000_000); err != nil {
				t.Fatal(err)
			}
		}
		c, err := cli.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080"))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := k.AdvanceTo(1_250_000); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		locals = append(locals, c.LocalAddr().String())
	}
	snap, err := k.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sks []string
	for _, l := range locals {
		for _, s := range snap.Socks {
			if fmt.Sprintf("%s:%d", s.SockCommon.SkcRcvSaddr, s.SockCommon.SkcNum) == l {
				sks = append(sks, s.Sk)
			}
		}
	}
	if len(sks) != clients {
		t.Fatalf("client socks %v for %v", sks, locals)
	}
	return m, sks
}

// paneContext is a context with one frame of m's kernel, for driving a
// pane directly.
func paneContext(t *testing.T, m *Model) *Context {
	t.Helper()
	c := &Context{K: m.ctx.K, Styles: NewStyles(true), Keys: DefaultKeys()}
	nextFrame(t, c, m)
	return c
}

// nextFrame samples a new frame into c, as the root model does.
func nextFrame(t *testing.T, c *Context, m *Model) {
	t.Helper()
	f := &Frame{}
	if c.Frame != nil {
		f.Prev = c.Frame.Snap
	}
	snap, err := m.ctx.K.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	f.Snap = snap
	m.feed.take(f)
	c.Frame = f
}

// packetLines are the list's rows (after its header line, up to the
// blank line before the detail), as plain text without the cursor marker.
func packetLines(view string) []string {
	var rows []string
	for _, l := range strings.Split(ansi.Strip(view), "\n")[1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		rows = append(rows, strings.TrimRight(l[2:], " "))
	}
	return rows
}

// TestPacketsPaneGolden: the handshake, the write and its ACK, each seen
// once as it leaves through lo, as tcpdump -n prints them.
func TestPacketsPaneGolden(t *testing.T) {
	m, _ := packetKernel(t, 1)
	screen := runKeys(t, m, "7")
	if n := strings.Count(screen, "lo >"); n != 5 {
		t.Errorf("%d packets on lo, want 5 (SYN, SYN-ACK, ACK, data, ACK):\n%s", n, screen)
	}
	for _, want := range []string{"7 packets (5 of 5 since start) following", "Flags [S],", "Flags [S.],", "Flags [P.], seq 1:6, ack 1,", "length 5"} {
		if !strings.Contains(screen, want) {
			t.Errorf("packets pane lacks %q:\n%s", want, screen)
		}
	}
	requireGolden(t, screen)
}

// TestSynShowsFlagsAndOptions: the SYN is Flags [S] with an absolute
// seq, no ack, and the options Linux puts on a SYN, in their order.
func TestSynShowsFlagsAndOptions(t *testing.T) {
	m, _ := packetKernel(t, 1)
	c := paneContext(t, m)
	p := newPacketsPane()
	p.SetSize(200, 20)
	p.Refresh(c)
	lines := packetLines(p.View(c))
	syn := regexp.MustCompile(`^0\.000000 lo >    IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.8080: Flags \[S\], seq (\d+), win 65495, ` +
		`options \[mss 65495,sackOK,TS val (\d+) ecr 0,nop,wscale 7\], length 0$`)
	if !syn.MatchString(strings.TrimSpace(lines[0])) {
		t.Fatalf("SYN line:\n%q\nwant it to match %s", strings.TrimSpace(lines[0]), syn)
	}
	if !strings.Contains(lines[1], "Flags [S.]") || !strings.Contains(lines[1], "> 127.0.0.1.") {
		t.Errorf("second line is not the SYN-ACK: %q", lines[1])
	}
}

// TestRelativeSeqStartsAfterSyn: as tcpdump does, the SYN and SYN-ACK
// print absolute numbers and set the conversation's bases; the ACK and
// the data after them count from 0 (seq 1:6 is "hello", ack 1 the SYN).
// r switches to absolute numbers (tcpdump -S).
func TestRelativeSeqStartsAfterSyn(t *testing.T) {
	m, _ := packetKernel(t, 1)
	c := paneContext(t, m)
	p := newPacketsPane()
	p.SetSize(200, 20)
	p.Refresh(c)
	// The SYN's seq and the SYN-ACK's: the bases.
	var cseq, sseq uint32
	for i, r := range c.Frame.Packets[:2] {
		d := decodePkt(&r)
		if i == 0 {
			cseq = d.tcp.Seq()
		} else {
			sseq = d.tcp.Seq()
		}
	}
	lines := packetLines(p.View(c))
	wants := []string{
		fmt.Sprintf("Flags [S], seq %d, win", cseq),
		fmt.Sprintf("Flags [S.], seq %d, ack %d, win", sseq, cseq+1),
		"Flags [.], ack 1, win 512,",
		"Flags [P.], seq 1:6, ack 1, win 512,",
		"Flags [.], ack 6, win 512,",
	}
	if len(lines) != len(wants) {
		t.Fatalf("%d rows, want %d:\n%s", len(lines), len(wants), strings.Join(lines, "\n"))
	}
	for i, w := range wants {
		if !strings.Contains(lines[i], w) {
			t.Errorf("row %d: %q lacks %q", i, lines[i], w)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[3]), "0.001250 lo >") {
		t.Errorf("the write is not 1.25 ms after the first packet: %q", lines[3])
	}
	p.Update(c, keyMsg("r"))
	lines = packetLines(p.View(c))
	if w := fmt.Sprintf("Flags [P.], seq %d:%d, ack %d,", cseq+1, cseq+6, sseq+1); !strings.Contains(lines[3], w) {
		t.Errorf("with r, the data row %q lacks %q", lines[3], w)
	}
	if !strings.Contains(p.Title(c), "seq absolute") {
		t.Errorf("title %q does not say the numbers are absolute", p.Title(c))
	}
}

// TestAbsoluteTime: times count from the first row shown (here, the
// first data segment the filter lets through); a shows the kernel clock
// itself.
func TestAbsoluteTime(t *testing.T) {
	m, _ := packetKernel(t, 2)
	c := paneContext(t, m)
	p := newPacketsPane()
	p.SetSize(200, 40)
	p.SetFilter("Flags [P.]")
	p.Refresh(c)
	lines := packetLines(p.View(c))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "  0.000000 lo >") || !strings.HasPrefix(lines[1], "  0.000750 lo >") {
		t.Fatalf("filtered rows (relative to the first shown):\n%s", strings.Join(lines, "\n"))
	}
	p.Update(c, keyMsg("a"))
	lines = packetLines(p.View(c))
	if !strings.HasPrefix(lines[0], "  0.001250 lo >") || !strings.HasPrefix(lines[1], "  0.002000 lo >") {
		t.Errorf("absolute times of the writes:\n%s", strings.Join(lines, "\n"))
	}
}

// TestPacketsFilterNarrowsRows: a filter keeps the rows whose text
// contains it, and the title counts them.
func TestPacketsFilterNarrowsRows(t *testing.T) {
	m, _ := packetKernel(t, 1)
	screen := runKeys(t, m, "7", "/", "P", ".", "enter")
	if n := strings.Count(screen, "lo >"); n != 1 {
		t.Errorf("/P. shows %d packets, want the one data segment:\n%s", n, screen)
	}
	if !strings.Contains(screen, "packets (1 of 5 since start)") || !strings.Contains(screen, "Flags [P.]") {
		t.Errorf("filtered screen:\n%s", screen)
	}
}

// TestEnterOpensPacketSkb: moving the cursor to the SYN and pressing
// enter hands a copy of its record to the skb pane (c.Sel.Packet) and
// clears the queued-skb selection, so the skb pane shows the SYN's
// sk_buff.
func TestEnterOpensPacketSkb(t *testing.T) {
	m, _ := packetKernel(t, 1)
	m.ctx.Sel.Skb = "0xffff888000000000"
	screen := runKeys(t, m, "7", "g", "enter")
	sel := m.ctx.Sel.Packet
	if sel == nil {
		t.Fatalf("enter selected no packet:\n%s", screen)
	}
	if m.ctx.Sel.Skb != "" {
		t.Errorf("Sel.Skb = %q after opening a packet, want it cleared", m.ctx.Sel.Skb)
	}
	d := decodePkt(sel)
	if d.tcp == nil || d.tcp.Flags() != header.TCP_FLAG_SYN || sel.Dir != stack.PacketOut || sel.Dev != "lo" {
		t.Errorf("selected %s %s %+v, want the SYN leaving lo", sel.Dir, sel.Dev, d)
	}
	first := m.ctx.Frame.Packets[0]
	if sel.Skb.Addr != first.Skb.Addr || sel == &m.ctx.Frame.Packets[0] {
		t.Errorf("Sel.Packet is not a copy of the first record (skb %s, want %s)", sel.Skb.Addr, first.Skb.Addr)
	}
	if !strings.Contains(screen, "> ") || strings.Contains(screen, " following") {
		t.Errorf("after g the list should not follow:\n%s", screen)
	}
}

// TestEndFollowsAgain: End (the root's "back to live") reaches the
// focused packets pane, which follows the newest packet again; the
// detail under the list shows the cursor row's whole line.
func TestEndFollowsAgain(t *testing.T) {
	m, _ := packetKernel(t, 1)
	screen := runKeys(t, m, "7", "g", "l")
	if strings.Contains(screen, " following") || !strings.Contains(screen, "packet 1: lo out") ||
		!strings.Contains(screen, "nop,wscale 7], length 0") || !strings.Contains(screen, "(from column 21; h scrolls back)") {
		t.Errorf("after g and l:\n%s", screen)
	}
	screen = runKeys(t, m, "end")
	if !strings.Contains(screen, "packets (5 of 5 since start) following") || !strings.Contains(screen, "packet 5: lo out") {
		t.Errorf("after end:\n%s", screen)
	}
}

// TestPacketsFollowNewest: the cursor stays on the newest packet as
// packets arrive, until the user moves it; then it stays on its packet;
// G follows again.
func TestPacketsFollowNewest(t *testing.T) {
	m, _ := packetKernel(t, 1)
	c := paneContext(t, m)
	p := newPacketsPane()
	p.SetSize(200, 20)
	p.Refresh(c)
	if r := p.cursorRow(); r == nil || r.num != 4 {
		t.Fatalf("cursor on %+v, want the newest (4)", r)
	}
	p.Update(c, keyMsg("k"))
	p.Update(c, keyMsg("k"))
	more(t, m)
	nextFrame(t, c, m)
	p.Refresh(c)
	if len(p.rows) <= 5 {
		t.Fatalf("no new packets decoded: %d rows", len(p.rows))
	}
	if r := p.cursorRow(); r.num != 2 {
		t.Errorf("cursor moved to packet %d with new traffic, want it to stay on 2", r.num)
	}
	p.Update(c, keyMsg("G"))
	if r := p.cursorRow(); r.num != uint64(len(p.rows)-1) || !p.follow {
		t.Errorf("G: cursor on %d, follow %v; want the newest %d", r.num, p.follow, len(p.rows)-1)
	}
}

// more makes new traffic: a second connection.
func more(t *testing.T, m *Model) {
	t.Helper()
	cli, _ := m.ctx.K.NewProcess("more")
	c, err := cli.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("more"))
}

// TestPacketsKeepUpWithTheFeed: rows are decoded once; when the feed
// drops its oldest records the pane forgets the same ones and keeps the
// cursor on its packet, and relative numbers keep their bases.
func TestPacketsKeepUpWithTheFeed(t *testing.T) {
	m, _ := packetKernel(t, 1)
	c := paneContext(t, m)
	all := c.Frame.Packets
	p := newPacketsPane()
	p.SetSize(200, 20)
	c.Frame = &Frame{Snap: c.Frame.Snap, Packets: all[:3], PacketTotal: 3}
	p.Refresh(c)
	p.Update(c, keyMsg("k")) // on packet 1, not following
	// The feed now holds packets 1..4 of 5 (packet 0 was dropped).
	c.Frame = &Frame{Snap: c.Frame.Snap, Packets: all[1:], PacketTotal: 5}
	p.Refresh(c)
	if len(p.rows) != 4 || p.rows[0].num != 1 || p.rows[3].num != 4 {
		t.Fatalf("rows %d from %d, want packets 1..4", len(p.rows), p.rows[0].num)
	}
	if r := p.cursorRow(); r.num != 1 {
		t.Errorf("cursor on packet %d, want 1", r.num)
	}
	if !strings.Contains(p.rows[2].rel, "Flags [P.], seq 1:6, ack 1,") {
		t.Errorf("relative numbers lost their base: %q", p.rows[2].rel)
	}
}

// TestUDPAndICMPLines: a datagram to a port nobody listens on is "UDP,
// length N", and the ICMP port unreachable that answers it names the
// port, as tcpdump prints them.
func TestUDPAndICMPLines(t *testing.T) {
	k, err := stack.New(stack.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	t.Cleanup(k.Stop)
	m := newTestModel(t, k)
	pr, _ := k.NewProcess("udp")
	pc, err := pr.ListenUDP(netip.MustParseAddrPort("127.0.0.1:5000"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.WriteTo([]byte("ping!"), net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:9"))); err != nil {
		t.Fatal(err)
	}
	c := paneContext(t, m)
	p := newPacketsPane()
	p.SetSize(200, 20)
	p.Refresh(c)
	lines := packetLines(p.View(c))
	wants := []string{
		"IP 127.0.0.1.5000 > 127.0.0.1.9: UDP, length 5",
		"IP 127.0.0.1 > 127.0.0.1: ICMP 127.0.0.1 udp port 9 unreachable, length 41",
	}
	if len(lines) != 2 {
		t.Fatalf("rows:\n%s", strings.Join(lines, "\n"))
	}
	for i, w := range wants {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("row %d %q, want it to end with %q", i, lines[i], w)
		}
	}
}

// TestTcpdumpFlagsOrder: flags in tcpdump's order, "." for ACK in its
// place.
func TestTcpdumpFlagsOrder(t *testing.T) {
	for f, want := range map[uint8]string{
		header.TCP_FLAG_SYN: "S", header.TCP_FLAG_SYN | header.TCP_FLAG_ACK: "S.", header.TCP_FLAG_ACK: ".",
		header.TCP_FLAG_FIN | header.TCP_FLAG_PSH | header.TCP_FLAG_ACK: "FP.", header.TCP_FLAG_RST: "R",
		header.TCP_FLAG_SYN | header.TCP_FLAG_ECE | header.TCP_FLAG_CWR: "SEW", 0: "none",
		header.TCP_FLAG_SYN | header.TCP_FLAG_ACK | header.TCP_FLAG_ECE: "S.E",
	} {
		if got := tcpdumpFlags(f); got != want {
			t.Errorf("flags %#x: %q, want %q", f, got, want)
		}
	}
}

// TestWrapWords: the detail wraps at spaces and marks a cut.
func TestWrapWords(t *testing.T) {
	for _, tc := range []struct {
		s    string
		w, n int
		want []string
	}{
		{"abc def ghi", 7, 2, []string{"abc def", "ghi"}},
		{"abc def ghi", 5, 2, []string{"abc", "def …"}},
		{"abcdefgh", 3, 3, []string{"abc", "def", "gh"}},
		{"short", 10, 2, []string{"short"}},
	} {
		if got := wrapWords(tc.s, tc.w, tc.n); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrapWords(%q, %d, %d) = %q, want %q", tc.s, tc.w, tc.n, got, tc.want)
		}
	}
}

// TestPacketsPaneDecodesAtMostAFrameful: a frame that brings more packets
// than pktPerFrame has only the newest decoded; the rest are counted as
// skipped in the title, and the count since the start stays exact.
func TestPacketsPaneDecodesAtMostAFrameful(t *testing.T) {
	recs := make([]stack.PacketRecord, 1000)
	for i := range recs {
		recs[i] = stack.PacketRecord{TimeNs: int64(i), Dir: stack.PacketOut, Dev: "lo"}
	}
	p := newPacketsPane()
	p.SetSize(100, 20)
	c := &Context{Styles: NewStyles(true), Keys: DefaultKeys(), Frame: &Frame{Packets: recs, PacketTotal: 1000}}
	p.Refresh(c)
	if len(p.rows) != pktPerFrame || p.rows[0].num != 1000-pktPerFrame {
		t.Fatalf("%d rows from #%d, want %d from #%d", len(p.rows), p.rows[0].num, pktPerFrame, 1000-pktPerFrame)
	}
	if title := p.Title(c); !strings.Contains(title, fmt.Sprintf("%d skipped while busy", 1000-pktPerFrame)) ||
		!strings.Contains(title, "of 1000 since start") {
		t.Errorf("title %q", title)
	}
}
