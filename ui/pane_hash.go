package ui

import (
	"fmt"
	"net/netip"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// The four tables of tcp_hashinfo, in the order t cycles through them.
const (
	tblEhash = iota
	tblBhash
	tblBhash2
	tblLhash2
	nTables
)

var hashTables = [nTables]string{"ehash", "bhash", "bhash2", "lhash2"}

// hashPane shows one table of tcp_hashinfo at a time as a bucket array:
// the non-empty buckets with their chains (head first), then the runs of
// empty buckets. The selected socket's bucket is marked and scrolled to,
// and the inputs of its hash are spelled out with their values.
type hashPane struct {
	list
	table int
	c     *Context // the shared context, for rebuilding on a filter
	rows  []hashRow
	// summary is the table's line (buckets, used, longest chain, entries);
	// inputs, the selected socket's hash with its inputs.
	summary string
	inputs  string
	// mark is the selected socket's bucket in this table (-1: none);
	// located, the table and socket the cursor was last moved to, so the
	// cursor follows a new selection but not every frame.
	mark    int
	located string
	used    int
}

// hashRow is one line of the bucket array: a chain entry (the first of its
// bucket shows the bucket's index and chain length), an owner under a
// bhash2 bucket, or a run of empty buckets.
type hashRow struct {
	bucket   int  // -1 for a run of empty buckets
	first    bool // the first line of its bucket
	chainLen int
	text     string
	addr     string // the entry's address (sock, tb, tb2)
	sk       string // a full socket's address: enter selects it
}

func newHashPane() *hashPane { return &hashPane{mark: -1} }

func (p *hashPane) Name() string { return "hash" }

func (p *hashPane) Title(c *Context) string {
	if c.Frame == nil || c.Frame.Snap == nil {
		return "hash"
	}
	return fmt.Sprintf("hash: %s %d buckets, %d used", hashTables[p.table], p.size(c.Frame.Snap), p.used)
}

var (
	hashTableKey  = key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "next table: ehash, bhash, bhash2, lhash2"))
	hashSelectKey = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "select the socket under the cursor"))
)

func (p *hashPane) Keys() []key.Binding { return []key.Binding{hashTableKey, hashSelectKey} }

func (p *hashPane) SetFilter(text string) {
	p.filter = text
	if p.c != nil {
		p.Refresh(p.c)
	}
}

// size is the table's bucket count.
func (p *hashPane) size(s *stack.Snapshot) int {
	switch p.table {
	case tblEhash:
		return s.Hashinfo.EhashSize
	case tblLhash2:
		return s.Hashinfo.Lhash2Size
	}
	return s.Hashinfo.BhashSize
}

// hexWidth is how many hex digits a bucket index of a table of n buckets
// takes (at least 4, as in [0x01a3]).
func hexWidth(n int) int {
	w := 4
	for n-1 >= 1<<(4*w) {
		w++
	}
	return w
}

func (p *hashPane) bucketLabel(i, n int) string {
	return fmt.Sprintf("[0x%0*x] %*d", hexWidth(n), i, len(fmt.Sprint(n-1)), i)
}

