package netdev

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/songgao/water"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TunConfig describes a TUN device for live mode. The host's end of the
// link gets HostAddr; the model kernel answers at StackAddr.
type TunConfig struct {
	Name      string       // interface name, e.g. "stk0"
	HostAddr  netip.Prefix // the host's address on the link, e.g. 10.77.0.1/24
	StackAddr netip.Prefix // the model kernel's address, e.g. 10.77.0.2/24
	MTU       int
	// Netns, if set, puts the device in that network namespace (created if
	// it does not exist, and then removed again by Close).
	Netns string
	// RxRing bounds how many received frames wait for the kernel loop;
	// more are dropped and counted as rx_dropped, as a NIC's ring would.
	RxRing int
	// Impair, if set, passes the frames of both directions through an
	// impairment stage in the driver (tun_impair.go).
	Impair *TunImpairments
}

// Tun is a TUN device driver: frames the host routes to the device are
// read by a goroutine and handed to the kernel in batches; frames the
// kernel transmits are written to the device.
type Tun struct {
	cfg       TunConfig
	ifc       *water.Interface
	dev       *Device
	nsCreated bool
	closed    atomic.Bool
	rxDropped atomic.Uint64
	// rx and tx are the impairment stages (nil without Impair); rx is
	// started by Run, which owns the ring it delivers into.
	rx atomic.Pointer[tunStage]
	tx *tunStage
	// ring is the transmit ring (tun_tx.go) frames go through when there
	// is no impairment stage.
	ring *tunTx
}

// ErrNoPrivilege says live mode needs CAP_NET_ADMIN.
var ErrNoPrivilege = errors.New("creating a TUN device needs CAP_NET_ADMIN (run as root, or give the binary the " +
	"capability: sudo setcap cap_net_admin+ep ./stackscope); without it, use the demo, the console or a scenario")

// OpenTun creates and configures the device (over netlink: address, MTU,
// up) and returns the driver and the model-side net_device.
func OpenTun(cfg TunConfig) (*Tun, *Device, error) {
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.RxRing == 0 {
		cfg.RxRing = 1024
	}
	if cfg.Impair != nil {
		if err := cfg.Impair.Validate(); err != nil {
			return nil, nil, err
		}
	}
	t := &Tun{cfg: cfg}
	err := t.inNetns(func() error {
		ifc, err := water.New(water.Config{DeviceType: water.TUN, PlatformSpecificParams: water.PlatformSpecificParams{Name: cfg.Name}})
		if err != nil {
			if errors.Is(err, os.ErrPermission) {
				return ErrNoPrivilege
			}
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		t.ifc = ifc
		return t.configure()
	})
	if err != nil {
		t.Close()
		return nil, nil, err
	}
	if cfg.Impair != nil {
		t.tx = newTunStage(cfg.Impair.Seed, 1, cfg.Impair.Tx, func(frame []byte) {
			if !t.closed.Load() {
				_, _ = t.ifc.Write(frame) // a frame the host refuses is lost, as on a wire
			}
		})
	} else {
		ifc := t.ifc
		t.ring = newTunTx(cfg.RxRing, cfg.MTU+64, func(b []byte) error { _, err := ifc.Write(b); return err })
	}
	t.dev = New(t.ifc.Name(), "tun", 0, cfg.MTU, cfg.StackAddr, t)
	t.dev.Peer = cfg.HostAddr.Addr()
	// The model kernel sits where a guest's NIC would, with the host's TUN
	// device as its backend: through the ring, a sent packet is done when
	// the writer has handed it to the host, as virtio-net (TX NAPI on)
	// frees an skb once the host has consumed the buffer.
	t.dev.TxAsync = t.ring != nil
	return t, t.dev, nil
}

// inNetns runs fn with the calling OS thread in the configured namespace.
func (t *Tun) inNetns(fn func() error) error {
	if t.cfg.Netns == "" {
		return fn()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	defer orig.Close()
	defer netns.Set(orig)
	ns, err := netns.GetFromName(t.cfg.Netns)
	if err != nil {
		if ns, err = netns.NewNamed(t.cfg.Netns); err != nil {
			if errors.Is(err, os.ErrPermission) {
				return ErrNoPrivilege
			}
			return fmt.Errorf("create network namespace %s: %w", t.cfg.Netns, err)
		}
		t.nsCreated = true
		// NewNamed leaves the thread in the new namespace; bring lo up.
		if lo, err := netlink.LinkByName("lo"); err == nil {
			_ = netlink.LinkSetUp(lo)
		}
	} else if err := netns.Set(ns); err != nil {
		ns.Close()
		return fmt.Errorf("enter network namespace %s: %w", t.cfg.Netns, err)
	}
	defer ns.Close()
	return fn()
}

// configure gives the host's end its address and MTU and brings it up.
func (t *Tun) configure() error {
	link, err := netlink.LinkByName(t.ifc.Name())
	if err != nil {
		return fmt.Errorf("netlink: find %s: %w", t.ifc.Name(), err)
	}
	if err := netlink.LinkSetMTU(link, t.cfg.MTU); err != nil {
		return fmt.Errorf("netlink: set MTU: %w", err)
	}
	ap := t.cfg.HostAddr
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: ap.Addr().AsSlice(), Mask: net.CIDRMask(ap.Bits(), 32)}}); err != nil {
		return fmt.Errorf("netlink: add address %s: %w", ap, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("netlink: set %s up: %w", t.ifc.Name(), err)
	}
	return nil
}

