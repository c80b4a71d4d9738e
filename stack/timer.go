package stack

import (
	"container/heap"

	"github.com/stackscope/stackscope/tracing"
)

// Timer is struct timer_list: a function to run on the kernel loop at a
// time. Timers that expire at the same time run in the order they were
// armed.
type Timer struct {
	Name    string // the kernel's timer function, e.g. "reqsk_timer_handler"
	Fn      func()
	expires int64
	seq     uint64
	index   int // position in the heap; -1 when not pending
}

// Pending is timer_pending.
func (t *Timer) Pending() bool { return t.index >= 0 }

// Expires returns when the timer fires (meaningful while pending).
func (t *Timer) Expires() int64 { return t.expires }

// NewTimer is timer_setup.
func NewTimer(name string, fn func()) *Timer { return &Timer{Name: name, Fn: fn, index: -1} }

type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].expires != h[j].expires {
		return h[i].expires < h[j].expires
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// ModTimer is mod_timer: (re)arm t to fire at expires.
func (k *Kernel) ModTimer(t *Timer, expires int64) {
	k.tr.Enter2(fnModTimer, tracing.Ptr(k.timerAddr(t)), tracing.Int(expires))
	k.timerSeq++
	t.seq = k.timerSeq
	t.expires = expires
	if t.index >= 0 {
		heap.Fix(&k.timers, t.index)
	} else {
		heap.Push(&k.timers, t)
	}
	k.tr.Exit(fnModTimer, tracing.Int(0))
	k.kickTimer()
}

// DelTimer is del_timer (timer_delete): disarm t; it reports whether t was
// pending.
func (k *Kernel) DelTimer(t *Timer) bool {
	if t.index < 0 {
		return false
	}
	k.tr.Enter1(fnDelTimer, tracing.Ptr(k.timerAddr(t)))
	heap.Remove(&k.timers, t.index)
	k.tr.Exit(fnDelTimer, tracing.Int(1))
	return true
}

// timerAddr is a stable pseudo-address for a timer in traces.
func (k *Kernel) timerAddr(t *Timer) uint64 { return t.seq }

// NextTimer returns when the earliest timer fires, and whether there is one.
func (k *Kernel) nextTimer() (int64, bool) {
	if len(k.timers) == 0 {
		return 0, false
	}
	return k.timers[0].expires, true
}

// runTimers is run_timer_softirq: fire every timer due at now, in order.
func (k *Kernel) runTimers() {
	now := k.clock.Now()
	for len(k.timers) > 0 && k.timers[0].expires <= now {
		t := heap.Pop(&k.timers).(*Timer)
		k.tr.Enter1(fnCallTimerFn, tracing.Ptr(k.timerAddr(t)))
		t.Fn()
		k.tr.Exit(fnCallTimerFn, tracing.Arg{})
		k.runReady()
	}
}
