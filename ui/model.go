package ui

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// Options tune the program.
type Options struct {
	// Interval is how often a frame is sampled (default 100 ms: about ten
	// snapshots a second).
	Interval time.Duration
	// TestMode turns off everything that makes output depend on timing:
	// periodic sampling and the terminal background query. Frames come
	// only from RefreshMsg.
	TestMode bool
	// Dark chooses the style sheet before (or instead of) asking the
	// terminal.
	Dark bool
	// Stepping allows the stepping keys and breakpoints. The kernel's
	// stepping controller is attached at the first of them, so a kernel
	// nobody steps pays nothing for it.
	Stepping bool
}

// The grid's six panes; 7, 8 and 9 open zoomed.
const gridPanes = 6

// Model is the root model: the panes, which has the focus, zoom, the
// command and filter lines, help, and the sampling of frames.
type Model struct {
	ctx   *Context
	opts  Options
	feed  *Feed
	panes []Pane
	focus int
	zoom  bool
	help  bool
	mouse bool
	// viewPaused freezes the frames shown (space); the kernel runs on.
	viewPaused bool
	fetching   bool
	// recording is the trace file the session is being recorded to.
	recording string
	banner    string
	status    string // the last command's result or error
	filters   map[int]string

	input     textinput.Model
	inputKind byte // ':' or '/' while the input line is open, else 0

	width, height int
	frames        atomic.Int64
}

// RefreshMsg asks for a new frame now (tests send it; the ticker too).
type RefreshMsg struct{}

type tickMsg struct{}

type frameMsg struct {
	f   *Frame
	err error
	k   *stack.Kernel // the kernel it was taken from
}

type statusMsg string

// New builds the inspector over src. It subscribes to the kernel's events
// and packets (so call it before the source starts its activity if the
// first events matter).
func New(src Source, opts Options) (*Model, error) {
	if opts.Interval == 0 {
		opts.Interval = 100 * time.Millisecond
	}
	k := src.Kernel()
	var feed *Feed
	if rs, ok := src.(*ReplaySource); ok {
		feed = rs.TakeFeed() // attached before the replay's kernel ran
	}
	if feed == nil {
		var err error
		if feed, err = NewFeed(k, opts.Interval); err != nil {
			return nil, fmt.Errorf("inspector: %w", err)
		}
	}
	ctx := &Context{Src: src, K: k, Styles: NewStyles(opts.Dark), Keys: DefaultKeys()}
	in := textinput.New()
	in.Prompt = ""
	m := &Model{ctx: ctx, opts: opts, feed: feed, banner: src.Banner(), filters: map[int]string{}, input: in,
		width: 160, height: 45}
	m.panes = newPanes(src)
	switch src.(type) {
	case *ScriptSource, *ReplaySource:
		m.focus = len(m.panes) - 1 // a script run opens on its script, a replay on its inputs
	}
	m.layout()
	return m, nil
}

// Init starts sampling.
func (m *Model) Init() tea.Cmd {
	if m.opts.TestMode {
		return nil
	}
	return tea.Batch(tea.RequestBackgroundColor, m.fetch(), m.tick())
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opts.Interval, func(time.Time) tea.Msg { return tickMsg{} })
}

// fetch samples a frame off the UI goroutine: a snapshot (through the
// kernel loop, also while stepping has stopped it), the feed's events
// and packets, and where stepping stopped.
func (m *Model) fetch() tea.Cmd {
	if m.fetching {
		return nil
	}
	m.fetching = true
	k, feed, skbAddr := m.ctx.K, m.feed, m.ctx.Sel.Skb
	var prev *stack.Snapshot
	if m.ctx.Frame != nil {
		prev = m.ctx.Frame.Snap
	}
	return func() tea.Msg {
		f := &Frame{Prev: prev}
		// Where the kernel stopped first: stopped, it stays so until the
		// UI steps it, so the snapshot and the events that follow include
		// the stop's event.
		if st, ok, err := k.Paused(); err == nil && ok {
			f.Stop = &st
		}
		snap, err := k.Snapshot()
		if err != nil {
			return frameMsg{err: err, k: k}
		}
		f.Snap = snap
		if err := feed.take(f); err != nil {
			return frameMsg{err: err, k: k}
		}
		f.Breakpoints, _ = k.Breakpoints()
		if skbAddr != "" {
			f.Skb, f.SkbErr = k.DescribeSkb(skbAddr)
		}
		return frameMsg{f: f, k: k}
	}
}

