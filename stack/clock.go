package stack

import "time"

// Clock is the kernel's time: nanoseconds since boot.
type Clock interface {
	Now() int64
	// Virtual reports whether time moves only when the kernel is told to.
	Virtual() bool
}

// VirtualClock is time that moves only by Set: for scripts, tests, replay.
type VirtualClock struct{ now int64 }

// Now returns the current virtual time.
func (c *VirtualClock) Now() int64 { return c.now }

// NowWord is where the time is kept, for the tracer to read
// (tracing.WordClock).
func (c *VirtualClock) NowWord() *int64 { return &c.now }

// Virtual is true.
func (c *VirtualClock) Virtual() bool { return true }

// set moves the clock forward (never back).
func (c *VirtualClock) set(t int64) {
	if t > c.now {
		c.now = t
	}
}

// RealClock is the machine's monotonic clock, counted from the kernel's
// boot. It is the only place the kernel reads real time, and only live
// mode uses it. Like the kernel's jiffies (and TCP's tcp_mstamp, which is
// refreshed per packet rather than read per use), it is read once per
// input the loop handles: everything done for one received batch, one
// syscall or one timer sees the same time, and a trace event costs no
// clock read.
type RealClock struct {
	boot time.Time
	now  int64 // the time the loop last read (tick); 0 before the first
}

// NewRealClock starts a real clock at zero now.
func NewRealClock() *RealClock { return &RealClock{boot: time.Now()} }

// Now returns nanoseconds since boot, as of the loop's last tick (0,
// the boot instant, until the loop first ticks): a recording replays
// with exactly the times the kernel saw.
func (c *RealClock) Now() int64 { return c.now }

// NowWord is where the time is kept, for the tracer to read
// (tracing.WordClock).
func (c *RealClock) NowWord() *int64 { return &c.now }

// tick reads the machine's clock; the kernel loop calls it before each
// input and timer run.
func (c *RealClock) tick() { c.now = max(int64(time.Since(c.boot)), 1) }

// Virtual is false.
func (c *RealClock) Virtual() bool { return false }

// HZ and jiffies: Linux counts timer time in jiffies; with HZ=1000 (the
// common distro setting for servers is 250, but 1000 reads best in a trace)
// one jiffy is a millisecond.
const (
	HZ           = 1000
	NsecPerJiffy = int64(1e9 / HZ)
)

// roundUpToJiffy is a duration as usecs_to_jiffies leaves it: rounded up
// to whole jiffies (in ns).
func roundUpToJiffy(ns int64) int64 { return (ns + NsecPerJiffy - 1) / NsecPerJiffy * NsecPerJiffy }

// INITIAL_JIFFIES is where jiffies starts at boot: five minutes before the
// 32-bit counter wraps, so that code comparing jiffies meets the wrap early
// (include/linux/jiffies.h).
const INITIAL_JIFFIES = 1<<32 - 300*HZ

// jiffies64 is get_jiffies_64: the tick count since boot, from the
// kernel's clock, starting at INITIAL_JIFFIES. Truncated to 32 bits it is
// jiffies as a 32-bit machine would see it.
func (k *Kernel) jiffies64() uint64 {
	return INITIAL_JIFFIES + uint64(k.clock.Now()/NsecPerJiffy)
}

// timeBetween32 is time_between32 (include/linux/time.h): is the 32-bit
// timestamp t within [l, h], allowing for wrap-around?
func timeBetween32(t, l, h uint32) bool { return h-l >= t-l }
