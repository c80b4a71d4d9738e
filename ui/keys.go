package ui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the inspector knows, in one place; panes add their
// own few (listed in their Keys) and the help shows them all.
type KeyMap struct {
	NextPane, PrevPane, Zoom, Help, Quit, Back key.Binding
	Up, Down, Left, Right, Top, Bottom         key.Binding
	PageUp, PageDown                           key.Binding
	Filter, Command, Select                    key.Binding
	Pause, Live, Mouse                         key.Binding
	Step, Next, Finish, Continue, BreakHere    key.Binding
	BreakIn, Burst, Sort                       key.Binding
	// Replay only: backwards and jumps.
	StepBack, OverBack, PrevPacket, NextPacket key.Binding
	Bookmark, PrevMark, NextMark               key.Binding
	Record                                     key.Binding
	Jump                                       [9]key.Binding
}

// DefaultKeys are the bindings: htop's, k9s's and gdb's conventions.
func DefaultKeys() KeyMap {
	k := KeyMap{
		NextPane:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevPane:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Zoom:      key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "zoom the pane / back")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back / clear")),
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Left:      key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "left")),
		Right:     key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "right")),
		Top:       key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "first")),
		Bottom:    key.NewBinding(key.WithKeys("G"), key.WithHelp("G", "last")),
		PageUp:    key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter the pane")),
		Command:   key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Select:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "select / open")),
		Pause:     key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause the view")),
		Live:      key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "back to live")),
		Mouse:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "mouse on/off")),
		Step:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "step (into)")),
		Next:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next (over)")),
		Finish:    key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "finish (out)")),
		Continue:  key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "continue")),
		BreakHere: key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "break at the function under the cursor")),
		BreakIn:   key.NewBinding(key.WithKeys("ctrl+b"), key.WithHelp("ctrl+b", "break in now")),
		Burst:     key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "SYN burst (demo)")),
		Sort:      key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort by the next column")),

		StepBack:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "step back (replay)")),
		OverBack:   key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "step over backwards (replay)")),
		PrevPacket: key.NewBinding(key.WithKeys("["), key.WithHelp("[", "previous packet (replay)")),
		NextPacket: key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "next packet (replay)")),
		Bookmark:   key.NewBinding(key.WithKeys("B"), key.WithHelp("B", "bookmark this event (replay)")),
		PrevMark:   key.NewBinding(key.WithKeys("{"), key.WithHelp("{", "previous bookmark (replay)")),
		NextMark:   key.NewBinding(key.WithKeys("}"), key.WithHelp("}", "next bookmark (replay)")),
		Record:     key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "record the session to a trace / stop")),
	}
	for i := range k.Jump {
		d := string(rune('1' + i))
		k.Jump[i] = key.NewBinding(key.WithKeys(d), key.WithHelp(d, "pane "+d))
	}
	return k
}

// Global lists the bindings the help shows first, in groups.
func (k KeyMap) Global() [][]key.Binding {
	return [][]key.Binding{
		{k.NextPane, k.PrevPane, k.Zoom, k.Help, k.Back, k.Quit},
		{k.Up, k.Down, k.Left, k.Right, k.Top, k.Bottom, k.PageUp, k.PageDown, k.Select},
		{k.Filter, k.Command, k.Pause, k.Live, k.Mouse, k.Burst, k.Record},
		{k.Step, k.Next, k.Finish, k.Continue, k.BreakHere, k.BreakIn},
		{k.StepBack, k.OverBack, k.PrevPacket, k.NextPacket, k.Bookmark, k.PrevMark, k.NextMark},
	}
}