// Update routes messages: sizes and frames to every pane, keys to the
// input line, the help, the global bindings, or the focused pane.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.ctx.Styles = NewStyles(msg.IsDark())
		return m, nil
	case tickMsg:
		var cmd tea.Cmd
		if !m.viewPaused {
			cmd = m.fetch()
		}
		return m, tea.Batch(cmd, m.tick())
	case RefreshMsg:
		return m, m.fetch()
	case frameMsg:
		m.fetching = false
		if msg.k != nil && msg.k != m.ctx.K {
			return m, m.fetch() // taken from a kernel a replay has since replaced
		}
		if msg.err != nil {
			m.status = "snapshot: " + msg.err.Error()
			return m, nil
		}
		if !m.viewPaused || m.ctx.Frame == nil {
			m.ctx.Frame = msg.f
			for _, p := range m.panes {
				p.Refresh(m.ctx)
			}
		}
		m.frames.Add(1)
		return m, nil
	case statusMsg:
		m.status = string(msg)
		return m, m.fetch()
	case recordMsg:
		switch {
		case msg.started:
			m.recording = msg.path
		case msg.stopped:
			m.recording = ""
		}
		m.status = msg.status
		return m, nil
	case replayMsg:
		m.rebind()
		m.status = msg.status()
		var cmd tea.Cmd
		for _, p := range m.panes {
			if p.Name() == "replay" {
				cmd = p.Update(m.ctx, msg)
			}
		}
		return m, tea.Batch(cmd, m.fetch())
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseClickMsg:
		// A click focuses the pane under it (the mouse is on only after m).
		if i, ok := m.paneAt(msg.X, msg.Y); ok && msg.Button == tea.MouseLeft {
			m.setFocus(i)
		}
		return m, nil
	case tea.MouseWheelMsg:
		// The wheel moves the focused pane's cursor, as the arrow keys do.
		k := tea.KeyPressMsg{Code: tea.KeyDown}
		if msg.Button == tea.MouseWheelUp {
			k = tea.KeyPressMsg{Code: tea.KeyUp}
		}
		return m, m.panes[m.focus].Update(m.ctx, k)
	case PaneMsg:
		for _, p := range m.panes {
			if p.Name() == msg.Pane {
				return m, p.Update(m.ctx, msg.Msg)
			}
		}
		return m, nil
	}
	return m, m.panes[m.focus].Update(m.ctx, msg)
}

