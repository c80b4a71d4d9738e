package ui

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/scenario"
	"github.com/stackscope/stackscope/stack"
)

// consolePane is the syscall console inside the inspector: a process
// named "console" of the kernel, with its own fds, that runs the lines
// typed at its prompt (the console's packetdrill syntax:
// socket(..., SOCK_STREAM, IPPROTO_TCP), bind(3, 127.0.0.1:8080), ...).
// Above the prompt is the history, each line with its result. A line
// runs off the UI goroutine: a call that sleeps (accept on an empty
// queue, read with no data) shows as blocked and finishes when the kernel
// wakes it, and meanwhile more lines may run, as threads of the process.
// The call's function graph is the trace pane's.
type consolePane struct {
	w, h    int
	input   textinput.Model
	typing  bool
	entries []conEntry
	rows    []string // the history, prepared for the width
	scroll  int      // rows scrolled back from the newest
	// hist are the lines typed, for recall with up and down; at is the
	// one recalled (len(hist): none), draft what was typed before.
	hist  []string
	at    int
	draft string

	proc *conProc
	pid  uint32
	fds  string
	// chain is closed when the newest line has gone as far into the
	// kernel as it goes without waiting: the next line waits for it, so
	// lines reach the kernel in the order they were typed.
	chain   chan struct{}
	stopped string // where stepping stopped the kernel, if it did
	nextID  int
}

// conEntry is one line typed and what became of it.
type conEntry struct {
	id    int
	text  string
	state conState
	out   []string // the result lines
	call  string   // the syscall's name, for "blocked"
}

type conState uint8

const (
	conRunning conState = iota
	conBlocked
	conDone
)

// conProc is the console's process, made when the first line runs (on
// that line's goroutine, not the UI's).
type conProc struct {
	once sync.Once
	con  *scenario.Console
	err  error
}

func (cp *conProc) get(k *stack.Kernel) (*scenario.Console, error) {
	cp.once.Do(func() { cp.con, cp.err = scenario.NewConsole(k, io.Discard, "", scenario.WithoutGraph()) })
	return cp.con, cp.err
}

// The console's results come back to it as PaneMsgs.
type (
	conBlockedMsg struct {
		id   int
		pid  uint32
		call *scenario.Call
	}
	conDoneMsg struct {
		id  int
		pid uint32
		out []string
	}
)

const consolePrompt = "stackscope> "

// conKeep bounds the history; the oldest quarter goes when it is full.
const conKeep = 1000

func newConsolePane() *consolePane {
	in := textinput.New()
	in.Prompt = consolePrompt
	st := in.Styles()
	st.Cursor.Blink = false // a steady cursor: calm, and the same on every frame
	in.SetStyles(st)
	in.Focus()
	return &consolePane{input: in, typing: true, proc: &conProc{}}
}

func (p *consolePane) Name() string { return "console" }

func (p *consolePane) Title(c *Context) string {
	if p.pid == 0 {
		return "console: system calls as a process of the kernel"
	}
	t := fmt.Sprintf("console: pid %d (console)", p.pid)
	if p.fds != "" {
		t += ", sockets on fds " + p.fds
	}
	return t
}

var (
	conRunKey  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run the line (or type again, after esc)"))
	conTypeKey = key.NewBinding(key.WithKeys("i", "enter"), key.WithHelp("i", "type a line again (after esc)"))
	conEscKey  = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop typing: keys go to the inspector"))
	conPrevKey = key.NewBinding(key.WithKeys("up"), key.WithHelp("↑/↓", "recall the lines typed"))
	conNextKey = key.NewBinding(key.WithKeys("down"))
)

