package stack

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// Replay re-executes a recording on a fresh kernel with a virtual clock:
// the same boot, then each recorded input at its recorded time. Every
// event the kernel emits again is checked against the recorded one, and
// the replay stops at the first difference (a trace from another
// stackscope version, say) with a Divergence.
type Replay struct {
	r      *tracing.TraceReader
	header tracing.TraceHeader
	boot   BootDescription
	k      *Kernel
	vc     *VirtualClock

	funcs []tracing.FuncID // recorded FuncID -> this binary's FuncID
	reqs  map[uint64]*syscallReq

	next    *tracing.Input  // the input read ahead, nil at the end
	expect  []tracing.Event // the recorded events of the input running
	pos     int             // how many of them the replay has emitted
	div     *Divergence     // the first difference
	endErr  error           // what stopped the reader (nil: a clean end)
	inputs  uint64          // inputs re-executed
	current tracing.Input   // the input running or last run
	out     func(*tracing.Event, tracing.Resolver)
	closing bool
	closer  io.Closer // the reader, when the replay opened it
}

// Divergence says where a replay stopped matching its recording.
type Divergence struct {
	Input  uint64 // the input being re-executed (1 = first)
	Op     string // what kind of input
	Seq    uint64 // the event number where they differ
	Want   string // the recorded event ("" if the replay emitted more)
	Got    string // the re-executed one ("" if the replay emitted fewer)
	Reason string // set when the difference is not in one event
}

func (d *Divergence) Error() string {
	where := fmt.Sprintf("input %d (%s)", d.Input, d.Op)
	if d.Input == 0 {
		where = "boot"
	}
	switch {
	case d.Reason != "":
		return fmt.Sprintf("replay diverged at %s: %s", where, d.Reason)
	case d.Want == "":
		return fmt.Sprintf("replay diverged at %s, event #%d: the replay emitted %s, which the recording does not have", where, d.Seq, d.Got)
	case d.Got == "":
		return fmt.Sprintf("replay diverged at %s, event #%d: the recording has %s, which the replay did not emit", where, d.Seq, d.Want)
	}
	return fmt.Sprintf("replay diverged at %s, event #%d: recorded %s, re-executed %s", where, d.Seq, d.Want, d.Got)
}

// ReplayOptions tune a replay.
type ReplayOptions struct {
	// Events, if set, gets every event the replay emits, and a resolver
	// for its arguments (nil during boot); it runs on the kernel loop and
	// must not block.
	Events func(ev *tracing.Event, r tracing.Resolver)
	// Stepping gives the replay kernel a stepper, as EnableStepping does.
	Stepping bool
	// Frames, if set, gets every frame the replay's devices receive and
	// send (pcapng export).
	Frames FrameTap
}

// NewReplay reads a recording's header and boot events and boots the
// kernel they describe; the loop is started and no input has run yet.
func NewReplay(r *tracing.TraceReader, opt ReplayOptions) (*Replay, error) {
	rp := &Replay{r: r, header: r.Header(), reqs: map[uint64]*syscallReq{}, out: opt.Events}
	if len(rp.header.Kernel) == 0 {
		return nil, errors.New("the trace does not describe the kernel it recorded (no boot description in its header)")
	}
	if err := json.Unmarshal(rp.header.Kernel, &rp.boot); err != nil {
		return nil, fmt.Errorf("the trace's boot description: %w", err)
	}
	rp.funcs = make([]tracing.FuncID, len(rp.header.Funcs))
	for i, name := range rp.header.Funcs {
		if f, ok := tracing.Lookup(name); ok {
			rp.funcs[i] = f.ID
		} else {
			rp.funcs[i] = tracing.FuncID(0xffff) // never emitted: compares unequal
		}
	}
	if err := rp.readAhead(); err != nil {
		return nil, err
	}
	rp.vc = &VirtualClock{}
	cfg := Config{Seed: rp.boot.Seed, Clock: rp.vc, CPUs: rp.boot.CPUs, ThashEntries: rp.boot.ThashEntries,
		PageLimit: rp.boot.PageLimit, Subscribers: []tracing.Subscriber{rp.check}}
	k, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("booting the recorded kernel: %w", err)
	}
	rp.k = k
	k.replaying = true
	if opt.Frames != nil {
		k.frameTap = func(fr FrameRecord) {
			if !rp.prefix() {
				opt.Frames(fr)
			}
		}
	}
	for _, kv := range rp.boot.Sysctls {
		if err := k.net.Sysctl.Set(kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("the trace's sysctl %s = %s: %w", kv[0], kv[1], err)
		}
	}
	if err := rp.finishInput(); err != nil {
		return nil, err
	}
	k.Start()
	if opt.Stepping {
		if err := k.EnableStepping(); err != nil {
			k.Stop()
			return nil, err
		}
	}
	return rp, nil
}

