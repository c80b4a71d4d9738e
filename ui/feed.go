package ui

import (
	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// Bounds of what the feed keeps between frames.
// The ring holds just what a frame takes: a ring that fits the CPU's
// cache keeps tracing every event cheap (a 64K-event ring, 6 MB, made a
// bulk transfer a third slower); the panes show the newest events, and
// the status bar counts them all.
const (
	feedEvents  = 4096 // trace events kept in the tracer's ring
	feedPackets = 4096 // packet records kept
	frameEvents = 4096 // events handed to the panes per frame
)

// Feed collects what the kernel emits between frames: trace events in the
// tracer's own ring and packets from the packet tap. Both are written on
// the kernel loop without locks (a ring slot copy per event, an append per
// packet) and read through the loop when a frame is sampled, so the kernel
// never waits for the UI.
type Feed struct {
	k           *stack.Kernel
	ring        *tracing.Ring
	packets     []stack.PacketRecord // owned by the kernel loop
	packetTotal uint64
}

// NewFeed attaches a feed to k's tracer and packet tap.
func NewFeed(k *stack.Kernel) (*Feed, error) {
	f := &Feed{k: k, ring: tracing.NewRing(feedEvents)}
	if _, err := k.DoPaused("inspector-ring", func(k *stack.Kernel) any {
		k.Tracer().SetRing(f.ring)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := k.SetPacketTap(f.onPacket); err != nil {
		return nil, err
	}
	return f, nil
}

// onPacket runs on the kernel loop.
func (f *Feed) onPacket(r stack.PacketRecord) {
	if len(f.packets) == feedPackets {
		n := copy(f.packets, f.packets[feedPackets/4:])
		f.packets = f.packets[:n]
	}
	f.packets = append(f.packets, r)
	f.packetTotal++
}

// take copies the newest events (at most frameEvents) and the kept
// packets into a frame, on the kernel loop.
func (f *Feed) take(fr *Frame) error {
	_, err := f.k.DoPaused("inspector-take", func(*stack.Kernel) any {
		fr.Events = f.ring.Last(make([]tracing.Event, 0, frameEvents), frameEvents)
		fr.EventSeq = f.k.Tracer().Seq()
		fr.Packets = append([]stack.PacketRecord(nil), f.packets...)
		fr.PacketTotal = f.packetTotal
		return nil
	})
	return err
}
