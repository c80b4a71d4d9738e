package stack

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// Recording (DESIGN.md principle 2): the kernel is a state machine, so the
// inputs the loop handles, in the order it handles them and with the clock
// time of each, are enough to rebuild every state it went through. The
// recorder writes each input when the loop starts on it; what the input
// causes inside the kernel (tasks it wakes, timers it arms, other work it
// calls) is not recorded again, because a replay re-executes it.

// InputRecorder takes the kernel's inputs: a *tracing.TraceWriter.
type InputRecorder interface {
	Input(tracing.Input)
}

// Input opcodes of a recording. Their numbers are part of the trace file
// format: never renumber, only add.
const (
	recSyscall   uint8 = 1  // a process issued a system call
	recRx        uint8 = 2  // a device delivered a batch of frames
	recTimers    uint8 = 3  // the loop ran the timers due now (run_timer_softirq)
	recRunReady  uint8 = 4  // the loop ran the tasks woken so far
	recFork      uint8 = 5  // a process was created
	recKill      uint8 = 6  // a process got a signal
	recInterrupt uint8 = 7  // one sleeping system call got a signal
	recAddDevice uint8 = 8  // a network device was registered
	recSysctl    uint8 = 9  // a sysctl was written
	recAdvance   uint8 = 10 // a virtual clock was moved forward, firing timers
	recShutdown  uint8 = 11 // the kernel stopped: sleeping system calls fail
	recTxDone    uint8 = 12 // a device finished sending packets (TX completion)
)

// RecorderFunc makes the recorder for a kernel about to boot with cfg (a
// recording's header describes the boot). Modes that can record take one.
type RecorderFunc func(cfg Config) (InputRecorder, error)

// WithRecorder returns cfg with the recorder f makes for it (cfg as it
// is when f is nil).
func (cfg Config) WithRecorder(f RecorderFunc) (Config, error) {
	if f == nil {
		return cfg, nil
	}
	rec, err := f(cfg)
	if err != nil {
		return cfg, fmt.Errorf("start recording: %w", err)
	}
	cfg.Record = rec
	return cfg, nil
}

// recOpName names an opcode for messages.
func recOpName(op uint8) string {
	switch op {
	case recSyscall:
		return "syscall"
	case recRx:
		return "received frames"
	case recTimers:
		return "timers"
	case recRunReady:
		return "woken tasks"
	case recFork:
		return "fork"
	case recKill:
		return "kill"
	case recInterrupt:
		return "interrupt"
	case recAddDevice:
		return "add device"
	case recSysctl:
		return "sysctl"
	case recAdvance:
		return "advance clock"
	case recShutdown:
		return "shutdown"
	case recTxDone:
		return "transmit done"
	}
	return fmt.Sprintf("opcode %d", op)
}

// recorder is the kernel's side of a recording.
type recorder struct {
	out InputRecorder
	// depth is above 0 while a recorded input runs: what it calls is part
	// of it and is not recorded again.
	depth   int
	nextReq uint64 // the id the next recorded syscall gets
	buf     []byte
	parts   [][]byte // an input's payload in pieces (received frames)
	ends    []int    // where each piece of buf ends
}

// recBegin records an input if the loop is at the top level (no recorded
// input is running), and reports whether it did; the caller then calls
// recEnd when the input is done. payload appends the input's data to buf.
func (k *Kernel) recBegin(op uint8, payload func(b []byte) []byte) bool {
	r := k.rec
	if r == nil || r.depth > 0 {
		return false
	}
	r.buf = r.buf[:0]
	if payload != nil {
		r.buf = payload(r.buf)
	}
	r.out.Input(tracing.Input{Op: op, Time: k.clock.Now(), Data: r.buf})
	r.depth++
	return true
}

// recEnd ends the input recBegin recorded.
func (k *Kernel) recEnd() { k.rec.depth-- }

// receiveFrames runs frames a device delivered through the receive path,
// one softirq each, as one NAPI poll does.
func (k *Kernel) receiveFrames(dev *netdev.Device, frames [][]byte) {
	if len(frames) == 0 {
		return
	}
	if k.rec != nil && k.recBeginRx(dev, frames) {
		defer k.recEnd()
	}
	for _, f := range frames {
		k.netifReceive(dev, f)
		k.doSoftirq()
	}
}

