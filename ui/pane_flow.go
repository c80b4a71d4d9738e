package ui

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/header"
)

// flowPane draws the selected connection's segments as a ladder, the way
// lecturers draw TCP on a whiteboard: the two endpoints as columns, each
// segment an arrow from the sender's side to the receiver's, labelled
// with its flags, relative seq/ack, window, options and the start of its
// payload; time runs down the left. For a listener (or an unconnected
// socket) the ladder holds every segment to and from its port: the
// handshakes of its children, with each peer named on the left.
type flowPane struct {
	list
	sk    string // the sock the rows were built for (c.Sel.Sock)
	ep    flowEnds
	why   string // why there is no ladder yet, when ep is not resolved
	rows  []flowRow
	next  uint64             // number of the next packet to look at
	isn   map[flowEnd]uint32 // per end of each connection: its ISN (or a guess)
	total int                // packets the feed holds (for the empty note)
	// follow keeps the cursor on the newest segment; at is the number of
	// the packet under the cursor when not following.
	follow bool
	at     uint64
	state  string // the sock's state, refreshed per frame
}

// flowEnds is what the ladder matches: the sock's local end and its peer
// (invalid for a listener: any peer), and which end is drawn on the left.
type flowEnds struct {
	ok      bool
	proto   uint8
	local   netip.AddrPort
	remote  netip.AddrPort
	anyPeer bool // a listener or unconnected socket: segments to and from its port
	// left is the endpoint of the left column, decided by the first
	// segment seen (the one that sent the SYN goes left, as on the
	// whiteboard); for a listener the peers are always left.
	left    netip.AddrPort
	leftSet bool
}

// flowEnd is one end of one connection (a listener's port is the end of
// many), the key of its initial sequence number: from its SYN, or, if the
// SYN is not among the packets, guessed from the first segment seen.
type flowEnd struct {
	conn connKey
	ep   netip.AddrPort
}

// flowRow is one segment, prepared when it arrives.
type flowRow struct {
	num     uint64
	rec     stack.PacketRecord
	toRight bool
	peer    string // anyPeer: the remote end of this segment
	label   string
}

var (
	keyFlowOpen   = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the segment's sk_buff in the skb pane"))
	keyFlowFollow = key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "follow the newest segment"))
)

func newFlowPane() *flowPane { return &flowPane{follow: true} }

func (p *flowPane) Name() string { return "flow" }

func (p *flowPane) Title(c *Context) string {
	if !p.ep.ok {
		return "flow"
	}
	t := fmt.Sprintf("flow: %s (%d segments)", p.ep.describe(p.state), len(p.rows))
	if p.follow {
		t += " following"
	}
	return t
}

// describe names the connection: "127.0.0.1:39576 <-> 127.0.0.1:8080
// ESTABLISHED", "127.0.0.1:8080 LISTEN".
func (e *flowEnds) describe(state string) string {
	s := e.local.String()
	if !e.anyPeer {
		s += " <-> " + e.remote.String()
	}
	if state != "" {
		s += " " + state
	}
	return s
}

func (p *flowPane) Keys() []key.Binding { return []key.Binding{keyFlowOpen, keyFlowFollow} }

// Refresh follows the selection: a new socket starts the ladder over from
// every packet the frame holds; otherwise only new packets are looked at.
func (p *flowPane) Refresh(c *Context) {
	f := c.Frame
	if f == nil {
		return
	}
	if c.Sel.Sock != p.sk || f.PacketTotal < p.next {
		*p = flowPane{list: list{w: p.w, h: p.h}, sk: c.Sel.Sock, follow: true}
	}
	p.total = len(f.Packets)
	p.state = ""
	if s := c.sockByAddr(p.sk); s != nil {
		p.state = s.SockCommon.SkcState
	}
	if !p.ep.ok {
		// Once resolved, the ends are kept: a closed connection's ladder
		// (its FINs) stays readable after the sock is gone.
		p.ep, p.why = resolveFlowEnds(c, p.sk)
		if !p.ep.ok {
			return
		}
		p.isn = map[flowEnd]uint32{}
	}
	base := f.PacketTotal - uint64(len(f.Packets))
	if len(p.rows) > 0 && p.rows[0].num < base {
		i := sort.Search(len(p.rows), func(i int) bool { return p.rows[i].num >= base })
		p.rows = append([]flowRow(nil), p.rows[i:]...)
	}
	for n := max(p.next, base); n < f.PacketTotal; n++ {
		r := &f.Packets[n-base]
		d := decodePkt(r)
		if row, ok := p.segment(&d, r, n); ok {
			p.rows = append(p.rows, row)
		}
	}
	p.next = f.PacketTotal
	p.place()
}

