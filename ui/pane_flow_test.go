package ui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/stack"
)

// flowRows are the ladder's rows (after the header) as plain text,
// without the cursor marker.
func flowRows(view string) []string {
	var rows []string
	for _, l := range strings.Split(ansi.Strip(view), "\n")[1:] {
		rows = append(rows, strings.TrimRight(l[2:], " "))
	}
	return rows
}

// sockEnds returns a sock's local and peer address:port from the
// snapshot.
func sockEnds(t *testing.T, c *Context, sk string) (string, string) {
	t.Helper()
	s := c.sockByAddr(sk)
	if s == nil {
		t.Fatalf("no sock %s", sk)
	}
	return fmt.Sprintf("%s:%d", s.SockCommon.SkcRcvSaddr, s.SockCommon.SkcNum), fmt.Sprintf("%s:%d", s.SockCommon.SkcDaddr, s.SockCommon.SkcDport)
}

// TestFlowPaneGolden: the client's connection selected in the sockets
// pane (j), the flow pane (8) draws the handshake, the write and its ACK
// as a ladder with the client on the left.
func TestFlowPaneGolden(t *testing.T) {
	m, sks := packetKernel(t, 1)
	screen := runKeys(t, m, "j", "8")
	if m.ctx.Sel.Sock != sks[0] {
		t.Fatalf("j in the sockets pane selected %s, want the client %s:\n%s", m.ctx.Sel.Sock, sks[0], screen)
	}
	local, peer := sockEnds(t, m.ctx, sks[0])
	for _, want := range []string{
		"8 flow: " + local + " <-> " + peer + " ESTABLISHED (5 segments)",
		" S  seq 0 win 65495 <mss 65495,sackOK,TS,wscale 7> ",
		" S. seq 0 ack 1 win 65483 <mss 65495,sackOK,TS,wscale 7> ",
		` P. 1:6(5) ack 1 win 512 <TS> "hello" `,
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("flow pane lacks %q:\n%s", want, screen)
		}
	}
	requireGolden(t, screen)
}

// TestFlowShowsExactlyTheSelectedConnection: with two connections to the
// same server, each ladder holds its own five segments in time order,
// arrows pointing from the sender: client -> server on the right, server
// -> client on the left.
func TestFlowShowsExactlyTheSelectedConnection(t *testing.T) {
	m, sks := packetKernel(t, 2)
	c := paneContext(t, m)
	for i, word := range []string{"hello", "world"} {
		c.Sel.Sock = sks[i]
		p := newFlowPane()
		p.SetSize(156, 40)
		p.Refresh(c)
		local, peer := sockEnds(t, c, sks[i])
		rows := flowRows(p.View(c))
		hdr := ansi.Strip(strings.Split(p.View(c), "\n")[0])
		if !strings.Contains(hdr, local) || !strings.Contains(hdr, peer) || strings.Index(hdr, local) > strings.Index(hdr, peer) {
			t.Errorf("connection %d: header %q, want %s left of %s", i, hdr, local, peer)
		}
		want := []struct {
			right bool
			label string
		}{
			{true, "S  seq 0 win 65495"},
			{false, "S. seq 0 ack 1 win 65483"},
			{true, ".  ack 1 win 512 <TS>"},
			{true, `P. 1:6(5) ack 1 win 512 <TS> "` + word + `"`},
			{false, ".  ack 6 win 512 <TS>"},
		}
		if len(rows) != len(want) || len(p.rows) != len(want) {
			t.Fatalf("connection %d: %d rows, want %d:\n%s", i, len(rows), len(want), strings.Join(rows, "\n"))
		}
		for j, w := range want {
			r := rows[j]
			lad := r[strings.Index(r, "|"):]
			if w.right && (!strings.HasPrefix(lad, "|-") || !strings.HasSuffix(lad, "->|")) {
				t.Errorf("connection %d row %d should point right (client to server): %q", i, j, r)
			}
			if !w.right && (!strings.HasPrefix(lad, "|<-") || !strings.HasSuffix(lad, "-|")) {
				t.Errorf("connection %d row %d should point left (server to client): %q", i, j, r)
			}
			if !strings.Contains(r, " "+w.label) {
				t.Errorf("connection %d row %d %q lacks %q", i, j, r, w.label)
			}
			if j > 0 && p.rows[j].num <= p.rows[j-1].num {
				t.Errorf("connection %d rows out of order: packet %d after %d", i, p.rows[j].num, p.rows[j-1].num)
			}
			d := decodePkt(&p.rows[j].rec)
			if s := d.srcAP().String(); s != local && s != peer {
				t.Errorf("connection %d row %d is from %s, not of %s <-> %s", i, j, s, local, peer)
			}
		}
	}
}

