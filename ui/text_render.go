package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/stack"
)

// RenderPane draws one pane, zoomed to width x height, as plain text: the
// kernel's state as the inspector shows it, for lecture notes and other
// exports. sel picks what the pane looks at (a sock for the queues and
// hash panes, an skb for the skb pane). The kernel may be stopped by
// stepping: the pane then shows the state at that event.
func RenderPane(k *stack.Kernel, pane string, sel Selection, width, height int) (string, error) {
	src := &KernelSource{K: k, SourceMode: ModeReplay}
	m, err := New(src, Options{TestMode: true, Dark: true})
	if err != nil {
		return "", err
	}
	defer m.feed.Close()
	idx := -1
	for i, p := range m.panes {
		if p.Name() == pane {
			idx = i
		}
	}
	if idx < 0 {
		return "", fmt.Errorf("no pane named %q", pane)
	}
	m.width, m.height = width, height
	m.ctx.Sel = sel
	m.focus, m.zoom = idx, true
	m.layout()
	msg := m.fetch()()
	if fm, ok := msg.(frameMsg); ok && fm.err != nil {
		return "", fm.err
	}
	m.Update(msg)
	lines := strings.Split(ansi.Strip(m.View().Content), "\n")
	// The status line above and the key line below are the inspector's,
	// not the pane's.
	if len(lines) > 2 {
		lines = lines[1 : len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	// Blank rows at the bottom of the box say nothing.
	for len(lines) > 2 && strings.Trim(lines[len(lines)-2], "║│ ") == "" {
		lines = append(lines[:len(lines)-2], lines[len(lines)-1])
	}
	return strings.Join(lines, "\n"), nil
}
