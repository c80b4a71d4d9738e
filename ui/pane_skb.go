package ui

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/header"
)

// skbPane draws the selected sk_buff to scale: headroom | headers |
// payload | tailroom | skb_shared_info, with head, data, tail and end as
// addresses and offsets, its lengths and reference counts, the headers
// decoded, and a hex dump of the bytes from data. A queued skb comes from
// the queues pane (described when the frame was sampled); a packet's skb
// from the packets pane (as it was when the device carried it).
type skbPane struct {
	w, h   int
	top    int // the first line of the scrolled part shown
	styles Styles
	skb    *stack.SkbSnap
	addr   string // the skb shown, to reset scrolling when it changes
	origin string // "queued" or "packet out lo at t=..."
	title  string
	msg    string   // shown instead of an skb
	fixed  []string // layout and counters: stay at the top when there is room
	body   []string // decoded headers and the hex dump: scrolled
}

func newSkbPane() *skbPane { return &skbPane{} }

func (p *skbPane) Name() string { return "skb" }

func (p *skbPane) Title(c *Context) string {
	if p.title == "" {
		return "skb"
	}
	return p.title
}

func (p *skbPane) Keys() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓ pgup/pgdn g/G", "scroll the decoded headers and hex dump"))}
}

func (p *skbPane) SetSize(w, h int) {
	if w != p.w {
		p.w, p.h = w, h
		p.build()
		return
	}
	p.h = h
}

// Refresh picks the skb to show: the queued skb selected in the queues
// pane (Frame.Skb), else the selected packet's, and lays it out.
func (p *skbPane) Refresh(c *Context) {
	p.styles = c.Styles
	p.skb, p.msg, p.title, p.origin = nil, "", "", ""
	f := c.Frame
	switch {
	case c.Sel.Skb != "" && f != nil && f.Skb != nil && f.Skb.Addr == c.Sel.Skb:
		p.skb, p.origin = f.Skb, "queued"
	case c.Sel.Skb != "" && f != nil && f.SkbErr != nil && strings.Contains(f.SkbErr.Error(), c.Sel.Skb):
		p.title = "skb " + c.Sel.Skb + " (freed)"
		p.msg = c.Styles.Warn.Render(" sk_buff "+c.Sel.Skb+" was freed: it is in no queue any more") + "\n" +
			c.Styles.Dim.Render(" (a reader consumed it, an ACK released it, or it was merged; pick another in the queues pane)")
	case c.Sel.Skb != "":
		p.title = "skb " + c.Sel.Skb
		p.msg = c.Styles.Dim.Render(" sk_buff " + c.Sel.Skb + ": described at the next frame")
	case c.Sel.Packet != nil:
		r := c.Sel.Packet
		p.skb = &r.Skb
		p.origin = fmt.Sprintf("packet %s %s at t=%s", r.Dir, r.Dev, fmtClock(r.TimeNs))
	default:
		p.msg = c.Styles.Dim.Render(" no sk_buff selected: pick a queued one in the queues pane\n" +
			" (2, then ↑/↓ or enter) or a packet in the packets pane (7, enter)")
	}
	if p.skb != nil {
		p.title = "skb " + p.skb.Addr + " (" + p.origin + ")"
		if p.skb.Addr != p.addr {
			p.addr, p.top = p.skb.Addr, 0
		}
	}
	p.build()
}

// build lays the skb out for the pane's width.
func (p *skbPane) build() {
	p.fixed, p.body = nil, nil
	if p.skb == nil {
		return
	}
	p.fixed, p.body = skbLines(p.skb, p.w, p.styles)
}

func (p *skbPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	p.top, _ = navigate(c.Keys, km, p.top, max(p.bodyRows()-1, 1), len(p.scrolled()))
	p.clampTop()
	return nil
}

// pinned reports whether the fixed part stays at the top: when it leaves
// room for a few lines of the rest; otherwise everything scrolls.
func (p *skbPane) pinned() bool { return len(p.fixed)+4 <= p.h }

// scrolled is what scrolls.
func (p *skbPane) scrolled() []string {
	if p.pinned() {
		return p.body
	}
	return append(append([]string(nil), p.fixed...), p.body...)
}

func (p *skbPane) bodyRows() int {
	if p.pinned() {
		return p.h - len(p.fixed)
	}
	return p.h
}

func (p *skbPane) clampTop() {
	p.top = min(max(p.top, 0), max(len(p.scrolled())-p.bodyRows(), 0))
}