// Refresh builds the current table's rows, the summary, and the selected
// socket's bucket and hash inputs.
func (p *hashPane) Refresh(c *Context) {
	p.c = c
	if c.Frame == nil || c.Frame.Snap == nil {
		return
	}
	snap := c.Frame.Snap
	h := &snap.Hashinfo
	socks := make(map[string]*stack.SockSnap, len(snap.Socks))
	for i := range snap.Socks {
		socks[snap.Socks[i].Sk] = &snap.Socks[i]
	}
	var groups [][]hashRow
	entries, longest := 0, 0
	addGroup := func(idx, chainLen int, rows []hashRow) {
		entries += chainLen
		longest = max(longest, chainLen)
		for i := range rows {
			rows[i].bucket, rows[i].chainLen, rows[i].first = idx, chainLen, i == 0
		}
		groups = append(groups, rows)
	}
	var used []int
	switch p.table {
	case tblEhash, tblLhash2:
		buckets := h.Ehash
		if p.table == tblLhash2 {
			buckets = h.Lhash2
		}
		for _, b := range buckets {
			var rows []hashRow
			for _, e := range b.Chain {
				r := hashRow{text: chainText(e.Addr, e.State, e.Local, e.Peer), addr: e.Addr}
				if socks[e.Addr] != nil {
					r.sk = e.Addr
				}
				rows = append(rows, r)
			}
			used = append(used, b.Index)
			addGroup(b.Index, len(b.Chain), rows)
		}
	case tblBhash:
		for _, b := range h.Bhash {
			var rows []hashRow
			for _, tb := range b.Buckets {
				rows = append(rows, hashRow{addr: tb.Tb, text: fmt.Sprintf("tb %s port %d fastreuse %d fastreuseport %d bhash2 %s",
					tb.Tb, tb.Port, tb.Fastreuse, tb.Fastreuseport, strings.Join(tb.Bhash2, ","))})
			}
			used = append(used, b.Index)
			addGroup(b.Index, len(b.Buckets), rows)
		}
	case tblBhash2:
		for _, b := range h.Bhash2 {
			var rows []hashRow
			for _, tb2 := range b.Buckets {
				rows = append(rows, hashRow{addr: tb2.Tb2, text: fmt.Sprintf("tb2 %s %s:%d owners %d", tb2.Tb2, tb2.RcvSaddr, tb2.Port, len(tb2.Owners))})
				for _, o := range tb2.Owners {
					r := hashRow{addr: o, text: "  owner " + o}
					if sk := socks[o]; sk != nil {
						r.sk = o
						r.text = "  owner " + sockText(sk)
					}
					rows = append(rows, r)
				}
			}
			used = append(used, b.Index)
			addGroup(b.Index, len(b.Buckets), rows)
		}
	}
	n := p.size(snap)
	p.used = len(used)
	p.summary = fmt.Sprintf("%s: %d buckets, %d used, longest chain %d, %d entries", hashTables[p.table], n, len(used), longest, entries)
	if salts := fmt.Sprintf("   inet_ehash_secret 0x%08x  net_hash_mix 0x%08x", h.EhashSecret, h.NetHashMix); len(p.summary)+len(salts) < p.w {
		p.summary += salts
	}

	p.mark, p.inputs = -1, ""
	sel := socks[c.Sel.Sock]
	if sel != nil {
		p.mark, p.inputs = p.hashInputs(sel, h)
	}

	p.rows = p.rows[:0]
	for _, g := range groups {
		if p.filter != "" && !groupMatches(g, p.filter) {
			continue
		}
		p.rows = append(p.rows, g...)
	}
	if p.filter == "" {
		p.rows = append(p.rows, emptyRuns(used, n)...)
	}
	p.n = len(p.rows)
	p.clamp()
	// Move to the selected socket's bucket when the selection or the table
	// changed: to its own entry if it is listed, else the bucket's first.
	if loc := fmt.Sprint(p.table, c.Sel.Sock); sel != nil && loc != p.located {
		p.located = loc
		at, bind := -1, p.bindAddr(sel)
		for _, want := range []func(hashRow) bool{
			func(r hashRow) bool { return r.sk == sel.Sk },
			func(r hashRow) bool { return bind != "" && r.addr == bind },
			func(r hashRow) bool { return true },
		} {
			for i, r := range p.rows {
				if at < 0 && r.bucket == p.mark && p.mark >= 0 && want(r) {
					at = i
				}
			}
		}
		if at >= 0 {
			p.cursor = at
			// Show the bucket from its first line.
			start := at
			for start > 0 && p.rows[start].bucket == p.mark && !p.rows[start].first {
				start--
			}
			p.top = start
		}
	}
	p.clamp()
}

// bindAddr is the bind bucket the selected socket owns in the current
// table: icsk_bind_hash in bhash, skc_bind_node (its tcp_bind2_bucket) in
// bhash2.
func (p *hashPane) bindAddr(sk *stack.SockSnap) string {
	switch p.table {
	case tblBhash:
		if sk.Icsk != nil {
			return sk.Icsk.IcskBindHash
		}
	case tblBhash2:
		return sk.SockCommon.SkcBindNode
	}
	return ""
}

func groupMatches(g []hashRow, f string) bool {
	for _, r := range g {
		if strings.Contains(r.text, f) {
			return true
		}
	}
	return false
}

