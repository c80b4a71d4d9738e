package tracing

import (
	"cmp"
	"slices"
)

// Clock is the kernel's clock as the tracer sees it: nanoseconds since the
// kernel booted. It is real in live mode and virtual elsewhere; the tracer
// never reads the wall clock itself.
type Clock interface {
	Now() int64
}

// WordClock is a Clock whose time is one word in memory, written only by
// the goroutine that runs the tracer (the kernel loop ticks it before each
// input). The tracer reads the word through NowWord instead of calling Now
// for every event: on a path that traces about a hundred functions per
// packet, the call was a tenth of what recording costs.
type WordClock interface {
	Clock
	NowWord() *int64
}

// Subscriber receives every event, synchronously, on the kernel loop. The
// event is only valid during the call: copy it to keep it. A subscriber may
// block (that is how stepping stops the kernel inside a function) but must
// not call traced kernel code itself.
type Subscriber func(ev *Event)

type subscription struct {
	id int
	fn Subscriber
	w  *TraceWriter // fn is w.Event (SubscribeTrace)
}

// Tracer turns trace points into events and hands them to its listeners.
// It belongs to one kernel and is used only from that kernel's loop.
//
// The zero value is a valid tracer that nobody listens to.
type Tracer struct {
	on     bool // any subscriber or a ring: the one branch a trace point costs
	depth  uint16
	task   uint32
	depths map[uint32]uint16 // saved depth of tasks not running now
	seq    uint64
	clock  Clock
	now    *int64         // clock's word, when it is a WordClock
	subs   []subscription // replaced, never modified in place
	// direct is the one listener when it is a trace writer and there is
	// no ring: events then go straight to it (TraceWriter.record).
	direct *TraceWriter
	next   int
	ring   *Ring
	ev     Event // scratch, handed to subscribers by pointer
}

// NewTracer returns a tracer reading time from clock (nil reads 0).
func NewTracer(clock Clock) *Tracer {
	t := &Tracer{}
	t.SetClock(clock)
	return t
}

// SetClock changes the clock events are stamped with.
func (t *Tracer) SetClock(c Clock) {
	t.clock, t.now = c, nil
	if wc, ok := c.(WordClock); ok {
		t.now = wc.NowWord()
	}
}

// On reports whether anybody listens. Trace points test it before building
// an event.
func (t *Tracer) On() bool { return t.on }

// Seq returns the sequence number of the last event emitted (0 if none).
func (t *Tracer) Seq() uint64 { return t.seq }

// SetSeq sets the number of the last event, so that the next is seq+1: a
// replay of a recording begun in the middle of a session numbers its
// events as the recording did.
func (t *Tracer) SetSeq(seq uint64) { t.seq = seq }

// Depth returns the current call depth.
func (t *Tracer) Depth() int { return int(t.depth) }

// Task returns the task events are attributed to now.
func (t *Tracer) Task() uint32 { return t.task }

// SetTask switches the context events are attributed to (a pid, or 0 for
// the kernel's own work). Each task keeps its own call depth, so a process
// that sleeps inside a syscall resumes at the depth where it slept.
func (t *Tracer) SetTask(task uint32) {
	if task == t.task {
		return
	}
	if t.depths == nil {
		t.depths = map[uint32]uint16{}
	}
	if t.depth != 0 {
		t.depths[t.task] = t.depth
	} else {
		delete(t.depths, t.task)
	}
	t.task = task
	t.depth = t.depths[task]
}

// Subscribe adds a listener and returns an id for Unsubscribe. Listeners are
// called in the order they subscribed.
func (t *Tracer) Subscribe(fn Subscriber) int { return t.subscribe(subscription{fn: fn}) }

// SubscribeTrace adds a trace writer as a listener, as Subscribe(w.Event)
// does; when it is the only listener, events reach it without the
// Subscriber call.
func (t *Tracer) SubscribeTrace(w *TraceWriter) int {
	return t.subscribe(subscription{fn: w.Event, w: w})
}

func (t *Tracer) subscribe(s subscription) int {
	t.next++
	s.id = t.next
	subs := make([]subscription, len(t.subs), len(t.subs)+1)
	copy(subs, t.subs)
	t.subs = append(subs, s)
	t.update()
	return t.next
}

// Unsubscribe removes a listener; unknown ids are ignored. It is safe to
// call from inside a subscriber.
func (t *Tracer) Unsubscribe(id int) {
	subs := make([]subscription, 0, len(t.subs))
	for _, s := range t.subs {
		if s.id != id {
			subs = append(subs, s)
		}
	}
	t.subs = subs
	t.update()
}