// recBeginRx records a batch of received frames as recBegin records an
// input: the device's ifindex, the frame count, and each frame with its
// length (as appendBytes writes it). The frames go to the recorder as
// pieces of the payload, so that each is copied once, into the trace.
func (k *Kernel) recBeginRx(dev *netdev.Device, frames [][]byte) bool {
	r := k.rec
	if r.depth > 0 {
		return false
	}
	b := binary.AppendUvarint(r.buf[:0], uint64(dev.Ifindex))
	b = binary.AppendUvarint(b, uint64(len(frames)))
	r.ends = r.ends[:0]
	for _, f := range frames {
		b = binary.AppendUvarint(b, uint64(len(f)))
		r.ends = append(r.ends, len(b))
	}
	r.buf = b
	// The headers go between the frames: buf[0:ends[0]] is the batch's
	// header and the first frame's length, then frame 0, then the next
	// length, and so on.
	r.parts = r.parts[:0]
	at := 0
	for i, f := range frames {
		r.parts = append(r.parts, b[at:r.ends[i]], f)
		at = r.ends[i]
	}
	r.out.Input(tracing.Input{Op: recRx, Time: k.clock.Now(), Parts: r.parts})
	clear(r.parts) // do not keep the device's buffers alive
	r.depth++
	return true
}

// recBeginSyscall records a system call as recBegin records an input.
// Its data (what a write sends) goes to the recorder as a piece of the
// payload, so that it is copied once, into the trace.
func (k *Kernel) recBeginSyscall(req *syscallReq) bool {
	r := k.rec
	if r.depth > 0 {
		return false
	}
	r.nextReq++
	req.id = r.nextReq
	b, at := appendSyscall(r.buf[:0], req.id, req.proc.Pid, &req.sc)
	r.buf = b
	r.parts = append(r.parts[:0], b[:at], req.sc.Data, b[at:])
	r.out.Input(tracing.Input{Op: recSyscall, Time: k.clock.Now(), Parts: r.parts})
	clear(r.parts) // do not keep the process's buffer alive
	r.depth++
	return true
}

// syscallExtra holds the rarely used parts of a system call, recorded as
// JSON when any is set.
type syscallExtra struct {
	Addr    *sockaddrJSON `json:"addr,omitempty"`
	HasAddr bool          `json:"has_addr,omitempty"`
	Opt     *optJSON      `json:"opt,omitempty"`
	Fds     []PollFd      `json:"fds,omitempty"`
}

type sockaddrJSON struct {
	Family uint16 `json:"family"`
	Addr   string `json:"addr"`
	Port   uint16 `json:"port"`
}

type optJSON struct {
	Int         int64  `json:"int"`
	Bytes       []byte `json:"bytes,omitempty"`
	LingerOnoff bool   `json:"linger_onoff,omitempty"`
	LingerSecs  int32  `json:"linger_secs,omitempty"`
	TvSec       int64  `json:"tv_sec,omitempty"`
	TvUsec      int64  `json:"tv_usec,omitempty"`
}

