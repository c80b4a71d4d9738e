package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// The script device's addresses and ports are packetdrill's defaults for
// IPv4: the kernel under test sits in 192.168.0.0/16 (packetdrill picks a
// random host there; the runner always takes 192.168.0.2, next to the
// gateway 192.168.0.1) and the remote peer the script plays is 192.0.2.1
// (TEST-NET-1). A "..." address in bind means port 8080 (--bind_port), in
// connect the peer's 192.0.2.1:8080 (--connect_port). When the peer opens
// the connection, its port is RemotePort (packetdrill picks an ephemeral
// port; the runner a fixed one, so runs repeat exactly).
var (
	LocalAddr  = netip.MustParseAddr("192.168.0.2")
	RemoteAddr = netip.MustParseAddr("192.0.2.1")
)

// Ports and sequence numbers the runner's peer uses.
const (
	BindPort    = 8080
	ConnectPort = 8080
	RemotePort  = 48879
	// RemoteISN is the peer's initial sequence number: an inbound
	// "S 0:0(0)" goes on the wire with this sequence number.
	RemoteISN uint32 = 1000000
)

// packetdrill's default timing tolerance: 4 ms, or 12.5% of the time since
// the line before, whichever is larger (--tolerance_usecs and
// --tolerance_percent change them).
const (
	defaultToleranceUsecs   = 4000
	defaultTolerancePercent = 12.5
)

// RunError is a script that did not go as written: the line, what
// differed, and for packets the script's packet and the actual one.
type RunError struct {
	File   string
	Line   int
	Msg    string
	Detail []string
}

func (e *RunError) Error() string {
	s := fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	for _, d := range e.Detail {
		s += "\n" + d
	}
	return s
}

// Option configures a Runner.
type RunOption func(*Runner)

// WithSeed sets the kernel's seed (default 1).
func WithSeed(seed uint64) RunOption { return func(r *Runner) { r.seed = seed } }

// WithOutput makes the runner print each script line as it runs, the
// function graph of the kernel functions it ran, the packets it matched
// and its notes (sysctls it ignored), to w: the headless view.
func WithOutput(w io.Writer) RunOption { return func(r *Runner) { r.out = w } }

// WithRecorder records the run: f gets the kernel's configuration before
// it boots and returns the recorder (see stack.RecorderFunc).
func WithRecorder(f stack.RecorderFunc) RunOption { return func(r *Runner) { r.record = f } }

// WithSpool keeps the run's inputs so that a recording can begin at any
// moment (see stack.SpoolConfig).
func WithSpool(sc *stack.SpoolConfig) RunOption { return func(r *Runner) { r.spool = sc } }

// WithStrictEnd makes packets the kernel sent that no line matched an
// error at the end of the script. packetdrill does not check them: an
// unexpected packet fails the script only when an outbound line finds it
// instead of its own packet, and packets after the last outbound line go
// unchecked (its corpus relies on that: blocking-write.pkt lists none of
// the 61 segments its write sends). Scripts written for stackscope may ask
// for more.
func WithStrictEnd() RunOption { return func(r *Runner) { r.strictEnd = true } }

// Runner runs one script against a fresh kernel with a virtual clock: the
// script's time is the kernel's time, its inbound packets are injected on
// a script device, and the packets the kernel sends there are checked
// against its outbound lines.
type Runner struct {
	s         *Script
	seed      uint64
	record    stack.RecorderFunc
	spool     *stack.SpoolConfig
	out       io.Writer
	strictEnd bool

	k    *stack.Kernel
	p    *stack.Process
	dev  *netdev.Device
	drv  *scriptDriver
	g    *tracing.Graph
	gbuf bytes.Buffer

	next  int   // index of the next event
	start int64 // kernel time at script time 0
	// lastTime is the script time of the last event (for relative times
	// and the dynamic tolerance); lastInbound says it was an inbound packet.
	lastTime    int64
	lastInbound bool

	tolerance  int64 // ns
	tolPercent float64

	conn    connState
	blocked *blockedCall
	lastFd  int64           // the socket %{ }% blocks look at (the kernel's fd)
	fds     map[int64]int64 // the script's fds to the kernel's
	notes   []string
	err     error
	stopped bool
}