// TestFlowListenerShowsChildrenHandshakes: a listener's ladder holds the
// segments to and from its port, each with its peer named.
func TestFlowListenerShowsChildrenHandshakes(t *testing.T) {
	m, sks := packetKernel(t, 2)
	c := paneContext(t, m)
	var lst string
	for _, s := range c.Frame.Snap.Socks {
		if s.SockCommon.SkcState == "LISTEN" {
			lst = s.Sk
		}
	}
	c.Sel.Sock = lst
	p := newFlowPane()
	p.SetSize(156, 40)
	p.Refresh(c)
	view := ansi.Strip(p.View(c))
	if len(p.rows) != 10 {
		t.Fatalf("%d segments, want both connections' 10:\n%s", len(p.rows), view)
	}
	if !strings.Contains(strings.Split(view, "\n")[0], "peer") || !strings.Contains(view, "127.0.0.1:8080 (LISTEN)") {
		t.Errorf("listener header:\n%s", view)
	}
	for i, sk := range sks {
		local, _ := sockEnds(t, c, sk)
		if n := strings.Count(view, local+" "); n != 5 {
			t.Errorf("peer %d (%s) on %d rows, want 5:\n%s", i, local, n, view)
		}
	}
	rows := flowRows(view)
	if !strings.Contains(rows[0], "->|") || !strings.Contains(rows[0], " S  seq 0") || !strings.Contains(rows[1], "|<-") {
		t.Errorf("the first SYN goes to the listener and its SYN-ACK back:\n%s", view)
	}
}

// TestFlowSaysHowToSelect: with nothing selected, or a socket without
// traffic, the pane says how to get a ladder.
func TestFlowSaysHowToSelect(t *testing.T) {
	m, _ := packetKernel(t, 1)
	srv, _ := m.ctx.K.NewProcess("quiet")
	if _, err := srv.ListenTCP(netip.MustParseAddrPort("127.0.0.1:9090"), 4); err != nil {
		t.Fatal(err)
	}
	c := paneContext(t, m)
	p := newFlowPane()
	p.SetSize(156, 20)
	p.Refresh(c)
	if v := ansi.Strip(p.View(c)); !strings.Contains(v, "No connection is selected.") || !strings.Contains(v, "Select a connection in the sockets pane") {
		t.Errorf("without a selection:\n%s", v)
	}
	for _, s := range c.Frame.Snap.Socks {
		if s.SockCommon.SkcNum == 9090 {
			c.Sel.Sock = s.Sk
		}
	}
	p.Refresh(c)
	if v := ansi.Strip(p.View(c)); !strings.Contains(v, "No packets of 127.0.0.1:9090 LISTEN among the 5 newest packets") {
		t.Errorf("a quiet listener:\n%s", v)
	}
}