// Kernel is the replay's kernel.
func (rp *Replay) Kernel() *Kernel { return rp.k }

// Header is the recording's header.
func (rp *Replay) Header() tracing.TraceHeader { return rp.header }

// Inputs is how many inputs have been re-executed.
func (rp *Replay) Inputs() uint64 { return rp.inputs }

// Current is the input running or last run.
func (rp *Replay) Current() tracing.Input { return rp.current }

// prefix reports whether the replay is still re-executing what came before
// a recording begun in the middle of a session: the boot and the inputs
// before it, whose events were not recorded.
func (rp *Replay) prefix() bool {
	return rp.boot.CheckFrom > 0 && rp.inputs <= rp.boot.CheckFromInput
}

// Next is the input the next Step runs, if there is one.
func (rp *Replay) Next() (tracing.Input, bool) {
	if rp.next == nil {
		return tracing.Input{}, false
	}
	return *rp.next, true
}

// Done reports whether every input has run.
func (rp *Replay) Done() bool { return rp.next == nil }

// EndErr is what ended the recording early, if it did: a cut or damaged
// file replays up to its last complete frame and reports why it stopped.
func (rp *Replay) EndErr() error { return rp.endErr }

// Close stops the replay's kernel (what that does is not checked).
func (rp *Replay) Close() {
	rp.closing = true // on the loop's next input; Stop waits for it
	rp.k.Stop()
	if rp.closer != nil {
		_ = rp.closer.Close()
	}
}

// Step re-executes the next input. It returns io.EOF when there is none,
// and a *Divergence when the kernel did not do what the recording says.
func (rp *Replay) Step() error {
	if rp.div != nil {
		return rp.div
	}
	if rp.next == nil {
		return io.EOF
	}
	in := *rp.next
	in.Data = append([]byte(nil), in.Data...)
	rp.current = in
	rp.inputs++
	if err := rp.readAhead(); err != nil {
		return err
	}
	r, err := rp.k.Do("replay "+recOpName(in.Op), func(k *Kernel) any { return rp.apply(k, in) })
	if err != nil {
		return err
	}
	if err, _ := r.(error); err != nil {
		return fmt.Errorf("input %d (%s) at t=%s: %w", rp.inputs, recOpName(in.Op), fmtTime(in.Time), err)
	}
	for id, req := range rp.reqs { // finished calls can no longer be interrupted
		if len(req.reply) > 0 {
			delete(rp.reqs, id)
		}
	}
	return rp.finishInput()
}

