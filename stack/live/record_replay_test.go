package live

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// TestLiveRecordingReplays records a live session over TUN with traffic
// of every kind the device sees (an HTTP GET, bulk data both ways, small
// writes that autocork, so the device's transmit completions are inputs
// too), then replays the recording: every re-executed event must match
// the recorded one.
func TestLiveRecordingReplays(t *testing.T) {
	if testing.Short() {
		t.Skip("live TUN test: not in -short mode")
	}
	path := filepath.Join(t.TempDir(), "live.trace")
	var w *tracing.TraceWriter
	s, ns := startInNetnsWith(t, "stkrec", func(cfg *Config) {
		cfg.Record = func(c stack.Config) (stack.InputRecorder, error) {
			boot, err := json.Marshal(stack.DescribeBoot(c))
			if err != nil {
				return nil, err
			}
			w, err = tracing.CreateTrace(path, tracing.TraceHeader{Mode: "live", Kernel: boot}, tracing.TraceOptions{})
			return w, err
		}
	})
	inNetns(t, ns, func() {
		cl := http.Client{Timeout: 10 * time.Second}
		resp, err := cl.Get("http://10.77.0.2/")
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for _, port := range []string{"9", "19"} {
			c, err := net.DialTimeout("tcp4", "10.77.0.2:"+port, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			if port == "9" {
				_, err = c.Write(make([]byte, 1<<20))
			} else {
				_, err = io.ReadFull(c, make([]byte, 1<<20))
			}
			c.Close()
			if err != nil {
				t.Errorf("port %s: %v", port, err)
			}
		}
	})
	ln := hostListen(t, ns)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if c, err := ln.Accept(); err == nil {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	p, err := s.K.NewProcess("writer")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.DialTCP(netip.MustParseAddrPort(ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Setsockopt(c.Fd(), sockets.IPPROTO_TCP, sockets.TCP_NODELAY, sockets.Optval{Int: 1})
	for i := 0; i < 500; i++ {
		if _, err := fmt.Fprintf(c, "%09d\n", i); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	<-done
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	rp, err := stack.NewReplay(openTrace(t, path), stack.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	if err := rp.Run(); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if err := rp.EndErr(); err != nil {
		t.Fatalf("replay: %v", err)
	}
	in, ev := w.Counts()
	t.Logf("recorded %d inputs and %d events; the replay re-executed %d inputs with the same events", in, ev, rp.Inputs())
	if rp.Inputs() != in {
		t.Errorf("replayed %d inputs of %d", rp.Inputs(), in)
	}
	// Opcode 12 is "transmit done" in the file format (stack's recTxDone).
	if n := countInputs(t, path, 12); n == 0 {
		t.Error("the recording has no transmit-done input: the device's completions were not recorded")
	}
}

// countInputs counts a recording's inputs with opcode op.
func countInputs(t *testing.T, path string, op uint8) int {
	t.Helper()
	r := openTrace(t, path)
	n := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == tracing.RecordInput && rec.Input.Op == op {
			n++
		}
	}
}

// openTrace opens a recording for reading; the file closes when the test
// ends.
func openTrace(t *testing.T, path string) *tracing.TraceReader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := tracing.NewTraceReader(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hostListen listens on the host's end of the link, inside the
// namespace, on a port the kernel picks; it closes when the test ends.
func hostListen(t *testing.T, ns string) net.Listener {
	t.Helper()
	var ln net.Listener
	inNetns(t, ns, func() {
		var err error
		if ln, err = net.Listen("tcp4", "10.77.0.1:0"); err != nil {
			t.Error(err)
		}
	})
	if ln == nil {
		t.FailNow()
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