func (p *consolePane) Keys() []key.Binding {
	return []key.Binding{conRunKey, conPrevKey, conEscKey, conTypeKey,
		key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup/pgdn", "scroll the history"))}
}

// Typing says the pane takes every key (TextInput).
func (p *consolePane) Typing() bool { return p.typing }

func (p *consolePane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.input.SetWidth(max(w-len(consolePrompt)-2, 1))
	p.prepare()
}

// Refresh takes the process's sockets and where the kernel stopped.
func (p *consolePane) Refresh(c *Context) {
	st := p.input.Styles()
	st.Focused.Prompt, st.Blurred.Prompt = c.Styles.Header, c.Styles.Dim
	st.Focused.Placeholder, st.Blurred.Placeholder = c.Styles.Dim, c.Styles.Dim
	st.Focused.Text, st.Blurred.Text = c.Styles.Header.UnsetBold(), c.Styles.Dim
	st.Cursor.Color = c.Styles.FocusBorder.GetForeground()
	p.input.SetStyles(st)
	f := c.Frame
	if f == nil {
		return
	}
	stopped := ""
	if f.Stop != nil {
		stopped = f.Stop.Event.Func.Name()
	}
	p.fds = ""
	if f.Snap != nil && p.pid != 0 {
		for _, pr := range f.Snap.Processes {
			if pr.Pid != p.pid {
				continue
			}
			var fds []string
			for _, fd := range pr.Fds {
				if fd.Sk != "" {
					fds = append(fds, fmt.Sprint(fd.Fd))
				}
			}
			p.fds = strings.Join(fds, " ")
		}
	}
	if stopped != p.stopped {
		p.stopped = stopped
		p.prepare()
	}
}

func (p *consolePane) Update(c *Context, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case conBlockedMsg:
		p.pid = msg.pid
		if e := p.entry(msg.id); e != nil && e.state == conRunning {
			e.state = conBlocked
		}
		p.prepare()
		call, id, pid := msg.call, msg.id, msg.pid
		return tea.Batch(askFrame, func() tea.Msg {
			return PaneMsg{Pane: "console", Msg: conDoneMsg{id: id, pid: pid, out: call.Wait()}}
		})
	case conDoneMsg:
		if msg.pid != 0 {
			p.pid = msg.pid
		}
		if e := p.entry(msg.id); e != nil {
			e.state, e.out = conDone, msg.out
		}
		p.prepare()
		return askFrame
	case tea.PasteMsg:
		if p.typing {
			var cmd tea.Cmd
			p.input, cmd = p.input.Update(msg)
			return cmd
		}
	case tea.KeyPressMsg:
		if p.typing {
			return p.typingKey(c, msg)
		}
		switch {
		case key.Matches(msg, conTypeKey):
			p.typing = true
			return p.input.Focus()
		default:
			p.scrollKey(c.Keys, msg)
		}
	}
	return nil
}

// askFrame asks for a frame at once, so the other panes show what a line
// did.
func askFrame() tea.Msg { return RefreshMsg{} }

func (p *consolePane) typingKey(c *Context, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, conEscKey):
		p.typing = false
		p.input.Blur()
		return nil
	case key.Matches(msg, conRunKey):
		text := p.input.Value()
		if strings.TrimSpace(text) == "" {
			return nil
		}
		p.input.Reset()
		p.hist = append(p.hist, text)
		p.at, p.draft, p.scroll = len(p.hist), "", 0
		return p.run(c.K, text)
	case key.Matches(msg, conPrevKey):
		p.recall(-1)
		return nil
	case key.Matches(msg, conNextKey):
		p.recall(+1)
		return nil
	case msg.String() == "pgup" || msg.String() == "pgdown":
		p.scrollKey(c.Keys, msg)
		return nil
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

// recall moves through the lines typed, as a shell's history does.
func (p *consolePane) recall(d int) {
	if len(p.hist) == 0 {
		return
	}
	if p.at == len(p.hist) {
		p.draft = p.input.Value()
	}
	p.at = min(max(p.at+d, 0), len(p.hist))
	if p.at == len(p.hist) {
		p.input.SetValue(p.draft)
	} else {
		p.input.SetValue(p.hist[p.at])
	}
	p.input.CursorEnd()
}

// scrollKey scrolls the history; scroll counts rows back from the newest.
func (p *consolePane) scrollKey(k KeyMap, msg tea.KeyPressMsg) {
	page := max(p.historyRows()-1, 1)
	switch {
	case key.Matches(msg, k.Up):
		p.scroll++
	case key.Matches(msg, k.Down):
		p.scroll--
	case key.Matches(msg, k.PageUp):
		p.scroll += page
	case key.Matches(msg, k.PageDown):
		p.scroll -= page
	case key.Matches(msg, k.Top):
		p.scroll = len(p.rows)
	case key.Matches(msg, k.Bottom):
		p.scroll = 0
	}
	p.scroll = min(max(p.scroll, 0), max(len(p.rows)-p.historyRows(), 0))
}

func (p *consolePane) entry(id int) *conEntry {
	for i := len(p.entries) - 1; i >= 0; i-- {
		if p.entries[i].id == id {
			return &p.entries[i]
		}
	}
	return nil
}

