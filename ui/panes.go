package ui

// newPanes builds the panes in their order: the six of the grid (1-6),
// then those that open zoomed (7-9). A script run has the script pane as 9
// instead of the console: the script's own system calls are the ones to
// watch; a replay has its inputs there.
func newPanes(src Source) []Pane {
	last := Pane(newConsolePane())
	switch ss := src.(type) {
	case *ScriptSource:
		last = newScriptPane(ss)
	case *ReplaySource:
		last = newReplayPane(ss)
	}
	return []Pane{
		newSocketsPane(), newQueuesPane(), newTracePane(),
		newSkbPane(), newSlabPane(), newHashPane(),
		newPacketsPane(), newFlowPane(), last,
	}
}
