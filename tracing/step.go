package tracing

import (
	"fmt"
	"path"
	"strings"
)

// StepCommand tells a paused kernel how to go on.
type StepCommand uint8

const (
	// Continue runs until a breakpoint.
	Continue StepCommand = iota + 1
	// StepInto stops at the very next event.
	StepInto
	// StepOver stops at the next event of the same task that is not
	// inside a function called from here (gdb's "next").
	StepOver
	// StepOut stops when the current function has returned (gdb's
	// "finish").
	StepOut
)

func (c StepCommand) String() string {
	switch c {
	case Continue:
		return "continue"
	case StepInto:
		return "step"
	case StepOver:
		return "next"
	case StepOut:
		return "finish"
	}
	return fmt.Sprintf("command(%d)", uint8(c))
}

// Breakpoint stops the kernel at the entry of every function whose kernel
// name matches Func (a glob: "tcp_*", "inet_csk_*"), or at event number Seq.
type Breakpoint struct {
	ID   int
	Func string // glob over kernel names; empty if Seq is used
	Seq  uint64 // event sequence number; 0 if Func is used
	Hits int
}

func (b Breakpoint) String() string {
	if b.Func != "" {
		return fmt.Sprintf("#%d at %s()", b.ID, b.Func)
	}
	return fmt.Sprintf("#%d at event %d", b.ID, b.Seq)
}

// Pauser is how the stepper stops the kernel: it is called on the kernel
// loop with the event the kernel stopped at and returns once the user has
// said how to go on. While it waits, it may answer snapshot requests: the
// kernel is stopped exactly at ev.
type Pauser func(ev *Event, why string) StepCommand

// Stepper is the stepping controller: a subscriber that decides, event by
// event, whether the kernel stops. It belongs to the kernel loop.
type Stepper struct {
	pause    Pauser
	mode     StepCommand
	task     uint32
	depth    uint16
	atEntry  bool // the stop was at a function's entry
	breaks   []Breakpoint
	nextID   int
	stopNext bool // a stop was requested from outside (break-in)
}

// NewStepper returns a stepper that runs freely until told otherwise.
func NewStepper(pause Pauser) *Stepper {
	return &Stepper{pause: pause, mode: Continue}
}

// AddBreakpoint adds a breakpoint on a kernel function name glob.
func (s *Stepper) AddBreakpoint(glob string) (Breakpoint, error) {
	glob = strings.TrimSuffix(strings.TrimSpace(glob), "()")
	if glob == "" {
		return Breakpoint{}, fmt.Errorf("a breakpoint needs a kernel function name or a glob such as tcp_*")
	}
	if _, err := path.Match(glob, ""); err != nil {
		return Breakpoint{}, fmt.Errorf("bad pattern %q: %v", glob, err)
	}
	s.nextID++
	b := Breakpoint{ID: s.nextID, Func: glob}
	s.breaks = append(s.breaks, b)
	return b, nil
}

// AddEventBreakpoint adds a breakpoint on an event sequence number.
func (s *Stepper) AddEventBreakpoint(seq uint64) Breakpoint {
	s.nextID++
	b := Breakpoint{ID: s.nextID, Seq: seq}
	s.breaks = append(s.breaks, b)
	return b
}

// DeleteBreakpoint removes a breakpoint by id and reports whether it existed.
func (s *Stepper) DeleteBreakpoint(id int) bool {
	for i, b := range s.breaks {
		if b.ID == id {
			s.breaks = append(s.breaks[:i], s.breaks[i+1:]...)
			return true
		}
	}
	return false
}

// Breakpoints returns the breakpoints in the order they were set.
func (s *Stepper) Breakpoints() []Breakpoint { return append([]Breakpoint(nil), s.breaks...) }

// Mode returns how the kernel is running: Continue, or the step in progress.
func (s *Stepper) Mode() StepCommand { return s.mode }

// BreakIn asks the stepper to stop at the next event, like pressing a
// pause key.
func (s *Stepper) BreakIn() { s.stopNext = true }

// Step sets how the kernel runs from now on, as if the user had answered
// a pause at ev with cmd.
func (s *Stepper) Step(cmd StepCommand, ev *Event) {
	s.mode, s.task, s.depth, s.atEntry = cmd, ev.Task, ev.Depth, ev.Kind == Entry
}

// OnEvent is the subscriber: it stops the kernel where the current mode or
// a breakpoint says so.
func (s *Stepper) OnEvent(ev *Event) {
	why := s.reason(ev)
	if why == "" {
		return
	}
	s.stopNext = false
	s.Step(s.pause(ev, why), ev)
}

// reason returns why the kernel must stop at ev, or "".
func (s *Stepper) reason(ev *Event) string {
	if s.stopNext {
		return "break-in"
	}
	for i := range s.breaks {
		b := &s.breaks[i]
		if (b.Seq != 0 && b.Seq == ev.Seq) ||
			(b.Func != "" && ev.Kind == Entry && matchName(b.Func, ev.Func.Name())) {
			b.Hits++
			return "breakpoint " + b.String()
		}
	}
	switch s.mode {
	case StepInto:
		return "step"
	case StepOver:
		// Stop at the next event of this task at the same depth or
		// shallower: the callee's own events are skipped. Exit events sit
		// at the depth of their entry.
		if ev.Task == s.task && ev.Depth <= s.depth {
			return "next"
		}
		if ev.Task != s.task {
			return ""
		}
	case StepOut:
		// Stopped at an entry, the current function is the one entered:
		// its exit is at the same depth. Stopped anywhere else, it is the
		// caller, whose exit is one level up.
		if ev.Task == s.task && ev.Kind == Exit && (ev.Depth < s.depth || s.atEntry && ev.Depth == s.depth) {
			return "finish"
		}
	}
	return ""
}

func matchName(glob, name string) bool {
	ok, _ := path.Match(glob, name)
	return ok
}
