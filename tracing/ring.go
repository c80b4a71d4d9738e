package tracing

// Ring keeps the most recent events in a fixed amount of memory: when it is
// full, each new event overwrites the oldest. It belongs to the kernel loop
// like the Tracer; observers read it through copies (Events).
type Ring struct {
	buf     []Event
	mask    uint64
	written uint64 // events ever pushed
}

// NewRing returns a ring holding at least n events (rounded up to a power of
// two, at least 1).
func NewRing(n int) *Ring {
	size := 1
	for size < n {
		size <<= 1
	}
	return &Ring{buf: make([]Event, size), mask: uint64(size - 1)}
}

// Push stores a copy of ev.
func (r *Ring) Push(ev *Event) {
	r.buf[r.written&r.mask] = *ev
	r.written++
}

// slot claims the next slot for an event written in place (the tracer's
// fast path) and returns it.
func (r *Ring) slot() *Event {
	e := &r.buf[r.written&r.mask]
	r.written++
	return e
}

// Cap returns how many events the ring holds when full.
func (r *Ring) Cap() int { return len(r.buf) }

// Len returns how many events it holds now.
func (r *Ring) Len() int {
	if r.written < uint64(len(r.buf)) {
		return int(r.written)
	}
	return len(r.buf)
}

// Overwritten returns how many events were pushed out by newer ones.
func (r *Ring) Overwritten() uint64 { return r.written - uint64(r.Len()) }

// Events appends the held events to dst, oldest first, and returns it.
func (r *Ring) Events(dst []Event) []Event {
	n := uint64(r.Len())
	for i := r.written - n; i < r.written; i++ {
		dst = append(dst, r.buf[i&r.mask])
	}
	return dst
}

// Last appends the newest n held events (or all, if fewer) to dst, oldest
// first, and returns it.
func (r *Ring) Last(dst []Event, n int) []Event {
	held := uint64(r.Len())
	if uint64(n) < held {
		held = uint64(n)
	}
	for i := r.written - held; i < r.written; i++ {
		dst = append(dst, r.buf[i&r.mask])
	}
	return dst
}

// Written returns how many events were ever pushed.
func (r *Ring) Written() uint64 { return r.written }

// Reset forgets every event.
func (r *Ring) Reset() { r.written = 0 }
