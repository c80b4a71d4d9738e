package ui

import (
	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// Frame is one sample of the source: the kernel's state and what it
// emitted lately. Panes read it; nobody changes it after it is built.
type Frame struct {
	Snap *stack.Snapshot
	// Prev is the frame before's snapshot (for changes since the last
	// refresh), nil at first.
	Prev *stack.Snapshot
	// Events are the newest trace events, oldest first; EventSeq is the
	// newest one's number (the count of events so far).
	Events   []tracing.Event
	EventSeq uint64
	// Packets are the newest packets the devices carried, oldest first;
	// PacketTotal counts all since the start.
	Packets     []stack.PacketRecord
	PacketTotal uint64
	// Sampled says the kernel was so busy that events and packets were
	// recorded only shortly before this frame (see Feed).
	Sampled bool
	// Stop is where stepping stopped the kernel, if it is stopped.
	Stop *stack.Stop
	// Breakpoints are the breakpoints set.
	Breakpoints []tracing.Breakpoint
	// Skb is the selected queued sk_buff (Selection.Skb), described when
	// the frame was sampled; nil if none is selected or it is gone.
	Skb *stack.SkbSnap
	// SkbErr says why Skb is nil although one was selected (freed).
	SkbErr error
}

// Selection is what the user picked; one selection drives the other
// panes (a socket's queues and hash bucket, a queue's skb).
type Selection struct {
	// Sock is the selected socket's struct sock address ("0xffff8880...").
	Sock string
	// Skb is the selected sk_buff, if one was picked in a queue; Packet,
	// if an skb was picked in the packet list (index into Frame.Packets
	// by PacketTotal numbering: the record's number since the start).
	Skb    string
	Packet *stack.PacketRecord
}

// Context is what every pane shares: the source, the style sheet and
// keymap, the latest frame, and the selection.
type Context struct {
	Src    Source
	K      *stack.Kernel
	Styles Styles
	Keys   KeyMap
	Frame  *Frame
	Sel    Selection
}

// Resolver names cache ids, drop reasons and states in trace arguments.
func (c *Context) Resolver() tracing.Resolver {
	if c.K == nil {
		return nil
	}
	return c.K
}

// sockByAddr finds a socket of the current snapshot.
func (c *Context) sockByAddr(addr string) *stack.SockSnap {
	if c.Frame == nil || c.Frame.Snap == nil {
		return nil
	}
	for i := range c.Frame.Snap.Socks {
		if c.Frame.Snap.Socks[i].Sk == addr {
			return &c.Frame.Snap.Socks[i]
		}
	}
	return nil
}
