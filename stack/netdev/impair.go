package netdev

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Impairments say what a link does to the frames going one way, as
// tc-netem would: the in-memory wire (wire.go) and the TUN driver's
// impairment stage (tun_impair.go) share them. The probabilities are
// between 0 and 1; times are nanoseconds. The zero value is a perfect
// link: every frame arrives at once, in order, intact.
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
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("%s probability %v is not between 0 and 1", p.name, p.v)
		}
	}
	if im.Delay < 0 || im.Jitter < 0 || im.ReorderGap < 0 || im.Rate < 0 || im.QueueBytes < 0 {
		return fmt.Errorf("delay, jitter, reorder gap, rate and queue must not be negative")
	}
	return nil
}

// IsZero reports a perfect link (nothing to do).
func (im Impairments) IsZero() bool { return im == Impairments{} }

// String describes the impairments in tc-netem's words, e.g. "delay 20ms
// reorder 10% (gap 5ms) loss 5%"; a perfect link is "none".
func (im Impairments) String() string {
	pct := func(p float64) string { return strconv.FormatFloat(p*100, 'f', -1, 64) + "%" }
	var b []string
	if im.Delay > 0 {
		b = append(b, "delay "+time.Duration(im.Delay).String())
		if im.Jitter > 0 {
			b[len(b)-1] += " jitter " + time.Duration(im.Jitter).String()
		}
	} else if im.Jitter > 0 {
		b = append(b, "jitter "+time.Duration(im.Jitter).String())
	}
	if im.Reorder > 0 {
		gap := im.ReorderGap
		if gap == 0 {
			gap = defaultReorderGap
		}
		b = append(b, fmt.Sprintf("reorder %s (gap %v)", pct(im.Reorder), time.Duration(gap)))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", im.Loss}, {"duplicate", im.Duplicate}, {"corrupt", im.Corrupt}} {
		if p.v > 0 {
			b = append(b, p.name+" "+pct(p.v))
		}
	}
	if im.Rate > 0 {
		q := im.QueueBytes
		if q == 0 {
			q = defaultQueueBytes
		}
		b = append(b, fmt.Sprintf("rate %sbit/s (queue %d bytes)", siPrefix(im.Rate), q))
	}
	if len(b) == 0 {
		return "none"
	}
	return strings.Join(b, " ")
}

// siPrefix writes n with k, M or G where it divides evenly enough.
func siPrefix(n int64) string {
	for _, u := range []struct {
		div int64
		p   string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if n >= u.div {
			return strconv.FormatFloat(float64(n)/float64(u.div), 'f', -1, 64) + u.p
		}
	}
	return strconv.FormatInt(n, 10)
}

// withDefaults fills in the queue and the reorder gap where unset.
func (im Impairments) withDefaults() Impairments {
	if im.QueueBytes == 0 {
		im.QueueBytes = defaultQueueBytes
	}
	if im.ReorderGap == 0 {
		im.ReorderGap = defaultReorderGap
	}
	return im
}

// defaultQueueBytes is the rate limiter's queue unless told otherwise:
// about a hundred full-sized Ethernet frames, like a txqueuelen of 100.
const defaultQueueBytes = 100 * 1500

// defaultReorderGap is how long a reordered frame is held back unless told
// otherwise.
const defaultReorderGap = int64(5e6)

// ImpairStats counts what happened to the frames going one way.
type ImpairStats struct {
	Sent, Delivered                        uint64
	Lost, Duplicated, Corrupted, Reordered uint64
	// QueueDrops are frames the rate limiter's full queue dropped.
	QueueDrops uint64
	// Filtered are frames a test's Filter chose to lose.
	Filtered uint64
}

// WireStats is the in-memory wire's name for ImpairStats.
type WireStats = ImpairStats

// impairer decides the fate of the frames going one way: whether each is
// lost, when it arrives, whether it arrives corrupted or twice. Every
// random choice comes from its own generator, seeded, so the same frames
// offered at the same times meet the same fate. It is not safe for
// concurrent use; its owner locks.
type impairer struct {
	imp       Impairments
	rng       *rand.Rand
	busyUntil int64 // when the rate-limited link is free again
	lastAt    int64 // the latest in-order arrival so far
	stats     ImpairStats
}

// newImpairer makes the impairer of direction dir of a link seeded with
// seed; each direction draws from a stream of its own.
func newImpairer(seed uint64, dir int, im Impairments) *impairer {
	return &impairer{imp: im.withDefaults(), rng: rand.New(rand.NewPCG(seed, uint64(dir)+0x9e3779b97f4a7c15))}
}

// set changes the impairments for the frames offered from now on.
func (z *impairer) set(im Impairments) { z.imp = im.withDefaults() }

// fate is what became of one frame: nothing (lost), or a copy of it
// arriving at a time, possibly twice.
type fate struct {
	at    int64
	frame []byte // a copy, corrupted if the dice said so
	dup   bool   // a second copy arrives right after
}

// offer decides the fate of a frame sent at now. The frame is copied;
// the caller may reuse it. ok is false when the frame is lost.
func (z *impairer) offer(now int64, frame []byte) (f fate, ok bool) {
	im := z.imp
	// Draw every random number a frame may need, always in the same
	// order, so one impairment's setting does not shift the others' draws.
	rLoss, rDup, rCorrupt, rReorder := z.rng.Float64(), z.rng.Float64(), z.rng.Float64(), z.rng.Float64()
	rJitter, rBit := z.rng.Float64(), z.rng.Uint64()
	if rLoss < im.Loss {
		z.stats.Lost++
		return fate{}, false
	}
	at := now
	if im.Rate > 0 {
		start := max(now, z.busyUntil)
		if waiting := float64(start-now) * float64(im.Rate) / 8e9; waiting+float64(len(frame)) > float64(im.QueueBytes) {
			z.stats.QueueDrops++
			return fate{}, false
		}
		z.busyUntil = start + int64(float64(len(frame))*8e9/float64(im.Rate))
		at = z.busyUntil
	}
	at += im.Delay
	if im.Jitter > 0 {
		at += int64(rJitter * float64(im.Jitter))
	}
	b := append([]byte(nil), frame...)
	if rCorrupt < im.Corrupt && len(b) > 0 {
		bit := rBit % uint64(len(b)*8)
		b[bit/8] ^= 1 << (bit % 8)
		z.stats.Corrupted++
	}
	if rReorder < im.Reorder {
		at += im.ReorderGap
		z.stats.Reordered++
	} else {
		at = max(at, z.lastAt)
		z.lastAt = at
	}
	dup := rDup < im.Duplicate
	if dup {
		z.stats.Duplicated++
	}
	return fate{at: at, frame: b, dup: dup}, true
}

// flight is a frame on its way.
type flight struct {
	at    int64
	dir   int
	seq   uint64
	frame []byte
}

// flightHeap orders frames by arrival time, then by the order they were
// sent (container/heap's interface).
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
	old[len(old)-1] = flight{}
	*h = old[:len(old)-1]
	return f
}
