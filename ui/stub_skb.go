package ui

// newSkbPane stands in for the skb pane until it is written.
func newSkbPane() Pane { return &stubPane{name: "skb"} }
