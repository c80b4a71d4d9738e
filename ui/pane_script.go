package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// scriptPane shows the script being run, line by line: the lines already
// run, the next one (marked ">"), and why the run stopped if it failed.
// enter runs the next line; r runs to the end. Function by function
// stepping inside a line works as everywhere: set a breakpoint (":break
// tcp_v4_rcv"), press enter, and the kernel stops there.
type scriptPane struct {
	list
	src   *ScriptSource
	state ScriptState
	lines []string
	// running says a line (or the rest of the script) runs in the
	// background; toEnd that r asked for the rest.
	running, toEnd bool
}

// scriptMsg carries a line's outcome back to the pane.
type scriptMsg struct{ st ScriptState }

var (
	keyScriptNext = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run the next script line"))
	keyScriptAll  = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "run the rest of the script"))
)

func newScriptPane(src *ScriptSource) *scriptPane {
	p := &scriptPane{src: src, lines: src.Script().Lines}
	p.state = src.State()
	p.n = len(p.lines)
	return p
}

func (p *scriptPane) Name() string { return "script" }

func (p *scriptPane) Title(c *Context) string {
	st := p.state
	switch {
	case st.Err != nil:
		return fmt.Sprintf("script: %s FAILED at line %d", p.src.Title(), st.Ran)
	case st.Done:
		return fmt.Sprintf("script: %s done (PASS)", p.src.Title())
	case p.running:
		return fmt.Sprintf("script: %s running line %d", p.src.Title(), st.Next)
	}
	return fmt.Sprintf("script: %s, next line %d of %d", p.src.Title(), st.Next, len(p.lines))
}

func (p *scriptPane) Keys() []key.Binding { return []key.Binding{keyScriptNext, keyScriptAll} }

func (p *scriptPane) Refresh(c *Context) {}

// step runs the next line in the background.
func (p *scriptPane) step() tea.Cmd {
	if p.running || p.state.Done {
		return nil
	}
	p.running = true
	src := p.src
	return func() tea.Msg { return PaneMsg{Pane: "script", Msg: scriptMsg{st: src.StepLine()}} }
}

func (p *scriptPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	switch m := msg.(type) {
	case scriptMsg:
		p.running = false
		p.state = m.st
		if p.state.Next > 0 {
			p.cursor = p.state.Next - 1
		} else if p.state.Ran > 0 {
			p.cursor = p.state.Ran - 1
		}
		p.clamp()
		if p.toEnd && !p.state.Done {
			return tea.Batch(p.step(), func() tea.Msg { return RefreshMsg{} })
		}
		p.toEnd = false
		return func() tea.Msg { return RefreshMsg{} }
	case tea.KeyPressMsg:
		switch {
		case key.Matches(m, keyScriptNext):
			return p.step()
		case key.Matches(m, keyScriptAll):
			p.toEnd = true
			return p.step()
		}
		p.move(c.Keys, m)
	}
	return nil
}

func (p *scriptPane) View(c *Context) string {
	s := c.Styles
	body := p.h
	var foot []string
	if err := p.state.Err; err != nil {
		foot = strings.Split(err.Error(), "\n")
		body = max(p.h-len(foot)-1, 1)
	}
	var b strings.Builder
	first, last := p.window(body)
	for i := first; i < last; i++ {
		n := i + 1
		mark := "  "
		switch {
		case n == p.state.Next && !p.state.Done:
			mark = "> "
		case p.state.Err != nil && n == p.state.Ran:
			mark = "X "
		}
		line := fit(fmt.Sprintf("%s%4d  %s", mark, n, p.lines[i]), p.w)
		switch {
		case mark == "> ":
			line = s.Selected.Render(line)
		case mark == "X ":
			line = s.Warn.Render(line)
		case n < p.state.Next || (p.state.Done && p.state.Err == nil):
			line = s.Dim.Render(line)
		}
		if i > first {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	if len(foot) > 0 {
		b.WriteString("\n" + s.Warn.Render(fit(" FAIL", p.w)))
		for _, l := range foot {
			b.WriteString("\n" + fit(" "+l, p.w))
		}
	}
	return b.String()
}
