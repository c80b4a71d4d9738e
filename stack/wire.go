package stack

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/stackscope/stackscope/stack/netdev"
)

// PairConfig describes two kernels joined by an in-memory wire.
type PairConfig struct {
	// Seed feeds both kernels (A gets Seed, B gets Seed+1) and the wire.
	Seed uint64
	// AddrA and AddrB are the two ends' addresses (default 10.0.0.1/24
	// and 10.0.0.2/24).
	AddrA, AddrB netip.Prefix
	// MTU of both devices (default 1500).
	MTU int
	// AB and BA are the impairments from A to B and from B to A.
	AB, BA netdev.Impairments
	// ThashEntries as in Config (0: the default).
	ThashEntries int
	// Record, if set, is asked for a recorder for each kernel (0: A, 1: B)
	// before it boots, given the kernel's configuration.
	Record func(side int, cfg Config) (InputRecorder, error)
}

// WireFrame is a frame put on the wire: its direction (0: A to B), the
// sender's clock when it left, and its bytes (before any impairment).
type WireFrame struct {
	Dir   int
	At    int64
	Frame []byte
}

// Pair is two kernels, A and B, with virtual clocks, joined by a wire and
// driven together as one discrete-event simulation: time jumps to the
// next thing that happens on either side (a timer or a frame arriving),
// both clocks move there together, and every run with the same inputs
// gives the same packets at the same times. Syscalls are issued with
// Process.Start and complete while the pair runs (RunUntil).
type Pair struct {
	A, B       *Kernel
	DevA, DevB *netdev.Device
	Wire       *netdev.Wire

	mu     sync.Mutex
	frames []WireFrame
	now    int64
}

// NewPair boots two kernels, plugs them into the two ends of a wire and
// starts their loops. Stop them with Stop.
func NewPair(cfg PairConfig) (*Pair, error) {
	if !cfg.AddrA.IsValid() {
		cfg.AddrA = netip.MustParsePrefix("10.0.0.1/24")
	}
	if !cfg.AddrB.IsValid() {
		cfg.AddrB = netip.MustParsePrefix("10.0.0.2/24")
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.MTU < 576 || cfg.MTU > 65535 {
		return nil, fmt.Errorf("pair: MTU %d is outside 576..65535", cfg.MTU)
	}
	w, err := netdev.NewWire(cfg.Seed, cfg.AB, cfg.BA)
	if err != nil {
		return nil, fmt.Errorf("pair: %w", err)
	}
	p := &Pair{Wire: w}
	w.Tap = func(dir int, at int64, frame []byte) {
		p.mu.Lock()
		p.frames = append(p.frames, WireFrame{Dir: dir, At: at, Frame: append([]byte(nil), frame...)})
		p.mu.Unlock()
	}
	mk := func(seed uint64, end int, name string, addr, peer netip.Prefix) (*Kernel, *netdev.Device, error) {
		kc := Config{Seed: seed, ThashEntries: cfg.ThashEntries}
		if cfg.Record != nil {
			rec, err := cfg.Record(end, kc)
			if err != nil {
				return nil, nil, err
			}
			kc.Record = rec
		}
		k, err := New(kc)
		if err != nil {
			return nil, nil, err
		}
		e := w.End(end)
		e.SetClock(k.clock.Now)
		d := netdev.New(name, "wire", 0, cfg.MTU, addr, e)
		d.Peer = peer.Addr()
		k.Start()
		if err := k.AddDevice(d); err != nil {
			k.Stop()
			return nil, nil, err
		}
		return k, d, nil
	}
	if p.A, p.DevA, err = mk(cfg.Seed, 0, "wire0", cfg.AddrA, cfg.AddrB); err != nil {
		return nil, fmt.Errorf("pair: kernel A: %w", err)
	}
	if p.B, p.DevB, err = mk(cfg.Seed+1, 1, "wire0", cfg.AddrB, cfg.AddrA); err != nil {
		p.A.Stop()
		return nil, fmt.Errorf("pair: kernel B: %w", err)
	}
	return p, nil
}

// Stop stops both kernels.
func (p *Pair) Stop() {
	p.A.Stop()
	p.B.Stop()
}

// Now is the pair's virtual time.
func (p *Pair) Now() int64 { return p.now }

// Frames returns every frame put on the wire so far, in the order sent.
func (p *Pair) Frames() []WireFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]WireFrame(nil), p.frames...)
}

