package stack

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/stackscope/stackscope/tracing"
)

// Reverse stepping. A kernel cannot be copied (its tasks are suspended
// coroutines, its timers and callbacks closures), so going back means
// re-executing the recording up to the earlier event. To keep that short,
// a Seeker keeps keyframes: replays parked at input boundaries every
// KeyframeEvents events, booted and run in the background. Going to an
// event takes the nearest keyframe at or before it and re-executes at most
// one keyframe interval (plus the input the event is in); the keyframe it
// used is rebuilt in the background for the next time.

// DefaultKeyframeEvents is how many events apart keyframes are.
const DefaultKeyframeEvents = 50_000

// Seeker hands out replays positioned at any event of a recording.
type Seeker struct {
	open  TraceOpener
	tl    *Timeline
	every uint64
	opt   ReplayOptions

	mu     sync.Mutex
	frames []keyframe // keyframe j: the boundary after input frames[j].input
	wake   chan struct{}
	quit   chan struct{}
	done   chan struct{}
	closed bool
}

// keyframe is a replay parked after an input, or nil while it is rebuilt.
type keyframe struct {
	input int
	rp    *Replay
	err   error
}

// NewSeeker scans the recording and starts building keyframes every
// `every` events (0: DefaultKeyframeEvents) in the background. opt is used
// for every replay it boots (stepping is always on).
func NewSeeker(open TraceOpener, every uint64, opt ReplayOptions) (*Seeker, error) {
	tl, err := ScanTrace(open)
	if err != nil {
		return nil, err
	}
	if every == 0 {
		every = DefaultKeyframeEvents
	}
	opt.Stepping = true
	s := &Seeker{open: open, tl: tl, every: every, opt: opt, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	// Keyframe j sits after the last input that ends before event
	// First + j*every: the first at the boot, the second (for a recording
	// begun in the middle of a session) where the recording begins.
	s.frames = append(s.frames, keyframe{input: 0})
	last := 0
	for j := uint64(0); j*every <= tl.Total(); j++ {
		in := tl.InputOf(tl.First+j*every) - 1
		if in > last {
			s.frames = append(s.frames, keyframe{input: in})
			last = in
		}
	}
	go s.build()
	s.kick()
	return s, nil
}

// Timeline is the recording's index.
func (s *Seeker) Timeline() *Timeline { return s.tl }

// kick wakes the builder.
func (s *Seeker) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// build keeps every keyframe filled, nearest to the start first, each
// from a fresh boot (a kernel cannot be copied).
func (s *Seeker) build() {
	defer close(s.done)
	for {
		select {
		case <-s.quit:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			j := -1
			for i := range s.frames {
				if s.frames[i].rp == nil && s.frames[i].err == nil {
					j = i
					break
				}
			}
			if j < 0 || s.closed {
				s.mu.Unlock()
				break
			}
			target := s.frames[j].input
			s.mu.Unlock()
			rp, err := s.replayTo(target)
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				if rp != nil {
					rp.Close()
				}
				return
			}
			s.frames[j].rp, s.frames[j].err = rp, err
			s.mu.Unlock()
		}
	}
}

// replayTo boots a replay and runs it through input n.
func (s *Seeker) replayTo(n int) (*Replay, error) {
	r, err := s.open()
	if err != nil {
		return nil, err
	}
	rp, err := NewReplay(r, s.opt)
	if err != nil {
		r.Close()
		return nil, err
	}
	rp.closer = r
	for rp.inputs < uint64(n) {
		select {
		case <-s.quit: // the seeker is closing: stop building
			rp.Close()
			return nil, errors.New("the seeker is closed")
		default:
		}
		if err := rp.advance(int(rp.inputs) + 1); err != nil {
			rp.Close()
			return nil, err
		}
	}
	return rp, nil
}

// advance runs inputs until n of them have run.
func (rp *Replay) advance(n int) error {
	for rp.inputs < uint64(n) {
		if err := rp.Step(); err != nil {
			if err == io.EOF {
				return fmt.Errorf("the recording has only %d inputs", rp.inputs)
			}
			return err
		}
	}
	return nil
}

// take hands out the keyframe replay nearest before input n (after it
// has run n inputs at most), or boots one if none is ready.
func (s *Seeker) take(n int) (*Replay, error) {
	s.mu.Lock()
	var rp *Replay
	for j := len(s.frames) - 1; j >= 0; j-- {
		if f := &s.frames[j]; f.input <= n && f.rp != nil {
			rp, f.rp = f.rp, nil
			break
		}
	}
	s.mu.Unlock()
	s.kick()
	if rp == nil {
		return s.replayTo(0)
	}
	return rp, nil
}

// Position is a replay stopped at an event: its kernel is paused there (as
// stepping pauses it), with the input the event belongs to in flight.
type Position struct {
	Replay *Replay
	Seq    uint64
	// Done delivers the result of the input in flight once the kernel is
	// let go on (nil, io.EOF or a divergence).
	Done <-chan error
}