// resolveFlowEnds finds the selected sock (or timewait sock) in the
// snapshot and takes its addresses; why says what is missing otherwise.
func resolveFlowEnds(c *Context, sk string) (flowEnds, string) {
	var e flowEnds
	if sk == "" {
		return e, "No connection is selected."
	}
	var local, remote, proto string
	if s := c.sockByAddr(sk); s != nil {
		sc := s.SockCommon
		local = fmt.Sprintf("%s:%d", sc.SkcRcvSaddr, sc.SkcNum)
		remote = fmt.Sprintf("%s:%d", sc.SkcDaddr, sc.SkcDport)
		proto = s.Proto
	} else if c.Frame.Snap != nil {
		for _, tw := range c.Frame.Snap.Timewait {
			if tw.Addr == sk {
				local, remote, proto = tw.Local, tw.Peer, "TCP"
			}
		}
	}
	if local == "" {
		return e, fmt.Sprintf("The selected socket %s is not in the snapshot (it may be closed).", sk)
	}
	switch proto {
	case "TCP":
		e.proto = header.IPPROTO_TCP
	case "UDP":
		e.proto = header.IPPROTO_UDP
	default:
		return e, fmt.Sprintf("The selected socket %s is a %s socket: the ladder draws TCP and UDP.", sk, proto)
	}
	var err error
	if e.local, err = netip.ParseAddrPort(local); err != nil {
		return e, fmt.Sprintf("The selected socket %s has no IPv4 address (%s).", sk, local)
	}
	if e.local.Port() == 0 {
		return e, fmt.Sprintf("The selected socket %s is not bound to a port yet: no packets are its own.", sk)
	}
	if e.remote, err = netip.ParseAddrPort(remote); err != nil || e.remote.Port() == 0 {
		e.anyPeer, e.remote = true, netip.AddrPort{}
		// The peers go left, the listener right.
		e.left, e.leftSet = netip.AddrPort{}, true
	}
	e.ok = true
	return e, ""
}

// isLocal says whether ap is the selected sock's end (a wildcard address
// matches any).
func (e *flowEnds) isLocal(ap netip.AddrPort) bool {
	if ap.Port() != e.local.Port() {
		return false
	}
	return ap.Addr() == e.local.Addr() || e.local.Addr().IsUnspecified()
}

// segment makes a row of a packet that belongs to the ladder.
func (p *flowPane) segment(d *pkt, r *stack.PacketRecord, num uint64) (flowRow, bool) {
	e := &p.ep
	if !d.ip || !d.hasPorts || d.proto != e.proto {
		return flowRow{}, false
	}
	src, dst := d.srcAP(), d.dstAP()
	var toRight bool
	var peer netip.AddrPort
	switch {
	case e.anyPeer:
		switch {
		case e.isLocal(dst):
			toRight, peer = true, src
		case e.isLocal(src):
			toRight, peer = false, dst
		default:
			return flowRow{}, false
		}
	default:
		if !(src == e.remote && e.isLocal(dst)) && !(dst == e.remote && e.isLocal(src)) {
			return flowRow{}, false
		}
		if !e.leftSet {
			e.left, e.leftSet = initiator(d, src, dst, e.local), true
		}
		toRight = src == e.left
	}
	row := flowRow{num: num, rec: *r, toRight: toRight, label: p.label(d, src, dst)}
	if e.anyPeer {
		row.peer = peer.String()
	}
	return row, true
}

// initiator is the endpoint drawn on the left: the sender of a SYN, the
// receiver of a SYN-ACK, else the selected sock's own end.
func initiator(d *pkt, src, dst, local netip.AddrPort) netip.AddrPort {
	if d.tcp != nil && d.tcp.Flags()&header.TCP_FLAG_SYN != 0 {
		if d.tcp.Flags()&header.TCP_FLAG_ACK == 0 {
			return src
		}
		return dst
	}
	if src.Port() == local.Port() && (src.Addr() == local.Addr() || local.Addr().IsUnspecified()) {
		return src
	}
	return dst
}

// label is the text on a segment's arrow: "S seq 0 win 65495 <mss
// 65495,sackOK,TS,wscale 7>", "P. 1:6(5) ack 1 win 512 <TS> "hello"".
func (p *flowPane) label(d *pkt, src, dst netip.AddrPort) string {
	if d.tcp == nil {
		s := fmt.Sprintf("UDP length %d", d.payLen)
		if t := payloadText(d.payload, 24); t != "" {
			s += " " + t
		}
		return s
	}
	t := d.tcp
	f := t.Flags()
	seq, ack := t.Seq(), t.AckSeq()
	k, _ := connKeyOf(src, dst)
	from, to := flowEnd{k, src}, flowEnd{k, dst}
	if f&header.TCP_FLAG_SYN != 0 {
		p.isn[from] = seq
	}
	if _, ok := p.isn[from]; !ok {
		// No SYN seen: number as if the handshake had just ended.
		p.isn[from] = seq - 1
	}
	if _, ok := p.isn[to]; !ok && f&header.TCP_FLAG_ACK != 0 {
		p.isn[to] = ack - 1
	}
	rseq, rack := seq-p.isn[from], ack-p.isn[to]
	var b strings.Builder
	fmt.Fprintf(&b, "%-2s", tcpdumpFlags(f))
	switch {
	case d.payLen > 0:
		fmt.Fprintf(&b, " %d:%d(%d)", rseq, rseq+uint32(d.payLen), d.payLen)
	case f&(header.TCP_FLAG_SYN|header.TCP_FLAG_FIN|header.TCP_FLAG_RST) != 0:
		fmt.Fprintf(&b, " seq %d", rseq)
	}
	if f&header.TCP_FLAG_ACK != 0 {
		fmt.Fprintf(&b, " ack %d", rack)
	}
	fmt.Fprintf(&b, " win %d", t.Window())
	var opts []string
	for _, o := range tcpOptionsInOrder(t.Options()) {
		if o.kind == header.TCPOPT_NOP || o.kind == header.TCPOPT_EOL {
			continue
		}
		opts = append(opts, o.text(false, p.isn[to]))
	}
	if len(opts) > 0 {
		b.WriteString(" <" + strings.Join(opts, ",") + ">")
	}
	if s := payloadText(d.payload, 24); s != "" {
		b.WriteString(" " + s)
	}
	return b.String()
}

