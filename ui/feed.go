package ui

import (
	"sync"
	"time"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// Bounds of what the feed keeps between frames. The ring holds one
// frame's worth, small enough to stay in the CPU's cache.
const (
	feedEvents  = 4096 // trace events kept in the tracer's ring
	feedPackets = 4096 // packet records kept
	frameEvents = 4096 // events handed to the panes per frame
	// busyFactor: when more than this many ringfuls of events happen
	// between two frames, the feed samples (see Feed).
	busyFactor = 4
	// sampleWindow is how long before each frame the feed records while
	// sampling.
	sampleWindow = 20 * time.Millisecond
)

// Feed collects what the kernel emits between frames: trace events in the
// tracer's own ring and packets from the packet tap. Both are written on
// the kernel loop without locks (an event written into its ring slot, an
// append per packet) and read through the loop when a frame is sampled,
// so the kernel never waits for the UI.
//
// When the kernel is busy (a bulk transfer emits millions of events a
// second, and a ring holds a few thousand), recording everything would
// only overwrite what nobody sees, and costs the kernel time. Then the
// feed samples: it records only during the last sampleWindow before each
// frame, so the panes still show the newest activity, and the kernel runs
// untraced in between. Under light load (a curl, a console session) it
// records everything.
type Feed struct {
	k        *stack.Kernel
	ring     *tracing.Ring
	interval time.Duration

	// Owned by the kernel loop (touched only in DoPaused and the tap).
	packets     []stack.PacketRecord
	packetTotal uint64
	attached    bool

	mu          sync.Mutex // the rest: the sampler's state
	lastWritten uint64
	sampling    bool
	timer       *time.Timer
	closed      bool
}

// NewFeed attaches a feed to k's tracer and packet tap; interval is how
// often frames are taken.
func NewFeed(k *stack.Kernel, interval time.Duration) (*Feed, error) {
	f := &Feed{k: k, ring: tracing.NewRing(feedEvents), interval: interval}
	if err := f.attach(true); err != nil {
		return nil, err
	}
	return f, nil
}

// attach turns recording on or off, on the kernel loop.
func (f *Feed) attach(on bool) error {
	_, err := f.k.DoPaused("inspector-feed", func(k *stack.Kernel) any {
		f.setAttached(k, on)
		return nil
	})
	return err
}

// setAttached runs on the kernel loop.
func (f *Feed) setAttached(k *stack.Kernel, on bool) {
	if f.attached == on {
		return
	}
	f.attached = on
	if on {
		k.Tracer().SetRing(f.ring)
		k.SetPacketTapLocked(f.onPacket)
	} else {
		k.Tracer().SetRing(nil)
		k.SetPacketTapLocked(nil)
	}
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
// packets into a frame, on the kernel loop, and decides whether to
// sample until the next frame.
func (f *Feed) take(fr *Frame) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return stack.ErrStopped
	}
	var written uint64
	_, err := f.k.DoPaused("inspector-take", func(k *stack.Kernel) any {
		fr.Events = f.ring.Last(make([]tracing.Event, 0, frameEvents), frameEvents)
		fr.EventSeq = k.Tracer().Seq()
		fr.Packets = append([]stack.PacketRecord(nil), f.packets...)
		fr.PacketTotal = f.packetTotal
		written = f.ring.Written()
		return nil
	})
	if err != nil {
		return err
	}
	n := written - f.lastWritten
	f.lastWritten = written
	switch {
	case !f.sampling && n > busyFactor*feedEvents:
		f.sampling = true
	case f.sampling && n*uint64(f.interval/sampleWindow) < feedEvents:
		// Quiet again: even over a whole interval the ring would hold it.
		f.sampling = false
	}
	fr.Sampled = f.sampling
	if !f.sampling || f.interval <= sampleWindow {
		return nil
	}
	// Record again shortly before the next frame.
	if err := f.attach(false); err != nil {
		return err
	}
	if f.timer != nil {
		f.timer.Stop()
	}
	f.timer = time.AfterFunc(f.interval-sampleWindow, func() { _ = f.attach(true) })
	return nil
}

// Close stops the sampler's timer.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.timer != nil {
		f.timer.Stop()
	}
}
