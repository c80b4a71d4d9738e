package ui

// newConsolePane stands in for the console pane until it is written.
func newConsolePane() Pane { return &stubPane{name: "console"} }