// SetRing attaches a ring that keeps the most recent events (nil detaches).
func (t *Tracer) SetRing(r *Ring) {
	t.ring = r
	t.update()
}

// Ring returns the attached ring, or nil.
func (t *Tracer) Ring() *Ring { return t.ring }

func (t *Tracer) update() {
	t.on = len(t.subs) > 0 || t.ring != nil
	t.direct = nil
	if len(t.subs) == 1 && t.ring == nil {
		t.direct = t.subs[0].w
	}
	if !t.on {
		t.depth = 0
		clear(t.depths)
	}
}

// Enter reports that fn was called with no arguments worth showing.
func (t *Tracer) Enter(fn FuncID) {
	if t.on {
		t.emit(Entry, fn, 0, Arg{}, Arg{}, Arg{}, Arg{})
	}
}

// Enter1 reports that fn was called with one argument.
func (t *Tracer) Enter1(fn FuncID, a Arg) {
	if t.on {
		t.emit(Entry, fn, 1, a, Arg{}, Arg{}, Arg{})
	}
}

// Enter2 reports that fn was called with two arguments.
func (t *Tracer) Enter2(fn FuncID, a, b Arg) {
	if t.on {
		t.emit(Entry, fn, 2, a, b, Arg{}, Arg{})
	}
}

// Enter3 reports that fn was called with three arguments.
func (t *Tracer) Enter3(fn FuncID, a, b, c Arg) {
	if t.on {
		t.emit(Entry, fn, 3, a, b, c, Arg{})
	}
}

// Exit reports that fn returned ret (Arg{} for void).
func (t *Tracer) Exit(fn FuncID, ret Arg) {
	if t.on {
		t.emit(Exit, fn, 0, Arg{}, Arg{}, Arg{}, ret)
	}
}

// Point reports an instant event (a tracepoint, a BUG turned into an error)
// with up to two arguments; pass Arg{} for unused ones.
func (t *Tracer) Point(fn FuncID, a, b Arg) {
	if t.on {
		// An argument of no kind is no argument, whatever its value.
		if a.Kind == ArgNone {
			a = Arg{}
		}
		if b.Kind == ArgNone {
			b = Arg{}
		}
		n := uint8(0)
		if a.Kind != ArgNone {
			n = 1
		}
		if b.Kind != ArgNone {
			n = 2
		}
		t.emit(Point, fn, n, a, b, Arg{}, Arg{})
	}
}

func (t *Tracer) emit(k Kind, fn FuncID, n uint8, a, b, c, ret Arg) {
	if k == Exit && t.depth > 0 {
		t.depth--
	}
	t.seq++
	// With a ring, the event is written once, straight into its slot;
	// subscribers see the slot.
	ev := &t.ev
	if t.ring != nil {
		ev = t.ring.slot()
	}
	ev.Seq, ev.Func, ev.Kind, ev.Depth, ev.Task, ev.NArg = t.seq, fn, k, t.depth, t.task, n
	ev.set(a, b, c, ret)
	switch {
	case t.now != nil:
		ev.Time = *t.now
	case t.clock != nil:
		ev.Time = t.clock.Now()
	default:
		ev.Time = 0
	}
	if k == Entry {
		t.depth++
	}
	if t.direct != nil {
		t.direct.record(ev)
		return
	}
	for _, s := range t.subs {
		s.fn(ev)
	}
}

// TaskDepth is one task's call depth.
type TaskDepth struct {
	Task  uint32 `json:"task"`
	Depth uint16 `json:"depth"`
}

// Depths returns the call depth of every task that is inside a call, in
// task order: what a replay of a recording begun mid-session restores, so
// that tasks asleep across the start exit at the depth the recording saw.
func (t *Tracer) Depths() []TaskDepth {
	var out []TaskDepth
	for task, d := range t.depths {
		if task != t.task && d > 0 {
			out = append(out, TaskDepth{task, d})
		}
	}
	if t.depth > 0 {
		out = append(out, TaskDepth{t.task, t.depth})
	}
	slices.SortFunc(out, func(a, b TaskDepth) int { return cmp.Compare(a.Task, b.Task) })
	return out
}

// SetDepths replaces every task's call depth with d (tasks not in d are
// at depth 0).
func (t *Tracer) SetDepths(d []TaskDepth) {
	if t.depths == nil {
		t.depths = map[uint32]uint16{}
	}
	clear(t.depths)
	t.depth = 0
	for _, x := range d {
		if x.Task == t.task {
			t.depth = x.Depth
		} else {
			t.depths[x.Task] = x.Depth
		}
	}
}
