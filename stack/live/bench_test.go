package live

import (
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkHostToStack sends b.N × 1 MB from the host's Linux TCP to the
// stack's discard service over TUN (MTU 1500), reported as MB/s.
func BenchmarkHostToStack(b *testing.B) {
	_, ns := startInNetns(b)
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
func BenchmarkStackToHost(b *testing.B) {
	_, ns := startInNetns(b)
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