// blockedCall is a system call that went to sleep; the script goes on and
// the call must return within its line's time range.
type blockedCall struct {
	ev         *Event
	pd         *stack.Pending
	start, end int64 // script times
}

// NewRunner boots a kernel for s and adds the script device. Close it when
// done.
func NewRunner(s *Script, opts ...RunOption) (*Runner, error) {
	r := &Runner{s: s, seed: 1, tolerance: defaultToleranceUsecs * 1000, tolPercent: defaultTolerancePercent, lastFd: -1,
		fds: map[int64]int64{}}
	for _, o := range opts {
		o(r)
	}
	if err := r.readOptions(); err != nil {
		return nil, err
	}
	cfg, err := stack.Config{Seed: r.seed, Spool: r.spool}.WithRecorder(r.record)
	if err != nil {
		return nil, err
	}
	k, err := stack.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("boot the kernel: %w", err)
	}
	r.k = k
	r.drv = &scriptDriver{clock: k.Clock()}
	r.dev = netdev.New("tun0", "script", 0, 1500, netip.PrefixFrom(LocalAddr, 16), r.drv)
	r.dev.Peer = netip.MustParseAddr("192.168.0.1")
	k.Start()
	if r.out != nil {
		r.g = tracing.NewGraph(&r.gbuf, k)
		if _, err := k.Subscribe(r.g.Event); err != nil {
			r.Close()
			return nil, fmt.Errorf("trace the kernel: %w", err)
		}
	}
	if err := k.AddDevice(r.dev); err != nil {
		r.Close()
		return nil, fmt.Errorf("add the script device: %w", err)
	}
	if r.p, err = k.NewProcess("packetdrill"); err != nil {
		r.Close()
		return nil, fmt.Errorf("start the script's process: %w", err)
	}
	if r.start, err = k.Now(); err != nil {
		r.Close()
		return nil, err
	}
	r.conn = connState{localPort: BindPort, remotePort: RemotePort}
	r.flushGraph() // the boot is not the script's
	r.gbuf.Reset()
	return r, nil
}

// readOptions applies the option lines the runner understands.
func (r *Runner) readOptions() error {
	for _, o := range r.s.Options {
		switch o.Name {
		case "tolerance_usecs":
			v, err := strconv.ParseInt(o.Value, 10, 64)
			if err != nil || v < 0 || v > 1e9 {
				return &RunError{File: r.s.File, Line: o.Line, Msg: fmt.Sprintf("bad --tolerance_usecs=%s: use microseconds", o.Value)}
			}
			r.tolerance = v * 1000
		case "tolerance_percent":
			v, err := strconv.ParseFloat(o.Value, 64)
			if err != nil || v < 0 || v > 100 {
				return &RunError{File: r.s.File, Line: o.Line, Msg: fmt.Sprintf("bad --tolerance_percent=%s: use 0 to 100", o.Value)}
			}
			r.tolPercent = v
		default:
			r.note(o.Line, "option --%s is not supported by the runner, ignored", o.Name)
		}
	}
	return nil
}

// Kernel returns the kernel the script runs on.
func (r *Runner) Kernel() *stack.Kernel { return r.k }

// Process returns the process the script's system calls run in.
func (r *Runner) Process() *stack.Process { return r.p }

// Device returns the script device.
func (r *Runner) Device() *netdev.Device { return r.dev }

// Script returns the script being run.
func (r *Runner) Script() *Script { return r.s }

// Next returns the event Step runs next, nil when the script is done.
func (r *Runner) Next() *Event {
	if r.Done() {
		return nil
	}
	return r.s.Events[r.next]
}

// Done reports whether every event has run, or one failed.
func (r *Runner) Done() bool { return r.err != nil || r.next >= len(r.s.Events) }

// Err returns the error that stopped the script, if any.
func (r *Runner) Err() error { return r.err }

// Notes returns what the runner ignored or approximated so far (shell
// lines, sysctls the kernel lacks, option lines), one line each.
func (r *Runner) Notes() []string { return r.notes }