// place puts the cursor on the newest segment when following, else back
// on the one it was on.
func (p *flowPane) place() {
	p.n = len(p.rows)
	if p.follow {
		p.cursor = p.n - 1
	} else {
		p.cursor = sort.Search(len(p.rows), func(i int) bool { return p.rows[i].num >= p.at })
	}
	p.clamp()
}

func (p *flowPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(km, keyFlowFollow):
		p.follow = true
		p.place()
	case key.Matches(km, keyFlowOpen):
		if p.cursor >= 0 && p.cursor < len(p.rows) {
			rec := p.rows[p.cursor].rec
			c.Sel.Packet = &rec
			c.Sel.Skb = ""
		}
	case p.move(c.Keys, km):
		p.follow = false
		if p.cursor < len(p.rows) {
			p.at = p.rows[p.cursor].num
		}
	}
	return nil
}

// Widths of the ladder's parts.
const (
	flowTimeW   = 10 // "  0.000123"
	flowPeerW   = 22 // "255.255.255.255:65535 "
	flowMaxRung = 120
)

func (p *flowPane) View(c *Context) string {
	s := c.Styles
	if !p.ep.ok {
		return p.hint(s, p.why)
	}
	if len(p.rows) == 0 {
		return p.hint(s, fmt.Sprintf("No packets of %s among the %d newest packets the devices carried; its segments appear here as they happen.",
			p.ep.describe(p.state), p.total))
	}
	peerW := 0
	if p.ep.anyPeer {
		peerW = flowPeerW
	}
	rung := min(max(p.w-2-flowTimeW-1-peerW, 24), flowMaxRung)
	leftName, rightName := p.columns()
	var b strings.Builder
	hdr := fmt.Sprintf("  %*s ", flowTimeW, "time (rel)")
	if peerW > 0 {
		hdr += fmt.Sprintf("%-*s", peerW, "peer")
	}
	hdr += leftName + strings.Repeat(" ", max(rung-len(leftName)-len(rightName), 1)) + rightName
	b.WriteString(s.Header.Render(fit(hdr, p.w)))
	t0 := p.rows[0].rec.TimeNs
	first, last := p.window(p.h - 1)
	for i := first; i < last; i++ {
		r := &p.rows[i]
		line := fmt.Sprintf("%s%*s ", cursorMark(i == p.cursor), flowTimeW, fmtSecs(r.rec.TimeNs-t0))
		if peerW > 0 {
			line += fmt.Sprintf("%-*s", peerW, r.peer)
		}
		line = fit(line+arrow(r.label, r.toRight, rung), p.w)
		if i == p.cursor {
			line = s.Selected.Render(line)
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}

// columns are the two endpoints' headers.
func (p *flowPane) columns() (string, string) {
	e := &p.ep
	if e.anyPeer {
		l := e.local.String()
		if e.local.Addr().IsUnspecified() {
			l = fmt.Sprintf("*:%d", e.local.Port())
		}
		if p.state != "" {
			l += " (" + p.state + ")"
		}
		return "", l
	}
	left, right := e.left, e.remote
	if left == e.remote {
		right = e.local
	}
	if !e.leftSet {
		left, right = e.local, e.remote
	}
	return left.String(), right.String()
}

// arrow draws one rung of the ladder, w cells wide, the label in the
// middle: "|---- S seq 0 ... ---->|" or "|<--- S. seq 0 ack 1 ... ----|".
func arrow(label string, toRight bool, w int) string {
	inner := w - 3 // the two bars and the head
	room := inner - 2 - 4
	if len([]rune(label)) > room {
		label = string([]rune(label)[:max(room-1, 0)]) + "…"
	}
	n := len([]rune(label))
	dashes := max(inner-n-2, 0)
	a := dashes / 2
	mid := strings.Repeat("-", a) + " " + label + " " + strings.Repeat("-", dashes-a)
	if toRight {
		return "|" + mid + ">|"
	}
	return "|<" + mid + "|"
}

// hint is the pane's text when there is no ladder to draw: why, and how
// to get one.
func (p *flowPane) hint(s Styles, why string) string {
	if why == "" {
		why = "No connection is selected."
	}
	return " " + why + "\n\n" + s.Dim.Render(" Select a connection in the sockets pane (1, then ↑/↓) and come back (8): the ladder\n"+
		" shows its segments in either direction. A listener shows the handshakes of its children.")
}