// TestFlowScrolls: up/down/g/G move through the segments; the cursor
// stays put as segments arrive unless G made it follow; enter opens the
// segment's sk_buff.
func TestFlowScrolls(t *testing.T) {
	m, sks := packetKernel(t, 1)
	c := paneContext(t, m)
	c.Sel.Sock = sks[0]
	p := newFlowPane()
	p.SetSize(156, 4) // a header and three rows
	p.Refresh(c)
	if p.cursor != 4 || !p.follow {
		t.Fatalf("cursor %d follow %v, want the newest (4)", p.cursor, p.follow)
	}
	p.Update(c, keyMsg("g"))
	rows := flowRows(p.View(c))
	if len(rows) != 3 || !strings.Contains(rows[0], " S  seq 0") {
		t.Errorf("after g the first rows show:\n%s", strings.Join(rows, "\n"))
	}
	p.Update(c, keyMsg("j"))
	p.Update(c, keyMsg("enter"))
	if c.Sel.Packet == nil || decodePkt(c.Sel.Packet).tcp.Flags() != 0x12 {
		t.Errorf("enter on the second row did not open the SYN-ACK")
	}
	p.Update(c, keyMsg("G"))
	if p.cursor != 4 || !p.follow {
		t.Errorf("G: cursor %d follow %v", p.cursor, p.follow)
	}
	p.Update(c, keyMsg("up"))
	if p.cursor != 3 || p.follow {
		t.Errorf("up: cursor %d follow %v", p.cursor, p.follow)
	}
}

// TestFlowCursorStaysAsSegmentsArrive: on a listener's ladder, new
// handshakes add rows below; a cursor the user moved stays on its
// segment, a following one goes to the newest.
func TestFlowCursorStaysAsSegmentsArrive(t *testing.T) {
	m, _ := packetKernel(t, 1)
	c := paneContext(t, m)
	for _, s := range c.Frame.Snap.Socks {
		if s.SockCommon.SkcState == "LISTEN" {
			c.Sel.Sock = s.Sk
		}
	}
	p := newFlowPane()
	p.SetSize(156, 40)
	p.Refresh(c)
	p.Update(c, keyMsg("k"))
	at := p.rows[p.cursor].num
	more(t, m)
	nextFrame(t, c, m)
	p.Refresh(c)
	if len(p.rows) <= 5 {
		t.Fatalf("the new connection added no rows: %d", len(p.rows))
	}
	if p.rows[p.cursor].num != at {
		t.Errorf("cursor moved from packet %d to %d", at, p.rows[p.cursor].num)
	}
	p.Update(c, keyMsg("G"))
	more(t, m)
	nextFrame(t, c, m)
	p.Refresh(c)
	if p.cursor != len(p.rows)-1 {
		t.Errorf("following: cursor %d of %d rows", p.cursor, len(p.rows))
	}
}

// TestFlowListenerNumbersEachConnection: handshakes that interleave on a
// listener's port are each numbered from their own ISNs (the listener's
// end is a different end in each connection).
func TestFlowListenerNumbersEachConnection(t *testing.T) {
	m, _ := packetKernel(t, 2)
	c := paneContext(t, m)
	all := c.Frame.Packets
	// A's SYN and SYN-ACK, B's, then the rest of A, the rest of B.
	order := []int{0, 1, 5, 6, 2, 3, 4, 7, 8, 9}
	var mixed []stack.PacketRecord
	for _, i := range order {
		mixed = append(mixed, all[i])
	}
	c.Frame = &Frame{Snap: c.Frame.Snap, Packets: mixed, PacketTotal: uint64(len(mixed))}
	for _, s := range c.Frame.Snap.Socks {
		if s.SockCommon.SkcState == "LISTEN" {
			c.Sel.Sock = s.Sk
		}
	}
	p := newFlowPane()
	p.SetSize(156, 40)
	p.Refresh(c)
	want := []string{"S  seq 0 ", "S. seq 0 ack 1 ", "S  seq 0 ", "S. seq 0 ack 1 ", ".  ack 1 ", "P. 1:6(5) ack 1 ", ".  ack 6 ", ".  ack 1 ", "P. 1:6(5) ack 1 ", ".  ack 6 "}
	for i, w := range want {
		if i >= len(p.rows) || !strings.HasPrefix(p.rows[i].label, w) {
			t.Errorf("row %d: %+v, want it to start with %q", i, p.rows[min(i, len(p.rows)-1)].label, w)
		}
	}
}