// Xmit queues one frame on the transmit ring, which a goroutine writes to
// the device (the model kernel's ndo_start_xmit: the host reads what it
// sends). It fails once the device is closed.
func (t *Tun) Xmit(frame []byte) error {
	if t.closed.Load() {
		return os.ErrClosed
	}
	if t.tx != nil {
		t.tx.send(frame)
		return nil
	}
	return t.ring.send(frame)
}

// SetTxDone takes the function the transmit ring reports completions to
// (netdev.TxCompleter); without the ring (an impairment stage sends
// instead) the device completes at once and never calls it.
func (t *Tun) SetTxDone(done func(n int)) {
	if t.ring != nil {
		t.ring.onDone.Store(&done)
	}
}

// Run reads frames until Close, delivering them through deliver in
// batches of what has arrived; deliver's receiver calls done when it has
// copied the batch, and the buffers are read into again (a NIC's RX ring
// works the same way). When the kernel falls behind by more than the
// ring, frames are dropped and counted. With impairments, each frame read
// passes the host-to-stack stage first, which may hold it back, lose it,
// repeat it or flip a bit of it.
func (t *Tun) Run(deliver func(frames [][]byte, done func()) error) {
	ring := make(chan []byte, t.cfg.RxRing)
	free := make(chan []byte, t.cfg.RxRing+64)
	size := t.cfg.MTU + 64
	enqueue := func(b []byte) bool {
		select {
		case ring <- b:
			return true
		default:
			t.rxDropped.Add(1)
			return false
		}
	}
	var rx *tunStage
	if t.cfg.Impair != nil {
		rx = newTunStage(t.cfg.Impair.Seed, 0, t.cfg.Impair.Rx, func(b []byte) { enqueue(b) })
		t.rx.Store(rx)
	}
	go func() {
		defer close(ring)
		if rx != nil {
			defer rx.stop() // before the ring closes: the stage delivers into it
		}
		var buf []byte
		for {
			if buf == nil {
				select {
				case buf = <-free:
					buf = buf[:size]
				default:
					buf = make([]byte, size)
				}
			}
			n, err := t.ifc.Read(buf)
			if err != nil {
				return
			}
			if rx != nil {
				rx.send(buf[:n]) // the stage copies: read into buf again
				continue
			}
			if enqueue(buf[:n]) {
				buf = nil
			}
		}
	}()
	for f := range ring {
		batch := [][]byte{f}
		for more := true; more && len(batch) < 64; {
			select {
			case g, ok := <-ring:
				if !ok {
					more = false
					break
				}
				batch = append(batch, g)
			default:
				more = false
			}
		}
		done := func() {
			for _, b := range batch {
				if cap(b) < size {
					continue // a copy the impairment stage made
				}
				select {
				case free <- b:
				default:
				}
			}
		}
		if deliver(batch, done) != nil {
			return
		}
	}
}

// RxDropped returns frames dropped because the ring was full.
func (t *Tun) RxDropped() uint64 { return t.rxDropped.Load() }

// Name returns the interface name on the host.
func (t *Tun) Name() string {
	if t.ifc == nil {
		return t.cfg.Name
	}
	return t.ifc.Name()
}

// Close removes the device (closing the TUN fd deletes it) and the
// namespace if OpenTun created it.
func (t *Tun) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	if t.tx != nil {
		t.tx.stop()
	}
	if t.ring != nil {
		t.ring.stop()
	}
	var err error
	if t.ifc != nil {
		err = t.ifc.Close()
	}
	if t.nsCreated {
		if e := netns.DeleteNamed(t.cfg.Netns); e != nil && err == nil {
			err = e
		}
	}
	return err
}