func (p *skbPane) View(c *Context) string {
	if p.skb == nil {
		if p.msg == "" {
			return c.Styles.Dim.Render(" waiting for the first frame")
		}
		return p.msg
	}
	p.clampTop()
	var out []string
	rest := p.body
	if p.pinned() {
		out = append(out, p.fixed...)
	} else {
		rest = p.scrolled()
	}
	end := min(p.top+p.bodyRows(), len(rest))
	if p.top < end {
		out = append(out, rest[p.top:end]...)
	}
	if more := len(rest) - end; more > 0 && len(out) > 0 {
		out[len(out)-1] = fit(out[len(out)-1], max(p.w-14, 0)) + c.Styles.Dim.Render(fmt.Sprintf(" ↓ %d more", more))
	}
	return strings.Join(out, "\n")
}

// skbLayout is what the drawing needs to know about where the headers are.
type skbLayout struct {
	nh, th       int // offsets from head; -1 when unset
	ipLen, thLen int // header lengths; 0 when unknown
	proto        uint8
	protoName    string
}

// unsetHeader is the value of an unset network or transport header offset.
const unsetHeader = 0xffff

// layoutOf finds the IP and transport headers. A packet's headers start at
// data when network_header is unset (ip_rcv resets it as it takes the
// packet).
func layoutOf(s *stack.SkbSnap) skbLayout {
	l := skbLayout{nh: -1, th: -1}
	b := s.Bytes
	if s.NetworkHeader != unsetHeader {
		l.nh = int(s.NetworkHeader)
	}
	if l.nh >= 0 && l.nh+header.IPv4MinSize <= len(b) {
		ip := header.IPv4(b[l.nh:])
		if ip.Version() == header.IPv4Version && ip.IHL() >= header.IPv4MinSize && l.nh+ip.IHL() <= len(b) {
			l.ipLen, l.proto = ip.IHL(), ip.Protocol()
		}
	}
	if s.TransportHeader != unsetHeader {
		l.th = int(s.TransportHeader)
	} else if l.ipLen > 0 {
		l.th = l.nh + l.ipLen
	}
	if l.th >= 0 && l.ipLen > 0 {
		switch l.proto {
		case header.IPPROTO_TCP:
			l.protoName = "TCP"
			if l.th+header.TCPMinSize <= len(b) {
				l.thLen = header.TCP(b[l.th:]).DataOffset()
			}
		case header.IPPROTO_UDP:
			l.protoName, l.thLen = "UDP", header.UDPHeaderSize
		case header.IPPROTO_ICMP:
			l.protoName, l.thLen = "ICMP", header.ICMPHeaderSize
		default:
			l.protoName = fmt.Sprintf("proto %d", l.proto)
		}
		if l.th+l.thLen > len(b) {
			l.thLen = 0
		}
	}
	return l
}

// fcloneNames are SKB_FCLONE_UNAVAILABLE, _ORIG and _CLONE.
var fcloneNames = []string{"UNAVAILABLE", "ORIG", "CLONE"}

