package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/stack"
)

// socketsPane is an ss -tanemi-like table of every socket: who holds it,
// its state, its queues (with LISTEN's meaning: Recv-Q is the accept
// queue, Send-Q its limit), addresses, memory and TCP's cwnd, RTO and RTT.
// The cursor selects a socket for the other panes.
type socketsPane struct {
	list
	rows   []sockRow
	sortBy int
	owner  map[string]string
}

// sockRow is one socket. Its text is made only when needed: for every
// row when a filter or sort needs it, otherwise for the visible rows
// only, so a frame of 10,000 sockets costs little.
type sockRow struct {
	sk   string
	s    *stack.SockSnap
	cols []string
	key  []string // sort keys, per column
}

// text fills in the row's columns.
func (p *socketsPane) text(r *sockRow) {
	if r.cols == nil {
		r.cols, r.key = sockColumnsOf(r.s, p.owner)
	}
}

// The skmem column reads as ss -m's skmem:(r,rb,t,tb,...,w): r is
// sk_rmem_alloc, rb sk_rcvbuf, t sk_wmem_alloc (bytes of sent skbs a
// device or the peer's receive path still holds), tb sk_sndbuf and w
// sk_wmem_queued (the write and retransmit queues).
var sockColumns = []string{"Proc/fd", "Proto", "State", "Recv-Q", "Send-Q", "Local", "Peer", "skmem r/rb t/tb w", "cwnd", "rto", "rtt"}
var sockWidths = []int{16, 5, 11, 7, 7, 21, 21, 34, 5, 7, 7}

func newSocketsPane() *socketsPane { return &socketsPane{} }

func (p *socketsPane) Name() string { return "sockets" }

func (p *socketsPane) Title(c *Context) string {
	t := fmt.Sprintf("sockets (%d)", len(p.rows))
	if p.sortBy > 0 {
		t += " by " + sockColumns[p.sortBy]
	}
	return t
}

func (p *socketsPane) Keys() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort by the next column")),
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show its queues"))}
}

func (p *socketsPane) SetFilter(text string) {
	p.filter = text
	p.dirty = true
}

// Refresh rebuilds the rows from the snapshot: one per sock, with the
// process and fd that hold it, sorted and filtered.
func (p *socketsPane) Refresh(c *Context) {
	p.dirty = false
	f := c.Frame
	if f == nil || f.Snap == nil {
		return
	}
	p.owner = map[string]string{}
	for _, pr := range f.Snap.Processes {
		for _, fd := range pr.Fds {
			if fd.Sk != "" {
				p.owner[fd.Sk] = fmt.Sprintf("%d/%s:%d", pr.Pid, pr.Comm, fd.Fd)
			}
		}
	}
	p.rows = p.rows[:0]
	full := p.filter != "" || p.sortBy > 0
	for i := range f.Snap.Socks {
		r := sockRow{sk: f.Snap.Socks[i].Sk, s: &f.Snap.Socks[i]}
		if full {
			p.text(&r)
			if p.filter != "" && !strings.Contains(strings.Join(r.cols, " "), p.filter) {
				continue
			}
		}
		p.rows = append(p.rows, r)
	}
	if p.sortBy > 0 {
		col := p.sortBy
		slices.SortStableFunc(p.rows, func(a, b sockRow) int { return cmp.Compare(a.key[col], b.key[col]) })
	}
	p.n = len(p.rows)
	p.clamp()
	if c.Sel.Sock == "" && p.n > 0 {
		c.Sel.Sock = p.rows[p.cursor].sk
	} else {
		// Keep the cursor on the selected socket as rows move.
		for i, r := range p.rows {
			if r.sk == c.Sel.Sock {
				p.cursor = i
				break
			}
		}
	}
	p.clamp()
}

