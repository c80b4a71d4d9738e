package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
	"github.com/stackscope/stackscope/ui"
)

// Lecture notes: the size of the pane drawings and how much of the function
// graph goes around each bookmark.
const (
	notesWidth, notesHeight = 110, 30
	graphBefore, graphAfter = 14, 6
)

// writeMarkdown writes lecture notes for a trace: its bookmarks in event
// order, each with its note, the function graph around it and the pane
// that shows what it changed (queues, skb, hash table) as it was at that
// event; then the list of inputs. It returns the number of bookmarks.
func writeMarkdown(path string, w io.Writer) (int, error) {
	marks, err := tracing.LoadBookmarks(path)
	if err != nil {
		return 0, err
	}
	open := func() (*tracing.TraceReader, error) { return tracing.OpenTrace(path) }
	seeker, err := stack.NewSeeker(open, 0, stack.ReplayOptions{})
	if err != nil {
		return 0, err
	}
	defer seeker.Close()
	tl := seeker.Timeline()
	if tl.EndErr != nil {
		return 0, tl.EndErr
	}
	list := marks.List()
	windows, err := eventWindows(open, tl, list)
	if err != nil {
		return 0, err
	}
	h := tl.Header
	what := h.Mode
	if h.Source != nil {
		what = fmt.Sprintf("%s %s", h.Mode, h.Source.Name)
	}
	fmt.Fprintf(w, "# %s: lecture notes\n\n", what)
	fmt.Fprintf(w, "Trace `%s`, recorded by stackscope %s: %d inputs, %d kernel events, %d bookmarks. ", path, h.Version, tl.Inputs(), tl.Total(), len(list))
	fmt.Fprintf(w, "Replay it with `stackscope replay %s` and jump to a bookmark with `}`.\n\n", path)
	if len(list) == 0 {
		fmt.Fprintf(w, "The trace has no bookmarks yet: in `stackscope replay %s`, stop at an event and press `B`.\n\n", path)
	}
	for i, m := range list {
		if err := writeBookmark(w, seeker, tl, i+1, m, windows[m.Seq]); err != nil {
			return 0, fmt.Errorf("bookmark %q (event #%d): %w", m.Title, m.Seq, err)
		}
	}
	fmt.Fprintf(w, "## The inputs\n\nWhat the kernel was given, in order (the kernel's own work, such as timers, counts as input too):\n\n")
	fmt.Fprintf(w, "| # | time (s) | input | events |\n| ---: | ---: | --- | --- |\n")
	for i := 1; i <= tl.Inputs(); i++ {
		t := tl.InputTime[i]
		events := "none"
		if from, to := tl.InputEnd[i-1]+1, tl.InputEnd[i]; to >= from {
			events = fmt.Sprintf("#%d-#%d", from, to)
		}
		fmt.Fprintf(w, "| %d | %d.%06d | %s | %s |\n", i, t/1e9, t%1e9/1e3, strings.ReplaceAll(tl.InputDesc[i], "|", "\\|"), events)
	}
	return len(list), nil
}

// eventWindows reads the recorded events around each bookmark.
func eventWindows(open stack.TraceOpener, tl *stack.Timeline, marks []tracing.Bookmark) (map[uint64][]tracing.Event, error) {
	out := map[uint64][]tracing.Event{}
	if len(marks) == 0 {
		return out, nil
	}
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	funcs := make([]tracing.FuncID, len(tl.Header.Funcs))
	for i, name := range tl.Header.Funcs {
		f, _ := tracing.Lookup(name)
		funcs[i] = f.ID
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if rec.Kind != tracing.RecordEvent {
			continue
		}
		ev := rec.Event
		if int(ev.Func) < len(funcs) {
			ev.Func = funcs[ev.Func]
		}
		for _, m := range marks {
			if ev.Seq+graphBefore >= m.Seq && ev.Seq <= m.Seq+graphAfter {
				out[m.Seq] = append(out[m.Seq], ev)
			}
		}
	}
}

// writeBookmark writes one bookmark's section.
func writeBookmark(w io.Writer, seeker *stack.Seeker, tl *stack.Timeline, n int, m tracing.Bookmark, graph []tracing.Event) error {
	pos, err := seeker.Seek(m.Seq, nil)
	if err != nil {
		return err
	}
	defer pos.Replay.Close()
	k := pos.Replay.Kernel()
	in := tl.InputOf(m.Seq)
	info, _ := tl.Event(m.Seq)
	fmt.Fprintf(w, "## %d. %s\n\n", n, m.Title)
	if m.Note != "" {
		fmt.Fprintf(w, "%s\n\n", m.Note)
	}
	fmt.Fprintf(w, "*Event #%d at t=%d.%09d s, in input %d: %s.*\n\n", m.Seq, info.Time/1e9, info.Time%1e9, in, tl.InputDesc[in])
	var at *tracing.Event
	lines, err := k.DoPaused("notes-graph", func(k *stack.Kernel) any {
		var b strings.Builder
		for i := range graph {
			ev := &graph[i]
			b.WriteString(ev.Format(k))
			if ev.Seq == m.Seq {
				b.WriteString("   <- here")
				at = ev
			}
			b.WriteByte('\n')
		}
		return b.String()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Function graph around it:\n\n```\n%s```\n\n", lines)
	// An exit carries no arguments: its entry says what it worked on.
	if at != nil && at.Kind == tracing.Exit {
		for i := len(graph) - 1; i >= 0; i-- {
			if e := &graph[i]; e.Seq < at.Seq && e.Kind == tracing.Entry && e.Func == at.Func && e.Depth == at.Depth && e.Task == at.Task {
				at = e
				break
			}
		}
	}
	pane, sel := relevantPane(k, at)
	text, err := ui.RenderPane(k, pane, sel, notesWidth, notesHeight)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "The %s pane at this event:\n\n```\n%s\n```\n\n", pane, text)
	return nil
}

// relevantPane picks the pane that shows what the event is about: the
// sk_buff it handles if that is queued, the hash tables for hashing,
// binding and lookups (queue functions aside), the socket's queues
// otherwise.
func relevantPane(k *stack.Kernel, ev *tracing.Event) (string, ui.Selection) {
	if ev == nil {
		return "sockets", ui.Selection{}
	}
	var sel ui.Selection
	var skbAddr string
	for i := 0; i < int(ev.NArg); i++ {
		a := ev.Arg(i)
		switch {
		case a.Kind == tracing.ArgSock && sel.Sock == "":
			sel.Sock = fmt.Sprintf("0x%x", a.Val)
		case a.Kind == tracing.ArgSkb && skbAddr == "":
			skbAddr = fmt.Sprintf("0x%x", a.Val)
		}
	}
	if skbAddr != "" {
		if _, err := k.DescribeSkb(skbAddr); err == nil {
			sel.Skb = skbAddr
			return "skb", sel
		}
	}
	name := tracing.FuncByID(ev.Func).Name
	queue := strings.Contains(name, "queue") || strings.Contains(name, "accept") || strings.Contains(name, "reqsk")
	for _, s := range []string{"hash", "bind", "lookup"} {
		if strings.Contains(name, s) && !queue {
			return "hash", sel
		}
	}
	if sel.Sock != "" {
		return "queues", sel
	}
	return "sockets", sel
}