// key handles a key press.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.ctx.Keys
	if m.inputKind != 0 {
		return m.inputKey(msg)
	}
	if m.help {
		if key.Matches(msg, k.Help, k.Back) {
			m.help = false
		} else if key.Matches(msg, k.Quit) {
			return tea.Quit
		}
		return nil
	}
	if t, ok := m.panes[m.focus].(TextInput); ok && t.Typing() && msg.String() != "ctrl+c" &&
		!key.Matches(msg, k.NextPane, k.PrevPane) {
		return m.panes[m.focus].Update(m.ctx, msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.help = true
	case key.Matches(msg, k.NextPane):
		m.setFocus((m.focus + 1) % len(m.panes))
	case key.Matches(msg, k.PrevPane):
		m.setFocus((m.focus + len(m.panes) - 1) % len(m.panes))
	case key.Matches(msg, k.Zoom):
		m.zoom = !m.zoom
		m.layout()
	case key.Matches(msg, k.Back):
		switch {
		case m.banner != "":
			m.banner = ""
			m.layout()
		case m.zoom:
			m.zoom = false
			m.layout()
		case m.filters[m.focus] != "":
			m.setFilter("")
		}
	case key.Matches(msg, k.Filter):
		return m.openInput('/', m.filters[m.focus])
	case key.Matches(msg, k.Command):
		return m.openInput(':', "")
	case key.Matches(msg, k.Pause):
		m.viewPaused = !m.viewPaused
		if !m.viewPaused {
			return m.fetch()
		}
	case key.Matches(msg, k.Live):
		// Back to live; the focused pane hears it too (a list that follows
		// the newest row follows again).
		m.viewPaused = false
		return tea.Batch(m.panes[m.focus].Update(m.ctx, msg), m.fetch())
	case key.Matches(msg, k.Mouse):
		m.mouse = !m.mouse
	case key.Matches(msg, k.Step):
		return m.step(tracing.StepInto)
	case key.Matches(msg, k.Next):
		return m.step(tracing.StepOver)
	case key.Matches(msg, k.Finish):
		return m.step(tracing.StepOut)
	case key.Matches(msg, k.Continue):
		return m.step(tracing.Continue)
	case key.Matches(msg, k.BreakIn):
		return m.command("breakin")
	case key.Matches(msg, k.BreakHere):
		if c, ok := m.panes[m.focus].(Cursorable); ok && c.FuncUnderCursor() != "" {
			return m.command("break " + c.FuncUnderCursor())
		}
		return m.openInput(':', "break ")
	case key.Matches(msg, k.Burst):
		return m.command("burst")
	case key.Matches(msg, k.Record):
		if m.recording != "" {
			return m.command("record")
		}
		return m.openInput(':', "record "+defaultTraceName())
	case key.Matches(msg, k.StepBack):
		return m.replay("back", func(r *ReplaySource) (ReplayState, error) { return r.Back() })
	case key.Matches(msg, k.OverBack):
		return m.replay("back over", func(r *ReplaySource) (ReplayState, error) { return r.BackOver() })
	case key.Matches(msg, k.PrevPacket):
		return m.replay("previous packet", func(r *ReplaySource) (ReplayState, error) { return r.Packet(-1) })
	case key.Matches(msg, k.NextPacket):
		return m.replay("next packet", func(r *ReplaySource) (ReplayState, error) { return r.Packet(1) })
	case key.Matches(msg, k.PrevMark):
		return m.replay("previous bookmark", func(r *ReplaySource) (ReplayState, error) { return r.Mark(-1) })
	case key.Matches(msg, k.NextMark):
		return m.replay("next bookmark", func(r *ReplaySource) (ReplayState, error) { return r.Mark(1) })
	case key.Matches(msg, k.Bookmark):
		if _, ok := m.ctx.Src.(*ReplaySource); !ok {
			m.status = "bookmarks are for replays (stackscope replay TRACE)"
			return nil
		}
		return m.openInput(':', "bookmark ")
	default:
		for i, b := range k.Jump {
			if key.Matches(msg, b) && i < len(m.panes) {
				m.setFocus(i)
				return nil
			}
		}
		return m.panes[m.focus].Update(m.ctx, msg)
	}
	return nil
}

func (m *Model) setFocus(i int) {
	m.focus = i
	m.layout()
}

// openInput opens the command (':') or filter ('/') line.
func (m *Model) openInput(kind byte, value string) tea.Cmd {
	m.inputKind = kind
	m.input.SetValue(value)
	m.input.CursorEnd()
	return m.input.Focus()
}

// inputKey edits the open input line; a filter applies as it is typed.
func (m *Model) inputKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		if m.inputKind == '/' {
			m.setFilter("")
		}
		m.inputKind = 0
		m.input.Blur()
		return nil
	case "enter":
		kind, v := m.inputKind, strings.TrimSpace(m.input.Value())
		m.inputKind = 0
		m.input.Blur()
		if kind == ':' {
			return m.command(v)
		}
		m.setFilter(v)
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	if m.inputKind == '/' {
		m.setFilter(m.input.Value())
	}
	return cmd
}

func (m *Model) setFilter(v string) {
	m.filters[m.focus] = v
	if f, ok := m.panes[m.focus].(Filterable); ok {
		f.SetFilter(v)
		if m.ctx.Frame != nil {
			m.panes[m.focus].Refresh(m.ctx) // instant feedback, not at the next frame
		}
	}
}

