package ui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/stack"
)

// packetsPane is a tcpdump -n-like list of the packets the devices
// carried, newest last: the kernel time, the device and direction ("lo >"
// leaving, "stk0 <" arriving), and the packet as tcpdump prints it. The
// list follows the newest packet until the cursor moves; enter opens the
// packet's sk_buff in the skb pane.
type packetsPane struct {
	list
	rows []pktRow
	vis  []int // indexes into rows of the rows the filter lets through
	// next is the number (since the start) of the next packet to decode.
	next uint64
	// seqs is tcpdump's per-conversation state for relative numbers.
	seqs map[connKey]seqBase
	// follow keeps the cursor on the newest packet; at is the number of
	// the packet under the cursor when not following.
	follow bool
	at     uint64
	absSeq bool // r: absolute sequence numbers (tcpdump -S)
	absTm  bool // a: absolute kernel time, not relative to the first row
	xoff   int  // h/l: how far the packet text is scrolled left
	// skipped counts packets not decoded because a frame brought more than
	// pktPerFrame.
	skipped uint64
	total   uint64
	// opened is the record handed to the skb pane with enter, and its
	// number: its row is marked while it is still c.Sel.Packet.
	opened    *stack.PacketRecord
	openedNum uint64
}

// pktRow is one packet, decoded once when it arrives.
type pktRow struct {
	num      uint64
	rec      stack.PacketRecord
	dev      string // "lo >", "stk0 <"
	rel, abs string // tcpdump's line with relative and absolute seq/ack
}

func (r *pktRow) text(abs bool) string {
	if abs {
		return r.abs
	}
	return r.rel
}

// packet keys: a, r and enter are the pane's own; G (and End) follow.
var (
	keyPktAbsTime = key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "time: relative to the first row / absolute"))
	keyPktAbsSeq  = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "seq/ack: relative / absolute (tcpdump -S)"))
	keyPktOpen    = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the packet's sk_buff in the skb pane"))
	keyPktFollow  = key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "follow the newest packet"))
	keyPktLeft    = key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h →/l", "scroll long lines left / right"))
	keyPktRight   = key.NewBinding(key.WithKeys("right", "l"))
)

// pktScroll is how far h and l scroll the packet text.
const pktScroll = 20

// pktPerFrame bounds the packets decoded per frame: a bulk transfer brings
// thousands between two frames, more than anyone reads; the newest are
// decoded and the rest counted as skipped, which keeps the inspector from
// taking the kernel's CPU.
const pktPerFrame = 512

func newPacketsPane() *packetsPane {
	return &packetsPane{seqs: map[connKey]seqBase{}, follow: true}
}

func (p *packetsPane) Name() string { return "packets" }

func (p *packetsPane) Title(c *Context) string {
	t := fmt.Sprintf("packets (%d of %d since start)", len(p.vis), p.total)
	if p.skipped > 0 {
		t += fmt.Sprintf(", %d skipped while busy", p.skipped)
	}
	if p.follow {
		t += " following"
	}
	if p.absTm {
		t += "  time absolute"
	}
	if p.absSeq {
		t += "  seq absolute"
	}
	return t
}

func (p *packetsPane) Keys() []key.Binding {
	return []key.Binding{keyPktOpen, keyPktAbsTime, keyPktAbsSeq, keyPktFollow, keyPktLeft}
}

func (p *packetsPane) SetFilter(text string) {
	p.filter = text
	p.refilter()
}