// skbLines lays out an skb for width w: the fixed part (identity, the
// drawing to scale, offsets, counters, where the headers are) and the
// scrolled part (decoded headers, hex dump).
func skbLines(s *stack.SkbSnap, w int, st Styles) (fixed, body []string) {
	l := layoutOf(s)
	fc := fmt.Sprint(s.Fclone)
	if int(s.Fclone) < len(fcloneNames) {
		fc = fcloneNames[s.Fclone]
	}
	cloned := "cloned no"
	if s.Cloned {
		cloned = "cloned yes"
	}
	id := fmt.Sprintf("sk_buff %s  %s  fclone %s  %s", s.Addr, s.Cache, fc, cloned)
	if s.Sk != "" {
		id += "  sk " + s.Sk
	}
	if s.Dev != "" {
		id += "  dev " + s.Dev
	}
	fixed = append(fixed, st.Header.Render(id))
	head, _ := parseAddr(s.Head)
	at := func(name string, off uint32) string {
		if head == 0 {
			return fmt.Sprintf("%s +%d", name, off)
		}
		return fmt.Sprintf("%s +%d (%#x)", name, off, head+uint64(off))
	}
	fixed = append(fixed, fmt.Sprintf("head %s  %s  %s  %s", s.Head, at("data", s.Data), at("tail", s.Tail), at("end", s.End)))
	bar, marks := skbBar(s, l, w)
	fixed = append(fixed, bar)
	fixed = append(fixed, marks...)
	shinfoHalf := s.Dataref >> skb.SKB_DATAREF_SHIFT
	fixed = append(fixed, fmt.Sprintf("len %d  data_len %d  truesize %d  users %d  dataref 0x%08x (all %d, payload-only %d)  nr_frags %d  headroom %d  tailroom %d",
		s.Len, s.DataLen, s.Truesize, s.Users, s.Dataref, s.Dataref&skb.SKB_DATAREF_MASK, shinfoHalf, s.NrFrags,
		s.Data, s.End-s.Tail))
	fixed = append(fixed, st.Dim.Render(headerNote(s, l)))
	if s.PagedHeadEnd != 0 {
		fixed = append(fixed, st.Dim.Render(fmt.Sprintf("model: Linux holds this payload in page frags after a %d-byte head; "+
			"here it sits in the head (truesize as Linux counts it)", s.PagedHeadEnd)))
	}

	// The headers, decoded where network_header and transport_header say.
	body = append(body, decodeHeaders(s, l, st)...)
	// The hex dump of data .. tail.
	b := s.Bytes
	lo, hi := min(int(s.Data), len(b)), min(int(s.Tail), len(b))
	note := fmt.Sprintf("skb->data .. tail: %d bytes", int(s.Tail)-int(s.Data))
	if hi < int(s.Tail) {
		note += fmt.Sprintf(" (the first %d copied)", max(hi-lo, 0))
	}
	if s.DataLen > 0 {
		note += fmt.Sprintf("; %d more in %d frags (not shown)", s.DataLen, s.NrFrags)
	}
	body = append(body, st.Header.Render("hex")+"  "+st.Dim.Render(note))
	body = append(body, hexDump(b[lo:max(hi, lo)])...)
	return fixed, body
}

// parseAddr reads "0xffff888004a30000".
func parseAddr(s string) (uint64, bool) {
	var v uint64
	_, err := fmt.Sscanf(s, "0x%x", &v)
	return v, err == nil
}

// headerNote says where the headers are relative to data.
func headerNote(s *stack.SkbSnap, l skbLayout) string {
	if l.nh < 0 && s.TransportHeader == unsetHeader {
		return "network_header and transport_header unset (0xffff): no headers on this skb; data is the payload"
	}
	var parts []string
	if l.nh >= 0 {
		parts = append(parts, fmt.Sprintf("IP at network_header +%d", l.nh))
	}
	if l.th >= 0 && l.protoName != "" {
		parts = append(parts, fmt.Sprintf("%s at transport_header +%d", l.protoName, l.th))
	}
	where := strings.Join(parts, ", ")
	switch first := firstSet(l.nh, l.th); {
	case first >= 0 && first < int(s.Data):
		return where + fmt.Sprintf(": behind data (+%d), pulled; skb->data is the payload", s.Data)
	case first == int(s.Data):
		return where + ": data points at the headers"
	}
	return where
}

