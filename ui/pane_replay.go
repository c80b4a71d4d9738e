package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// replayPane lists a replay's inputs: what the kernel was given, in order
// and with its time (system calls, received frames, timer runs), the one
// running marked ">", those already run dimmed, and the bookmarks under
// the input they fall in. enter runs to the end of the current input (or
// the next one); r runs to the end of the recording or the next
// breakpoint; on a bookmark row, enter jumps to it. The stepping keys go
// forwards one event at a time, p and N backwards.
type replayPane struct {
	list
	src  *ReplaySource
	st   ReplayState
	rows []replayRow
	// running says a move runs in the background.
	running bool
}

// replayRow is an input, or a bookmark under it.
type replayRow struct {
	input int
	mark  uint64 // the bookmark's event, 0 for an input row
	text  string
}

var (
	keyReplayInput = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run to the end of this input / jump to the bookmark"))
	keyReplayAll   = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "run on to the next breakpoint or the end"))
)

func newReplayPane(src *ReplaySource) *replayPane {
	p := &replayPane{src: src, st: src.State()}
	p.build()
	return p
}

// build lays out the rows: every input, and each bookmark after the input
// it belongs to.
func (p *replayPane) build() {
	tl := p.src.Timeline()
	marks := p.src.Bookmarks().List()
	p.rows = p.rows[:0]
	for i := 1; i <= tl.Inputs(); i++ {
		t := tl.InputTime[i]
		p.rows = append(p.rows, replayRow{input: i, text: fmt.Sprintf("%5d  %d.%06d  %s", i, t/1e9, t%1e9/1e3, tl.InputDesc[i])})
		for _, m := range marks {
			if tl.InputOf(m.Seq) == i {
				text := fmt.Sprintf("       * #%d %s", m.Seq, m.Title)
				if m.Note != "" {
					text += ": " + m.Note
				}
				p.rows = append(p.rows, replayRow{input: i, mark: m.Seq, text: text})
			}
		}
	}
	p.n = len(p.rows)
	p.follow()
}

// follow puts the cursor on the current input.
func (p *replayPane) follow() {
	cur := p.current()
	for i, r := range p.rows {
		if r.input == cur && r.mark == 0 {
			p.cursor = i
			break
		}
	}
	p.clamp()
}

// current is the input running (stopped in), or the next one to run.
func (p *replayPane) current() int {
	if p.st.Paused {
		return p.st.Input
	}
	return p.st.Input + 1
}

func (p *replayPane) Name() string { return "replay" }

func (p *replayPane) Title(c *Context) string {
	st := p.st
	switch {
	case p.running:
		return fmt.Sprintf("replay: %s running", p.src.Title())
	case st.End:
		return fmt.Sprintf("replay: %s, all %d inputs and %d events replayed", p.src.Title(), st.Inputs, st.Total)
	case st.Paused:
		return fmt.Sprintf("replay: %s, event #%d of %d, in input %d of %d", p.src.Title(), st.Seq, st.Total, st.Input, st.Inputs)
	}
	return fmt.Sprintf("replay: %s, next input %d of %d (%d events)", p.src.Title(), st.Input+1, st.Inputs, st.Total)
}

func (p *replayPane) Keys() []key.Binding { return []key.Binding{keyReplayInput, keyReplayAll} }

func (p *replayPane) Refresh(c *Context) {}

// run starts a move in the background.
func (p *replayPane) run(what string, move func(*ReplaySource) (ReplayState, error)) tea.Cmd {
	if p.running {
		return nil
	}
	p.running = true
	src := p.src
	return func() tea.Msg {
		st, err := move(src)
		return replayMsg{what: what, st: st, err: err}
	}
}

func (p *replayPane) Update(c *Context, msg tea.Msg) tea.Cmd {
	switch m := msg.(type) {
	case replayMsg:
		p.running = false
		p.st = m.st
		p.build()
		return nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(m, keyReplayInput):
			if p.cursor < len(p.rows) && p.rows[p.cursor].mark != 0 {
				seq := p.rows[p.cursor].mark
				return p.run(fmt.Sprintf("bookmark #%d", seq), func(r *ReplaySource) (ReplayState, error) { return r.Seek(seq) })
			}
			return p.run("run the input", func(r *ReplaySource) (ReplayState, error) { return r.RunInput() })
		case key.Matches(m, keyReplayAll):
			return p.run("run", func(r *ReplaySource) (ReplayState, error) { return r.RunToEnd() })
		}
		p.move(c.Keys, m)
	}
	return nil
}

func (p *replayPane) View(c *Context) string {
	s := c.Styles
	var b strings.Builder
	first, last := p.window(p.h)
	cur := p.current()
	for i := first; i < last; i++ {
		r := p.rows[i]
		mark := "  "
		if r.input == cur && r.mark == 0 && !p.st.End {
			mark = "> "
		}
		line := fit(mark+r.text, p.w)
		switch {
		case i == p.cursor:
			line = s.Selected.Render(line)
		case r.mark != 0:
			line = s.Warn.Render(line)
		case r.input < cur || p.st.End:
			line = s.Dim.Render(line)
		}
		if i > first {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String()
}