// nextTimerOf reads a kernel's earliest timer through its loop (which also
// makes sure every syscall issued before has been handled).
func nextTimerOf(k *Kernel) (int64, bool, error) {
	type next struct {
		t  int64
		ok bool
	}
	r, err := k.Do("next-timer", func(k *Kernel) any {
		k.runReady()
		t, ok := k.nextTimer()
		return next{t, ok}
	})
	if err != nil {
		return 0, false, err
	}
	v := r.(next)
	return v.t, v.ok, nil
}

// stepTo moves a kernel's clock to t, firing its timers on the way, then
// receives the frames that arrived, and runs every task they woke.
func stepTo(k *Kernel, dev *netdev.Device, t int64, frames [][]byte) error {
	_, err := k.Do("wire-step", func(k *Kernel) any {
		k.advanceTo(t)
		k.runReady()
		k.receiveFrames(dev, frames)
		k.runReady()
		return nil
	})
	return err
}

// Step runs the next moment at which anything happens, if it is no later
// than limit: both clocks move there, due timers fire (A's, then B's),
// and the frames arriving then are received (A's, then B's). It reports
// false when nothing is pending up to limit.
func (p *Pair) Step(limit int64) (bool, error) {
	ta, oka, err := nextTimerOf(p.A)
	if err != nil {
		return false, err
	}
	tb, okb, err := nextTimerOf(p.B)
	if err != nil {
		return false, err
	}
	tw, okw := p.Wire.NextArrival()
	t, ok := int64(0), false
	for _, c := range []struct {
		t  int64
		ok bool
	}{{ta, oka}, {tb, okb}, {tw, okw}} {
		if c.ok && (!ok || c.t < t) {
			t, ok = c.t, true
		}
	}
	if !ok || t > limit {
		return false, nil
	}
	t = max(t, p.now)
	p.now = t
	if err := stepTo(p.A, p.DevA, t, nil); err != nil {
		return false, err
	}
	if err := stepTo(p.B, p.DevB, t, nil); err != nil {
		return false, err
	}
	// Frames sent by the timers that just fired may arrive at once (a
	// wire without delay): take arrivals only after both sides fired.
	arr := p.Wire.Arrivals(t)
	if len(arr[0]) > 0 {
		if err := stepTo(p.A, p.DevA, t, arr[0]); err != nil {
			return false, err
		}
	}
	if len(arr[1]) > 0 {
		if err := stepTo(p.B, p.DevB, t, arr[1]); err != nil {
			return false, err
		}
	}
	return true, nil
}

// RunFor runs the pair for d nanoseconds of virtual time.
func (p *Pair) RunFor(d int64) error {
	end := p.now + d
	for {
		more, err := p.Step(end)
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	p.now = end
	if err := stepTo(p.A, p.DevA, end, nil); err != nil {
		return err
	}
	return stepTo(p.B, p.DevB, end, nil)
}

// ErrPairTimeout is returned when a condition is not met in time.
type ErrPairTimeout struct {
	Now  int64
	Idle bool // nothing was left to happen
}

func (e *ErrPairTimeout) Error() string {
	if e.Idle {
		return fmt.Sprintf("pair: condition not met at %.3f s and nothing left to happen", float64(e.Now)/1e9)
	}
	return fmt.Sprintf("pair: condition not met by %.3f s", float64(e.Now)/1e9)
}

// RunUntil runs the pair until cond holds (checked whenever both kernels
// are quiet) or d nanoseconds of virtual time have passed.
func (p *Pair) RunUntil(cond func() bool, d int64) error {
	end := p.now + d
	for {
		if _, _, err := nextTimerOf(p.A); err != nil {
			return err
		}
		if _, _, err := nextTimerOf(p.B); err != nil {
			return err
		}
		if cond() {
			return nil
		}
		more, err := p.Step(end)
		if err != nil {
			return err
		}
		if !more {
			if cond() {
				return nil
			}
			_, okw := p.Wire.NextArrival()
			_, oka, _ := nextTimerOf(p.A)
			_, okb, _ := nextTimerOf(p.B)
			return &ErrPairTimeout{Now: p.now, Idle: !okw && !oka && !okb}
		}
	}
}