// Run re-executes every remaining input.
func (rp *Replay) Run() error {
	for {
		if err := rp.Step(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// readAhead reads the recorded events up to the next input, and that
// input.
func (rp *Replay) readAhead() error {
	rp.expect, rp.pos, rp.next = rp.expect[:0], 0, nil
	for {
		rec, err := rp.r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			rp.endErr = err
			return nil
		}
		switch rec.Kind {
		case tracing.RecordEvent:
			rp.expect = append(rp.expect, rec.Event)
		case tracing.RecordInput:
			in := rec.Input
			rp.next = &in
			return nil
		}
	}
}

// cut reports whether the recording ends early inside the input running,
// so that what the replay does beyond it cannot be checked.
func (rp *Replay) cut() bool { return rp.next == nil && rp.endErr != nil }

// finishInput checks that the replay emitted every recorded event of the
// input that just ran.
func (rp *Replay) finishInput() error {
	if rp.div == nil && rp.pos < len(rp.expect) {
		ev := rp.expect[rp.pos]
		rp.div = &Divergence{Input: rp.inputs, Op: recOpName(rp.current.Op), Seq: ev.Seq, Want: rp.format(&ev, true)}
	}
	if rp.div != nil {
		return rp.div
	}
	return nil
}

// check compares one re-executed event with the recorded one; it runs on
// the kernel loop as a tracer subscriber.
func (rp *Replay) check(ev *tracing.Event) {
	if rp.closing || rp.prefix() {
		return
	}
	if rp.out != nil {
		if rp.k == nil {
			rp.out(ev, nil)
		} else {
			rp.out(ev, rp.k)
		}
	}
	if rp.div != nil {
		return
	}
	if rp.pos >= len(rp.expect) {
		if rp.cut() {
			return // the recording stops inside this input
		}
		rp.div = &Divergence{Input: rp.inputs, Op: recOpName(rp.current.Op), Seq: ev.Seq, Got: rp.format(ev, false)}
		return
	}
	want := rp.expect[rp.pos]
	rp.pos++
	if int(want.Func) < len(rp.funcs) {
		want.Func = rp.funcs[want.Func]
	}
	if want != *ev {
		rp.div = &Divergence{Input: rp.inputs, Op: recOpName(rp.current.Op), Seq: ev.Seq,
			Want: rp.format(&rp.expect[rp.pos-1], true), Got: rp.format(ev, false)}
	}
}

// format prints an event; recorded ones are named through the header's
// function table.
func (rp *Replay) format(ev *tracing.Event, recorded bool) string {
	e := *ev
	if recorded && int(e.Func) < len(rp.funcs) {
		if rp.funcs[e.Func] == 0xffff {
			return fmt.Sprintf("#%d %s (a function this stackscope does not have)", e.Seq, rp.header.Funcs[e.Func])
		}
		e.Func = rp.funcs[e.Func]
	}
	return e.Format(nil)
}

// apply re-executes one input on the loop, as the live loop did.
func (rp *Replay) apply(k *Kernel, in tracing.Input) error {
	rp.vc.set(in.Time)
	if rp.boot.CheckFrom > 0 && rp.inputs == rp.boot.CheckFromInput+1 {
		// The first input of a recording begun mid-session: number the
		// events as the recording did.
		k.tr.SetSeq(rp.boot.CheckFrom - 1)
		k.tr.SetDepths(rp.boot.CheckFromDepths)
	}
	d := &recDecoder{b: in.Data}
	switch in.Op {
	case recSyscall:
		id, pid := d.uvarint(), d.uvarint()
		sc, err := d.syscall()
		if err != nil {
			return err
		}
		p := k.procByPid(uint32(pid))
		if p == nil {
			return fmt.Errorf("no process %d", pid)
		}
		req := &syscallReq{id: id, proc: p, sc: sc, reply: make(chan result, 1)}
		k.startSyscall(req)
		if len(req.reply) == 0 {
			rp.reqs[id] = req // still in flight: a later interrupt may name it
		}
	case recRx:
		ifindex, n := d.uvarint(), d.uvarint()
		dev := k.devByIndex(int(ifindex))
		if dev == nil {
			return fmt.Errorf("no device with ifindex %d", ifindex)
		}
		if n > uint64(len(d.b)) {
			return fmt.Errorf("%d frames in %d bytes", n, len(d.b))
		}
		frames := make([][]byte, 0, n)
		for range n {
			frames = append(frames, d.bytes())
		}
		if d.err != nil {
			return d.err
		}
		k.receiveFrames(dev, frames)
	case recTimers:
		k.runTimers()
	case recRunReady:
		k.runReady()
	case recFork:
		comm := string(d.bytes())
		if d.err != nil {
			return d.err
		}
		k.newProcess(comm)
	case recKill:
		p := k.procByPid(uint32(d.uvarint()))
		if p == nil || d.err != nil {
			return fmt.Errorf("kill: no such process")
		}
		k.interrupt(p)
	case recInterrupt:
		req := rp.reqs[d.uvarint()]
		if req == nil || d.err != nil {
			return fmt.Errorf("interrupt: no such system call")
		}
		for _, t := range req.proc.tasks {
			if t.req == req && t.sleeping {
				k.interruptTask(t)
			}
		}
		delete(rp.reqs, req.id)
	case recAddDevice:
		var j deviceJSON
		if err := json.Unmarshal(d.b, &j); err != nil {
			return fmt.Errorf("add device: %w", err)
		}
		dev, err := j.device()
		if err != nil {
			return err
		}
		k.devs = append(k.devs, dev)
	case recSysctl:
		name, value := string(d.bytes()), string(d.bytes())
		if d.err != nil {
			return d.err
		}
		if err := k.net.Sysctl.Set(name, value); err != nil {
			return fmt.Errorf("sysctl %s = %s: %w", name, value, err)
		}
	case recAdvance:
		t := d.varint()
		if d.err != nil {
			return d.err
		}
		k.advanceTo(t)
	case recShutdown:
		k.shutdown()
	case recTxDone:
		ifindex, n := d.uvarint(), d.uvarint()
		dev := k.devByIndex(int(ifindex))
		if d.err != nil {
			return d.err
		}
		if dev == nil {
			return fmt.Errorf("transmit done: no device with ifindex %d", ifindex)
		}
		q := k.txQueueOf(dev)
		if n > uint64(len(q.pending)) {
			return fmt.Errorf("transmit done: %d packets on %s, which holds %d", n, dev.Name, len(q.pending))
		}
		k.txCompletion(q, int(n))
	default:
		return fmt.Errorf("unknown input opcode %d (a newer stackscope wrote this trace?)", in.Op)
	}
	return d.err
}

// procByPid finds a process.
func (k *Kernel) procByPid(pid uint32) *Process {
	for _, p := range k.procs {
		if p.Pid == pid {
			return p
		}
	}
	return nil
}

// devByIndex finds a device by ifindex.
func (k *Kernel) devByIndex(ifindex int) *netdev.Device {
	for _, d := range k.devs {
		if d.Ifindex == ifindex {
			return d
		}
	}
	return nil
}

// device rebuilds a recorded device. What it sends goes nowhere: the
// replay's peers are the recorded frames.
func (j deviceJSON) device() (*netdev.Device, error) {
	d := &netdev.Device{Name: j.Name, Kind: j.Kind, Ifindex: j.Ifindex, MTU: j.MTU, Flags: j.Flags, Features: j.Features,
		TxAsync: j.TxAsync, Driver: &netdev.Discard{}}
	for _, a := range j.Addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("device %s: address %q: %w", j.Name, a, err)
		}
		d.Addrs = append(d.Addrs, p)
	}
	if j.Peer != "" {
		p, err := netip.ParseAddr(j.Peer)
		if err != nil {
			return nil, fmt.Errorf("device %s: peer %q: %w", j.Name, j.Peer, err)
		}
		d.Peer = p
	}
	return d, nil
}

