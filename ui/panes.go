package ui

// newPanes builds the panes in their order: the six of the grid (1-6),
// then those that open zoomed (7-9).
func newPanes() []Pane {
	return []Pane{
		newSocketsPane(), newQueuesPane(), newTracePane(),
		newSkbPane(), newSlabPane(), newHashPane(),
		newPacketsPane(), newFlowPane(), newConsolePane(),
	}
}
