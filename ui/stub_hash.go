package ui

// newHashPane stands in for the hash pane until it is written.
func newHashPane() Pane { return &stubPane{name: "hash"} }
