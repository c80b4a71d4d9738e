package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/stack"
)

// queuesPane shows the selected socket's queues. For a listener: the SYN
// queue (its request socks, NEW_SYN_RECV in ehash, with their SYN-ACK
// retransmits and timer) and the accept queue (children waiting for
// accept()), each with its limit. For a connection: sk_receive_queue,
// sk_write_queue, tcp_rtx_queue, out_of_order_queue and sk_backlog, each
// skb listed by address with its len and seq..end_seq. The cursor moves
// over the entries; on an skb it selects it for the skb pane.
type queuesPane struct {
	list
	sk     *stack.SockSnap // the socket shown, from the current frame
	sock   string          // its address (c.Sel.Sock when built)
	title  string
	now    int64 // the snapshot's clock, for timers
	qs     []queueRef
	lines  []qline
	curKey string // the entry under the cursor, kept across frames
	// childState is the state of each child in the accept queue.
	childState map[string]string
}

// queueRef is one sk_buff_head of the socket with its name and the ISN
// its sequence numbers are shown relative to.
type queueRef struct {
	name  string
	q     *stack.QueueSnap
	tcp   bool
	isn   uint32
	isnOf string // "rcv_isn" or "snd_isn"
}

// Kinds of line: text (a heading or a note) or a selectable entry.
const (
	qlText  = iota
	qlSkb   // an skb of qs[q], index i
	qlSyn   // a request sock of the SYN queue, index i
	qlChild // a request sock of the accept queue, index i
)

// qline is one line of the pane. Entries are formatted only when visible
// (a queue may hold 100,000 skbs); headings are formatted in Refresh.
type qline struct {
	text string
	kind uint8
	q    uint8
	i    int32
}

func newQueuesPane() *queuesPane { return &queuesPane{} }

func (p *queuesPane) Name() string { return "queues" }

func (p *queuesPane) Title(c *Context) string {
	if p.title == "" {
		return "queues"
	}
	return p.title
}

var queuesSelectKey = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show the skb (or the accepted child's queues)"))

func (p *queuesPane) Keys() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "move over the skbs and request socks; an skb shows in the skb pane")),
		queuesSelectKey,
	}
}

// Refresh lays out the selected socket's queues as lines: headings in
// full, entries as references into the snapshot.
func (p *queuesPane) Refresh(c *Context) {
	p.lines = p.lines[:0]
	p.qs = p.qs[:0]
	p.sk, p.title = nil, ""
	if c.Sel.Sock != p.sock {
		p.sock, p.curKey, p.cursor, p.top = c.Sel.Sock, "", 0, 0
	}
	f := c.Frame
	if f == nil || f.Snap == nil {
		return
	}
	p.now = f.Snap.TimeNs
	if c.Sel.Sock == "" {
		p.text(c.Styles.Dim.Render(" no socket selected: pick one in the sockets pane (1, then ↑/↓)"))
		p.finish()
		return
	}
	sk := c.sockByAddr(c.Sel.Sock)
	if sk == nil {
		p.text(c.Styles.Warn.Render(" socket " + c.Sel.Sock + " is gone (closed and freed)"))
		p.finish()
		return
	}
	p.sk = sk
	local := fmt.Sprintf("%s:%d", sk.SockCommon.SkcRcvSaddr, sk.SockCommon.SkcNum)
	state := sk.SockCommon.SkcState
	p.title = "queues: " + local + " " + state
	if sk.SockCommon.SkcDport != 0 {
		p.title += fmt.Sprintf(" peer %s:%d", sk.SockCommon.SkcDaddr, sk.SockCommon.SkcDport)
	}
	prev := prevSock(f.Prev, sk.Sk)
	switch {
	case state == "LISTEN" && sk.Icsk != nil:
		p.listener(c, sk, prev)
	case sk.Tcp != nil:
		p.connection(c, sk, prev)
	default:
		p.datagram(c, sk, prev)
	}
	p.finish()
}

// prevSock finds a sock in the previous frame's snapshot.
func prevSock(s *stack.Snapshot, addr string) *stack.SockSnap {
	if s == nil {
		return nil
	}
	for i := range s.Socks {
		if s.Socks[i].Sk == addr {
			return &s.Socks[i]
		}
	}
	return nil
}