// Now returns the script's time: the kernel's virtual time since the
// script began.
func (r *Runner) Now() (int64, error) {
	t, err := r.k.Now()
	return t - r.start, err
}

// Close stops the kernel.
func (r *Runner) Close() {
	if !r.stopped {
		r.stopped = true
		r.k.Stop()
	}
}

// Run runs every remaining event, then the end-of-script checks.
func (r *Runner) Run() error {
	for !r.Done() {
		if _, err := r.Step(); err != nil {
			return err
		}
	}
	return r.err
}

// Step runs the next event (one statement of the script) and returns it.
// After the last event it also checks that no blocked call is still
// waiting and that the kernel sent no packet the script did not expect.
// Once an event fails, Step returns that error again.
func (r *Runner) Step() (*Event, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.next >= len(r.s.Events) {
		return nil, io.EOF
	}
	ev := r.s.Events[r.next]
	r.next++
	err := r.runEvent(ev)
	if err == nil && r.next == len(r.s.Events) {
		err = r.finish()
	}
	r.flushGraph()
	if err != nil {
		var re *RunError
		if !errors.As(err, &re) {
			err = &RunError{File: r.s.File, Line: ev.Line, Msg: err.Error()}
		}
		r.err = err
	}
	return ev, err
}

func (r *Runner) fail(ev *Event, format string, args ...any) *RunError {
	return &RunError{File: r.s.File, Line: ev.Line, Msg: fmt.Sprintf(format, args...)}
}

func (r *Runner) note(line int, format string, args ...any) {
	n := fmt.Sprintf("%s:%d: %s", r.s.File, line, fmt.Sprintf(format, args...))
	r.notes = append(r.notes, n)
	if r.out != nil {
		fmt.Fprintf(r.out, "note: %s\n", n)
	}
}

func (r *Runner) printf(format string, args ...any) {
	if r.out != nil {
		fmt.Fprintf(r.out, format, args...)
	}
}

// flushGraph prints the function graph of what the kernel did since the
// last flush.
func (r *Runner) flushGraph() {
	if r.g == nil {
		return
	}
	_ = r.g.Close()
	if r.out != nil && r.gbuf.Len() > 0 {
		r.out.Write(r.gbuf.Bytes())
	}
	r.gbuf.Reset()
}

// eventTimes resolves an event's time column to script times: when it is
// due and the end of its range.
func (r *Runner) eventTimes(ev *Event) (start, end int64, err error) {
	now, err := r.Now()
	if err != nil {
		return 0, 0, err
	}
	t := ev.Time
	switch t.Kind {
	case TimeNone, TimeAny:
		return now, now, nil
	case TimeAbsolute:
		return t.Start, t.End, nil
	}
	// packetdrill counts a relative time from now, except that an inbound
	// packet after an inbound packet counts from the earlier one's time,
	// so that a run of them does not drift.
	origin := now
	if ev.Kind == EventPacket && ev.Packet.Dir == Inbound && r.lastInbound {
		origin = r.lastTime
	}
	return origin + t.Start, origin + t.End, nil
}

// tolerance is how far from its time an event may happen.
func (r *Runner) toleranceFor(at int64) int64 {
	tol := r.tolerance
	if d := int64(r.tolPercent / 100 * float64(at-r.lastTime)); d > tol {
		tol = d
	}
	return tol
}

func (r *Runner) runEvent(ev *Event) error {
	start, end, err := r.eventTimes(ev)
	if err != nil {
		return err
	}
	outbound := ev.Kind == EventPacket && ev.Packet.Dir == Outbound
	// An outbound packet is looked for from now on; anything else waits
	// for its time.
	if !outbound {
		if err := r.advance(start); err != nil {
			return err
		}
		r.flushTimers()
	}
	r.printf("%s %s\n", stamp(start), ev.Text)
	switch ev.Kind {
	case EventShell:
		err = r.runShell(ev)
	case EventCode:
		err = r.runCode(ev)
	case EventSyscall:
		err = r.runSyscall(ev, start, end)
	case EventPacket:
		if outbound {
			err = r.expectPacket(ev, start, end)
		} else {
			err = r.injectPacket(ev)
		}
	}
	if err != nil {
		return err
	}
	if ev.Time.Kind != TimeNone && ev.Time.Kind != TimeAny {
		r.lastTime = start
	}
	r.lastInbound = ev.Kind == EventPacket && ev.Packet.Dir == Inbound
	return r.checkBlocked()
}