func firstSet(a, b int) int {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

// barSeg is one stretch of the head buffer.
type barSeg struct {
	label, short string
	start, n     int
}

// skbBar draws the head buffer to scale in w columns, and the markers of
// head, data, the headers, tail and end under it.
func skbBar(s *stack.SkbSnap, l skbLayout, w int) (string, []string) {
	w = max(w, 16)
	shinfo := skb.SizeofSkbSharedInfo
	end, tail, data := int(s.End), int(s.Tail), int(s.Data)
	total := end + shinfo
	cuts := map[int]bool{0: true, data: true, tail: true, end: true, total: true}
	if l.ipLen > 0 {
		cuts[l.nh], cuts[l.nh+l.ipLen] = true, true
	}
	if l.thLen > 0 {
		cuts[l.th], cuts[l.th+l.thLen] = true, true
	}
	var offs []int
	for o := range cuts {
		if o >= 0 && o <= total {
			offs = append(offs, o)
		}
	}
	sort.Ints(offs)
	hasHdr := l.ipLen > 0
	var segs []barSeg
	for i := 0; i+1 < len(offs); i++ {
		a, b := offs[i], offs[i+1]
		n := b - a
		var lab, short string
		switch {
		case l.ipLen > 0 && a == l.nh:
			lab, short = fmt.Sprintf("IP %d", n), "IP"
		case l.thLen > 0 && a == l.th:
			lab, short = fmt.Sprintf("%s %d", l.protoName, n), l.protoName
		case a >= end:
			lab, short = fmt.Sprintf("skb_shared_info %d", n), "shinfo"
		case a >= tail:
			lab, short = fmt.Sprintf("tailroom %d", n), fmt.Sprint(n)
		case a >= data && hasHdr:
			lab, short = fmt.Sprintf("payload %d", n), fmt.Sprint(n)
		case a >= data:
			lab, short = fmt.Sprintf("data %d", n), fmt.Sprint(n)
		default:
			lab, short = fmt.Sprintf("headroom %d", n), fmt.Sprint(n)
		}
		segs = append(segs, barSeg{label: lab, short: short, start: a, n: n})
	}
	widths := scaleWidths(segs, total, w-1)
	var bar strings.Builder
	cols := make([]int, len(segs)+1) // column of each segment's start, and of the final |
	for i, sg := range segs {
		cols[i] = bar.Len()
		bar.WriteString("|" + segText(sg, widths[i]-1))
	}
	cols[len(segs)] = bar.Len()
	bar.WriteString("|")

	colOf := func(off int) int {
		for i, sg := range segs {
			if sg.start == off {
				return cols[i]
			}
		}
		return cols[len(segs)]
	}
	type mark struct {
		col  int
		name string
	}
	names := map[int][]string{}
	add := func(off int, name string) { names[off] = append(names[off], name) }
	add(0, "head")
	add(data, "data")
	if l.nh >= 0 {
		add(l.nh, "network")
	}
	if l.th >= 0 && l.thLen > 0 {
		add(l.th, "transport")
	}
	add(tail, "tail")
	add(end, "end")
	var ms []mark
	for _, o := range offs {
		if ns := names[o]; len(ns) > 0 {
			ms = append(ms, mark{colOf(o), "^" + strings.Join(ns, "=")})
		}
	}
	rows := [][]byte{[]byte(strings.Repeat(" ", w)), []byte(strings.Repeat(" ", w))}
	used := []int{0, 0} // the first free column of each row
	for _, m := range ms {
		for r := range rows {
			if m.col >= used[r] && m.col+len(m.name) <= w {
				copy(rows[r][m.col:], m.name)
				used[r] = m.col + len(m.name) + 1
				break
			}
		}
	}
	marks := []string{strings.TrimRight(string(rows[0]), " ")}
	if r := strings.TrimRight(string(rows[1]), " "); r != "" {
		marks = append(marks, r)
	}
	return bar.String(), marks
}

// scaleWidths gives each segment columns in proportion to its bytes, each
// at least enough for its label (or its short label, or one column), in
// avail columns in all (each width counts the segment's leading |).
func scaleWidths(segs []barSeg, total, avail int) []int {
	n := len(segs)
	ws := make([]int, n)
	ideal := make([]float64, n)
	if n == 0 || total <= 0 {
		return ws
	}
	for i, sg := range segs {
		ideal[i] = float64(sg.n) * float64(avail) / float64(total)
	}
	for level := 0; level < 3; level++ {
		need := make([]int, n)
		sum := 0
		for i, sg := range segs {
			switch level {
			case 0:
				need[i] = len(sg.label) + 1
			case 1:
				need[i] = len(sg.short) + 1
			default:
				need[i] = 2
			}
			ws[i] = max(need[i], int(ideal[i]+0.5))
			sum += ws[i]
		}
		for sum > avail {
			big := -1
			for i := range ws {
				if ws[i] > need[i] && (big < 0 || ws[i]-need[i] > ws[big]-need[big]) {
					big = i
				}
			}
			if big < 0 {
				break
			}
			ws[big]--
			sum--
		}
		if sum > avail && level < 2 {
			continue
		}
		for sum < avail {
			best := 0
			for i := range ws {
				if ideal[i]-float64(ws[i]) > ideal[best]-float64(ws[best]) {
					best = i
				}
			}
			ws[best]++
			sum++
		}
		break
	}
	return ws
}

// segText fills a segment's cw columns: "<-- label -->", the label, its
// short form, or dots.
func segText(sg barSeg, cw int) string {
	if cw <= 0 {
		return ""
	}
	for _, lab := range []string{sg.label, sg.short} {
		switch n := len(lab); {
		case cw >= n+6:
			d := cw - n - 4
			return "<" + strings.Repeat("-", d/2) + " " + lab + " " + strings.Repeat("-", d-d/2) + ">"
		case cw >= n:
			d := cw - n
			return strings.Repeat(" ", d/2) + lab + strings.Repeat(" ", d-d/2)
		}
	}
	return strings.Repeat(".", cw)
}

// decodeHeaders decodes the IPv4 header and the TCP, UDP or ICMP header
// after it, with their checksums verified where the bytes are all there.
func decodeHeaders(s *stack.SkbSnap, l skbLayout, st Styles) []string {
	b := s.Bytes
	if l.ipLen == 0 {
		return nil
	}
	var out []string
	ip := header.IPv4(b[l.nh:])
	ok := func(v bool) string {
		if v {
			return "ok"
		}
		return st.Warn.Render("BAD")
	}
	df := ""
	if ip.DontFragment() {
		df = "  DF"
	}
	if ip.MoreFragments() || ip.FragmentOffset() > 0 {
		df += fmt.Sprintf("  frag_off %d MF %v", ip.FragmentOffset(), ip.MoreFragments())
	}
	out = append(out, fmt.Sprintf("%s  version %d  ihl %d  tos %#x  tot_len %d  id %d%s  ttl %d  protocol %d (%s)  check %#04x %s  %s > %s",
		st.Header.Render("IPv4"), ip.Version(), ip.IHL(), ip.TOS(), ip.TotalLength(), ip.ID(), df, ip.TTL(), ip.Protocol(),
		l.protoName, ip.Checksum(), ok(ip.ChecksumValid()), ip.Src(), ip.Dst()))
	if l.thLen == 0 {
		return out
	}
	// The transport checksum covers the segment to the IP packet's end.
	segEnd := l.nh + ip.TotalLength()
	whole := segEnd <= len(b) && segEnd >= l.th+l.thLen
	csum := func(check uint16, valid func([]byte, netip.Addr, netip.Addr) bool) string {
		if !whole {
			return fmt.Sprintf("check %#04x (not verified: the bytes are cut)", check)
		}
		return fmt.Sprintf("check %#04x %s", check, ok(valid(b[l.th:segEnd], ip.Src(), ip.Dst())))
	}
	switch l.proto {
	case header.IPPROTO_TCP:
		t := header.TCP(b[l.th : l.th+l.thLen])
		out = append(out, fmt.Sprintf("%s   %d > %d  seq %d  ack %d  doff %d  flags %s (%s)  window %d  %s  urg %d",
			st.Header.Render("TCP"), t.SrcPort(), t.DstPort(), t.Seq(), t.AckSeq(), t.DataOffset(), header.FlagString(t.Flags()),
			flagNames(t.Flags()), t.Window(), csum(t.Checksum(), func(seg []byte, a, b netip.Addr) bool { return header.TCP(seg).ChecksumValid(a, b) }),
			t.UrgPtr()))
		if opts := t.Options(); len(opts) > 0 {
			out = append(out, "      options <"+tcpOptions(opts)+">")
		}
		if whole {
			out = append(out, fmt.Sprintf("      payload %d bytes", segEnd-l.th-l.thLen))
		}
	case header.IPPROTO_UDP:
		u := header.UDP(b[l.th : l.th+l.thLen])
		out = append(out, fmt.Sprintf("%s   %d > %d  len %d  %s", st.Header.Render("UDP"), u.SrcPort(), u.DstPort(), u.Length(),
			csum(u.Checksum(), func(seg []byte, a, b netip.Addr) bool {
				return len(seg) >= header.UDP(seg).Length() && header.UDP(seg).ChecksumValid(a, b)
			})))
	case header.IPPROTO_ICMP:
		ic := header.ICMP(b[l.th : l.th+l.thLen])
		line := fmt.Sprintf("%s  type %d code %d (%s)", st.Header.Render("ICMP"), ic.Type(), ic.Code(), icmpName(ic.Type(), ic.Code()))
		if ic.Type() == header.ICMP_ECHO || ic.Type() == header.ICMP_ECHOREPLY {
			line += fmt.Sprintf("  id %d seq %d", ic.ID(), ic.Seq())
		}
		line += "  " + csum(ic.Checksum(), func(seg []byte, _, _ netip.Addr) bool { return header.ICMP(seg).ChecksumValid() })
		out = append(out, line)
	}
	return out
}

// flagNames spells the TCP flags out: "SYN ACK".
func flagNames(f uint8) string {
	var n []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{{header.TCP_FLAG_FIN, "FIN"}, {header.TCP_FLAG_SYN, "SYN"}, {header.TCP_FLAG_RST, "RST"}, {header.TCP_FLAG_PSH, "PSH"},
		{header.TCP_FLAG_ACK, "ACK"}, {header.TCP_FLAG_URG, "URG"}, {header.TCP_FLAG_ECE, "ECE"}, {header.TCP_FLAG_CWR, "CWR"}} {
		if f&x.bit != 0 {
			n = append(n, x.name)
		}
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, " ")
}

// tcpOptions lists the options in their order on the wire, as tcpdump
// prints them.
func tcpOptions(opts []byte) string {
	var out []string
	be16 := func(b []byte) uint32 { return uint32(b[0])<<8 | uint32(b[1]) }
	be32 := func(b []byte) uint32 { return be16(b)<<16 | be16(b[2:]) }
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == header.TCPOPT_EOL {
			out = append(out, "eol")
			break
		}
		if kind == header.TCPOPT_NOP {
			out = append(out, "nop")
			i++
			continue
		}
		if i+1 >= len(opts) || int(opts[i+1]) < 2 || i+int(opts[i+1]) > len(opts) {
			out = append(out, "malformed")
			break
		}
		size := int(opts[i+1])
		v := opts[i+2 : i+size]
		switch {
		case kind == header.TCPOPT_MSS && size == header.TCPOLEN_MSS:
			out = append(out, fmt.Sprintf("mss %d", be16(v)))
		case kind == header.TCPOPT_WINDOW && size == header.TCPOLEN_WINDOW:
			out = append(out, fmt.Sprintf("wscale %d", v[0]))
		case kind == header.TCPOPT_SACK_PERM && size == header.TCPOLEN_SACK_PERM:
			out = append(out, "sackOK")
		case kind == header.TCPOPT_TIMESTAMP && size == header.TCPOLEN_TIMESTAMP:
			out = append(out, fmt.Sprintf("TS val %d ecr %d", be32(v), be32(v[4:])))
		case kind == header.TCPOPT_SACK && (size-2)%8 == 0:
			var bl []string
			for j := 0; j+8 <= len(v); j += 8 {
				bl = append(bl, fmt.Sprintf("{%d:%d}", be32(v[j:]), be32(v[j+4:])))
			}
			out = append(out, fmt.Sprintf("sack %d %s", len(bl), strings.Join(bl, "")))
		default:
			out = append(out, fmt.Sprintf("opt-%d len %d", kind, size))
		}
		i += size
	}
	return strings.Join(out, ",")
}