// Refresh decodes the packets that arrived since the last frame (and
// forgets those the feed no longer holds); rows already decoded are kept.
func (p *packetsPane) Refresh(c *Context) {
	f := c.Frame
	if f == nil {
		return
	}
	if f.PacketTotal < p.next {
		// A new feed (never in one run): start over.
		*p = packetsPane{list: list{w: p.w, h: p.h, filter: p.filter}, seqs: map[connKey]seqBase{}, follow: true,
			absSeq: p.absSeq, absTm: p.absTm}
	}
	p.total = f.PacketTotal
	base := f.PacketTotal - uint64(len(f.Packets))
	dropped := false
	if len(p.rows) > 0 && p.rows[0].num < base {
		i := sort.Search(len(p.rows), func(i int) bool { return p.rows[i].num >= base })
		p.rows = append([]pktRow(nil), p.rows[i:]...)
		dropped = true
	}
	first := len(p.rows)
	from := max(p.next, base)
	if f.PacketTotal-from > pktPerFrame {
		p.skipped += f.PacketTotal - pktPerFrame - from
		from = f.PacketTotal - pktPerFrame
	}
	for n := from; n < f.PacketTotal; n++ {
		p.rows = append(p.rows, p.decode(&f.Packets[n-base], n))
	}
	p.next = f.PacketTotal
	if dropped {
		p.refilter()
		return
	}
	for i := first; i < len(p.rows); i++ {
		if p.matches(&p.rows[i]) {
			p.vis = append(p.vis, i)
		}
	}
	p.place()
}

// decode prepares one packet's row.
func (p *packetsPane) decode(r *stack.PacketRecord, num uint64) pktRow {
	arrow := ">"
	if r.Dir == stack.PacketIn {
		arrow = "<"
	}
	d := decodePkt(r)
	rel, abs := tcpdumpLine(&d, p.seqs)
	return pktRow{num: num, rec: *r, dev: r.Dev + " " + arrow, rel: rel, abs: abs}
}

func (p *packetsPane) matches(r *pktRow) bool {
	return p.filter == "" || strings.Contains(r.dev+" "+r.text(p.absSeq), p.filter)
}

// refilter rebuilds the visible rows (filter or seq mode changed, or rows
// were dropped).
func (p *packetsPane) refilter() {
	p.vis = p.vis[:0]
	for i := range p.rows {
		if p.matches(&p.rows[i]) {
			p.vis = append(p.vis, i)
		}
	}
	p.place()
}

// place puts the cursor on the newest row when following, else back on
// the packet it was on (or the next one still there).
func (p *packetsPane) place() {
	p.n = len(p.vis)
	if p.follow {
		p.cursor = p.n - 1
	} else {
		p.cursor = sort.Search(len(p.vis), func(i int) bool { return p.rows[p.vis[i]].num >= p.at })
	}
	p.clamp()
}

// cursorRow is the row under the cursor, if any.
func (p *packetsPane) cursorRow() *pktRow {
	if p.cursor < 0 || p.cursor >= len(p.vis) {
		return nil
	}
	return &p.rows[p.vis[p.cursor]]
}

func (p *packetsPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(km, keyPktAbsTime):
		p.absTm = !p.absTm
	case key.Matches(km, keyPktAbsSeq):
		p.absSeq = !p.absSeq
		if p.filter != "" {
			p.refilter()
		}
	case key.Matches(km, keyPktFollow):
		p.follow = true
		p.place()
	case key.Matches(km, keyPktLeft):
		p.xoff = max(p.xoff-pktScroll, 0)
	case key.Matches(km, keyPktRight):
		p.xoff += pktScroll
	case key.Matches(km, keyPktOpen):
		if r := p.cursorRow(); r != nil {
			rec := r.rec
			c.Sel.Packet = &rec
			c.Sel.Skb = ""
			p.opened, p.openedNum = &rec, r.num
		}
	case p.move(c.Keys, km):
		p.follow = false
		if r := p.cursorRow(); r != nil {
			p.at = r.num
		}
	}
	return nil
}

// Column widths of the packet list: the marker, the time, the device
// and direction.
const (
	pktTimeW = 10 // "123.456789"
	pktDevW  = 7  // "stk0 < "
	pktTextX = 2 + pktTimeW + 1 + pktDevW + 1
)

