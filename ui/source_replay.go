package ui

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// ReplaySource shows a recorded trace re-executed: a kernel positioned at
// one event of the recording, which the stepping keys move forwards as
// in a live kernel and the replay keys move backwards (or anywhere: an
// event number, a time, a packet, a bookmark). Going back swaps in another
// kernel, re-executed to the earlier event from the nearest keyframe; the
// model picks it up (and the feed that watched it get there) through
// TakeFeed.
type ReplaySource struct {
	path     string
	seeker   *stack.Seeker
	interval time.Duration
	marks    *tracing.Bookmarks

	// move serialises moves (they block while the kernel runs); mu guards
	// the fields below and is held only briefly, so that the inspector
	// never waits on a move to read the state.
	move sync.Mutex
	mu   sync.Mutex
	pos  *stack.Position
	feed *Feed       // for the model to take after a swap
	end  bool        // the recording has run to its end
	st   ReplayState // as of the last move
}

// ReplayState is where the replay stands.
type ReplayState struct {
	Seq, Total    uint64 // the event the kernel is stopped at (0: between inputs), and the last one
	Input, Inputs int    // the input that event belongs to, of how many
	Paused        bool   // stopped at an event (not parked between inputs)
	End           bool   // every input has run
}

// NewReplaySource opens a trace for the inspector: it indexes it, starts
// building keyframes and parks a replay before the first input.
func NewReplaySource(path string, interval time.Duration) (*ReplaySource, error) {
	if interval == 0 {
		interval = 100 * time.Millisecond
	}
	open := func() (*tracing.TraceReader, error) { return tracing.OpenTrace(path) }
	seeker, err := stack.NewSeeker(open, 0, stack.ReplayOptions{})
	if err != nil {
		return nil, err
	}
	marks, err := tracing.LoadBookmarks(path)
	if err != nil {
		seeker.Close()
		return nil, err
	}
	s := &ReplaySource{path: path, seeker: seeker, interval: interval, marks: marks}
	// A recording begun in the middle of a session opens at its first
	// event; one from the boot, before its first input.
	start := uint64(0)
	if first := seeker.Timeline().First; first > 1 {
		start = first
	}
	if err := s.seek(start); err != nil {
		seeker.Close()
		return nil, err
	}
	s.refresh()
	return s, nil
}

// Kernel is the kernel at the current position.
func (s *ReplaySource) Kernel() *stack.Kernel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos.Replay.Kernel()
}

// Mode is REPLAY.
func (s *ReplaySource) Mode() Mode { return ModeReplay }

// Title names the trace.
func (s *ReplaySource) Title() string { return s.path }

// Banner is empty.
func (s *ReplaySource) Banner() string { return "" }

// Close stops the replay and its keyframes.
func (s *ReplaySource) Close() error {
	s.mu.Lock()
	pos := s.pos
	s.mu.Unlock()
	if pos != nil {
		pos.Replay.Close() // a move in progress ends with the kernel
	}
	s.seeker.Close()
	return nil
}

// Timeline is the recording's index.
func (s *ReplaySource) Timeline() *stack.Timeline { return s.seeker.Timeline() }

// Bookmarks are the trace's bookmarks.
func (s *ReplaySource) Bookmarks() *tracing.Bookmarks { return s.marks }

// State returns where the replay stands.
func (s *ReplaySource) State() ReplayState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// refresh recomputes the state after a move; the caller holds move, so
// nothing else touches the position meanwhile.
func (s *ReplaySource) refresh() ReplayState {
	st := s.compute()
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return st
}

func (s *ReplaySource) compute() ReplayState {
	tl := s.seeker.Timeline()
	pos, end := s.current()
	st := ReplayState{Total: tl.Last(), Inputs: tl.Inputs(), Paused: pos.Paused(), End: end}
	if st.Paused {
		st.Seq = pos.Seq
		st.Input = tl.InputOf(pos.Seq)
	} else {
		st.Input = int(pos.Replay.Inputs())
	}
	return st
}

// TakeFeed returns the feed of a kernel swapped in since the last call
// (nil if none): the model closes its old feed and uses this one.
func (s *ReplaySource) TakeFeed() *Feed {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.feed
	s.feed = nil
	return f
}

// seek swaps in a kernel stopped at event seq (0: before the first input).
// A feed is attached before it re-executes, so the trace and packet panes
// show the way there.
func (s *ReplaySource) seek(seq uint64) error {
	s.mu.Lock()
	old := s.pos
	s.mu.Unlock()
	var bps []tracing.Breakpoint
	if old != nil {
		bps, _ = old.Replay.Kernel().Breakpoints()
	}
	var feed *Feed
	pos, err := s.seeker.Seek(seq, func(k *stack.Kernel) error {
		f, err := NewFeed(k, s.interval)
		feed = f
		return err
	})
	if err != nil {
		return err
	}
	// The breakpoints go along, set once the new kernel has stopped at
	// the event (on the way there they would stop it too early).
	for _, b := range bps {
		if b.Func != "" {
			_, _ = pos.Replay.Kernel().AddBreakpoint(b.Func)
		} else {
			_, _ = pos.Replay.Kernel().AddEventBreakpoint(b.Seq)
		}
	}
	s.mu.Lock()
	s.pos, s.end = pos, false
	if s.feed != nil {
		s.feed.Close() // a swap the model never took
	}
	s.feed = feed
	s.mu.Unlock()
	if old != nil {
		old.Replay.Close()
	}
	return nil
}

