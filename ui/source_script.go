package ui

import (
	"sync"

	"github.com/stackscope/stackscope/scenario"
	"github.com/stackscope/stackscope/stack"
)

// ScriptSource shows a script run: the runner's kernel, on its virtual
// clock, advanced one script line at a time from the script pane.
type ScriptSource struct {
	r *scenario.Runner
	// mu serialises the runner: a line runs in the background (it may stop
	// at a breakpoint and wait for the stepping keys) while the UI reads
	// the state of the last one.
	mu    sync.Mutex
	state ScriptState
}

// ScriptState is where a script run stands.
type ScriptState struct {
	// Ran is the line last run (0 before the first); Next the line that
	// runs next (0 when the script is done).
	Ran, Next int
	Done      bool
	Err       error
	// Running says a line is running now (perhaps stopped in the kernel).
	Running bool
}

// NewScriptSource wraps a runner that has not run yet.
func NewScriptSource(r *scenario.Runner) *ScriptSource {
	s := &ScriptSource{r: r}
	if ev := r.Next(); ev != nil {
		s.state.Next = ev.Line
	}
	s.state.Done = r.Done()
	return s
}

// Kernel is the runner's kernel.
func (s *ScriptSource) Kernel() *stack.Kernel { return s.r.Kernel() }

// Mode is SCRIPT.
func (s *ScriptSource) Mode() Mode { return ModeScript }

// Title names the script.
func (s *ScriptSource) Title() string { return s.r.Script().File }

// Banner is empty.
func (s *ScriptSource) Banner() string { return "" }

// Close stops the runner and its kernel.
func (s *ScriptSource) Close() error {
	s.r.Close()
	return nil
}

// Script is the script being run.
func (s *ScriptSource) Script() *scenario.Script { return s.r.Script() }

// State returns where the run stands (the Running flag is set while a
// line runs).
func (s *ScriptSource) State() ScriptState {
	if !s.mu.TryLock() {
		return ScriptState{Running: true}
	}
	defer s.mu.Unlock()
	return s.state
}

// StepLine runs the next line and returns the new state. It blocks while
// the line runs, which may be until stepping lets the kernel go on: call
// it from a background command.
func (s *ScriptSource) StepLine() ScriptState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r.Done() {
		s.state.Done, s.state.Err = true, s.r.Err()
		return s.state
	}
	ev, err := s.r.Step()
	if ev != nil {
		s.state.Ran = ev.Line
	}
	s.state.Next = 0
	if next := s.r.Next(); next != nil {
		s.state.Next = next.Line
	}
	s.state.Err = err
	s.state.Done = s.r.Done()
	return s.state
}