func (p *packetsPane) View(c *Context) string {
	s := c.Styles
	var b strings.Builder
	timeHdr := "time (rel)"
	if p.absTm {
		timeHdr = "time (abs)"
	}
	textHdr := "packet (tcpdump -n)"
	if p.absSeq {
		textHdr = "packet (tcpdump -n -S)"
	}
	if p.xoff > 0 {
		textHdr += fmt.Sprintf("  (from column %d; h scrolls back)", p.xoff+1)
	}
	b.WriteString(s.Header.Render(fit(fmt.Sprintf("  %*s %-*s %s", pktTimeW, timeHdr, pktDevW, "dev dir", textHdr), p.w)))
	if len(p.vis) == 0 {
		if len(p.rows) == 0 {
			b.WriteString("\n" + s.Dim.Render(" no packets yet: the devices carried none since the inspector started"))
		} else {
			b.WriteString("\n" + s.Dim.Render(" no packets"+filterNote(p.filter)))
		}
		return b.String()
	}
	var t0 int64
	if !p.absTm {
		t0 = p.rows[p.vis[0]].rec.TimeNs
	}
	room := max(p.w-pktTextX, 1)
	listH := p.h - 1
	detail := p.h >= 12
	if detail {
		listH -= 1 + pktDetailLines
	}
	first, last := p.window(listH)
	for i := first; i < last; i++ {
		r := &p.rows[p.vis[i]]
		mark := cursorMark(i == p.cursor)
		if i != p.cursor && p.opened != nil && p.opened == c.Sel.Packet && r.num == p.openedNum {
			mark = "* " // the packet the skb pane shows
		}
		line := fmt.Sprintf("%s%*s %-*s %s", mark, pktTimeW, fmtSecs(r.rec.TimeNs-t0), pktDevW, r.dev, clip(r.text(p.absSeq), p.xoff, room))
		line = fit(line, p.w)
		if i == p.cursor {
			line = s.Selected.Render(line)
		}
		b.WriteString("\n" + line)
	}
	if detail {
		b.WriteString(strings.Repeat("\n", listH-(last-first)+1))
		b.WriteString(p.detail(c))
	}
	return b.String()
}

// pktDetailLines is how many lines the cursor row's whole text may take
// below the list.
const pktDetailLines = 2

// detail is the cursor row in full under the list: which packet, its
// sk_buff, and its whole tcpdump line wrapped (the list cuts long lines).
func (p *packetsPane) detail(c *Context) string {
	s := c.Styles
	r := p.cursorRow()
	if r == nil {
		return ""
	}
	dir := "out"
	if r.rec.Dir == stack.PacketIn {
		dir = "in"
	}
	hdr := fmt.Sprintf("packet %d: %s %s, sk_buff %s len %d (enter shows it in the skb pane, 4) ", r.num+1, r.rec.Dev, dir, r.rec.Skb.Addr, r.rec.Skb.Len)
	out := []string{s.Dim.Render(fit("── "+hdr+strings.Repeat("─", max(p.w, 0)), p.w))}
	for _, l := range wrapWords(r.text(p.absSeq), max(p.w-2, 1), pktDetailLines) {
		out = append(out, "  "+l)
	}
	return strings.Join(out, "\n")
}

// wrapWords breaks an ASCII line at spaces into at most n lines of w
// cells (a word longer than w is cut; "…" ends a text that goes on).
func wrapWords(s string, w, n int) []string {
	var out []string
	for len(out) < n && s != "" {
		if len(s) <= w {
			out = append(out, s)
			return out
		}
		cut := strings.LastIndexByte(s[:w+1], ' ')
		if cut <= 0 {
			cut = w
		}
		out = append(out, s[:cut])
		s = strings.TrimLeft(s[cut:], " ")
	}
	if s != "" && len(out) > 0 {
		out[len(out)-1] = clip(out[len(out)-1]+" "+s, 0, w)
	}
	return out
}

// clip is the part of an ASCII line from column off that fits in w
// cells, with "…" where it goes on.
func clip(s string, off, w int) string {
	if off >= len(s) {
		return ""
	}
	s = s[off:]
	if len(s) > w {
		return s[:max(w-1, 0)] + "…"
	}
	return s
}
