package live

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// BenchmarkHostToStack sends b.N × 1 MB from the host's Linux TCP to the
// stack's discard service over TUN (MTU 1500), reported as MB/s.
func BenchmarkHostToStack(b *testing.B) { benchHostToStack(b, false) }

// BenchmarkHostToStackObserved is the same with the kernel observed as
// the inspector observes it: every trace event into a ring, every packet
// tapped, a snapshot and a drain of the ring and packets ten times a
// second (the stepping controller is attached only once somebody steps).
func BenchmarkHostToStackObserved(b *testing.B) { benchHostToStack(b, true) }

// BenchmarkStackToHostObserved is BenchmarkStackToHost, observed.
func BenchmarkStackToHostObserved(b *testing.B) { benchStackToHost(b, true) }

// observe attaches what the inspector attaches (ui.Feed and its sampler)
// and samples until the benchmark ends.
func observe(b *testing.B, s *Session) {
	k := s.K
	ring := tracing.NewRing(1024)
	var packets []stack.PacketRecord
	if _, err := k.DoPaused("observe", func(k *stack.Kernel) any { k.Tracer().SetRing(ring); return nil }); err != nil {
		b.Fatal(err)
	}
	if err := k.SetPacketTap(func(r stack.PacketRecord) {
		if len(packets) == 4096 {
			packets = packets[:copy(packets, packets[1024:])]
		}
		packets = append(packets, r)
	}); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			_, _ = k.Snapshot()
			_, _ = k.DoPaused("take", func(*stack.Kernel) any {
				_ = ring.Last(make([]tracing.Event, 0, 4096), 4096)
				_ = append([]stack.PacketRecord(nil), packets...)
				return nil
			})
		}
	}()
	b.Cleanup(func() { close(done); <-stopped })
}

func benchHostToStack(b *testing.B, observed bool) {
	s, ns := startInNetns(b)
	if observed {
		observe(b, s)
	}
	chunk := make([]byte, 1<<20)
	b.SetBytes(int64(len(chunk)))
	inNetns(b, ns, func() {
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

// BenchmarkStackToHost reads b.N × 1 MB that the stack's chargen service
// sends to the host's Linux TCP over TUN, reported as MB/s.
func BenchmarkStackToHost(b *testing.B) { benchStackToHost(b, false) }

func benchStackToHost(b *testing.B, observed bool) {
	s, ns := startInNetns(b)
	if observed {
		observe(b, s)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	inNetns(b, ns, func() {
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

// BenchmarkConnect measures connections per second: connect, then close,
// from the host to the stack's discard service.
func BenchmarkConnect(b *testing.B) {
	_, ns := startInNetns(b)
	inNetns(b, ns, func() {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c, err := net.DialTimeout("tcp4", "10.77.0.2:9", 5*time.Second)
			if err != nil {
				b.Error(err)
				return
			}
			c.Close()
		}
	})
}

// BenchmarkRoundTrip1Byte measures the latency of one byte to the stack's
// echo service and back.
func BenchmarkRoundTrip1Byte(b *testing.B) {
	_, ns := startInNetns(b)
	inNetns(b, ns, func() {
		c, err := net.DialTimeout("tcp4", "10.77.0.2:7", 5*time.Second)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		one := []byte{'x'}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Write(one); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(c, one); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