func (p *queuesPane) text(s string) { p.lines = append(p.lines, qline{text: s}) }

// delta marks a count that changed since the last frame: " (+1)".
func delta(c *Context, now, before int64, had bool) string {
	if !had || now == before {
		return ""
	}
	return " " + c.Styles.Changed.Render(fmt.Sprintf("(%+d)", now-before))
}

// listener lays out a LISTEN socket: SYN queue, then accept queue.
func (p *queuesPane) listener(c *Context, sk, prev *stack.SockSnap) {
	s := c.Styles
	aq := &sk.Icsk.AcceptQueue
	limit := sk.SkMaxAckBacklog
	var pq *stack.AcceptQueueSnap
	if prev != nil && prev.Icsk != nil {
		pq = &prev.Icsk.AcceptQueue
	}
	// The SYN queue: inet_csk_reqsk_queue_is_full is qlen > sk_max_ack_backlog.
	h := fmt.Sprintf(" %s qlen %d / %d (sk_max_ack_backlog)  young %d",
		s.Header.Render("SYN queue"), aq.Qlen, limit, aq.Young)
	if pq != nil {
		h += delta(c, int64(aq.Qlen), int64(pq.Qlen), true)
	}
	if aq.Qlen > limit {
		what := "new SYNs dropped (tcp_syncookies 0)"
		if c.Frame.Snap.Sysctls["net.ipv4.tcp_syncookies"] != "0" {
			what = "new SYNs answered with SYN cookies"
		}
		h += "  " + s.Warn.Render("FULL: "+what)
	}
	p.text(h)
	if len(aq.SynQueue) == 0 {
		p.text(s.Dim.Render("    (empty: no request_sock_TCP waits for its final ACK)"))
	}
	for i := range aq.SynQueue {
		p.lines = append(p.lines, qline{kind: qlSyn, i: int32(i)})
	}
	// The accept queue: sk_acceptq_is_full is sk_ack_backlog > sk_max_ack_backlog,
	// so it holds backlog+1 children.
	h = fmt.Sprintf(" %s %d / %d (sk_ack_backlog / sk_max_ack_backlog)", s.Header.Render("accept queue"), sk.SkAckBacklog, limit)
	if prev != nil {
		h += delta(c, int64(sk.SkAckBacklog), int64(prev.SkAckBacklog), true)
	}
	if sk.SkAckBacklog > limit {
		h += "  " + s.Warn.Render("FULL: final ACKs dropped until accept()")
	} else {
		h += s.Dim.Render(fmt.Sprintf("  full above %d", limit))
	}
	p.text(h)
	if len(aq.AcceptQueue) == 0 {
		p.text(s.Dim.Render("    (empty: no child waits for accept())"))
	}
	clear(p.childState)
	if len(aq.AcceptQueue) > 0 {
		if p.childState == nil {
			p.childState = map[string]string{}
		}
		for _, r := range aq.AcceptQueue {
			if r.Child != "" {
				p.childState[r.Child] = ""
			}
		}
		for i := range c.Frame.Snap.Socks {
			o := &c.Frame.Snap.Socks[i]
			if _, ok := p.childState[o.Sk]; ok {
				p.childState[o.Sk] = o.SockCommon.SkcState
			}
		}
	}
	for i := range aq.AcceptQueue {
		p.lines = append(p.lines, qline{kind: qlChild, i: int32(i)})
	}
}

