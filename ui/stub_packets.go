package ui

// newPacketsPane stands in for the packets pane until it is written.
func newPacketsPane() Pane { return &stubPane{name: "packets"} }