// step resumes a stopped kernel, or stops a running one at its next
// event (so the first s, n or f breaks in).
func (m *Model) step(cmd tracing.StepCommand) tea.Cmd {
	if _, ok := m.ctx.Src.(*ReplaySource); ok {
		return m.replay(cmd.String(), func(r *ReplaySource) (ReplayState, error) { return r.Forward(cmd) })
	}
	k := m.ctx.K
	stopped := m.ctx.Frame != nil && m.ctx.Frame.Stop != nil
	if !m.opts.Stepping {
		m.status = "stepping is off for this source"
		return nil
	}
	return func() tea.Msg {
		if err := k.EnableStepping(); err != nil {
			return statusMsg("stepping: " + err.Error())
		}
		if !stopped {
			if cmd == tracing.Continue {
				return statusMsg("the kernel is running")
			}
			if err := k.BreakIn(); err != nil {
				return statusMsg("break in: " + err.Error())
			}
			return statusMsg("stopping at the next kernel function")
		}
		if err := k.Step(cmd); err != nil {
			return statusMsg(cmd.String() + ": " + err.Error())
		}
		// Give the kernel a moment to reach its next stop before sampling.
		time.Sleep(5 * time.Millisecond)
		return statusMsg(cmd.String())
	}
}

// command runs a ':' command.
func (m *Model) command(line string) tea.Cmd {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	for i, p := range m.panes {
		if f[0] == p.Name() || f[0] == fmt.Sprint(i+1) {
			m.setFocus(i)
			return nil
		}
	}
	k := m.ctx.K
	switch f[0] {
	case "q", "quit":
		return tea.Quit
	case "help":
		m.help = true
	case "zoom":
		m.zoom = !m.zoom
		m.layout()
	case "mouse":
		m.mouse = !m.mouse
	case "step", "s":
		return m.step(tracing.StepInto)
	case "next", "n":
		return m.step(tracing.StepOver)
	case "finish", "f":
		return m.step(tracing.StepOut)
	case "continue", "c":
		return m.step(tracing.Continue)
	case "breakin":
		if !m.opts.Stepping {
			m.status = "stepping is off for this source"
			return nil
		}
		return func() tea.Msg {
			if err := k.EnableStepping(); err != nil {
				return statusMsg("stepping: " + err.Error())
			}
			if err := k.BreakIn(); err != nil {
				return statusMsg("break in: " + err.Error())
			}
			return statusMsg("stopping at the next kernel function")
		}
	case "break", "b":
		if len(f) < 2 {
			m.status = "usage: break FUNCTION (a kernel function name or glob, e.g. tcp_v4_rcv or inet_csk_*)"
			return nil
		}
		glob := f[1]
		if !m.opts.Stepping {
			m.status = "stepping is off for this source"
			return nil
		}
		return func() tea.Msg {
			if err := k.EnableStepping(); err != nil {
				return statusMsg("stepping: " + err.Error())
			}
			bp, err := k.AddBreakpoint(glob)
			if err != nil {
				return statusMsg("break " + glob + ": " + err.Error())
			}
			return statusMsg("breakpoint " + bp.String())
		}
	case "delete", "d":
		var id int
		if len(f) < 2 || func() bool { _, err := fmt.Sscan(f[1], &id); return err != nil }() {
			m.status = "usage: delete N (the breakpoint's number)"
			return nil
		}
		return func() tea.Msg {
			ok, err := k.DeleteBreakpoint(id)
			switch {
			case err != nil:
				return statusMsg("delete: " + err.Error())
			case !ok:
				return statusMsg(fmt.Sprintf("no breakpoint #%d", id))
			}
			return statusMsg(fmt.Sprintf("breakpoint #%d deleted", id))
		}
	case "burst":
		b, ok := m.ctx.Src.(Burster)
		if !ok {
			m.status = "a SYN burst is the demo's; this source has none"
			return nil
		}
		return func() tea.Msg {
			s, err := b.SynBurst()
			if err != nil {
				return statusMsg("burst: " + err.Error())
			}
			return statusMsg(s)
		}
	case "record":
		return m.recordCommand(strings.TrimSpace(strings.TrimPrefix(line, f[0])))
	case "goto", "bookmark", "unbookmark", "back":
		return m.replayCommand(f[0], strings.TrimSpace(strings.TrimPrefix(line, f[0])))
	default:
		m.status = fmt.Sprintf("unknown command %q (try :help)", f[0])
	}
	return nil
}