// run starts a line on its own goroutine: it waits for the line before it
// to reach the kernel, starts its syscall in the console process, and
// reports it blocked if it sleeps, else its result.
func (p *consolePane) run(k *stack.Kernel, text string) tea.Cmd {
	p.nextID++
	id := p.nextID
	e := conEntry{id: id, text: text}
	// The call's name as typed, after a packetdrill time ("+.1") if any.
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == '(' || r == ' ' }) {
		if !strings.ContainsAny(f[:1], "+.0123456789") {
			e.call = f
			break
		}
	}
	p.entries = append(p.entries, e)
	if len(p.entries) > conKeep {
		p.entries = append(p.entries[:0:0], p.entries[conKeep/4:]...)
	}
	p.prepare()
	prev, started := p.chain, make(chan struct{})
	p.chain = started
	cp := p.proc
	return func() tea.Msg {
		done := func(pid uint32, out ...string) tea.Msg {
			return PaneMsg{Pane: "console", Msg: conDoneMsg{id: id, pid: pid, out: out}}
		}
		if prev != nil {
			<-prev
		}
		defer close(started)
		con, err := cp.get(k)
		if err != nil {
			return done(0, "error: the console process: "+err.Error())
		}
		pid := con.Process().Pid
		call, err := con.Start(id, text)
		var se *scenario.SyntaxError
		switch {
		case errors.As(err, &se):
			return done(pid, "error: "+se.Msg+fmt.Sprintf(" (column %d)", se.Column),
				"  "+se.Text, "  "+strings.Repeat(" ", max(se.Column-1, 0))+"^")
		case err != nil:
			return done(pid, "error: "+err.Error())
		case call == nil:
			return done(pid) // a comment
		}
		blocked, err := call.Blocked()
		switch {
		case err != nil:
			return done(pid, "error: "+err.Error())
		case blocked:
			return PaneMsg{Pane: "console", Msg: conBlockedMsg{id: id, pid: pid, call: call}}
		}
		return done(pid, call.Wait()...)
	}
}

// historyRows is how many rows the history has: the pane less the hint
// and the prompt.
func (p *consolePane) historyRows() int { return max(p.h-2, 1) }

// prepare lays out the history for the width: each line as typed, then
// its result, its state while it runs or sleeps, or its error.
func (p *consolePane) prepare() {
	p.rows = p.rows[:0]
	w := max(p.w-2, 10)
	for _, e := range p.entries {
		p.rows = append(p.rows, "> "+e.text)
		switch e.state {
		case conRunning:
			if p.stopped != "" {
				p.rows = append(p.rows, fmt.Sprintf("  ... running; stepping has stopped the kernel at %s (s step, n next, f finish, c continue)", p.stopped))
			} else {
				p.rows = append(p.rows, "  ... running")
			}
		case conBlocked:
			p.rows = append(p.rows, fmt.Sprintf("  ... blocked: %s sleeps until the kernel wakes it (the prompt still takes lines)", e.call))
		case conDone:
			for _, o := range e.out {
				if strings.HasPrefix(o, "  ") {
					p.rows = append(p.rows, o) // a caret line keeps its column
					continue
				}
				p.rows = append(p.rows, strings.Split(ansi.Wrap(o, w, ""), "\n")...)
			}
		}
	}
}

func (p *consolePane) View(c *Context) string {
	s := c.Styles
	hr := p.historyRows()
	var b strings.Builder
	if len(p.rows) == 0 {
		intro := []string{
			" Type a system call and press enter: it runs in the process \"console\" of this kernel, and the trace pane (3) shows",
			" the kernel functions it ran. The syntax is packetdrill's, as in `stackscope console`:",
			"   socket(..., SOCK_STREAM, IPPROTO_TCP)   bind(3, 127.0.0.1:8080)   listen(3, 5)   accept(3, ..., ...)",
			"   connect(3, 127.0.0.1:8080)   write(3, ..., 5)   read(3, ..., 100)   close(3)   sysctl net.core.somaxconn",
		}
		for i := range hr {
			if i > 0 {
				b.WriteByte('\n')
			}
			if i < len(intro) {
				b.WriteString(s.Dim.Render(fit(intro[i], p.w)))
			}
		}
	} else {
		end := len(p.rows) - p.scroll
		start := max(end-hr, 0)
		for i := range hr {
			if i > 0 {
				b.WriteByte('\n')
			}
			r := start + i
			if r >= end {
				continue
			}
			row := fit(" "+p.rows[r], p.w)
			switch {
			case strings.HasPrefix(p.rows[r], "> "):
				row = s.Header.Render(row)
			case strings.HasPrefix(p.rows[r], "  ... "), strings.HasPrefix(p.rows[r], "error: "),
				strings.HasPrefix(p.rows[r], "mismatch: "):
				row = s.Warn.Render(row)
			}
			b.WriteString(row)
		}
	}
	hint := " enter runs the line  ↑↓ recall  pgup/pgdn scroll  esc hands the keys back to the inspector  tab next pane"
	if !p.typing {
		hint = " the keys go to the inspector (s step, 3 trace, ...): i or enter types a line again"
	}
	if p.scroll > 0 {
		hint += fmt.Sprintf("  [%d rows back]", p.scroll)
	}
	b.WriteString("\n" + s.Dim.Render(fit(hint, p.w)))
	b.WriteString("\n" + fit(" "+p.input.View(), p.w))
	return b.String()
}