// connection lays out a TCP sock that is not listening.
func (p *queuesPane) connection(c *Context, sk, prev *stack.SockSnap) {
	s := c.Styles
	t := sk.Tcp
	p.text(s.Dim.Render(fmt.Sprintf(" sk_rmem_alloc %d / sk_rcvbuf %d   sk_wmem_queued %d / sk_sndbuf %d   sk_drops %d   rcv_isn %d snd_isn %d",
		sk.SkRmemAlloc, sk.SkRcvbuf, sk.SkWmemQueued, sk.SkSndbuf, sk.SkDrops, t.RcvIsn, t.SndIsn)))
	var pr, pw, prtx, pofo *stack.QueueSnap
	if prev != nil {
		pr, pw = &prev.SkReceiveQueue, &prev.SkWriteQueue
		if prev.Tcp != nil {
			prtx, pofo = &prev.Tcp.RtxQueue, &prev.Tcp.OfoQueue
		}
	}
	p.queue(c, queueRef{name: "sk_receive_queue", q: &sk.SkReceiveQueue, tcp: true, isn: t.RcvIsn, isnOf: "rcv_isn"}, pr)
	p.queue(c, queueRef{name: "sk_write_queue", q: &sk.SkWriteQueue, tcp: true, isn: t.SndIsn, isnOf: "snd_isn"}, pw)
	p.queue(c, queueRef{name: "tcp_rtx_queue", q: &t.RtxQueue, tcp: true, isn: t.SndIsn, isnOf: "snd_isn"}, prtx)
	p.queue(c, queueRef{name: "out_of_order_queue", q: &t.OfoQueue, tcp: true, isn: t.RcvIsn, isnOf: "rcv_isn"}, pofo)
	h := fmt.Sprintf(" %s len %d bytes", s.Header.Render("sk_backlog"), sk.SkBacklogLen)
	if prev != nil {
		h += delta(c, int64(sk.SkBacklogLen), int64(prev.SkBacklogLen), true)
	}
	p.text(h + s.Dim.Render("  (segments that came while a process owned the socket lock)"))
}

// datagram lays out a UDP (or raw, ping) sock: its receive queue.
func (p *queuesPane) datagram(c *Context, sk, prev *stack.SockSnap) {
	p.text(c.Styles.Dim.Render(fmt.Sprintf(" sk_rmem_alloc %d / sk_rcvbuf %d   sk_drops %d", sk.SkRmemAlloc, sk.SkRcvbuf, sk.SkDrops)))
	var pr *stack.QueueSnap
	if prev != nil {
		pr = &prev.SkReceiveQueue
	}
	p.queue(c, queueRef{name: "sk_receive_queue", q: &sk.SkReceiveQueue}, pr)
	if sk.SkWriteQueue.Qlen > 0 {
		p.queue(c, queueRef{name: "sk_write_queue", q: &sk.SkWriteQueue}, nil)
	}
}

// queue adds a queue's heading and one entry per skb.
func (p *queuesPane) queue(c *Context, r queueRef, prev *stack.QueueSnap) {
	s := c.Styles
	h := fmt.Sprintf(" %s qlen %d", s.Header.Render(r.name), r.q.Qlen)
	if prev != nil {
		h += delta(c, int64(r.q.Qlen), int64(prev.Qlen), true)
	}
	if r.q.Addr != "" {
		h += s.Dim.Render("  " + r.q.Addr)
	}
	if r.tcp && r.q.Qlen > 0 {
		h += s.Dim.Render(fmt.Sprintf("  seq relative to %s", r.isnOf))
	}
	p.text(h)
	qi := uint8(len(p.qs))
	p.qs = append(p.qs, r)
	for i := range r.q.Skbs {
		p.lines = append(p.lines, qline{kind: qlSkb, q: qi, i: int32(i)})
	}
}

// entryKey names an entry so the cursor can stay on it across frames.
func (p *queuesPane) entryKey(l qline) string {
	switch l.kind {
	case qlSkb:
		return p.qs[l.q].q.Skbs[l.i]
	case qlSyn:
		return p.sk.Icsk.AcceptQueue.SynQueue[l.i].Req
	case qlChild:
		return p.sk.Icsk.AcceptQueue.AcceptQueue[l.i].Req
	}
	return ""
}

// finish puts the cursor back on the entry it was on, or on the nearest
// entry.
func (p *queuesPane) finish() {
	p.n = len(p.lines)
	if p.curKey != "" {
		for i, l := range p.lines {
			if l.kind != qlText && p.entryKey(l) == p.curKey {
				p.cursor = i
				return
			}
		}
	}
	p.clamp()
	p.snap(1)
	if p.cursor < p.n && p.lines[p.cursor].kind != qlText {
		p.curKey = p.entryKey(p.lines[p.cursor])
	}
}

// snap moves the cursor off text lines, in direction dir first.
func (p *queuesPane) snap(dir int) {
	for _, d := range []int{dir, -dir} {
		for i := p.cursor; i >= 0 && i < p.n; i += d {
			if p.lines[i].kind != qlText {
				p.cursor = i
				return
			}
		}
	}
}