// bodySize is the space between the status bar (and banner) and the key
// line.
func (m *Model) bodySize() (int, int) {
	h := m.height - 2
	if m.banner != "" {
		h--
	}
	return m.width, max(h, 3)
}

// zoomed reports whether one pane fills the body: z, or a pane outside
// the grid.
func (m *Model) zoomed() bool { return m.zoom || m.focus >= gridPanes }

// layout gives every pane its size for the current arrangement.
func (m *Model) layout() {
	w, h := m.bodySize()
	if m.zoomed() {
		m.panes[m.focus].SetSize(w-2, h-2)
		return
	}
	for i := 0; i < gridPanes && i < len(m.panes); i++ {
		cw, ch := m.cell(i, w, h)
		m.panes[i].SetSize(cw-2, ch-2)
	}
}

// paneAt finds the grid pane at screen position (x, y).
func (m *Model) paneAt(x, y int) (int, bool) {
	if m.zoomed() || m.help {
		return m.focus, true
	}
	top := 1
	if m.banner != "" {
		top++
	}
	w, h := m.bodySize()
	left := w * 55 / 100
	row := -1
	for r, y0 := 0, top; r < 3; r++ {
		_, ch := m.cell(r*2, w, h)
		if y >= y0 && y < y0+ch {
			row = r
			break
		}
		y0 += ch
	}
	if row < 0 || x < 0 || x >= w {
		return 0, false
	}
	col := 0
	if x >= left {
		col = 1
	}
	return row*2 + col, true
}

// cell is the size of grid cell i: two columns (55% / 45%), three rows.
func (m *Model) cell(i, w, h int) (int, int) {
	left := w * 55 / 100
	cw := left
	if i%2 == 1 {
		cw = w - left
	}
	row := i / 2
	ch := h / 3
	if row == 2 {
		ch = h - 2*(h/3)
	}
	return cw, ch
}

func (m *Model) paneTitle(i int) string {
	t := fmt.Sprintf("%d %s", i+1, m.panes[i].Title(m.ctx))
	if f := m.filters[i]; f != "" {
		t += "  /" + f
	}
	return t
}

// View draws the screen.
func (m *Model) View() tea.View {
	var lines []string
	lines = append(lines, m.statusLine())
	if m.banner != "" {
		lines = append(lines, fit(m.ctx.Styles.Banner.Render(m.banner+"  (esc hides this)"), m.width))
	}
	w, h := m.bodySize()
	switch {
	case m.help:
		lines = append(lines, drawBox("help: every key (? or esc to close)", columns(m.helpText(), w-2, h-2), w, h, true, m.ctx.Styles)...)
	case m.zoomed():
		lines = append(lines, drawBox(m.paneTitle(m.focus), m.panes[m.focus].View(m.ctx), w, h, true, m.ctx.Styles)...)
	default:
		for row := 0; row < 3; row++ {
			var blocks [][]string
			for col := 0; col < 2; col++ {
				i := row*2 + col
				cw, ch := m.cell(i, w, h)
				blocks = append(blocks, drawBox(m.paneTitle(i), m.panes[i].View(m.ctx), cw, ch, i == m.focus, m.ctx.Styles))
			}
			lines = append(lines, joinColumns(blocks...)...)
		}
	}
	lines = append(lines, m.bottomLine())
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = !m.opts.TestMode
	if m.mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	v.WindowTitle = "stackscope"
	return v
}

// modeName is what the status bar shows first.
func (m *Model) modeName() string {
	f := m.ctx.Frame
	switch {
	case f != nil && f.Stop != nil:
		return "STEPPING"
	case m.viewPaused:
		return "PAUSED"
	}
	return string(m.ctx.Src.Mode())
}

