package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/stack"
)

// slabHistory is how many frames of each cache's history the pane keeps.
const slabHistory = 30

// sparkBlocks are the sparkline's eight levels, lowest first.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// slabPane is a slabtop-like table of the slab caches (slabtop's columns,
// from package slab), with each cache's objects in use, their change since
// the last frame ("+1", "-2") and a sparkline of the last frames.
//
// The change and the history follow in_use, the objects allocated right
// now: SLUB's active_objs (the ACTIVE column, as /proc/slabinfo prints it)
// counts every object of the CPU slab as active, so it moves by whole
// slabs and would not show one new socket.
type slabPane struct {
	list
	snap, prev *stack.Snapshot
	// hist is each cache's in_use over the last frames, oldest first.
	hist      map[string][]uint64
	rows      []slabRow
	totals    slab.SlabtopTotals
	inUse     uint64
	sortBy    int
	showEmpty bool
	selName   string // the cache under the cursor, kept as rows move
}

// slabRow is one cache, prepared outside View.
type slabRow struct {
	st     slab.CacheStats
	cells  []string // slabtop's cells (slab.SlabtopColumns)
	delta  int64    // in_use since the last frame
	change string   // "+3", "-1", "" (no change or no earlier frame)
	spark  []rune   // slabHistory levels, newest last, ' ' before the history began
}

// slabSorts are the orders o cycles through.
var slabSorts = []struct {
	name string
	by   slab.SlabtopSort // 0: by change
}{{"active", slab.SortActive}, {"size", slab.SortCacheSize}, {"change", 0}, {"name", slab.SortName}}

func newSlabPane() *slabPane { return &slabPane{hist: map[string][]uint64{}, showEmpty: true} }

func (p *slabPane) Name() string { return "slab" }

func (p *slabPane) Title(c *Context) string {
	t := fmt.Sprintf("slab (%d caches) by %s", len(p.rows), slabSorts[p.sortBy].name)
	if !p.showEmpty {
		t += ", empty hidden"
	}
	return t
}

var (
	slabSortKey  = key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort by active, cache size, change, name"))
	slabEmptyKey = key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "show/hide caches with no objects"))
)

func (p *slabPane) Keys() []key.Binding { return []key.Binding{slabSortKey, slabEmptyKey} }

func (p *slabPane) SetFilter(text string) {
	p.filter = text
	p.rebuild()
}

// Refresh records the new frame's in_use in each cache's history (once per
// frame) and rebuilds the rows.
func (p *slabPane) Refresh(c *Context) {
	f := c.Frame
	if f == nil || f.Snap == nil {
		return
	}
	if f.Snap != p.snap {
		p.snap, p.prev = f.Snap, f.Prev
		seen := make(map[string]bool, len(f.Snap.Slabinfo))
		for _, st := range f.Snap.Slabinfo {
			h := append(p.hist[st.Name], st.InUse)
			if len(h) > slabHistory {
				h = h[len(h)-slabHistory:]
			}
			p.hist[st.Name] = h
			seen[st.Name] = true
		}
		for name := range p.hist {
			if !seen[name] { // a destroyed cache
				delete(p.hist, name)
			}
		}
	}
	p.rebuild()
}