// flushTimers prints what the timers did on the way to an event's time.
func (r *Runner) flushTimers() {
	if r.g == nil {
		return
	}
	_ = r.g.Close()
	if r.out != nil && r.gbuf.Len() > 0 {
		fmt.Fprintln(r.out, "(timers)")
		r.out.Write(r.gbuf.Bytes())
	}
	r.gbuf.Reset()
}

// stamp renders a script time as packetdrill prints it.
func stamp(t int64) string { return fmt.Sprintf("%d.%06d", t/1e9, t%1e9/1e3) }

// advance moves the virtual clock to script time t, one timer at a time,
// and notices a blocked call returning on the way.
func (r *Runner) advance(t int64) error {
	return r.advanceUntil(t, func() bool { return false })
}

// advanceUntil moves the clock towards script time t one timer at a time
// and stops early once stop is true after a timer.
func (r *Runner) advanceUntil(t int64, stop func() bool) error {
	target := r.start + t
	for {
		if stop() {
			return nil
		}
		at, ok, err := r.k.NextTimer()
		if err != nil {
			return err
		}
		if !ok || at > target {
			break
		}
		if err := r.k.AdvanceTo(at); err != nil {
			return err
		}
		if err := r.k.Sync(); err != nil {
			return err
		}
		if err := r.checkBlocked(); err != nil {
			return err
		}
	}
	if err := r.k.AdvanceTo(target); err != nil {
		return err
	}
	if err := r.k.Sync(); err != nil {
		return err
	}
	return r.checkBlocked()
}

// finish runs the end-of-script checks.
func (r *Runner) finish() error {
	if b := r.blocked; b != nil {
		return r.fail(b.ev, "the system call %s did not return by the end of the script (it was expected by %s)",
			callName(b.ev), stamp(b.end))
	}
	if extra := r.drv.pending(); len(extra) > 0 && r.strictEnd {
		last := r.s.Events[len(r.s.Events)-1]
		var detail []string
		for _, p := range extra {
			detail = append(detail, "unexpected packet: "+r.conn.render(p))
		}
		return &RunError{File: r.s.File, Line: last.Line, Msg: fmt.Sprintf("the kernel sent %d packet(s) no line expected", len(extra)), Detail: detail}
	}
	return nil
}

// callName is the name of the call as the script writes it (accept, not
// the accept4 it runs as).
func callName(ev *Event) string {
	if ev.Unsupported != "" {
		return ev.Unsupported
	}
	head, _, _ := strings.Cut(ev.Text, "(")
	if f := strings.Fields(head); len(f) > 0 {
		return f[len(f)-1]
	}
	return ev.Syscall.Syscall.Name
}

// scriptDriver is the script device's driver: it keeps each frame the
// kernel sends with the time it was sent, for the outbound lines.
type scriptDriver struct {
	clock stack.Clock
	mu    sync.Mutex
	pkts  []sentPacket
}

type sentPacket struct {
	at    int64 // kernel time
	frame []byte
}

// Xmit records a frame; it runs on the kernel loop.
func (d *scriptDriver) Xmit(frame []byte) error {
	d.mu.Lock()
	d.pkts = append(d.pkts, sentPacket{at: d.clock.Now(), frame: append([]byte(nil), frame...)})
	d.mu.Unlock()
	return nil
}

// pending returns the frames not yet matched, oldest first.
func (d *scriptDriver) pending() []sentPacket {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sentPacket(nil), d.pkts...)
}

// take removes the n oldest frames.
func (d *scriptDriver) take(n int) {
	d.mu.Lock()
	d.pkts = d.pkts[n:]
	d.mu.Unlock()
}
