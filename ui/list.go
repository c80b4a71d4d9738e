package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// list is the cursor and scrolling every row-based pane shares: n rows,
// a cursor, the first row shown, the pane's size and its filter text.
type list struct {
	n, cursor, top int
	w, h           int
	filter         string
	dirty          bool
}

func (l *list) SetSize(w, h int) { l.w, l.h = w, h }

// clamp keeps the cursor on a row.
func (l *list) clamp() {
	l.cursor = min(max(l.cursor, 0), max(l.n-1, 0))
}

// move handles the movement keys; it reports whether the key was one.
func (l *list) move(k KeyMap, msg tea.KeyPressMsg) bool {
	pos, ok := navigate(k, msg, l.cursor, max(l.h-2, 1), l.n-1)
	if !ok {
		return false
	}
	l.cursor = pos
	l.clamp()
	return true
}

// navigate applies a movement key (up, down, page up/down, first, last)
// to a position, a page being page rows and last the last position; the
// caller clamps. It reports whether the key was one of them.
func navigate(k KeyMap, msg tea.KeyPressMsg, pos, page, last int) (int, bool) {
	switch {
	case key.Matches(msg, k.Up):
		return pos - 1, true
	case key.Matches(msg, k.Down):
		return pos + 1, true
	case key.Matches(msg, k.PageUp):
		return pos - page, true
	case key.Matches(msg, k.PageDown):
		return pos + page, true
	case key.Matches(msg, k.Top):
		return 0, true
	case key.Matches(msg, k.Bottom):
		return last, true
	}
	return pos, false
}

// cursorMark is the row marker: the cursor row shows "> " so the
// selection reads without colour.
func cursorMark(on bool) string {
	if on {
		return "> "
	}
	return "  "
}

// window returns the rows [first, last) to draw in rows lines, scrolled
// so the cursor is visible: only these are rendered.
func (l *list) window(rows int) (int, int) {
	rows = max(rows, 1)
	if l.cursor < l.top {
		l.top = l.cursor
	}
	if l.cursor >= l.top+rows {
		l.top = l.cursor - rows + 1
	}
	l.top = min(max(l.top, 0), max(l.n-rows, 0))
	return l.top, min(l.top+rows, l.n)
}
