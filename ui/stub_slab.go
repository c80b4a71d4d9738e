package ui

// newSlabPane stands in for the slab pane until it is written.
func newSlabPane() Pane { return &stubPane{name: "slab"} }
