package netdev

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// TunImpairments make the TUN link a hostile one, for machines whose
// kernel has no sch_netem (and for anyone who wants a lossy path without
// tc): Rx acts on the frames the host sends before the model kernel
// receives them, Tx on the frames the model kernel sends before the host
// reads them. They are the in-memory wire's impairments, drawn from
// generators seeded with Seed; but the link runs on the machine's clock,
// so which frame meets which fate also depends on timing, and runs are
// not reproducible frame for frame as the wire's are.
type TunImpairments struct {
	Seed   uint64
	Rx, Tx Impairments
}

// Validate reports impossible settings.
func (ti TunImpairments) Validate() error {
	if err := ti.Rx.Validate(); err != nil {
		return fmt.Errorf("TUN impairments, host to stack: %w", err)
	}
	if err := ti.Tx.Validate(); err != nil {
		return fmt.Errorf("TUN impairments, stack to host: %w", err)
	}
	return nil
}

// tunStage is the impairment stage of one direction of a TUN link. A
// frame whose fate is to arrive at once, with nothing held before it, is
// delivered on the caller's goroutine; frames held back (delay, reorder,
// rate) wait in a queue ordered by arrival time, which a goroutine of the
// stage empties on a timer. The stage lives in the driver, outside the
// kernel loop, and reads the machine's monotonic clock: the kernel still
// sees only frames arriving and frames leaving.
type tunStage struct {
	mu      sync.Mutex
	z       *impairer
	q       flightHeap
	seq     uint64
	epoch   time.Time
	deliver func(frame []byte) // called with mu held, so frames leave in order
	stopped bool
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
}

// newTunStage starts the stage of direction dir (0: host to stack) and
// its timer goroutine; stop ends it.
func newTunStage(seed uint64, dir int, im Impairments, deliver func([]byte)) *tunStage {
	s := &tunStage{
		z:       newImpairer(seed, dir, im),
		epoch:   time.Now(),
		deliver: deliver,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.run()
	return s
}

// now is the stage's clock: nanoseconds since it started.
func (s *tunStage) now() int64 { return int64(time.Since(s.epoch)) }

// send offers a frame to the stage. The frame is copied; the caller may
// reuse it at once.
func (s *tunStage) send(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.z.stats.Sent++
	now := s.now()
	f, ok := s.z.offer(now, frame)
	if !ok {
		return
	}
	if len(s.q) == 0 && f.at <= now {
		s.out(f.frame)
		if f.dup {
			s.out(append([]byte(nil), f.frame...))
		}
		return
	}
	head := len(s.q) == 0 || f.at < s.q[0].at
	s.push(f.at, f.frame)
	if f.dup {
		s.push(f.at, append([]byte(nil), f.frame...))
	}
	if head {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (s *tunStage) push(at int64, frame []byte) {
	s.seq++
	heap.Push(&s.q, flight{at: at, seq: s.seq, frame: frame})
}

// out delivers one frame; mu is held.
func (s *tunStage) out(frame []byte) {
	s.z.stats.Delivered++
	s.deliver(frame)
}

// run delivers the held frames when their time comes.
func (s *tunStage) run() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return
		}
		now := s.now()
		for len(s.q) > 0 && s.q[0].at <= now {
			s.out(heap.Pop(&s.q).(flight).frame)
		}
		var due <-chan time.Time
		if len(s.q) > 0 {
			timer.Reset(time.Duration(s.q[0].at - now))
			due = timer.C
		}
		s.mu.Unlock()
		select {
		case <-s.quit:
			timer.Stop()
			return
		case <-s.wake:
		case <-due:
		}
		timer.Stop()
	}
}

// stop ends the stage: frames still held are dropped, and nothing is
// delivered once stop has returned.
func (s *tunStage) stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()
	close(s.quit)
	<-s.done
}

// stats returns the stage's counters.
func (s *tunStage) stats() ImpairStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.z.stats
}

// ImpairStats returns the counters of the impairment stage, host to
// stack (rx) and stack to host (tx); ok is false when the device has no
// impairments.
func (t *Tun) ImpairStats() (rx, tx ImpairStats, ok bool) {
	if t.tx == nil {
		return rx, tx, false
	}
	if s := t.rx.Load(); s != nil {
		rx = s.stats()
	}
	return rx, t.tx.stats(), true
}
