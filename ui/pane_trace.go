package ui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// Bounds of the trace pane's memory: it keeps up to traceKeep lines and
// drops the oldest quarter when it has more.
const traceKeep = 2 * frameEvents

// tracePane is the kernel's function graph as it runs, laid out as
// ftrace's function_graph tracer prints it: indented by call depth,
// "name(args) {" at an entry, "} = ret /* name */" at its exit, and a
// callee with nothing inside folded to "name(args) = ret;". Each task's
// lines carry its name and id (TASK-PID, as ftrace) where the task
// changes. The pane follows the newest events, as tail -f does, until the
// user scrolls up. While stepping has stopped the kernel, the stop's line
// is marked "<- STEPPING" and the lower part explains the current
// function: its kernel file, the project's words about it, the call
// stack, and the breakpoints.
type tracePane struct {
	list
	lines  []traceLine
	vis    []int // the lines matching the filter, when there is one
	nextNo uint64
	// lastSeq is the newest event taken; pending, if set, is the entry on
	// the last line, which its exit folds into if it comes next.
	lastSeq    uint64
	pending    tracing.Event
	hasPending bool
	stacks     map[uint32][]tracing.Event // per task, the entries not yet exited
	comm       map[uint32]string          // pid -> command name
	follow     bool
	res        tracing.Resolver

	stop   *stack.Stop
	bps    []tracing.Breakpoint
	detail []string // the lower part, prepared for the width
}

// traceLine is one line of the graph, formatted when its event arrived.
type traceLine struct {
	no      uint64 // the line's number since the pane started
	seq     uint64 // its first event
	exitSeq uint64 // the exit folded into it, if any
	task    uint32
	depth   uint16
	fn      tracing.FuncID
	text    string
}

func newTracePane() *tracePane {
	return &tracePane{follow: true, stacks: map[uint32][]tracing.Event{}, comm: map[uint32]string{}}
}

func (p *tracePane) Name() string { return "trace" }

func (p *tracePane) Title(c *Context) string {
	if p.stop != nil {
		f := tracing.FuncByID(p.stop.Event.Func)
		return fmt.Sprintf("trace: %s (%s)", f.Name, f.File)
	}
	if !p.follow {
		return fmt.Sprintf("trace: scrolled, line %d of %d (G or end follows)", p.cursor+1, p.n)
	}
	return "trace"
}

var traceFollowKey = key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "follow the newest events"))

func (p *tracePane) Keys() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑↓ pgup pgdn g", "scroll (stops following)")),
		traceFollowKey,
		key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "break at the function on the cursor line")),
	}
}

func (p *tracePane) SetSize(w, h int) {
	p.list.SetSize(w, h)
	p.prepareDetail()
}

func (p *tracePane) SetFilter(text string) {
	curNo := p.cursorNo()
	p.filter = text
	p.rebuildVis()
	p.placeCursor(curNo)
}

// FuncUnderCursor is the kernel function on the cursor line.
func (p *tracePane) FuncUnderCursor() string {
	if l := p.row(p.cursor); l != nil && l.fn != 0 {
		return l.fn.Name()
	}
	return ""
}

// row returns the i-th row shown (after the filter), or nil.
func (p *tracePane) row(i int) *traceLine {
	if p.vis != nil {
		if i < 0 || i >= len(p.vis) {
			return nil
		}
		return &p.lines[p.vis[i]]
	}
	if i < 0 || i >= len(p.lines) {
		return nil
	}
	return &p.lines[i]
}

func (p *tracePane) rows() int {
	if p.vis != nil {
		return len(p.vis)
	}
	return len(p.lines)
}

func (p *tracePane) matches(l *traceLine) bool {
	return strings.Contains(l.text, p.filter)
}

func (p *tracePane) rebuildVis() {
	if p.filter == "" {
		p.vis = nil
		return
	}
	p.vis = p.vis[:0:0]
	for i := range p.lines {
		if p.matches(&p.lines[i]) {
			p.vis = append(p.vis, i)
		}
	}
}

// cursorNo is the number of the line under the cursor (0 if none).
func (p *tracePane) cursorNo() uint64 {
	if l := p.row(p.cursor); l != nil {
		return l.no
	}
	return 0
}

