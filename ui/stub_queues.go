package ui

// newQueuesPane stands in for the queues pane until it is written.
func newQueuesPane() Pane { return &stubPane{name: "queues"} }
