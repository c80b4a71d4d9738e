package netdev

import (
	"container/heap"
	"fmt"
	"sync"
)

// Wire is a cable between two devices, each end a Driver. What end 0
// transmits arrives at end 1 and the other way round, after the
// impairments of that direction. It holds no clock of its own: each end
// reads its kernel's clock when a frame is sent, and whoever drives the
// two kernels asks NextArrival and Arrivals when to deliver. Every random
// choice comes from a per-direction generator seeded from the wire's seed,
// so the same frames sent at the same times meet the same fate.
type Wire struct {
	mu   sync.Mutex
	ends [2]*WireEnd
	dirs [2]*impairer
	q    flightHeap
	seq  uint64
	// Filter, if set, is asked about every frame before the impairments:
	// true loses the frame. Tests use it to lose exactly one segment.
	// It runs on the sending kernel's loop.
	Filter func(dir int, frame []byte) bool
	// Tap, if set, sees every frame put on the wire (before the
	// impairments), with the direction and send time.
	Tap func(dir int, at int64, frame []byte)
}

// WireEnd is one end of a wire: the driver of the device plugged into it.
type WireEnd struct {
	w   *Wire
	dir int // the direction of what this end sends
	now func() int64
}

// NewWire makes a wire with the impairments of each direction (ab: from
// end 0 to end 1) and the seed of its random choices.
func NewWire(seed uint64, ab, ba Impairments) (*Wire, error) {
	if err := ab.Validate(); err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	if err := ba.Validate(); err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	w := &Wire{}
	for i, im := range []Impairments{ab, ba} {
		w.dirs[i] = newImpairer(seed, i, im)
		w.ends[i] = &WireEnd{w: w, dir: i, now: func() int64 { return 0 }}
	}
	return w, nil
}

// End returns end i (0 or 1).
func (w *Wire) End(i int) *WireEnd { return w.ends[i] }

// SetClock tells the end how to read the time of the kernel it is
// plugged into. The function is called on that kernel's loop.
func (e *WireEnd) SetClock(now func() int64) { e.now = now }

// Stats returns the counters of direction dir (0: end 0 to end 1).
func (w *Wire) Stats(dir int) WireStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirs[dir].stats
}

// SetImpairments changes what direction dir does to frames sent from now
// on; frames already on the wire keep their fate.
func (w *Wire) SetImpairments(dir int, im Impairments) error {
	if err := im.Validate(); err != nil {
		return fmt.Errorf("wire: %w", err)
	}
	w.mu.Lock()
	w.dirs[dir].set(im)
	w.mu.Unlock()
	return nil
}

// Xmit puts a frame on the wire: it decides the frame's fate with the
// direction's impairments and queues what survives for arrival.
func (e *WireEnd) Xmit(frame []byte) error {
	w := e.w
	now := e.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	d := w.dirs[e.dir]
	d.stats.Sent++
	if w.Tap != nil {
		w.Tap(e.dir, now, frame)
	}
	if w.Filter != nil && w.Filter(e.dir, frame) {
		d.stats.Filtered++
		return nil
	}
	f, ok := d.offer(now, frame)
	if !ok {
		return nil
	}
	w.push(e.dir, f.at, f.frame)
	if f.dup {
		w.push(e.dir, f.at, append([]byte(nil), f.frame...))
	}
	return nil
}

func (w *Wire) push(dir int, at int64, f []byte) {
	w.seq++
	heap.Push(&w.q, flight{at: at, dir: dir, seq: w.seq, frame: f})
}

// NextArrival returns when the next frame on the wire arrives.
func (w *Wire) NextArrival() (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.q) == 0 {
		return 0, false
	}
	return w.q[0].at, true
}

// Arrivals takes the frames that have arrived by time t off the wire:
// out[i] are those arriving at end i, in arrival order.
func (w *Wire) Arrivals(t int64) (out [2][][]byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.q) > 0 && w.q[0].at <= t {
		f := heap.Pop(&w.q).(flight)
		out[1-f.dir] = append(out[1-f.dir], f.frame)
		w.dirs[f.dir].stats.Delivered++
	}
	return out
}

// InFlight counts the frames on the wire.
func (w *Wire) InFlight() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.q)
}
