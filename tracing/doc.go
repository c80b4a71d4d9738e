// Package tracing is how stackscope's kernel tells the world what it is doing.
//
// Every modelled kernel function is registered once, at package
// initialisation, with its kernel name (alloc_skb), the kernel source file
// that defines it (net/core/skbuff.c), a short explanation written for
// students, and the Go function that models it. When the function runs it
// reports an entry and an exit event to the kernel's Tracer; instant events
// (Point) mark things that are not calls, such as a tracepoint firing.
//
// The Tracer is owned by the kernel loop and is not safe for concurrent use.
// When nobody listens, a trace point costs one predictable branch: the
// event is neither built nor stored. Listeners are subscribers (called
// synchronously, in subscription order, so a stepping controller can stop
// the kernel inside a call) and an optional bounded Ring of recent events.
//
// Events are plain values without pointers, so they can be copied into a
// ring, written to a trace file and compared byte for byte between two runs
// (DESIGN.md principle 2).
package tracing