// appendSyscall encodes a system call request: request id, pid, name, the
// four arguments, the data, and the rest as JSON (empty when unused). It
// leaves the data's bytes out, after their length: at is where they go.
func appendSyscall(b []byte, id uint64, pid uint32, sc *Syscall) (_ []byte, at int) {
	b = binary.AppendUvarint(b, id)
	b = binary.AppendUvarint(b, uint64(pid))
	b = appendBytes(b, []byte(sc.Name))
	for _, a := range sc.Args {
		b = binary.AppendVarint(b, a)
	}
	b = binary.AppendUvarint(b, uint64(len(sc.Data)))
	at = len(b)
	var x syscallExtra
	if sc.HasAddr || sc.Addr.Addr.IsValid() || sc.Addr.Port != 0 || sc.Addr.Family != 0 {
		x.Addr = &sockaddrJSON{Family: sc.Addr.Family, Port: sc.Addr.Port}
		if sc.Addr.Addr.IsValid() {
			x.Addr.Addr = sc.Addr.Addr.String()
		}
		x.HasAddr = sc.HasAddr
	}
	if o := sc.Opt; o.Int != 0 || o.Bytes != nil || o.LingerOnoff || o.LingerSecs != 0 || o.TvSec != 0 || o.TvUsec != 0 {
		x.Opt = &optJSON{Int: o.Int, Bytes: o.Bytes, LingerOnoff: o.LingerOnoff, LingerSecs: o.LingerSecs, TvSec: o.TvSec, TvUsec: o.TvUsec}
	}
	x.Fds = sc.Fds
	if x.Addr == nil && x.Opt == nil && len(x.Fds) == 0 {
		return appendBytes(b, nil), at
	}
	j, err := json.Marshal(x)
	if err != nil { // plain data: cannot fail
		panic(fmt.Sprintf("stack: encoding a syscall for the recording: %v", err))
	}
	return appendBytes(b, j), at
}

// deviceJSON is a device as a recording describes it: everything but its
// driver, which a replay replaces.
type deviceJSON struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Ifindex  int      `json:"ifindex"`
	MTU      int      `json:"mtu"`
	Flags    uint32   `json:"flags"`
	Features uint64   `json:"features"`
	Addrs    []string `json:"addrs,omitempty"`
	Peer     string   `json:"peer,omitempty"`
	TxAsync  bool     `json:"tx_async,omitempty"`
}

func describeDevice(d *netdev.Device) deviceJSON {
	j := deviceJSON{Name: d.Name, Kind: d.Kind, Ifindex: d.Ifindex, MTU: d.MTU, Flags: d.Flags, Features: d.Features, TxAsync: d.TxAsync}
	for _, a := range d.Addrs {
		j.Addrs = append(j.Addrs, a.String())
	}
	if d.Peer.IsValid() {
		j.Peer = d.Peer.String()
	}
	return j
}

// appendJSON appends v as JSON.
func appendJSON(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("stack: encoding for the recording: %v", err))
	}
	return append(b, j...)
}

// appendBytes appends a length-prefixed byte string.
func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// BootDescription is what a recording's header says about the kernel: the
// boot configuration and the sysctls as they were at boot, so that a
// replay boots the same kernel.
type BootDescription struct {
	Seed         uint64      `json:"seed"`
	CPUs         int         `json:"cpus"`
	ThashEntries int         `json:"thash_entries"`
	PageLimit    uint64      `json:"page_limit,omitempty"`
	IdleAdvance  bool        `json:"idle_advance,omitempty"`
	Clock        string      `json:"clock"` // "real" or "virtual"
	Sysctls      [][2]string `json:"sysctls"`
	// CheckFrom is the number of the first event a recording begun in the
	// middle of a session holds (0: the recording began at the boot). The
	// inputs before it are there to rebuild the state; their events were
	// not recorded (and the tracer may not have been counting them), so a
	// replay neither checks nor reports them, and numbers its events from
	// there as the recording did.
	CheckFrom uint64 `json:"check_from,omitempty"`
	// CheckFromInput is how many inputs came before the recording began.
	CheckFromInput uint64 `json:"check_from_input,omitempty"`
	// CheckFromDepths are the tasks' call depths as the tracer had them
	// when the recording began (tasks asleep inside calls).
	CheckFromDepths []tracing.TaskDepth `json:"check_from_depths,omitempty"`
}

// DescribeBoot describes the kernel New(cfg) boots, defaults filled in.
func DescribeBoot(cfg Config) BootDescription {
	cfg = cfg.withDefaults()
	clock := "virtual"
	if !cfg.Clock.Virtual() {
		clock = "real"
	}
	sysctls := sockets.DefaultSysctls(sockets.RoundPow2(cfg.ThashEntries))
	return BootDescription{Seed: cfg.Seed, CPUs: cfg.CPUs, ThashEntries: cfg.ThashEntries, PageLimit: cfg.PageLimit,
		IdleAdvance: cfg.IdleAdvance, Clock: clock, Sysctls: sysctls.Writable()}
}
