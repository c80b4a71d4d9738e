package scenario

import (
	"fmt"

	"github.com/stackscope/stackscope/stack"
)

// Call is one console line started without waiting for it. The
// inspector's console starts a line, shows it as blocked while its system
// call sleeps, and shows its result when the kernel wakes it. Unlike Exec,
// nothing here fires timers or interrupts a sleeping call, and nothing is
// printed: the kernel's own clock and other processes wake the call, and
// the caller shows the result.
type Call struct {
	k   *stack.Kernel
	Cmd *Command
	pd  *stack.Pending
	// result is known at once for a sysctl line.
	result []string
}

// Start parses text as line n and starts it in the console's process. A
// blank or comment line returns nil and no error, a malformed one a
// *SyntaxError. Several calls may be in flight at once, as threads of the
// process. A packetdrill time in front advances a virtual clock (it does
// nothing to a real one); a sysctl line runs at once. While stepping has
// stopped the kernel, Start does not wait for it (the call runs when the
// kernel does), but a time or a sysctl does.
func (c *Console) Start(n int, text string) (*Call, error) {
	cmd, err := ParseLine(c.file, n, text)
	if err != nil || cmd == nil {
		return nil, err
	}
	cl := &Call{k: c.k, Cmd: cmd}
	if cmd.Time != nil {
		if err := c.advance(cmd.Time); err != nil {
			return nil, err
		}
	}
	if s := cmd.Sysctl; s != nil {
		v, err := c.k.Sysctl(s.Name, s.Value)
		if err != nil {
			cl.result = []string{fmt.Sprintf("sysctl: %v", err)}
		} else {
			cl.result = []string{fmt.Sprintf("%s = %s", s.Name, v)}
		}
		return cl, nil
	}
	cl.pd = c.p.Start(*cmd.Syscall)
	return cl, nil
}

// Blocked waits until the kernel has run the call as far as it goes
// without waiting, and reports whether its system call sleeps (accept on
// an empty queue, read with no data). While stepping has stopped the
// kernel inside the call, it waits until the kernel runs again.
func (cl *Call) Blocked() (bool, error) {
	if cl.pd == nil {
		return false, nil
	}
	if err := cl.k.Sync(); err != nil {
		return false, err
	}
	return !cl.pd.Ready(), nil
}

// Wait waits for the call to return and gives the lines the console
// prints for it after the graph: its result ("= 3", "= -1 EADDRINUSE
// (Address already in use)") and, if the line expects another, a
// mismatch line.
func (cl *Call) Wait() []string {
	if cl.pd == nil {
		return cl.result
	}
	ret, err := cl.pd.Wait()
	out := []string{formatResult(cl.Cmd.Syscall, ret, err, cl.pd)}
	if m := mismatch(cl.Cmd, ret, err); m != "" {
		out = append(out, m)
	}
	return out
}