// emptyRuns are the rows for the empty buckets between the used ones.
func emptyRuns(used []int, n int) []hashRow {
	var out []hashRow
	next := 0
	add := func(from, to int) {
		if from > to {
			return
		}
		text := fmt.Sprintf("[0x%0*x]", hexWidth(n), from)
		if to > from {
			text += fmt.Sprintf("-[0x%0*x]", hexWidth(n), to)
		}
		out = append(out, hashRow{bucket: -1, text: fmt.Sprintf("%s empty (%d)", text, to-from+1)})
	}
	for _, u := range used {
		add(next, u-1)
		next = u + 1
	}
	add(next, n-1)
	return out
}

// chainText is a chain entry: address, state, local <- peer.
func chainText(addr, state, local, peer string) string {
	if peer == "0.0.0.0:0" { // a listener's, as ss shows it
		peer = "*:*"
	}
	return fmt.Sprintf("%s %-12s %s <- %s", addr, state, local, peer)
}

func sockText(sk *stack.SockSnap) string {
	sc := &sk.SockCommon
	return chainText(sk.Sk, sc.SkcState, fmt.Sprintf("%s:%d", sc.SkcRcvSaddr, sc.SkcNum), fmt.Sprintf("%s:%d", sc.SkcDaddr, sc.SkcDport))
}

// addrBe32 is an address as the kernel hashes it (network order read as a
// native integer).
func addrBe32(a string) uint32 {
	ad, err := netip.ParseAddr(a)
	if err != nil || !ad.Is4() {
		return 0
	}
	return uint32(sockets.Be32From(ad))
}

// hashInputs is the selected socket's bucket in the current table and the
// hash that puts it there, written out with its inputs' values, as the
// kernel computes it (the salts from the snapshot).
func (p *hashPane) hashInputs(sk *stack.SockSnap, h *stack.HashinfoSnap) (int, string) {
	sc := &sk.SockCommon
	who := fmt.Sprintf("selected %s %s:%d", sc.SkcState, sc.SkcRcvSaddr, sc.SkcNum)
	if sc.SkcDport != 0 {
		who += fmt.Sprintf(" <- %s:%d", sc.SkcDaddr, sc.SkcDport)
	}
	laddr, lport := sc.SkcRcvSaddr, sc.SkcNum
	portaddr := func(tbl string, size int) (int, string) {
		a := addrBe32(laddr)
		j := sockets.Jhash1Word(a, h.NetHashMix)
		hash := j ^ uint32(lport)
		idx := int(hash) & (size - 1)
		return idx, fmt.Sprintf("%s -> %s%s: ipv4_portaddr_hash(addr %s, port %d) = jhash_1word(0x%08x, net_hash_mix 0x%08x) ^ %d = 0x%08x & (%d - 1) = %d",
			who, tbl, p.bucketLabel(idx, size), laddr, lport, a, h.NetHashMix, lport, hash, size, idx)
	}
	switch p.table {
	case tblEhash:
		if sc.SkcState == "LISTEN" {
			return -1, who + ": a listener is not in ehash; lhash2 holds it (t)"
		}
		if !strings.HasPrefix(sc.SkcNode, "ehash[") {
			return -1, who + ": not hashed"
		}
		a, f := addrBe32(laddr), addrBe32(sc.SkcDaddr)
		fport := sockets.Htons(sc.SkcDport)
		ports := uint32(lport)<<16 | uint32(fport)
		hash := sockets.Jhash3Words(a, f, ports, h.EhashSecret+h.NetHashMix)
		idx := int(hash) & (h.EhashSize - 1)
		check := ""
		if hash != sc.SkcHash {
			check = fmt.Sprintf(" (but the snapshot's skc_hash is 0x%08x)", sc.SkcHash)
		}
		return idx, fmt.Sprintf("%s -> ehash%s, skc_hash 0x%08x: inet_ehashfn = jhash_3words(laddr %s, faddr %s, lport %d << 16 | fport %d, inet_ehash_secret + net_hash_mix) & ehash_mask"+
			" = jhash_3words(0x%08x, 0x%08x, 0x%08x, 0x%08x + 0x%08x) & 0x%x = 0x%08x & 0x%x = %d%s",
			who, p.bucketLabel(idx, h.EhashSize), hash, laddr, sc.SkcDaddr, lport, sc.SkcDport,
			a, f, ports, h.EhashSecret, h.NetHashMix, h.EhashSize-1, hash, h.EhashSize-1, idx, check)
	case tblBhash:
		if sk.Icsk == nil || sk.Icsk.IcskBindHash == "" {
			return -1, who + ": owns no port (icsk_bind_hash is NULL)"
		}
		idx := int((uint32(lport) + h.NetHashMix) & uint32(h.BhashSize-1))
		return idx, fmt.Sprintf("%s -> bhash%s (icsk_bind_hash %s): inet_bhashfn = (lport + net_hash_mix) & (bhash_size - 1) = (%d + 0x%08x) & (%d - 1) = %d",
			who, p.bucketLabel(idx, h.BhashSize), sk.Icsk.IcskBindHash, lport, h.NetHashMix, h.BhashSize, idx)
	case tblBhash2:
		if sc.SkcBindNode == "" {
			return -1, who + ": owns no port (not on a tcp_bind2_bucket)"
		}
		idx, s := portaddr("bhash2", h.BhashSize)
		return idx, s + " (tb2 " + sc.SkcBindNode + ")"
	default:
		if sc.SkcState != "LISTEN" {
			return -1, who + ": only listeners are in lhash2; this one is in ehash (t)"
		}
		return portaddr("lhash2", h.Lhash2Size)
	}
}

