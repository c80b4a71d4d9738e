package ui

// newTracePane stands in for the trace pane until it is written.
func newTracePane() Pane { return &stubPane{name: "trace"} }