// Seek moves the replay to event seq, forwards or backwards.
func (s *ReplaySource) Seek(seq uint64) (ReplayState, error) {
	if tl := s.seeker.Timeline(); seq < tl.First || seq > tl.Last() {
		return s.State(), fmt.Errorf("event #%d: the recording has events #%d to #%d", seq, tl.First, tl.Last())
	}
	s.move.Lock()
	defer s.move.Unlock()
	if err := s.seek(seq); err != nil {
		return s.State(), err
	}
	return s.refresh(), nil
}

// Back moves to the event before the current one.
func (s *ReplaySource) Back() (ReplayState, error) {
	st := s.State()
	cur := st.Seq
	if !st.Paused {
		cur = s.seeker.Timeline().InputEnd[st.Input] + 1 // just after the last input run
	}
	if cur <= s.seeker.Timeline().First {
		return st, errors.New("at the first event of the recording")
	}
	return s.Seek(cur - 1)
}

// BackOver moves backwards over a whole call: to the nearest earlier
// event of this task at this depth or shallower.
func (s *ReplaySource) BackOver() (ReplayState, error) {
	st := s.State()
	if !st.Paused {
		return s.Back()
	}
	to := s.seeker.Timeline().StepOverBack(st.Seq)
	if to == 0 {
		return st, errors.New("no earlier event in this task")
	}
	return s.Seek(to)
}

// Packet moves to the next (dir > 0) or previous packet crossing a device.
func (s *ReplaySource) Packet(dir int) (ReplayState, error) {
	st, from := s.searchFrom(dir)
	to := s.seeker.Timeline().Packet(from, dir)
	if to == 0 {
		if dir > 0 {
			return st, errors.New("no packet after this point")
		}
		return st, errors.New("no packet before this point")
	}
	return s.Seek(to)
}

// AtTime moves to the first event at or after t nanoseconds.
func (s *ReplaySource) AtTime(t int64) (ReplayState, error) {
	seq := s.seeker.Timeline().AtTime(t)
	if seq == 0 {
		return s.State(), fmt.Errorf("nothing happens at or after %s", fmtSeconds(t))
	}
	return s.Seek(seq)
}

// Forward steps the kernel forwards (the stepping keys), across inputs.
func (s *ReplaySource) Forward(cmd tracing.StepCommand) (ReplayState, error) {
	s.move.Lock()
	defer s.move.Unlock()
	pos, end := s.current()
	if end {
		return s.State(), errEndOfRecording
	}
	err := pos.Forward(cmd)
	if err == io.EOF {
		s.setEnd()
		err = errEndOfRecording
	}
	return s.refresh(), err
}

// current is the position and whether the recording has run out.
func (s *ReplaySource) current() (*stack.Position, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos, s.end
}

// setEnd notes that the recording has run to its end.
func (s *ReplaySource) setEnd() {
	s.mu.Lock()
	s.end = true
	s.mu.Unlock()
}

// RunInput runs the current input to its end (or the next input, between
// inputs), unless a breakpoint stops it first.
func (s *ReplaySource) RunInput() (ReplayState, error) {
	s.move.Lock()
	defer s.move.Unlock()
	pos, end := s.current()
	if end {
		return s.State(), errEndOfRecording
	}
	err := pos.RunInput()
	if err == io.EOF || (err == nil && !pos.Paused() && pos.Replay.Done()) {
		s.setEnd()
		if err == io.EOF {
			err = errEndOfRecording
		}
	}
	return s.refresh(), err
}

// errEndOfRecording says there is nothing further to replay.
var errEndOfRecording = errors.New("the end of the recording")

// fmtSeconds prints nanoseconds as seconds.
func fmtSeconds(ns int64) string { return fmt.Sprintf("%d.%09ds", ns/1e9, ns%1e9) }

// Mark moves to the next (dir > 0) or previous bookmark.
func (s *ReplaySource) Mark(dir int) (ReplayState, error) {
	st, from := s.searchFrom(dir)
	m, ok := s.marks.Next(from, dir)
	if !ok {
		if len(s.marks.List()) == 0 {
			return st, errors.New("no bookmarks yet (B bookmarks the event the replay is at)")
		}
		return st, errors.New("no further bookmark that way")
	}
	return s.Seek(m.Seq)
}

// RunToEnd runs on until a breakpoint stops the kernel or the recording
// ends.
func (s *ReplaySource) RunToEnd() (ReplayState, error) {
	for {
		st, err := s.RunInput()
		if err != nil || st.End || st.Paused {
			return st, err
		}
	}
}

// searchFrom is the event a search forwards (dir > 0) or backwards starts
// after or before: the current one, or, between inputs, the boundary.
func (s *ReplaySource) searchFrom(dir int) (ReplayState, uint64) {
	st := s.State()
	if st.Paused {
		return st, st.Seq
	}
	from := s.seeker.Timeline().InputEnd[st.Input]
	if dir < 0 {
		from++
	}
	return st, from
}