func (p *hashPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(km, hashTableKey):
		p.table = (p.table + 1) % nTables
		p.cursor, p.top = 0, 0
		p.Refresh(c)
	case key.Matches(km, hashSelectKey):
		if p.cursor >= len(p.rows) {
			return nil
		}
		r := p.rows[p.cursor]
		if r.sk == "" {
			what := r.text
			return func() tea.Msg { return statusMsg("not a full socket: " + strings.TrimSpace(what)) }
		}
		c.Sel.Sock, c.Sel.Skb = r.sk, ""
		p.Refresh(c)
	default:
		p.move(c.Keys, km)
	}
	return nil
}

// wrap breaks s at spaces into lines of at most w cells, the following
// lines indented by two.
func wrap(s string, w int) []string {
	if w < 8 {
		return []string{s}
	}
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
			if len(out) > 0 {
				line = "  " + word
			}
		case len(line)+1+len(word) <= w:
			line += " " + word
		default:
			out = append(out, line)
			line = "  " + word
		}
	}
	return append(out, line)
}

func (p *hashPane) View(c *Context) string {
	s := c.Styles
	if c.Frame == nil || c.Frame.Snap == nil {
		return s.Dim.Render(" no snapshot yet")
	}
	var b strings.Builder
	b.WriteString(fit(" "+p.summary, p.w))
	used := 1
	if p.inputs != "" {
		lines := wrap(p.inputs, p.w-1)
		if most := max(p.h/3, 2); len(lines) > most {
			lines = lines[:most]
		}
		for _, l := range lines {
			b.WriteString("\n" + fit(" "+l, p.w))
		}
		used += len(lines)
	}
	n := p.size(c.Frame.Snap)
	bw := len(p.bucketLabel(0, n))
	b.WriteString("\n" + s.Header.Render(fit(fmt.Sprintf("    %-*s %3s  %s", bw, "BUCKET", "LEN", "CHAIN (head first)"), p.w)))
	used++
	if len(p.rows) == 0 {
		b.WriteString("\n" + s.Dim.Render(" no buckets"+filterNote(p.filter)))
		return b.String()
	}
	first, last := p.window(p.h - used)
	for i := first; i < last; i++ {
		r := p.rows[i]
		mark := "  "
		if r.bucket >= 0 && r.bucket == p.mark {
			mark = "* "
		}
		var line string
		switch {
		case r.bucket < 0:
			line = cursorMark(i == p.cursor) + mark + s.Dim.Render(r.text)
			if i == p.cursor {
				line = cursorMark(true) + mark + r.text
			}
		case r.first:
			line = fmt.Sprintf("%s%s%s %3d  %s", cursorMark(i == p.cursor), mark, p.bucketLabel(r.bucket, n), r.chainLen, r.text)
		default:
			line = fmt.Sprintf("%s%s%*s %3s  %s", cursorMark(i == p.cursor), mark, bw, "", "", r.text)
		}
		if r.sk != "" && r.sk == c.Sel.Sock {
			line += "  (selected)"
		}
		line = fit(line, p.w)
		if i == p.cursor {
			line = s.Selected.Render(line)
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}
