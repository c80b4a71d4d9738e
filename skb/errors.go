package skb

import (
	"fmt"

	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// Error is what the model returns where the kernel would BUG() or return
// NULL. The skb (or queue) is left as it was.
type Error struct {
	Op    string    // the kernel function, e.g. "skb_put"
	Panic string    // the kernel's BUG helper, if it has one ("skb_over_panic")
	Skb   slab.Addr // the skb concerned, 0 if none
	Msg   string
	errno int64
}

func (e *Error) Error() string {
	s := e.Op
	if e.Skb != 0 {
		s += fmt.Sprintf("(skb %s)", e.Skb)
	}
	if e.Panic != "" {
		s += ": " + e.Panic
	}
	return s + ": " + e.Msg
}

// Errno returns the negative errno a kernel caller would see.
func (e *Error) Errno() int64 { return e.errno }

func errNoMem(op string, cause error) *Error {
	return &Error{Op: op, Msg: "cannot allocate memory: " + cause.Error(), errno: -tracing.ENOMEM}
}

func errFreed(op string, s *SkBuff) *Error {
	return &Error{Op: op, Skb: s.addr, Msg: "the skb has already been freed (use after free)", errno: -tracing.EFAULT}
}

func errBug(op, panicName string, s *SkBuff, format string, args ...any) *Error {
	var addr slab.Addr
	if s != nil {
		addr = s.addr
	}
	return &Error{Op: op, Panic: panicName, Skb: addr, Msg: fmt.Sprintf(format, args...), errno: -tracing.EINVAL}
}

func errQueued(op string, s *SkBuff) *Error {
	return errBug(op, "", s, "the skb is still on a queue (qlen %d); unlink it before freeing it", s.list.qlen)
}
