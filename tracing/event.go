package tracing

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says what an event marks.
type Kind uint8

const (
	// Entry marks a kernel function being called.
	Entry Kind = iota + 1
	// Exit marks it returning; Event.Ret holds the return value.
	Exit
	// Point is an instant with no duration: a tracepoint firing
	// (kfree_skb with its drop reason) or a BUG the model reports instead of
	// crashing (skb_over_panic).
	Point
)

func (k Kind) String() string {
	switch k {
	case Entry:
		return "entry"
	case Exit:
		return "exit"
	case Point:
		return "point"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ArgKind says how to read an argument's value.
type ArgKind uint8

const (
	ArgNone   ArgKind = iota
	ArgSkb            // struct sk_buff *
	ArgSock           // struct sock *
	ArgPtr            // any other kernel address
	ArgCache          // struct kmem_cache *
	ArgList           // struct sk_buff_head *
	ArgPage           // struct page * (shown as its kernel address)
	ArgSize           // a size in bytes
	ArgInt            // a signed integer (lengths, offsets, counts)
	ArgUint           // an unsigned integer shown in hex (flags, masks)
	ArgErrno          // 0 or a negative errno
	ArgBool           // 0 or 1
	ArgReason         // enum skb_drop_reason
	ArgIPv4           // an IPv4 address as a __be32
	ArgState          // a TCP state (TCP_LISTEN ...)
)

// Arg is one small typed argument or return value. It holds no pointers, so
// events can be copied and compared as plain bytes.
type Arg struct {
	Kind ArgKind
	Val  uint64
}

// Helpers that build arguments at trace points.

func Skb(addr uint64) Arg    { return Arg{ArgSkb, addr} }
func Sock(addr uint64) Arg   { return Arg{ArgSock, addr} }
func Ptr(addr uint64) Arg    { return Arg{ArgPtr, addr} }
func Cache(addr uint64) Arg  { return Arg{ArgCache, addr} }
func List(addr uint64) Arg   { return Arg{ArgList, addr} }
func Page(addr uint64) Arg   { return Arg{ArgPage, addr} }
func Size(n uint64) Arg      { return Arg{ArgSize, n} }
func Int(n int64) Arg        { return Arg{ArgInt, uint64(n)} }
func Uint(n uint64) Arg      { return Arg{ArgUint, n} }
func Errno(ret int64) Arg    { return Arg{ArgErrno, uint64(ret)} }
func Reason(code uint64) Arg { return Arg{ArgReason, code} }
func IPv4(be32 uint32) Arg   { return Arg{ArgIPv4, uint64(be32)} }
func State(st uint8) Arg     { return Arg{ArgState, uint64(st)} }
func Bool(b bool) Arg {
	if b {
		return Arg{ArgBool, 1}
	}
	return Arg{ArgBool, 0}
}

// MaxArgs is how many arguments an event carries.
const MaxArgs = 3

// Event is one thing the kernel reported. It is a plain value of 64
// bytes, one cache line: the arguments' values and kinds are kept apart
// (Arg and Ret put them together), so that tracing every kernel function
// into a ring stays cheap.
type Event struct {
	Seq  uint64 // 1, 2, 3, ... per Tracer, never reused
	Time int64  // nanoseconds on the kernel clock
	vals [MaxArgs + 1]uint64
	// Task is the context the event ran in: a process's pid for its
	// syscalls, 0 for the kernel's own work (softirq, timers).
	Task  uint32
	Func  FuncID
	Depth uint16 // call depth within Task: an Entry and its Exit share it
	Kind  Kind
	NArg  uint8
	kinds [MaxArgs + 1]ArgKind
}

// Arg returns argument i (ArgNone past NArg).
func (e *Event) Arg(i int) Arg { return Arg{Kind: e.kinds[i], Val: e.vals[i]} }

// Ret is the return value of an Exit (ArgNone if none).
func (e *Event) Ret() Arg { return Arg{Kind: e.kinds[MaxArgs], Val: e.vals[MaxArgs]} }

// WithArgs returns a copy of e with these arguments (NArg set to their
// count) and return value: for building events by hand (tests, tools).
func (e Event) WithArgs(ret Arg, args ...Arg) Event {
	var a [MaxArgs]Arg
	n := copy(a[:], args)
	e.NArg = uint8(n)
	e.set(a[0], a[1], a[2], ret)
	return e
}

// set fills the arguments and the return value.
func (e *Event) set(a, b, c, ret Arg) {
	e.vals = [MaxArgs + 1]uint64{a.Val, b.Val, c.Val, ret.Val}
	e.kinds = [MaxArgs + 1]ArgKind{a.Kind, b.Kind, c.Kind, ret.Kind}
}

// Resolver turns addresses into names where it can (a kmem_cache address
// into "TCP", a drop reason code into its name). A nil Resolver prints raw
// values.
type Resolver interface {
	ArgString(a Arg) (string, bool)
}

// String formats the event as one line of text, without resolution.
func (e *Event) String() string { return e.Format(nil) }

// Format formats the event as one line:
//
//	#12 t=0.000001000   alloc_skb(size=128)
//	#13 t=0.000001000   alloc_skb = skb 0xffff888004a3c000
func (e *Event) Format(r Resolver) string {
	var b strings.Builder
	f := FuncByID(e.Func)
	fmt.Fprintf(&b, "#%d t=%d.%09d ", e.Seq, e.Time/1e9, e.Time%1e9)
	b.WriteString(strings.Repeat("  ", int(e.Depth)))
	switch e.Kind {
	case Exit:
		b.WriteString(f.Name)
		if ret := e.Ret(); ret.Kind != ArgNone {
			b.WriteString(" = ")
			b.WriteString(FormatArg(ret, r))
		}
	default:
		if e.Kind == Point {
			b.WriteString("! ")
		}
		b.WriteString(f.Name)
		b.WriteByte('(')
		for i := 0; i < int(e.NArg) && i < MaxArgs; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			if i < len(f.Args) {
				b.WriteString(f.Args[i])
				b.WriteByte('=')
			}
			b.WriteString(FormatArg(e.Arg(i), r))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// FormatArg formats one argument's value ("0xffff888004a3c000", "128",
// "-12 ENOMEM"), through r where r knows it.
func FormatArg(a Arg, r Resolver) string {
	if r != nil {
		if s, ok := r.ArgString(a); ok {
			return s
		}
	}
	switch a.Kind {
	case ArgSkb:
		return hex(a.Val)
	case ArgSock:
		return hex(a.Val)
	case ArgPtr:
		return hex(a.Val)
	case ArgCache:
		return hex(a.Val)
	case ArgList:
		return hex(a.Val)
	case ArgPage:
		return hex(a.Val)
	case ArgSize:
		return strconv.FormatUint(a.Val, 10)
	case ArgInt:
		return strconv.FormatInt(int64(a.Val), 10)
	case ArgUint:
		return hex(a.Val)
	case ArgErrno:
		n := int64(a.Val)
		if n == 0 {
			return "0"
		}
		return strconv.FormatInt(n, 10) + " " + ErrnoName(-n)
	case ArgBool:
		if a.Val != 0 {
			return "true"
		}
		return "false"
	case ArgReason, ArgState:
		return strconv.FormatUint(a.Val, 10)
	case ArgIPv4:
		v := uint32(a.Val) // network byte order, read little-endian
		return strconv.Itoa(int(v&0xff)) + "." + strconv.Itoa(int(v>>8&0xff)) + "." +
			strconv.Itoa(int(v>>16&0xff)) + "." + strconv.Itoa(int(v>>24))
	}
	return "?"
}

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }
