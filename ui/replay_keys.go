package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/tracing"
)

// replayMsg is the outcome of a move in a replay.
type replayMsg struct {
	what string
	st   ReplayState
	err  error
}

// status is the status bar's line for it.
func (r replayMsg) status() string {
	where := fmt.Sprintf("event #%d of %d (input %d of %d)", r.st.Seq, r.st.Total, r.st.Input, r.st.Inputs)
	if !r.st.Paused {
		where = fmt.Sprintf("between inputs %d and %d of %d", r.st.Input, r.st.Input+1, r.st.Inputs)
	}
	switch {
	case errors.Is(r.err, errEndOfRecording):
		return r.what + ": the end of the recording"
	case r.err != nil:
		return r.what + ": " + r.err.Error()
	}
	return r.what + ": " + where
}

// replay runs a move of the replay in the background; the model rebinds
// to the kernel it leaves in place.
func (m *Model) replay(what string, move func(*ReplaySource) (ReplayState, error)) tea.Cmd {
	rs, ok := m.ctx.Src.(*ReplaySource)
	if !ok {
		m.status = what + ": only a replay goes backwards (stackscope replay TRACE)"
		return nil
	}
	return func() tea.Msg {
		st, err := move(rs)
		return replayMsg{what: what, st: st, err: err}
	}
}

// rebind switches the model to the replay's current kernel, if a move
// swapped it.
func (m *Model) rebind() {
	rs, ok := m.ctx.Src.(*ReplaySource)
	if !ok {
		return
	}
	feed := rs.TakeFeed()
	if feed == nil {
		return
	}
	m.feed.Close()
	m.feed = feed
	m.ctx.K = rs.Kernel()
	m.ctx.Frame = nil // the old kernel's frame says nothing of the new one
	// Panes keep history (the trace's lines, the packets, the slab
	// graphs) that belongs to the old kernel's run: start them afresh,
	// with their filters, on the new one.
	m.panes = newPanes(m.ctx.Src)
	for i, f := range m.filters {
		if fp, ok := m.panes[i].(Filterable); ok && f != "" {
			fp.SetFilter(f)
		}
	}
	m.layout()
}

// replayCommand runs the replay's : commands.
func (m *Model) replayCommand(name, arg string) tea.Cmd {
	rs, ok := m.ctx.Src.(*ReplaySource)
	if !ok {
		m.status = name + ": this is a replay command (stackscope replay TRACE)"
		return nil
	}
	switch name {
	case "back":
		return m.replay("back", func(r *ReplaySource) (ReplayState, error) { return r.Back() })
	case "goto":
		if arg == "" {
			m.status = "usage: goto N (an event number) or goto 1.5s (a time)"
			return nil
		}
		if strings.HasSuffix(arg, "s") {
			d, err := time.ParseDuration(arg)
			if err != nil || d < 0 {
				m.status = fmt.Sprintf("goto %s: want an event number or a time such as 1.5s or 200ms", arg)
				return nil
			}
			return m.replay("goto "+arg, func(r *ReplaySource) (ReplayState, error) { return r.AtTime(int64(d)) })
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(arg, "#"), 10, 64)
		if err != nil {
			m.status = fmt.Sprintf("goto %s: want an event number or a time such as 1.5s or 200ms", arg)
			return nil
		}
		return m.replay(fmt.Sprintf("goto #%d", n), func(r *ReplaySource) (ReplayState, error) { return r.Seek(n) })
	case "bookmark":
		title, note, _ := strings.Cut(arg, "|")
		st := rs.State()
		if !st.Paused {
			m.status = "bookmark: stop at an event first (s, or :goto N)"
			return nil
		}
		if strings.TrimSpace(title) == "" {
			m.status = "usage: bookmark TITLE | NOTE (the note is optional)"
			return nil
		}
		if err := rs.Bookmarks().Set(tracing.Bookmark{Seq: st.Seq, Title: title, Note: note}); err != nil {
			m.status = "bookmark: " + err.Error()
			return nil
		}
		m.status = fmt.Sprintf("bookmarked event #%d: %s", st.Seq, strings.TrimSpace(title))
		return func() tea.Msg { return replayMsg{what: "bookmark", st: rs.State()} }
	case "unbookmark":
		st := rs.State()
		ok, err := rs.Bookmarks().Delete(st.Seq)
		switch {
		case err != nil:
			m.status = "unbookmark: " + err.Error()
		case !ok:
			m.status = fmt.Sprintf("no bookmark at event #%d", st.Seq)
		default:
			m.status = fmt.Sprintf("bookmark at event #%d deleted", st.Seq)
		}
		return func() tea.Msg { return replayMsg{what: "unbookmark", st: rs.State()} }
	}
	return nil
}
