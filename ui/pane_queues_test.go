package ui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// childKeys select the server's child socket (the third row of the
// sockets pane, its receive queue holding "hello"), focus the queues pane
// and select the skb under its cursor.
var childKeys = []any{"down", "down", "2", "enter"}

// snapOf takes a snapshot of k.
func snapOf(t *testing.T, k *stack.Kernel) *stack.Snapshot {
	t.Helper()
	s, err := k.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// childOf finds the server's child: the ESTABLISHED sock on port 8080.
func childOf(t *testing.T, s *stack.Snapshot) *stack.SockSnap {
	t.Helper()
	for i := range s.Socks {
		if sk := &s.Socks[i]; sk.SockCommon.SkcNum == 8080 && sk.SockCommon.SkcState == "ESTABLISHED" {
			return sk
		}
	}
	t.Fatal("no child socket on :8080")
	return nil
}

// TestQueuesPaneGolden: the child's queues, zoomed, with its one skb
// selected.
func TestQueuesPaneGolden(t *testing.T) {
	k, _, _ := testKernel(t)
	screen := runKeys(t, newTestModel(t, k), append(childKeys, "z")...)
	requireGolden(t, screen)
}

// TestQueuesListenerGolden: the listener's SYN queue and accept queue,
// zoomed.
func TestQueuesListenerGolden(t *testing.T) {
	k, _, _ := testKernel(t)
	screen := runKeys(t, newTestModel(t, k), "2", "z")
	requireGolden(t, screen)
}

// TestQueuesListenerShowsAcceptQueue: the listener (selected first) shows
// one child waiting for accept() of a limit of 16, and its empty SYN
// queue; enter on the child makes it the selected socket.
func TestQueuesListenerShowsAcceptQueue(t *testing.T) {
	k, _, _ := testKernel(t)
	child := childOf(t, snapOf(t, k))
	m := newTestModel(t, k)
	screen := runKeys(t, m, "2", "z")
	for _, want := range []string{"2 queues: 127.0.0.1:8080 LISTEN", "SYN queue qlen 0 / 16", "accept queue 1 / 16 (sk_ack_backlog / sk_max_ack_backlog)",
		"> req 0x", "-> sk " + child.Sk + " ESTABLISHED"} {
		if !strings.Contains(screen, want) {
			t.Errorf("queues pane lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "FULL") {
		t.Errorf("an accept queue of 1 / 16 is shown full:\n%s", screen)
	}
	// runKeys waits for frames counted from a fresh model: use another.
	m = newTestModel(t, k)
	screen = runKeys(t, m, "2", "z", "enter")
	if m.ctx.Sel.Sock != child.Sk {
		t.Errorf("enter on the child selected %q, want %s", m.ctx.Sel.Sock, child.Sk)
	}
	if !strings.Contains(screen, "queues: 127.0.0.1:8080 ESTABLISHED") || !strings.Contains(screen, "sk_receive_queue qlen 1") {
		t.Errorf("after enter the queues pane does not show the child:\n%s", screen)
	}
}

// TestQueuesSelectSkbDrivesSkbPane: selecting the child's queued skb sets
// Sel.Skb (and clears a selected packet), and the skb pane shows it: len
// 5, "hello" in the hex dump.
func TestQueuesSelectSkbDrivesSkbPane(t *testing.T) {
	k, _, _ := testKernel(t)
	child := childOf(t, snapOf(t, k))
	m := newTestModel(t, k)
	m.ctx.Sel.Packet = &stack.PacketRecord{Dir: stack.PacketOut}
	screen := runKeys(t, m, childKeys...)
	want := child.SkReceiveQueue.Skbs[0]
	if m.ctx.Sel.Skb != want || m.ctx.Sel.Packet != nil {
		t.Fatalf("Sel.Skb %q Packet %v, want %s and no packet", m.ctx.Sel.Skb, m.ctx.Sel.Packet, want)
	}
	for _, w := range []string{"> " + want + "  len 5", "seq 1..6", "4 skb " + want + " (queued)", "len 5  data_len 0"} {
		if !strings.Contains(screen, w) {
			t.Errorf("screen lacks %q:\n%s", w, screen)
		}
	}
	screen = runKeys(t, newTestModel(t, k), append(childKeys, "4", "z")...)
	for _, w := range []string{"0000  68 65 6c 6c 6f", "hello", "^data", "behind data (+", "TCP at transport_header"} {
		if !strings.Contains(screen, w) {
			t.Errorf("zoomed skb pane lacks %q:\n%s", w, screen)
		}
	}
}

// fakeListener is a snapshot with one listener whose SYN queue holds
// synq request socks and whose accept queue holds acc children, at t=5s.
func fakeListener(synq, acc, backlog uint32, syncookies string) *Context {
	now := int64(5e9)
	sk := stack.SockSnap{Sk: "0xffff888004008000", Proto: "TCP", SkMaxAckBacklog: backlog, SkAckBacklog: acc,
		SockCommon: stack.SockCommonSnap{SkcState: "LISTEN", SkcRcvSaddr: "10.0.0.2", SkcNum: 80},
		Icsk:       &stack.IcskSnap{}, Tcp: &stack.TcpSnap{}}
	aq := &sk.Icsk.AcceptQueue
	aq.Qlen = synq
	for i := range synq {
		aq.SynQueue = append(aq.SynQueue, stack.ReqSockSnap{Req: fmt.Sprintf("0xffff888004100%03x", i*0x100), State: "NEW_SYN_RECV",
			Peer: fmt.Sprintf("10.0.0.1:%d", 40000+i), NumRetrans: 1, NumTimeout: 1, SkcNode: "ehash[17]", ExpiresNs: now + 1500e6})
	}
	for i := range acc {
		aq.AcceptQueue = append(aq.AcceptQueue, stack.ReqSockSnap{Req: fmt.Sprintf("0xffff888004200%03x", i*0x100), State: "NEW_SYN_RECV",
			Peer: fmt.Sprintf("10.0.0.1:%d", 50000+i), Child: fmt.Sprintf("0xffff888004300%03x", i*0x100)})
	}
	snap := &stack.Snapshot{TimeNs: now, Socks: []stack.SockSnap{sk}, Sysctls: map[string]string{"net.ipv4.tcp_syncookies": syncookies}}
	return &Context{Styles: NewStyles(true), Keys: DefaultKeys(), Frame: &Frame{Snap: snap}, Sel: Selection{Sock: sk.Sk}}
}

// render refreshes a pane and returns its view as plain text.
func render(p Pane, c *Context, w, h int) string {
	p.SetSize(w, h)
	p.Refresh(c)
	return ansi.Strip(p.View(c))
}

// TestQueuesSynQueue: request socks show their peer, NEW_SYN_RECV,
// num_retrans/num_timeout, when the SYN-ACK timer fires relative to the
// snapshot, and their ehash bucket; the SYN queue is full only above
// sk_max_ack_backlog, and then SYN cookies answer (or SYNs are dropped).
func TestQueuesSynQueue(t *testing.T) {
	c := fakeListener(2, 0, 2, "1")
	v := render(newQueuesPane(), c, 200, 20)
	for _, want := range []string{"SYN queue qlen 2 / 2", "10.0.0.1:40000", "10.0.0.1:40001", "NEW_SYN_RECV", "num_retrans 1 num_timeout 1",
		"SYN-ACK rtx in 1.500s", "ehash[17]", "accept queue 0 / 2", "no child waits for accept()"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "FULL") {
		t.Errorf("qlen 2 of 2 is not full (the kernel checks qlen > max):\n%s", v)
	}
	v = render(newQueuesPane(), fakeListener(3, 3, 2, "1"), 200, 20)
	for _, want := range []string{"SYN queue qlen 3 / 2", "FULL: new SYNs answered with SYN cookies", "accept queue 3 / 2", "FULL: final ACKs dropped"} {
		if !strings.Contains(v, want) {
			t.Errorf("full queues: view lacks %q:\n%s", want, v)
		}
	}
	v = render(newQueuesPane(), fakeListener(3, 0, 2, "0"), 200, 20)
	if !strings.Contains(v, "FULL: new SYNs dropped (tcp_syncookies 0)") {
		t.Errorf("without syncookies a full SYN queue drops:\n%s", v)
	}
}

// fakeConn is a TCP connection with two skbs in its receive queue and one
// in its out-of-order queue (rcv_isn 1000), and one in tcp_rtx_queue
// (snd_isn 5000).
func fakeConn() *Context {
	sk := stack.SockSnap{Sk: "0xffff888004009000", Proto: "TCP",
		SockCommon: stack.SockCommonSnap{SkcState: "ESTABLISHED", SkcRcvSaddr: "10.0.0.2", SkcNum: 80, SkcDaddr: "10.0.0.1", SkcDport: 40000},
		Icsk:       &stack.IcskSnap{}, Tcp: &stack.TcpSnap{RcvIsn: 1000, SndIsn: 5000}}
	sk.SkReceiveQueue = stack.QueueSnap{Qlen: 2, Skbs: []string{"0xffff888004a00000", "0xffff888004a00100"},
		Sums: []stack.SkbSum{{Len: 100, Seq: 1001, EndSeq: 1101}, {Len: 50, Seq: 1101, EndSeq: 1151}}}
	sk.Tcp.RtxQueue = stack.QueueSnap{Qlen: 1, Skbs: []string{"0xffff888004b00000"}, Sums: []stack.SkbSum{{Len: 10, Seq: 5001, EndSeq: 5011}}}
	sk.Tcp.OfoQueue = stack.QueueSnap{Qlen: 1, Skbs: []string{"0xffff888004c00000"}, Sums: []stack.SkbSum{{Len: 7, Seq: 1251, EndSeq: 1258}}}
	snap := &stack.Snapshot{Socks: []stack.SockSnap{sk}}
	return &Context{Styles: NewStyles(true), Keys: DefaultKeys(), Frame: &Frame{Snap: snap}, Sel: Selection{Sock: sk.Sk}}
}

// TestQueuesCursorMovesAcrossQueues: up and down move over the skbs of
// all queues, skipping the headings, and each move selects the skb.
func TestQueuesCursorMovesAcrossQueues(t *testing.T) {
	c := fakeConn()
	p := newQueuesPane()
	v := render(p, c, 120, 30)
	for _, want := range []string{"0xffff888004a00000  len 100", "seq 1..101", "seq 101..151", "tcp_rtx_queue qlen 1", "seq 1..11", "out_of_order_queue qlen 1", "seq 251..258"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if c.Sel.Skb != "" {
		t.Errorf("the pane selected %s before a key", c.Sel.Skb)
	}
	down, up := keyMsg("down"), keyMsg("up")
	for i, step := range []struct {
		key  tea.KeyPressMsg
		want string
	}{{down, "0xffff888004a00100"}, {down, "0xffff888004b00000"}, {down, "0xffff888004c00000"}, {down, "0xffff888004c00000"},
		{up, "0xffff888004b00000"}, {up, "0xffff888004a00100"}, {up, "0xffff888004a00000"}, {up, "0xffff888004a00000"}} {
		p.Update(c, step.key)
		if c.Sel.Skb != step.want {
			t.Fatalf("step %d: Sel.Skb %s, want %s", i, c.Sel.Skb, step.want)
		}
		if v := ansi.Strip(p.View(c)); !strings.Contains(v, "> "+step.want) {
			t.Fatalf("step %d: the cursor is not on %s:\n%s", i, step.want, v)
		}
	}
	// The cursor stays on its skb when the queue ahead of it shrinks.
	p.Update(c, keyMsg("G"))
	c2 := fakeConn()
	q := &c2.Frame.Snap.Socks[0].SkReceiveQueue
	q.Qlen, q.Skbs, q.Sums = 1, q.Skbs[1:], q.Sums[1:]
	p.Refresh(c2)
	if v := ansi.Strip(p.View(c2)); !strings.Contains(v, "> 0xffff888004c00000") {
		t.Errorf("after the receive queue shrank the cursor left its skb:\n%s", v)
	}
}

// TestQueuesNoSocket: with nothing selected the pane says how to select.
func TestQueuesNoSocket(t *testing.T) {
	c := fakeConn()
	c.Sel.Sock = ""
	if v := render(newQueuesPane(), c, 100, 10); !strings.Contains(v, "no socket selected") {
		t.Errorf("view: %s", v)
	}
	c.Sel.Sock = "0xffff888000000000"
	if v := render(newQueuesPane(), c, 100, 10); !strings.Contains(v, "is gone") {
		t.Errorf("view of a freed socket: %s", v)
	}
}

// TestQueuesUDPReceiveQueue: a UDP socket with two datagrams queued shows
// its receive queue with their lengths and no sequence numbers.
func TestQueuesUDPReceiveQueue(t *testing.T) {
	k, srv, _ := testKernel(t)
	fd, err := srv.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, sockets.IPPROTO_UDP)
	if err != nil {
		t.Fatal(err)
	}
	to := sockets.SockaddrIn{Family: sockets.AF_INET, Addr: netip.MustParseAddr("127.0.0.1"), Port: 5353}
	if err := srv.Bind(fd, to); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"one", "three"} {
		if _, err := srv.Sendto(fd, []byte(d), 0, &to); err != nil {
			t.Fatal(err)
		}
	}
	var udp *stack.SockSnap
	snap := snapOf(t, k)
	for i := range snap.Socks {
		if snap.Socks[i].Proto == "UDP" {
			udp = &snap.Socks[i]
		}
	}
	if udp == nil {
		t.Fatal("no UDP sock")
	}
	m := newTestModel(t, k)
	m.ctx.Sel.Sock = udp.Sk
	screen := runKeys(t, m, "2", "z")
	for _, want := range []string{"queues: 127.0.0.1:5353 CLOSE", "sk_receive_queue qlen 2", udp.SkReceiveQueue.Skbs[0] + "  len 3", udp.SkReceiveQueue.Skbs[1] + "  len 5"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "seq ") || strings.Contains(screen, "tcp_rtx_queue") {
		t.Errorf("a UDP socket shows TCP's queues or sequence numbers:\n%s", screen)
	}
}
