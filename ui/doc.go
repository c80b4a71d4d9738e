// Package ui is the inspector: a Bubble Tea program that shows a running
// model kernel's insides while it runs. It looks at one Source (a live
// kernel on TUN, the built-in demo, and later a scenario run or a replay),
// samples snapshots of it about ten times a second, collects its trace
// events and packets, and draws them in panes named as the kernel names
// things: sockets, queues, the sk_buff, slab caches, the hash tables, the
// function trace, packets, the flow of a connection, and a syscall
// console. One component per pane (pane_*.go), one keymap (keys.go), one
// style sheet (styles.go); the root model (model.go) routes keys to the
// focused pane and data to all of them. The UI never blocks the kernel:
// everything it reads comes through the kernel's loop as snapshots.
package ui