// sockColumnsOf renders one sock as ss would, and its sort keys.
func sockColumnsOf(s *stack.SockSnap, owner map[string]string) ([]string, []string) {
	local := fmt.Sprintf("%s:%d", s.SockCommon.SkcRcvSaddr, s.SockCommon.SkcNum)
	peer := fmt.Sprintf("%s:%d", s.SockCommon.SkcDaddr, s.SockCommon.SkcDport)
	if s.SockCommon.SkcDport == 0 {
		peer = "*:*"
	}
	if s.SockCommon.SkcRcvSaddr == "0.0.0.0" {
		local = fmt.Sprintf("*:%d", s.SockCommon.SkcNum)
	}
	var recvq, sendq int64
	state := s.SockCommon.SkcState
	cwnd, rto, rtt := "", "", ""
	switch {
	case state == "LISTEN":
		recvq, sendq = int64(s.SkAckBacklog), int64(s.SkMaxAckBacklog)
	case s.Tcp != nil:
		recvq = int64(s.Tcp.RcvNxt - s.Tcp.CopiedSeq)
		sendq = int64(s.Tcp.WriteSeq - s.Tcp.SndUna)
	default:
		recvq = int64(s.SkRmemAlloc)
		sendq = int64(s.SkWmemAlloc) - 1
	}
	if s.Tcp != nil && state != "LISTEN" {
		cwnd = fmt.Sprint(s.Tcp.SndCwnd)
		if s.Icsk != nil {
			rto = fmtMs(s.Icsk.IcskRtoNs)
		}
		if s.Tcp.SrttUs != 0 {
			rtt = fmtMs(int64(s.Tcp.SrttUs>>3) * 1000)
		}
	}
	who := owner[s.Sk]
	if who == "" {
		who = "-" // an orphan (closed, still finishing) or a child not yet accepted
	}
	// t is sk_wmem_alloc_get: the count less the reference the sock holds.
	skmem := fmt.Sprintf("%d/%d %d/%d %d", s.SkRmemAlloc, s.SkRcvbuf, max(s.SkWmemAlloc-1, 0), s.SkSndbuf, s.SkWmemQueued)
	cols := []string{who, s.Proto, ssState(state, s.Proto), fmt.Sprint(max(recvq, 0)), fmt.Sprint(max(sendq, 0)), local, peer, skmem, cwnd, rto, rtt}
	keys := slices.Clone(cols)
	for _, i := range []int{3, 4, 8} {
		keys[i] = fmt.Sprintf("%012s", cols[i])
	}
	return cols, keys
}

// ssState is the state as ss prints it: ESTAB, SYN-SENT, TIME-WAIT, and
// UNCONN for a datagram socket that is not connected.
func ssState(state, proto string) string {
	if proto != "TCP" {
		if state == "ESTABLISHED" {
			return "ESTAB"
		}
		return "UNCONN"
	}
	switch state {
	case "ESTABLISHED":
		return "ESTAB"
	case "FIN_WAIT1":
		return "FIN-WAIT-1"
	case "FIN_WAIT2":
		return "FIN-WAIT-2"
	}
	return strings.ReplaceAll(state, "_", "-")
}

// fmtMs renders nanoseconds as milliseconds, as ss prints rto and rtt.
func fmtMs(ns int64) string {
	if ns%1e6 == 0 {
		return fmt.Sprintf("%dms", ns/1e6)
	}
	return fmt.Sprintf("%.1fms", float64(ns)/1e6)
}

func (p *socketsPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if key.Matches(km, p.Keys()[0]) {
		p.sortBy = (p.sortBy + 1) % len(sockColumns)
		p.Refresh(c)
		return nil
	}
	if p.move(c.Keys, km) && p.cursor < len(p.rows) {
		c.Sel.Sock = p.rows[p.cursor].sk
		c.Sel.Skb = ""
	}
	return nil
}

func (p *socketsPane) View(c *Context) string {
	s := c.Styles
	var b strings.Builder
	hdr := make([]string, len(sockColumns))
	for i, h := range sockColumns {
		hdr[i] = pad(h, sockWidths[i])
	}
	b.WriteString(s.Header.Render(fit("  "+strings.Join(hdr, " "), p.w)))
	if len(p.rows) == 0 {
		b.WriteString("\n" + s.Dim.Render(" no sockets"+filterNote(p.filter)))
		return b.String()
	}
	first, last := p.window(p.h - 1)
	for i := first; i < last; i++ {
		r := &p.rows[i]
		p.text(r)
		cols := make([]string, len(r.cols))
		for j, v := range r.cols {
			cols[j] = pad(v, sockWidths[j])
		}
		line := fit(cursorMark(i == p.cursor)+strings.Join(cols, " "), p.w)
		if i == p.cursor {
			line = s.Selected.Render(line)
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}

// pad left-aligns s in w cells (cut with … if longer).
func pad(s string, w int) string {
	if len(s) > w {
		if w <= 1 {
			return s[:w]
		}
		return s[:w-1] + "…"
	}
	return s + strings.Repeat(" ", w-len(s))
}

func filterNote(f string) string {
	if f == "" {
		return ""
	}
	return " matching /" + f
}
