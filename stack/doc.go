// Package stack is the kernel: the kernel loop that owns all state, its
// clock, timers and seeded randomness, processes and their syscalls, and
// the IPv4 protocols, in files named after net/ipv4/*.c (af_inet.go holds
// what net/ipv4/af_inet.c holds).
//
// # The loop
//
// One goroutine runs the kernel. Every input (a syscall request, a control
// command, later a received frame) arrives on one channel and is handled
// in order, so given the same inputs, seed and virtual clock, two runs emit
// the same events (DESIGN.md principle 2).
//
// A process's syscall runs on a kernel task: a coroutine (iter.Pull) that
// the loop resumes and that hands control back when the syscall finishes or
// sleeps. A task that sleeps (accept on an empty queue) keeps its kernel
// stack, exactly like a Linux task in schedule(), and the loop goes on with
// other inputs; when something wakes it (sk_data_ready, a signal, a
// timeout) the loop resumes it where it slept. Only one of the loop and the
// tasks runs at any moment, so kernel state has a single owner at a time.
//
// # Time
//
// In live mode the clock is the machine's monotonic clock and timers fire
// on their own. Everywhere else the clock is virtual: it moves only when
// the driver (the console, a scenario, a test) advances it, for example to
// the next pending timer, so a 60-second TIME_WAIT takes no real time.
package stack
