package sockets

// Waiter is something asleep on a wait queue: a process's task blocked in a
// syscall. Wake makes it runnable again; the kernel loop resumes it.
type Waiter interface {
	Wake()
}

type waitEntry struct {
	w         Waiter
	exclusive bool
}

// WaitQueue is wait_queue_head_t. Non-exclusive waiters are added at the
// head and all of them wake; exclusive ones (accept) are added at the tail
// and wake one at a time, which is how Linux avoids a thundering herd on a
// listening socket.
type WaitQueue struct {
	entries []waitEntry
}

// Add is add_wait_queue / add_wait_queue_exclusive.
func (wq *WaitQueue) Add(w Waiter, exclusive bool) {
	e := waitEntry{w: w, exclusive: exclusive}
	if exclusive {
		wq.entries = append(wq.entries, e)
		return
	}
	wq.entries = append([]waitEntry{e}, wq.entries...)
}

// Remove is remove_wait_queue (finish_wait).
func (wq *WaitQueue) Remove(w Waiter) {
	for i, e := range wq.entries {
		if e.w == w {
			wq.entries = append(wq.entries[:i], wq.entries[i+1:]...)
			return
		}
	}
}

// Has reports whether w waits on the queue.
func (wq *WaitQueue) Has(w Waiter) bool {
	for _, e := range wq.entries {
		if e.w == w {
			return true
		}
	}
	return false
}

// Len returns how many tasks wait.
func (wq *WaitQueue) Len() int { return len(wq.entries) }

// Active is wq_has_sleeper.
func (wq *WaitQueue) Active() bool { return len(wq.entries) > 0 }

// WakeUp is __wake_up_common with autoremove_wake_function: every
// non-exclusive waiter and at most nrExclusive exclusive ones are woken and
// taken off the queue, in queue order. It returns how many woke.
func (wq *WaitQueue) WakeUp(nrExclusive int) int {
	var woken []Waiter
	kept := wq.entries[:0]
	for _, e := range wq.entries {
		if e.exclusive {
			if nrExclusive <= 0 {
				kept = append(kept, e)
				continue
			}
			nrExclusive--
		}
		woken = append(woken, e.w)
	}
	clear(wq.entries[len(kept):])
	wq.entries = kept
	for _, w := range woken {
		w.Wake()
	}
	return len(woken)
}

// Waiters returns the waiters in queue order (for snapshots).
func (wq *WaitQueue) Waiters() []Waiter {
	out := make([]Waiter, len(wq.entries))
	for i, e := range wq.entries {
		out[i] = e.w
	}
	return out
}