// icmpName names the ICMP types and codes the stack sends.
func icmpName(typ, code uint8) string {
	switch typ {
	case header.ICMP_ECHOREPLY:
		return "echo reply"
	case header.ICMP_ECHO:
		return "echo request"
	case header.ICMP_TIME_EXCEEDED:
		return "time exceeded"
	case header.ICMP_DEST_UNREACH:
		switch code {
		case header.ICMP_NET_UNREACH:
			return "net unreachable"
		case header.ICMP_HOST_UNREACH:
			return "host unreachable"
		case header.ICMP_PROT_UNREACH:
			return "protocol unreachable"
		case header.ICMP_PORT_UNREACH:
			return "port unreachable"
		case header.ICMP_FRAG_NEEDED:
			return "fragmentation needed"
		}
		return "destination unreachable"
	}
	return "other"
}

// hexDump renders bytes 16 to a line: offset, hex, and the printable
// characters.
func hexDump(b []byte) []string {
	out := make([]string, 0, (len(b)+15)/16)
	for off := 0; off < len(b); off += 16 {
		row := b[off:min(off+16, len(b))]
		var hx, tx strings.Builder
		for i := range 16 {
			if i == 8 {
				hx.WriteByte(' ')
			}
			if i < len(row) {
				fmt.Fprintf(&hx, "%02x ", row[i])
				if c := row[i]; c >= 0x20 && c < 0x7f {
					tx.WriteByte(c)
				} else {
					tx.WriteByte('.')
				}
			} else {
				hx.WriteString("   ")
			}
		}
		out = append(out, fmt.Sprintf("%04x  %s %s", off, hx.String(), tx.String()))
	}
	if len(out) == 0 {
		out = append(out, "(no bytes between data and tail)")
	}
	return out
}
