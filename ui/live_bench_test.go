package ui

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/stackscope/stackscope/stack/live"
	"github.com/stackscope/stackscope/stack/netdev"
)

// liveInNetns starts a live session in a namespace of its own, or skips.
func liveInNetns(b *testing.B) (*live.Session, string) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("live mode needs root for TUN devices and network namespaces; skipped")
	}
	ns := fmt.Sprintf("stkui%d", os.Getpid()%100000)
	cfg := live.Config{Tun: live.DefaultTun(), Seed: 1}
	cfg.Tun.Netns = ns
	s, err := live.Start(cfg)
	if errors.Is(err, netdev.ErrNoPrivilege) {
		b.Skipf("TUN or namespaces not permitted here: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s, ns
}

// inNamespace runs fn on a thread inside the namespace.
func inNamespace(b *testing.B, name string, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the thread stays in the namespace; it is dropped
		ns, err := netns.GetFromName(name)
		if err != nil {
			b.Error(err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			b.Error(err)
			return
		}
		fn()
	}()
	<-done
}

// watch does what the open inspector does to a kernel: its Feed, and a
// frame (snapshot and take) every interval, until the benchmark ends.
func watch(b *testing.B, s *live.Session) {
	m, err := New(&KernelSource{K: s.K, SourceMode: ModeLive}, Options{TestMode: true})
	if err != nil {
		b.Fatal(err)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(m.opts.Interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			m.fetching = false
			if msg, ok := m.fetch()().(frameMsg); ok && msg.err == nil {
				m.ctx.Frame = msg.f
				for _, p := range m.panes {
					p.Refresh(m.ctx)
				}
				_ = m.View()
			}
		}
	}()
	b.Cleanup(func() { close(done); <-stopped; m.feed.Close() })
}

// BenchmarkHostToStackWatched is the host sending 1 MB chunks to the
// stack's discard service over TUN while the inspector watches (frames
// sampled and rendered ten times a second). Compare with stack/live's
// BenchmarkHostToStack.
func BenchmarkHostToStackWatched(b *testing.B) {
	s, ns := liveInNetns(b)
	watch(b, s)
	chunk := make([]byte, 1<<20)
	b.SetBytes(int64(len(chunk)))
	inNamespace(b, ns, func() {
		c, err := net.DialTimeout("tcp4", "10.77.0.2:9", 5*time.Second)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Write(chunk); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkStackToHostWatched is chargen to the host while watched.
func BenchmarkStackToHostWatched(b *testing.B) {
	s, ns := liveInNetns(b)
	watch(b, s)
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	inNamespace(b, ns, func() {
		c, err := net.DialTimeout("tcp4", "10.77.0.2:19", 5*time.Second)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