// entries reports whether any line is selectable.
func (p *queuesPane) entries() bool {
	for _, l := range p.lines {
		if l.kind != qlText {
			return true
		}
	}
	return false
}

func (p *queuesPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok || !p.entries() {
		return nil
	}
	was := p.cursor
	if p.move(c.Keys, km) {
		dir := 1
		if p.cursor < was {
			dir = -1
		}
		p.snap(dir)
		p.choose(c, false)
		return nil
	}
	if key.Matches(km, queuesSelectKey) {
		p.choose(c, true)
	}
	return nil
}

// choose acts on the entry under the cursor: an skb becomes the selected
// skb; with enter, an accepted child becomes the selected socket.
func (p *queuesPane) choose(c *Context, open bool) {
	if p.cursor >= p.n {
		return
	}
	l := p.lines[p.cursor]
	if l.kind == qlText {
		return
	}
	p.curKey = p.entryKey(l)
	switch l.kind {
	case qlSkb:
		c.Sel.Skb = p.curKey
		c.Sel.Packet = nil
	case qlChild:
		if child := p.sk.Icsk.AcceptQueue.AcceptQueue[l.i].Child; open && child != "" {
			c.Sel.Sock, c.Sel.Skb = child, ""
		}
	}
}

func (p *queuesPane) View(c *Context) string {
	if len(p.lines) == 0 {
		return c.Styles.Dim.Render(" waiting for the first frame")
	}
	s := c.Styles
	var b strings.Builder
	first, last := p.window(p.h)
	// Show the headings above the window when the cursor stays in it.
	for first > 0 && p.lines[first-1].kind == qlText && p.cursor < last-1 {
		first, last = first-1, last-1
	}
	p.top = first
	for i := first; i < last; i++ {
		if i > first {
			b.WriteByte('\n')
		}
		l := p.lines[i]
		if l.kind == qlText {
			b.WriteString(fit(l.text, p.w))
			continue
		}
		on := i == p.cursor
		line := fit("  "+cursorMark(on)+p.entry(c, l), p.w)
		if on {
			line = s.Selected.Render(line)
		}
		b.WriteString(line)
	}
	return b.String()
}

// entry formats one entry (only visible ones are formatted).
func (p *queuesPane) entry(c *Context, l qline) string {
	switch l.kind {
	case qlSkb:
		r := p.qs[l.q]
		e := r.q.Skbs[l.i]
		if int(l.i) >= len(r.q.Sums) {
			return e + "  (beyond the first 256: enter shows it)"
		}
		sum := r.q.Sums[l.i]
		e += fmt.Sprintf("  len %-6d", sum.Len)
		if r.tcp {
			e += fmt.Sprintf("  seq %d..%d", sum.Seq-r.isn, sum.EndSeq-r.isn)
		}
		if sum.Sacked != "" {
			e += "  " + sum.Sacked // the scoreboard's tags (TCP_SKB_CB->sacked)
		}
		return e
	case qlSyn:
		r := p.sk.Icsk.AcceptQueue.SynQueue[l.i]
		timer := "rsk_timer not armed"
		if r.ExpiresNs != 0 {
			timer = "SYN-ACK rtx in " + fmtDur(r.ExpiresNs-p.now)
		}
		acked := ""
		if r.Acked {
			acked = "  acked (final ACK came, accept queue full)"
		}
		return fmt.Sprintf("req %s  %-21s %s  num_retrans %d num_timeout %d  %s  %s%s",
			r.Req, r.Peer, r.State, r.NumRetrans, r.NumTimeout, timer, r.SkcNode, acked)
	case qlChild:
		r := p.sk.Icsk.AcceptQueue.AcceptQueue[l.i]
		child := "child not made yet"
		if r.Child != "" {
			child = "sk " + r.Child
			if st := p.childState[r.Child]; st != "" {
				child += " " + st
			}
		}
		return fmt.Sprintf("req %s  %-21s -> %s", r.Req, r.Peer, child)
	}
	return ""
}

// fmtDur renders a duration in nanoseconds as seconds with milliseconds
// ("1.000s"), "due" when it has passed.
func fmtDur(ns int64) string {
	if ns < 0 {
		return "due"
	}
	return fmt.Sprintf("%d.%03ds", ns/1e9, ns/1e6%1000)
}
