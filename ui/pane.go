package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Pane is one component of the inspector: a model with its own size,
// update, view and key help.
type Pane interface {
	// Name is the pane's short name ("sockets"), which is also its :
	// command.
	Name() string
	// Title is the label on the pane's border; it may name the selection.
	Title(c *Context) string
	// SetSize gives the pane its content area (inside the border).
	SetSize(w, h int)
	// Refresh is called when a new frame arrived (c.Frame).
	Refresh(c *Context)
	// Update handles a message while the pane has the focus.
	Update(c *Context, msg tea.Msg) tea.Cmd
	// View renders the content area, exactly the size SetSize gave.
	View(c *Context) string
	// Keys are the pane's own bindings, for the help.
	Keys() []key.Binding
}

// Filterable panes narrow what they show to rows containing a text.
type Filterable interface {
	SetFilter(text string)
}

// Cursorable panes know the kernel function under their cursor (the
// trace pane), for "break here".
type Cursorable interface {
	FuncUnderCursor() string
}

// TextInput panes take typed text (the console). While Typing, the root
// model passes every key to the pane first, except tab, shift+tab and
// ctrl+c; the pane gives the keys back when it stops typing (esc).
type TextInput interface {
	Typing() bool
}

// PaneMsg carries an asynchronous result to the pane named Pane, whether
// or not it has the focus (a console line that returned while another
// pane was focused).
type PaneMsg struct {
	Pane string
	Msg  tea.Msg
}