// recDecoder reads an input's payload; the first problem sticks.
type recDecoder struct {
	b   []byte
	err error
}

func (d *recDecoder) fail() {
	if d.err == nil {
		d.err = errors.New("the input's data is cut short or malformed")
	}
	d.b = nil
}

func (d *recDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// syscall decodes what appendSyscall wrote after the id and pid.
func (d *recDecoder) syscall() (Syscall, error) {
	var sc Syscall
	sc.Name = string(d.bytes())
	for i := range sc.Args {
		sc.Args[i] = d.varint()
	}
	if data := d.bytes(); len(data) > 0 {
		sc.Data = data
	}
	extra := d.bytes()
	if d.err != nil {
		return sc, d.err
	}
	if len(extra) == 0 {
		return sc, nil
	}
	var x syscallExtra
	if err := json.Unmarshal(extra, &x); err != nil {
		return sc, fmt.Errorf("syscall %s: %w", sc.Name, err)
	}
	if x.Addr != nil {
		sc.Addr = sockets.SockaddrIn{Family: x.Addr.Family, Port: x.Addr.Port}
		if x.Addr.Addr != "" {
			a, err := netip.ParseAddr(x.Addr.Addr)
			if err != nil {
				return sc, fmt.Errorf("syscall %s: address %q: %w", sc.Name, x.Addr.Addr, err)
			}
			sc.Addr.Addr = a
		}
		sc.HasAddr = x.HasAddr
	}
	if x.Opt != nil {
		sc.Opt = sockets.Optval{Int: x.Opt.Int, Bytes: x.Opt.Bytes, LingerOnoff: x.Opt.LingerOnoff, LingerSecs: x.Opt.LingerSecs,
			TvSec: x.Opt.TvSec, TvUsec: x.Opt.TvUsec}
	}
	sc.Fds = x.Fds
	return sc, nil
}

// fmtTime prints kernel time in seconds.
func fmtTime(ns int64) string { return fmt.Sprintf("%d.%09d", ns/1e9, ns%1e9) }

// DescribeInput says in one line what a recorded input is, for replay's
// output: "syscall pid 3 sendto(4) 1000 bytes", "received frames on tun0:
// 2 frames, 1500 bytes".
func (rp *Replay) DescribeInput(in tracing.Input) string {
	return describeInput(in, func(ifindex int) string {
		if d := rp.k.devByIndex(ifindex); d != nil {
			return d.Name
		}
		return ""
	})
}

// describeInput describes an input; devName names a device by ifindex
// ("" if unknown).
func describeInput(in tracing.Input, devName func(int) string) string {
	d := &recDecoder{b: in.Data}
	s := recOpName(in.Op)
	switch in.Op {
	case recSyscall:
		d.uvarint()
		pid := d.uvarint()
		sc, err := d.syscall()
		if err != nil {
			return s + ": " + err.Error()
		}
		s = fmt.Sprintf("pid %d: %s", pid, sc)
		if len(sc.Data) > 0 {
			s += fmt.Sprintf(" %d bytes", len(sc.Data))
		}
	case recRx:
		ifindex, n := d.uvarint(), d.uvarint()
		bytes := 0
		for i := uint64(0); i < n && d.err == nil; i++ {
			bytes += len(d.bytes())
		}
		name := devName(int(ifindex))
		if name == "" {
			name = fmt.Sprintf("ifindex %d", ifindex)
		}
		frames := "frames"
		if n == 1 {
			frames = "frame"
		}
		s = fmt.Sprintf("received on %s: %d %s, %d bytes", name, n, frames, bytes)
	case recFork:
		s += " " + string(d.bytes())
	case recKill:
		s += fmt.Sprintf(" pid %d", d.uvarint())
	case recInterrupt:
		s += fmt.Sprintf(" of system call %d", d.uvarint())
	case recAddDevice:
		var j deviceJSON
		if json.Unmarshal(d.b, &j) == nil {
			s += fmt.Sprintf(" %s (%s, ifindex %d, MTU %d)", j.Name, j.Kind, j.Ifindex, j.MTU)
		}
	case recSysctl:
		name, value := string(d.bytes()), string(d.bytes())
		s += fmt.Sprintf(" %s = %s", name, value)
	case recAdvance:
		s += " to " + fmtTime(d.varint())
	case recTxDone:
		ifindex, n := d.uvarint(), d.uvarint()
		name := devName(int(ifindex))
		if name == "" {
			name = fmt.Sprintf("ifindex %d", ifindex)
		}
		s = fmt.Sprintf("transmit done on %s: %d packets", name, n)
	}
	return s
}