// statusLine: mode, source, kernel clock, focus, filter, counters.
func (m *Model) statusLine() string {
	s := m.ctx.Styles
	f := m.ctx.Frame
	var clock, counts string
	if f != nil && f.Snap != nil {
		clock = "t=" + fmtClock(f.Snap.TimeNs)
		var drops uint64
		for _, d := range f.Snap.Devices {
			drops += d.Stats.RxDropped + d.Stats.TxDropped
		}
		counts = fmt.Sprintf("ev %s  pkts %s  drops %d", groupDigits(f.EventSeq), groupDigits(f.PacketTotal), drops)
		if f.Sampled {
			counts += "  (busy: sampled)"
		}
	}
	left := fmt.Sprintf(" stackscope %s %s  %s  %s  [%s]", s.Mode.Render(" "+m.modeName()+" "), m.ctx.Src.Title(),
		clock, counts, m.panes[m.focus].Name())
	if m.recording != "" {
		left += "  " + s.Warn.Render("REC "+m.recording)
	}
	if flt := m.filters[m.focus]; flt != "" {
		left += "  filter /" + flt
	}
	right := "? help "
	pad := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	return s.StatusBar.Render(fit(left+strings.Repeat(" ", max(pad, 1))+right, m.width))
}

// bottomLine is the open input line, the last command's result, or the
// key hints.
func (m *Model) bottomLine() string {
	s := m.ctx.Styles
	switch {
	case m.inputKind != 0:
		return fit(string(m.inputKind)+m.input.View(), m.width)
	case m.status != "":
		return fit(" "+m.status, m.width)
	}
	f := m.ctx.Frame
	if f != nil && f.Stop != nil {
		return fit(" "+s.Warn.Render("stopped")+" at "+f.Stop.Event.Format(m.ctx.Resolver())+"  (s step  n next  f finish  c continue)", m.width)
	}
	if t, ok := m.panes[m.focus].(TextInput); ok && t.Typing() {
		return fit(" "+s.Dim.Render("typing into the "+m.panes[m.focus].Name()+": esc hands the keys back  tab next pane  ctrl+c quit"), m.width)
	}
	hints := []string{"tab panes", "1-9 jump", "z zoom", "/ filter", ": cmd", "s step", "b break", "space pause", "? help", "q quit"}
	return fit(" "+s.Dim.Render(strings.Join(hints, "  ")), m.width)
}

// helpText lists every key: the global ones, then each pane's.
func (m *Model) helpText() string {
	s := m.ctx.Styles
	var b strings.Builder
	line := func(kb key.Binding) {
		h := kb.Help()
		fmt.Fprintf(&b, "  %s %s\n", s.HelpKey.Render(fmt.Sprintf("%-10s", h.Key)), s.HelpDesc.Render(h.Desc))
	}
	b.WriteString("Everywhere\n")
	for _, g := range m.ctx.Keys.Global() {
		for _, kb := range g {
			line(kb)
		}
	}
	fmt.Fprintf(&b, "  %s %s\n", s.HelpKey.Render(fmt.Sprintf("%-10s", "1-9")), s.HelpDesc.Render("jump to a pane"))
	for i, p := range m.panes {
		if len(p.Keys()) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%d %s\n", i+1, p.Name())
		for _, kb := range p.Keys() {
			line(kb)
		}
	}
	b.WriteString("Commands (:)\n")
	for _, c := range [][2]string{
		{"NAME or N", "go to a pane by name (sockets, ...) or number"},
		{"break F", "break at kernel function F (a glob: tcp_*)"}, {"delete N", "delete breakpoint N"},
		{"step next finish continue", "stepping, as the keys"}, {"breakin", "stop at the next kernel function"},
		{"burst", "the demo's SYN burst"}, {"mouse", "mouse on/off"}, {"zoom", "zoom the pane"}, {"quit", "quit"},
	} {
		fmt.Fprintf(&b, "  %s %s\n", s.HelpKey.Render(fmt.Sprintf("%-26s", c[0])), s.HelpDesc.Render(c[1]))
	}
	return b.String()
}

// fmtClock renders kernel nanoseconds as HH:MM:SS.mmm.
func fmtClock(ns int64) string {
	ms := ns / 1e6
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// groupDigits writes 1234567 as 1,234,567.
func groupDigits(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// frameCount counts frames received (tests wait on it).
func (m *Model) frameCount() int { return int(m.frames.Load()) }