// placeCursor puts the cursor on line number no, or the first shown line
// after it; following, on the newest.
func (p *tracePane) placeCursor(no uint64) {
	p.n = p.rows()
	if p.follow {
		p.cursor = p.n - 1
	} else {
		p.cursor = sort.Search(p.n, func(i int) bool { return p.row(i).no >= no })
	}
	p.clamp()
}

// Refresh appends the lines of the events that arrived since the last
// frame, so a frame costs what it brings, not the 4096 it carries.
func (p *tracePane) Refresh(c *Context) {
	f := c.Frame
	if f == nil {
		return
	}
	p.res = c.Resolver()
	if f.Snap != nil {
		for _, pr := range f.Snap.Processes {
			p.comm[pr.Pid] = pr.Comm
		}
	}
	curNo := p.cursorNo()
	evs := f.Events
	i := sort.Search(len(evs), func(i int) bool { return evs[i].Seq > p.lastSeq })
	if i < len(evs) && p.lastSeq != 0 && evs[i].Seq > p.lastSeq+1 {
		p.gap(evs[i].Seq - p.lastSeq - 1)
	}
	for ; i < len(evs); i++ {
		p.add(&evs[i])
	}
	p.trim()
	p.placeCursor(curNo)
	p.stop, p.bps = f.Stop, f.Breakpoints
	p.prepareDetail()
}

// gap notes events that went by between two frames without being seen.
func (p *tracePane) gap(missed uint64) {
	p.hasPending = false
	p.push(traceLine{text: fmt.Sprintf("/* ... %d events not shown: more than %d arrived between two frames */", missed, frameEvents)})
}

func (p *tracePane) push(l traceLine) {
	p.nextNo++
	l.no = p.nextNo
	p.lines = append(p.lines, l)
	if p.filter != "" && p.matches(&p.lines[len(p.lines)-1]) {
		p.vis = append(p.vis, len(p.lines)-1)
	}
}

// add lays out one event: an exit right after its own entry folds the
// entry's line into a leaf; anything else ends the fold.
func (p *tracePane) add(ev *tracing.Event) {
	p.lastSeq = ev.Seq
	p.track(ev)
	line := traceLine{seq: ev.Seq, task: ev.Task, depth: ev.Depth, fn: ev.Func}
	switch ev.Kind {
	case tracing.Entry:
		line.text = tracing.GraphOpen(ev, p.res)
		p.push(line)
		p.pending, p.hasPending = *ev, true
		return
	case tracing.Exit:
		if p.hasPending && tracing.Closes(&p.pending, ev) {
			p.hasPending = false
			last := len(p.lines) - 1
			l := &p.lines[last]
			l.text = tracing.GraphLeaf(&p.pending, ev, p.res)
			l.exitSeq = ev.Seq
			if p.filter != "" {
				shown := len(p.vis) > 0 && p.vis[len(p.vis)-1] == last
				switch m := p.matches(l); {
				case m && !shown:
					p.vis = append(p.vis, last)
				case !m && shown:
					p.vis = p.vis[:len(p.vis)-1]
				}
			}
			return
		}
		line.text = tracing.GraphClose(ev, p.res)
	default:
		line.text = tracing.GraphPoint(ev, p.res)
	}
	p.hasPending = false
	p.push(line)
}

// track keeps each task's chain of entered functions: an entry replaces
// whatever its depth or deeper held (events lost between frames cannot
// leave it wrong for long), an exit pops to its entry.
func (p *tracePane) track(ev *tracing.Event) {
	st := p.stacks[ev.Task]
	switch ev.Kind {
	case tracing.Entry:
		for len(st) > 0 && st[len(st)-1].Depth >= ev.Depth {
			st = st[:len(st)-1]
		}
		st = append(st, *ev)
	case tracing.Exit:
		for len(st) > 0 && st[len(st)-1].Depth >= ev.Depth {
			st = st[:len(st)-1]
		}
	default:
		return
	}
	if len(st) == 0 {
		delete(p.stacks, ev.Task)
		return
	}
	p.stacks[ev.Task] = st
}

// trim drops the oldest quarter of the lines when there are too many.
func (p *tracePane) trim() {
	if len(p.lines) <= traceKeep {
		return
	}
	drop := len(p.lines) - traceKeep + traceKeep/4
	p.lines = append(p.lines[:0:0], p.lines[drop:]...)
	p.rebuildVis()
}

