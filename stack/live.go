package stack

import "time"

// liveTimerChan arms the loop's real-time timer for the earliest kernel
// timer and returns its channel (nil when no timer is pending). Only live
// mode uses it; timers are armed on the loop itself, so recomputing on
// every pass of the loop is enough.
func (k *Kernel) liveTimerChan() <-chan time.Time {
	next, ok := k.nextTimer()
	if !ok {
		if k.liveTimer != nil {
			k.liveTimer.Stop()
		}
		return nil
	}
	d := max(time.Duration(next-k.clock.Now()), 0)
	if k.liveTimer == nil {
		k.liveTimer = time.NewTimer(d)
	} else {
		k.liveTimer.Reset(d)
	}
	return k.liveTimer.C
}

// kickTimer is a hook for timers armed from outside the loop; every timer
// is armed on the loop, which re-arms the real timer on its next pass.
func (k *Kernel) kickTimer() {}
