package ui

import (
	"sync"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// Bounds of what the feed keeps between frames.
const (
	feedEvents  = 1 << 16 // trace events kept (the trace pane shows the newest)
	feedPackets = 4096    // packet records kept
	frameEvents = 4096    // events handed to the panes per frame
)

// Feed collects what the kernel emits between frames: trace events (a
// bounded ring) and packets (a bounded list). Its subscriber runs on the
// kernel loop and only copies under a mutex, so the kernel never waits for
// the UI.
type Feed struct {
	mu          sync.Mutex
	ring        *tracing.Ring
	packets     []stack.PacketRecord
	packetTotal uint64
}

// NewFeed subscribes a feed to k's trace events and packet tap.
func NewFeed(k *stack.Kernel) (*Feed, error) {
	f := &Feed{ring: tracing.NewRing(feedEvents)}
	if _, err := k.Subscribe(f.onEvent); err != nil {
		return nil, err
	}
	if err := k.SetPacketTap(f.onPacket); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Feed) onEvent(ev *tracing.Event) {
	f.mu.Lock()
	f.ring.Push(ev)
	f.mu.Unlock()
}

func (f *Feed) onPacket(r stack.PacketRecord) {
	f.mu.Lock()
	if len(f.packets) == feedPackets {
		copy(f.packets, f.packets[feedPackets/4:])
		f.packets = f.packets[:feedPackets-feedPackets/4]
	}
	f.packets = append(f.packets, r)
	f.packetTotal++
	f.mu.Unlock()
}

// take copies the newest events (at most frameEvents) and all kept
// packets into a frame.
func (f *Feed) take(fr *Frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fr.Events = f.ring.Last(make([]tracing.Event, 0, frameEvents), frameEvents)
	if n := len(fr.Events); n > 0 {
		fr.EventSeq = fr.Events[n-1].Seq
	}
	fr.Packets = append([]stack.PacketRecord(nil), f.packets...)
	fr.PacketTotal = f.packetTotal
}