func (p *tracePane) Update(c *Context, msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if key.Matches(km, traceFollowKey) {
		p.follow = true
		p.cursor = p.n - 1
		p.clamp()
		return nil
	}
	if p.move(c.Keys, km) {
		p.follow = false
	}
	return nil
}

// taskName is TASK-PID, as ftrace prints it; the kernel's own work
// (softirq, timers) runs on no task, which ftrace shows as <idle>-0.
func (p *tracePane) taskName(task uint32) string {
	if task == 0 {
		return "<idle>-0"
	}
	if comm, ok := p.comm[task]; ok {
		return fmt.Sprintf("%s-%d", comm, task)
	}
	return fmt.Sprint(task)
}

const traceTaskWidth = 14

func (p *tracePane) View(c *Context) string {
	s := c.Styles
	detail := p.detail
	if len(detail) > p.h/2 {
		detail = detail[:p.h/2]
	}
	gh := max(p.h-len(detail), 1)
	var b strings.Builder
	if p.n == 0 {
		b.WriteString(s.Dim.Render(" no kernel function has run since the inspector started" + filterNote(p.filter)))
		for i := 1; i < gh; i++ {
			b.WriteByte('\n')
		}
	} else {
		first, last := p.window(gh)
		var prevTask uint32
		for i := first; i < gh+first; i++ {
			if i > first {
				b.WriteByte('\n')
			}
			if i >= last {
				continue
			}
			l := p.row(i)
			task := strings.Repeat(" ", traceTaskWidth)
			if i == first || l.task != prevTask {
				task = pad(p.taskName(l.task), traceTaskWidth)
			}
			prevTask = l.task
			atStop := p.stop != nil && (l.seq == p.stop.Event.Seq || l.exitSeq == p.stop.Event.Seq)
			text := cursorMark(i == p.cursor || atStop) + task + " │ " + strings.Repeat("  ", int(l.depth)) + l.text
			if atStop {
				text += "   <- STEPPING"
			}
			text = fit(text, p.w)
			switch {
			case i == p.cursor:
				text = s.Selected.Render(text)
			case atStop:
				text = s.Changed.Render(text)
			}
			b.WriteString(text)
		}
	}
	for _, d := range detail {
		b.WriteString("\n" + d)
	}
	return b.String()
}

// prepareDetail writes the lower part for the current width: while
// stopped, the current function, its file and explanation, why the kernel
// stopped, the call stack; the breakpoints whenever there are any.
func (p *tracePane) prepareDetail() {
	p.detail = p.detail[:0]
	w := max(p.w-2, 10)
	wrap := func(text string) {
		for _, l := range strings.Split(ansi.Wordwrap(text, w, ""), "\n") {
			p.detail = append(p.detail, " "+l)
		}
	}
	if st := p.stop; st != nil {
		ev := &st.Event
		f := tracing.FuncByID(ev.Func)
		if p.h >= 20 {
			p.detail = append(p.detail, strings.Repeat("─", max(p.w, 0)))
		}
		wrap(fmt.Sprintf("%s()  %s", f.Name, f.File))
		wrap(f.Explain)
		var chain []string
		for _, e := range p.stacks[ev.Task] {
			chain = append(chain, e.Func.Name())
		}
		if ev.Kind == tracing.Exit {
			chain = append(chain, f.Name+" (returning)")
		}
		wrap("call stack: " + strings.Join(chain, " -> "))
		where := "entry"
		switch ev.Kind {
		case tracing.Exit:
			where = "return"
			if ret := ev.Ret(); ret.Kind != tracing.ArgNone {
				where += " = " + tracing.FormatArg(ret, p.res)
			}
		case tracing.Point:
			where = "trace point"
		}
		wrap(fmt.Sprintf("stopped at its %s (%s), task %s, event #%d", where, st.Why, p.taskName(ev.Task), ev.Seq))
	}
	if len(p.bps) > 0 {
		parts := make([]string, len(p.bps))
		for i, b := range p.bps {
			parts[i] = fmt.Sprintf("%s hits %d", b, b.Hits)
		}
		wrap("breakpoints: " + strings.Join(parts, ", "))
	}
}
