package netdev

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"sync"
)

// Impairments say what a wire does to the frames going one way. The
// probabilities are between 0 and 1; times are nanoseconds. The zero value
// is a perfect wire: every frame arrives at once, in order, intact.
type Impairments struct {
	// Loss drops a frame.
	Loss float64
	// Duplicate delivers a frame twice (the copy right after the original).
	Duplicate float64
	// Corrupt flips one bit at a random position of the frame.
	Corrupt float64
	// Reorder holds a frame back by ReorderGap beyond its normal arrival,
	// so that the frames sent after it overtake it.
	Reorder    float64
	ReorderGap int64
	// Delay is the one-way propagation delay; Jitter adds a uniform random
	// extra of up to Jitter to each frame without reordering (a frame never
	// arrives before one sent earlier, as on a real link).
	Delay, Jitter int64
	// Rate limits the link to this many bits per second (0: no limit).
	// Frames wait for the link behind the ones before them; a frame that
	// would make more than QueueBytes wait is dropped at the tail.
	Rate       int64
	QueueBytes int
}

// Validate reports impossible settings.
func (im Impairments) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", im.Loss}, {"duplicate", im.Duplicate}, {"corrupt", im.Corrupt}, {"reorder", im.Reorder}} {
		if p.v < 0 || p.v > 1 {
			return fmt.Errorf("wire %s probability %v is not between 0 and 1", p.name, p.v)
		}
	}
	if im.Delay < 0 || im.Jitter < 0 || im.ReorderGap < 0 || im.Rate < 0 || im.QueueBytes < 0 {
		return fmt.Errorf("wire delay, jitter, reorder gap, rate and queue must not be negative")
	}
	return nil
}

// defaultQueueBytes is the rate limiter's queue unless told otherwise:
// about a hundred full-sized Ethernet frames, like a txqueuelen of 100.
const defaultQueueBytes = 100 * 1500

// defaultReorderGap is how long a reordered frame is held back unless told
// otherwise.
const defaultReorderGap = int64(5e6)

// WireStats counts what happened to the frames going one way.
type WireStats struct {
	Sent, Delivered                        uint64
	Lost, Duplicated, Corrupted, Reordered uint64
	// QueueDrops are frames the rate limiter's full queue dropped.
	QueueDrops uint64
	// Filtered are frames a test's Filter chose to lose.
	Filtered uint64
}

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
	dirs [2]wireDir
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

// wireDir is the state of one direction (0: end 0 to end 1).
type wireDir struct {
	imp       Impairments
	rng       *rand.Rand
	busyUntil int64 // when the rate-limited link is free again
	lastAt    int64 // the latest in-order arrival so far
	stats     WireStats
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
		return nil, err
	}
	if err := ba.Validate(); err != nil {
		return nil, err
	}
	w := &Wire{}
	for i, im := range []Impairments{ab, ba} {
		if im.QueueBytes == 0 {
			im.QueueBytes = defaultQueueBytes
		}
		if im.ReorderGap == 0 {
			im.ReorderGap = defaultReorderGap
		}
		w.dirs[i] = wireDir{imp: im, rng: rand.New(rand.NewPCG(seed, uint64(i)+0x9e3779b97f4a7c15))}
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
		return err
	}
	if im.QueueBytes == 0 {
		im.QueueBytes = defaultQueueBytes
	}
	if im.ReorderGap == 0 {
		im.ReorderGap = defaultReorderGap
	}
	w.mu.Lock()
	w.dirs[dir].imp = im
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
	d := &w.dirs[e.dir]
	d.stats.Sent++
	if w.Tap != nil {
		w.Tap(e.dir, now, frame)
	}
	if w.Filter != nil && w.Filter(e.dir, frame) {
		d.stats.Filtered++
		return nil
	}
	im := d.imp
	// Draw every random number a frame may need, always in the same
	// order, so one impairment's setting does not shift the others' draws.
	rLoss, rDup, rCorrupt, rReorder := d.rng.Float64(), d.rng.Float64(), d.rng.Float64(), d.rng.Float64()
	rJitter, rBit := d.rng.Float64(), d.rng.Uint64()
	if rLoss < im.Loss {
		d.stats.Lost++
		return nil
	}
	at := now
	if im.Rate > 0 {
		start := max(now, d.busyUntil)
		if waiting := float64(start-now) * float64(im.Rate) / 8e9; waiting+float64(len(frame)) > float64(im.QueueBytes) {
			d.stats.QueueDrops++
			return nil
		}
		d.busyUntil = start + int64(float64(len(frame))*8e9/float64(im.Rate))
		at = d.busyUntil
	}
	at += im.Delay
	if im.Jitter > 0 {
		at += int64(rJitter * float64(im.Jitter))
	}
	f := append([]byte(nil), frame...)
	if rCorrupt < im.Corrupt && len(f) > 0 {
		bit := rBit % uint64(len(f)*8)
		f[bit/8] ^= 1 << (bit % 8)
		d.stats.Corrupted++
	}
	if rReorder < im.Reorder {
		at += im.ReorderGap
		d.stats.Reordered++
	} else {
		at = max(at, d.lastAt)
		d.lastAt = at
	}
	w.push(e.dir, at, f)
	if rDup < im.Duplicate {
		d.stats.Duplicated++
		w.push(e.dir, at, append([]byte(nil), f...))
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

// flight is a frame on its way.
type flight struct {
	at    int64
	dir   int
	seq   uint64
	frame []byte
}

// flightHeap orders frames by arrival time, then by the order they were
// sent.
type flightHeap []flight

func (h flightHeap) Len() int { return len(h) }
func (h flightHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h flightHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *flightHeap) Push(x any)   { *h = append(*h, x.(flight)) }
func (h *flightHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	*h = old[:len(old)-1]
	return f
}