// rebuild makes the rows from the current snapshot: filtered, sorted,
// with their changes and sparklines.
func (p *slabPane) rebuild() {
	if p.snap == nil {
		return
	}
	stats := slices.Clone(p.snap.Slabinfo)
	p.totals = slab.SumSlabtop(stats)
	p.inUse = 0
	for _, st := range stats {
		p.inUse += st.InUse
	}
	prev := map[string]uint64{}
	if p.prev != nil {
		for _, st := range p.prev.Slabinfo {
			prev[st.Name] = st.InUse
		}
	}
	by := slabSorts[p.sortBy].by
	if by != 0 {
		slab.SortSlabtop(stats, by)
	} else {
		slab.SortSlabtop(stats, slab.SortName)
	}
	p.rows = p.rows[:0]
	for _, st := range stats {
		if !p.showEmpty && st.NumObjs == 0 {
			continue
		}
		if p.filter != "" && !strings.Contains(st.Name, p.filter) {
			continue
		}
		r := slabRow{st: st, cells: st.SlabtopCells(), spark: sparkline(p.hist[st.Name], slabHistory)}
		if before, ok := prev[st.Name]; ok {
			r.delta = int64(st.InUse) - int64(before)
			if r.delta != 0 {
				r.change = fmt.Sprintf("%+d", r.delta)
			}
		}
		p.rows = append(p.rows, r)
	}
	if by == 0 {
		slices.SortStableFunc(p.rows, func(a, b slabRow) int {
			return cmp.Or(cmp.Compare(abs64(b.delta), abs64(a.delta)), cmp.Compare(b.delta, a.delta))
		})
	}
	p.n = len(p.rows)
	for i, r := range p.rows {
		if r.st.Name == p.selName {
			p.cursor = i
			break
		}
	}
	p.clamp()
	if p.n > 0 {
		p.selName = p.rows[p.cursor].st.Name
	}
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// sparkline draws the last n values as block characters scaled between
// their own minimum and maximum (a flat history is a flat line: ▁ at
// zero, ▄ otherwise), padded with spaces on the left while the history is
// shorter than n.
func sparkline(vals []uint64, n int) []rune {
	if len(vals) > n {
		vals = vals[len(vals)-n:]
	}
	out := make([]rune, n)
	for i := range out {
		out[i] = ' '
	}
	if len(vals) == 0 {
		return out
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	off := n - len(vals)
	for i, v := range vals {
		lvl := 0
		switch {
		case hi == lo && v > 0:
			lvl = 3
		case hi > lo:
			lvl = int((v - lo) * uint64(len(sparkBlocks)-1) / (hi - lo))
		}
		out[off+i] = sparkBlocks[lvl]
	}
	return out
}

func (p *slabPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(km, slabSortKey):
		p.sortBy = (p.sortBy + 1) % len(slabSorts)
		p.rebuild()
	case key.Matches(km, slabEmptyKey):
		p.showEmpty = !p.showEmpty
		p.rebuild()
	case p.move(c.Keys, km):
		if p.cursor < len(p.rows) {
			p.selName = p.rows[p.cursor].st.Name
		}
	}
	return nil
}

// slabLayout is which of slabtop's columns fit, and the sparkline's width.
type slabLayout struct {
	cols  []int // indexes into slab.SlabtopColumns, NAME excluded
	spark int
}

// Widths of the pane's own columns.
const (
	inUseW  = 6 // IN USE
	changeW = 5 // +/-
)

// layout drops slabtop's less telling columns (OBJ/SLAB, CACHE SIZE,
// SLABS) while the name and a sparkline of at least 10 frames would not
// fit, and gives the sparkline what is left, up to slabHistory.
func (p *slabPane) layout() slabLayout {
	nameW := 4
	for _, r := range p.rows {
		nameW = max(nameW, len(r.st.Name))
	}
	nameW = min(nameW, 24)
	hdr := slab.SlabtopHeaderCells()
	cols := []int{0, 1, 2, 3, 4, 5, 6}
	width := func(cols []int) int {
		w := 2 // cursor mark
		for _, i := range cols {
			w += len(hdr[i]) + 1
		}
		return w + inUseW + 1 + changeW + 1
	}
	for _, drop := range []int{5, 6, 4} {
		if width(cols)+10+1+nameW <= p.w {
			break
		}
		cols = slices.DeleteFunc(cols, func(i int) bool { return i == drop })
	}
	return slabLayout{cols: cols, spark: min(max(p.w-width(cols)-1-nameW, 10), slabHistory)}
}

// summary is slabtop's first lines: all five when the pane is tall, else
// one line with the objects, slabs and memory.
func (p *slabPane) summary() []string {
	t := p.totals
	if p.h >= 24 {
		return append(t.Lines(), fmt.Sprintf(" Objects in use (allocated now)     : %d", p.inUse), "")
	}
	objPct := 0.0
	if t.Objs > 0 {
		objPct = 100 * float64(t.Active) / float64(t.Objs)
	}
	return []string{fmt.Sprintf(" Active / Total Objects %d / %d (%.1f%%)  Slabs %d  Size %.2fK / %.2fK  in use %d",
		t.Active, t.Objs, objPct, t.Slabs, t.ActiveSize/1024, t.Size/1024, p.inUse)}
}

func (p *slabPane) View(c *Context) string {
	s := c.Styles
	if p.snap == nil {
		return s.Dim.Render(" no snapshot yet")
	}
	var b strings.Builder
	sum := p.summary()
	for _, l := range sum {
		b.WriteString(fit(l, p.w) + "\n")
	}
	lay := p.layout()
	hdr := slab.SlabtopHeaderCells()
	var h strings.Builder
	h.WriteString("  ")
	for _, i := range lay.cols {
		h.WriteString(hdr[i] + " ")
	}
	fmt.Fprintf(&h, "%*s %*s %-*s %s", inUseW, "IN USE", changeW, "+/-", lay.spark, "HISTORY", hdr[len(hdr)-1])
	b.WriteString(s.Header.Render(fit(h.String(), p.w)))
	if len(p.rows) == 0 {
		b.WriteString("\n" + s.Dim.Render(" no caches"+filterNote(p.filter)))
		return b.String()
	}
	first, last := p.window(p.h - len(sum) - 1)
	for i := first; i < last; i++ {
		r := p.rows[i]
		var l strings.Builder
		l.WriteString(cursorMark(i == p.cursor))
		for _, j := range lay.cols {
			l.WriteString(r.cells[j] + " ")
		}
		fmt.Fprintf(&l, "%*d ", inUseW, r.st.InUse)
		change := fmt.Sprintf("%*s", changeW, r.change)
		if r.change != "" && i != p.cursor {
			change = s.Changed.Render(change)
		}
		l.WriteString(change + " " + string(r.spark[len(r.spark)-lay.spark:]) + " " + r.st.Name)
		line := fit(l.String(), p.w)
		if i == p.cursor {
			line = s.Selected.Render(line)
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}
