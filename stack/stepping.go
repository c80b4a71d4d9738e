package stack

import (
	"fmt"

	"github.com/stackscope/stackscope/tracing"
)

// Stop is where stepping stopped the kernel: the event and why.
type Stop struct {
	Event tracing.Event
	Why   string
}

func (s Stop) String() string {
	return fmt.Sprintf("%s: %s", s.Why, s.Event.String())
}

// EnableStepping attaches the stepping controller. From then on the kernel
// runs until a breakpoint or a BreakIn, stops, and reports the Stop on the
// channel Stops returns; Step resumes it.
// It may be called again (and while stopped): it attaches only once.
func (k *Kernel) EnableStepping() error {
	_, err := k.sendPaused("enable-stepping", func(k *Kernel) any {
		if k.stepper == nil {
			k.stepper = tracing.NewStepper(k.pause)
			k.tr.Subscribe(k.stepper.OnEvent)
		}
		return nil
	})
	return err
}

// Stops delivers each stop of the kernel.
func (k *Kernel) Stops() <-chan Stop { return k.stops }

// pause runs on whatever runs kernel code (the loop or a task) when the
// stepper stops at ev. It reports the stop, then answers the commands that
// may run while paused (snapshots, breakpoints) until a step command comes.
// Other inputs wait in arrival order until the kernel runs again.
func (k *Kernel) pause(ev *tracing.Event, why string) tracing.StepCommand {
	st := Stop{Event: *ev, Why: why}
	k.paused = &st
	select {
	case k.stops <- st:
	default:
		// Nobody is reading stops; drop the oldest so the newest is seen.
		select {
		case <-k.stops:
		default:
		}
		k.stops <- st
	}
	defer func() { k.paused = nil }()
	for {
		select {
		case in := <-k.inputs:
			if c := in.ctl; c != nil && c.duringPause {
				r := c.fn(k)
				c.reply <- r
				if cmd, ok := r.(stepReply); ok {
					return tracing.StepCommand(cmd)
				}
				continue
			}
			k.deferred = append(k.deferred, in)
		case <-k.quit:
			return tracing.Continue
		}
	}
}

// stepReply is the reply of a step command: it also resumes the kernel.
type stepReply tracing.StepCommand

// Paused returns where the kernel is stopped, if it is.
func (k *Kernel) Paused() (Stop, bool, error) {
	r, err := k.sendPaused("paused", func(k *Kernel) any {
		if k.paused == nil {
			return nil
		}
		return *k.paused
	})
	if err != nil || r == nil {
		return Stop{}, false, err
	}
	return r.(Stop), true, nil
}

func (k *Kernel) sendPaused(name string, fn func(k *Kernel) any) (any, error) {
	return k.send(&ctlMsg{name: name, fn: fn, duringPause: true})
}

// Step resumes a stopped kernel with cmd (step, next, finish, continue).
// It is an error if the kernel is not stopped.
func (k *Kernel) Step(cmd tracing.StepCommand) error {
	r, err := k.sendPaused("step", func(k *Kernel) any {
		if k.paused == nil {
			return fmt.Errorf("the kernel is not stopped; set a breakpoint or break in first")
		}
		return stepReply(cmd)
	})
	if err != nil {
		return err
	}
	if e, ok := r.(error); ok {
		return e
	}
	return nil
}

// BreakIn stops the kernel at its next event.
func (k *Kernel) BreakIn() error {
	_, err := k.sendPaused("break-in", func(k *Kernel) any {
		if k.stepper != nil {
			k.stepper.BreakIn()
		}
		return nil
	})
	return err
}

// BreakInWith makes the kernel, running freely, go on as if it had been
// stopped and told cmd: StepInto stops it at its next event, StepOver at
// the next one of the current task at this depth or shallower (the idle
// kernel's depth is 0, so its next event), StepOut and Continue run until
// a breakpoint.
func (k *Kernel) BreakInWith(cmd tracing.StepCommand) error {
	r, err := k.sendPaused("break-in-with", func(k *Kernel) any {
		if k.stepper == nil {
			return errNoStepping
		}
		k.stepper.Step(tracing.Continue, &tracing.Event{})
		if cmd == tracing.StepInto || cmd == tracing.StepOver {
			k.stepper.BreakIn()
		}
		return nil
	})
	if e, ok := r.(error); ok && err == nil {
		err = e
	}
	return err
}

// ctlResult is what a control command returns: a value or an error.
type ctlResult[T any] struct {
	v   T
	err error
}

// control runs fn on the loop (also while stepping is paused if pause is
// set) and returns its value and error.
func control[T any](k *Kernel, name string, pause bool, fn func(k *Kernel) (T, error)) (T, error) {
	r, err := k.send(&ctlMsg{name: name, duringPause: pause, fn: func(k *Kernel) any {
		v, err := fn(k)
		return ctlResult[T]{v, err}
	}})
	if err != nil {
		var zero T
		return zero, err
	}
	res := r.(ctlResult[T])
	return res.v, res.err
}

var errNoStepping = fmt.Errorf("stepping is not enabled")

// AddBreakpoint sets a breakpoint on a kernel function name glob.
func (k *Kernel) AddBreakpoint(glob string) (tracing.Breakpoint, error) {
	return control(k, "break", true, func(k *Kernel) (tracing.Breakpoint, error) {
		if k.stepper == nil {
			return tracing.Breakpoint{}, errNoStepping
		}
		return k.stepper.AddBreakpoint(glob)
	})
}

// AddEventBreakpoint sets a breakpoint on an event number.
func (k *Kernel) AddEventBreakpoint(seq uint64) (tracing.Breakpoint, error) {
	return control(k, "break-event", true, func(k *Kernel) (tracing.Breakpoint, error) {
		if k.stepper == nil {
			return tracing.Breakpoint{}, errNoStepping
		}
		return k.stepper.AddEventBreakpoint(seq), nil
	})
}

// DeleteBreakpoint removes a breakpoint.
func (k *Kernel) DeleteBreakpoint(id int) (bool, error) {
	r, err := k.sendPaused("delete-break", func(k *Kernel) any {
		return k.stepper != nil && k.stepper.DeleteBreakpoint(id)
	})
	if err != nil {
		return false, err
	}
	return r.(bool), nil
}

// Breakpoints lists the breakpoints set, with their hit counts.
func (k *Kernel) Breakpoints() ([]tracing.Breakpoint, error) {
	return control(k, "breakpoints", true, func(k *Kernel) ([]tracing.Breakpoint, error) {
		if k.stepper == nil {
			return nil, nil
		}
		return k.stepper.Breakpoints(), nil
	})
}

// DoPaused is Do that also runs while stepping has stopped the kernel (the
// kernel is then stopped exactly at an event, and fn sees that state).
// Observers such as the inspector use it; fn must not run kernel code.
func (k *Kernel) DoPaused(name string, fn func(k *Kernel) any) (any, error) {
	return k.sendPaused(name, fn)
}
