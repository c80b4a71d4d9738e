// Package live runs the model kernel on a TUN device so the host's own
// programs (ping, nc, curl) talk to it, with built-in services running as
// processes of the model kernel.
package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/netdev"
)

// Config describes a live session.
type Config struct {
	Tun  netdev.TunConfig
	Seed uint64
	// ThashEntries and CPUs are passed to the kernel.
	ThashEntries int
	CPUs         int
	// Services lists the built-in services to start ("echo", ...); nil
	// starts them all.
	Services []string
	// Record, if set, records the session (see stack.RecorderFunc).
	Record stack.RecorderFunc
	// Spool, if set, keeps the session's inputs so that a recording can
	// begin at any moment (the inspector's record key).
	Spool *stack.SpoolConfig
}

// DefaultTun is the default device: stk0, host 10.77.0.1/24, stack
// 10.77.0.2/24, MTU 1500.
func DefaultTun() netdev.TunConfig {
	return netdev.TunConfig{
		Name:      "stk0",
		HostAddr:  netip.MustParsePrefix("10.77.0.1/24"),
		StackAddr: netip.MustParsePrefix("10.77.0.2/24"),
		MTU:       1500,
	}
}

// Session is a running live kernel.
type Session struct {
	K        *stack.Kernel
	Tun      *netdev.Tun    // nil in the demo
	Dev      *netdev.Device // the TUN device; nil in the demo
	services []service
	wg       sync.WaitGroup
	stopOnce sync.Once

	// The demo's: its burst device, how to stop its clients, bursts sent.
	burst       *netdev.Device
	stopClients context.CancelFunc
	mu          sync.Mutex
	bursts      int
}

// Start boots a kernel with a real clock, creates the TUN device, starts
// its reader and the services. Close undoes all of it.
func Start(cfg Config) (*Session, error) {
	kc, err := stack.Config{Seed: cfg.Seed, Clock: stack.NewRealClock(), ThashEntries: cfg.ThashEntries, CPUs: cfg.CPUs, Spool: cfg.Spool}.WithRecorder(cfg.Record)
	if err != nil {
		return nil, err
	}
	k, err := stack.New(kc)
	if err != nil {
		return nil, err
	}
	tun, dev, err := netdev.OpenTun(cfg.Tun)
	if err != nil {
		k.Stop() // never started: this only removes its spool
		return nil, err
	}
	k.Start()
	s := &Session{K: k, Tun: tun, Dev: dev}
	if err := k.AddDevice(dev); err != nil {
		s.Close()
		return nil, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tun.Run(func(frames [][]byte, done func()) error { return k.ReceiveBatch(dev, frames, done) })
	}()
	if err := s.startServices(cfg.Services); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the services, the kernel and the reader, and removes the
// device (and the namespace, if Start created it).
func (s *Session) Close() error {
	var err error
	s.stopOnce.Do(func() {
		if s.stopClients != nil {
			s.stopClients()
		}
		for _, svc := range s.services {
			svc.stop()
		}
		s.K.Stop()
		if s.Tun != nil {
			err = s.Tun.Close()
		}
		s.wg.Wait()
	})
	return err
}

// Summary is one line of what happened in the last interval.
type Summary struct {
	RxPackets, TxPackets, RxDropped uint64
	Socks                           int
}

// Stats reads the device counters and the socket count.
func (s *Session) Stats() (Summary, error) {
	snap, err := s.K.Snapshot()
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	dev := "lo" // the demo's traffic
	if s.Dev != nil {
		dev = s.Dev.Name
	}
	for _, d := range snap.Devices {
		if d.Name == dev {
			sum.RxPackets, sum.TxPackets, sum.RxDropped = d.Stats.RxPackets, d.Stats.TxPackets, d.Stats.RxDropped
		}
	}
	if s.Tun != nil {
		sum.RxDropped += s.Tun.RxDropped()
	}
	sum.Socks = len(snap.Socks)
	return sum, nil
}

// Report prints a summary line every interval until ctx ends.
func (s *Session) Report(ctx context.Context, w io.Writer, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	var last Summary
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cur, err := s.Stats()
			if err != nil {
				if !errors.Is(err, stack.ErrStopped) {
					fmt.Fprintf(w, "live: %v\n", err)
				}
				return
			}
			fmt.Fprintf(w, "%6.1fs  rx %d pkts (+%d)  tx %d pkts (+%d)  dropped %d  sockets %d\n",
				now.Sub(start).Seconds(), cur.RxPackets, cur.RxPackets-last.RxPackets,
				cur.TxPackets, cur.TxPackets-last.TxPackets, cur.RxDropped, cur.Socks)
			last = cur
		}
	}
}
