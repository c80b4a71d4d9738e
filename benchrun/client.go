package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// The host's side of every row: Linux TCP sockets made in the client
// namespace, talking to a peer at addr.

const dialTimeout = 5 * time.Second

// bulkChunk is what one write or read of a bulk row moves at most.
const bulkChunk = 256 << 10

// dial connects to addr:port from the namespace.
func dial(ns *nsThread, addr netip.Addr, port int) (*net.TCPConn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp4", netip.AddrPortFrom(addr, uint16(port)).String(), dialTimeout)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// measureH2S writes to the discard service for d, half-closes, and waits
// for the server's close; it returns Mbit/s of what arrived. moved, if not
// nil, counts the bytes written as they go.
func measureH2S(ctx context.Context, ns *nsThread, addr netip.Addr, d time.Duration, moved *atomic.Int64) (float64, error) {
	c, err := dial(ns, addr, 9)
	if err != nil {
		return 0, fmt.Errorf("connect to discard: %w", err)
	}
	defer c.Close()
	buf := make([]byte, bulkChunk)
	start := time.Now()
	end := start.Add(d)
	_ = c.SetWriteDeadline(end.Add(10 * time.Second))
	var sent int64
	for time.Now().Before(end) && ctx.Err() == nil {
		n, err := c.Write(buf)
		sent += int64(n)
		if moved != nil {
			moved.Add(int64(n))
		}
		if err != nil {
			return 0, fmt.Errorf("write to discard after %d bytes: %w", sent, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.CloseWrite(); err != nil {
		return 0, fmt.Errorf("half-close: %w", err)
	}
	// Discard closes when it has read everything: then every byte is in.
	_ = c.SetReadDeadline(time.Now().Add(max(d, 10*time.Second)))
	if _, err := io.Copy(io.Discard, c); err != nil {
		return 0, fmt.Errorf("waiting for discard to read all %d bytes and close: %w", sent, err)
	}
	return mbits(sent, time.Since(start)), nil
}

// measureS2H reads from the chargen service for d and returns Mbit/s.
// moved, if not nil, counts the bytes read as they come.
func measureS2H(ctx context.Context, ns *nsThread, addr netip.Addr, d time.Duration, moved *atomic.Int64) (float64, error) {
	c, err := dial(ns, addr, 19)
	if err != nil {
		return 0, fmt.Errorf("connect to chargen: %w", err)
	}
	defer c.Close()
	buf := make([]byte, bulkChunk)
	start := time.Now()
	end := start.Add(d)
	_ = c.SetReadDeadline(end.Add(10 * time.Second))
	var got int64
	for time.Now().Before(end) && ctx.Err() == nil {
		n, err := c.Read(buf)
		got += int64(n)
		if moved != nil {
			moved.Add(int64(n))
		}
		if err != nil {
			return 0, fmt.Errorf("read from chargen after %d bytes: %w", got, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return mbits(got, time.Since(start)), nil
}

func mbits(bytes int64, d time.Duration) float64 {
	return float64(bytes) * 8 / d.Seconds() / 1e6
}

// measureCPS connects to discard and closes, one connection after
// another, for d; it returns connections per second.
func measureCPS(ctx context.Context, ns *nsThread, addr netip.Addr, d time.Duration) (float64, error) {
	target := netip.AddrPortFrom(addr, 9).String()
	var n int
	var elapsed time.Duration
	err := ns.Do(func() error {
		dl := net.Dialer{Timeout: dialTimeout}
		start := time.Now()
		for time.Since(start) < d && ctx.Err() == nil {
			c, err := dl.Dial("tcp4", target)
			if err != nil {
				return fmt.Errorf("connection %d: %w", n+1, err)
			}
			if err := c.Close(); err != nil {
				return fmt.Errorf("close connection %d: %w", n+1, err)
			}
			n++
		}
		elapsed = time.Since(start)
		return ctx.Err()
	})
	if err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

// rttSamplesMax bounds the round trips a latency row keeps.
const rttSamplesMax = 1 << 20

// measureRTT sends one byte to echo and reads it back, one at a time, for
// d (after 100 unmeasured round trips); it returns the median and the
// 99th percentile in microseconds.
func measureRTT(ctx context.Context, ns *nsThread, addr netip.Addr, d time.Duration) (p50, p99 float64, err error) {
	c, err := dial(ns, addr, 7)
	if err != nil {
		return 0, 0, fmt.Errorf("connect to echo: %w", err)
	}
	defer c.Close()
	_ = c.SetNoDelay(true)
	_ = c.SetDeadline(time.Now().Add(d + 20*time.Second))
	one := []byte{'x'}
	trip := func() error {
		if _, err := c.Write(one); err != nil {
			return err
		}
		_, err := io.ReadFull(c, one)
		return err
	}
	for i := 0; i < 100; i++ {
		if err := trip(); err != nil {
			return 0, 0, fmt.Errorf("warm-up round trip %d: %w", i+1, err)
		}
	}
	var samples []time.Duration
	start := time.Now()
	for time.Since(start) < d && len(samples) < rttSamplesMax && ctx.Err() == nil {
		t0 := time.Now()
		if err := trip(); err != nil {
			return 0, 0, fmt.Errorf("round trip %d: %w", len(samples)+1, err)
		}
		samples = append(samples, time.Since(t0))
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	if len(samples) == 0 {
		return 0, 0, errors.New("no round trip completed")
	}
	slices.Sort(samples)
	us := func(q float64) float64 {
		return float64(samples[int(q*float64(len(samples)-1))]) / float64(time.Microsecond)
	}
	return us(0.5), us(0.99), nil
}

// measureMem opens n connections to the peer's holder, waits until it
// holds them all, and returns the growth of the peer's live heap and
// goroutine stacks per connection, in KiB. It closes them afterwards.
func measureMem(ctx context.Context, ns *nsThread, addr netip.Addr, p *peerProc, n int) (float64, error) {
	before, err := p.memory()
	if err != nil {
		return 0, err
	}
	had, err := p.held()
	if err != nil {
		return 0, err
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	err = ns.Do(func() error {
		for len(conns) < n && ctx.Err() == nil {
			target := netip.AddrPortFrom(addr, uint16(HoldPort+len(conns)/HoldPerPort)).String()
			c, err := net.DialTimeout("tcp4", target, dialTimeout)
			if err != nil {
				return fmt.Errorf("idle connection %d: %w", len(conns)+1, err)
			}
			conns = append(conns, c)
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		h, err := p.held()
		if err != nil {
			return 0, err
		}
		if h-had >= n {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, fmt.Errorf("the holder accepted %d of %d connections", h-had, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after, err := p.memory()
	if err != nil {
		return 0, err
	}
	return (float64(after) - float64(before)) / float64(n) / 1024, nil
}

// waitReachable dials discard until it answers, for a peer that has just
// said it is ready (the host's side of its link may still be settling).
func waitReachable(ctx context.Context, ns *nsThread, addr netip.Addr) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dial(ns, addr, 9)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s:9 does not answer: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