// Seek returns a replay stopped at event seq (1 is the first event; the
// boot's events cannot be stopped at: Seek(0) and boot events give a
// replay parked before the first input, with Done nil).
//
// prepare, if not nil, is called with the replay's kernel before it is
// sent to seq (to attach observers that should see the way there).
func (s *Seeker) Seek(seq uint64, prepare func(*Kernel) error) (*Position, error) {
	if seq > s.tl.Last() {
		return nil, fmt.Errorf("event #%d: the recording has events #%d to #%d", seq, s.tl.First, s.tl.Last())
	}
	if seq != 0 && seq < s.tl.First {
		return nil, fmt.Errorf("event #%d: the recording began at event #%d (the session's earlier events were not recorded)", seq, s.tl.First)
	}
	in := s.tl.InputOf(seq)
	parked := seq == 0 || in == 0 // before the first input: nothing to run
	before := 0
	if !parked {
		before = in - 1
	}
	rp, err := s.take(before)
	if err != nil {
		return nil, err
	}
	if prepare != nil {
		if err := prepare(rp.k); err != nil {
			rp.Close()
			return nil, err
		}
	}
	if parked {
		return &Position{Replay: rp}, nil
	}
	if err := rp.advance(in - 1); err != nil {
		rp.Close()
		return nil, err
	}
	k := rp.k
	bp, err := k.AddEventBreakpoint(seq)
	if err != nil {
		rp.Close()
		return nil, err
	}
	done := rp.stepAsync()
	select {
	case st := <-k.Stops():
		_, _ = k.DeleteBreakpoint(bp.ID)
		if st.Event.Seq != seq {
			rp.Close()
			return nil, fmt.Errorf("event #%d: the replay stopped at #%d instead", seq, st.Event.Seq)
		}
	case err := <-done:
		rp.Close()
		if err == nil {
			err = errors.New("the input ran to its end without emitting it")
		}
		return nil, fmt.Errorf("event #%d: %w", seq, err)
	}
	return &Position{Replay: rp, Seq: seq, Done: done}, nil
}

// Close stops the builder and every keyframe replay.
func (s *Seeker) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.quit)
	frames := s.frames
	s.mu.Unlock()
	<-s.done
	for _, f := range frames {
		if f.rp != nil {
			f.rp.Close()
		}
	}
}

// Forward resumes a positioned replay with a stepping command and returns
// once the kernel stops again, running the recording's next inputs as
// needed. At the end of the recording it returns io.EOF (the position is
// then after the last input, with nothing in flight).
func (p *Position) Forward(cmd tracing.StepCommand) error {
	k := p.Replay.k
	if p.Done != nil {
		if err := k.Step(cmd); err != nil {
			return err
		}
	} else {
		// Parked between inputs: the stepper decides where the next one
		// stops.
		if err := k.BreakInWith(cmd); err != nil {
			return err
		}
		p.Done = p.Replay.stepAsync()
	}
	for {
		select {
		case st := <-k.Stops():
			p.Seq = st.Event.Seq
			return nil
		case err := <-p.Done:
			p.Done = nil
			if err != nil {
				return err
			}
			if p.Replay.Done() {
				return io.EOF
			}
			p.Done = p.Replay.stepAsync()
		}
	}
}

// stepAsync runs the next input in the background.
func (rp *Replay) stepAsync() <-chan error {
	done := make(chan error, 1)
	go func() { done <- rp.Step() }()
	return done
}

// waitKeyframes waits until every keyframe is built (benchmarks, tests).
func (s *Seeker) waitKeyframes() {
	for {
		s.mu.Lock()
		ready := true
		for _, f := range s.frames {
			if f.rp == nil && f.err == nil {
				ready = false
			}
		}
		s.mu.Unlock()
		if ready {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// RunInput lets the input in flight run to its end, or, parked between
// inputs, runs the next one; a breakpoint on the way stops it there
// instead. It returns io.EOF once the recording is done.
func (p *Position) RunInput() error {
	k := p.Replay.k
	if p.Done != nil {
		if err := k.Step(tracing.Continue); err != nil {
			return err
		}
	} else {
		if p.Replay.Done() {
			return io.EOF
		}
		if err := k.BreakInWith(tracing.Continue); err != nil {
			return err
		}
		p.Done = p.Replay.stepAsync()
	}
	select {
	case st := <-k.Stops():
		p.Seq = st.Event.Seq
		return nil
	case err := <-p.Done:
		p.Done = nil
		p.Seq = k.tr.Seq()
		return err
	}
}

// Paused reports whether the kernel is stopped at an event (rather than
// parked between inputs).
func (p *Position) Paused() bool { return p.Done != nil }

// keyframeInputs lists where the keyframes sit (tests).
func (s *Seeker) keyframeInputs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.frames))
	for i, f := range s.frames {
		out[i] = f.input
	}
	return out
}
