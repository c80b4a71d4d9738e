package stack

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/tracing"
)

// recordPair runs a session between two kernels on the wire (a handshake,
// 100 kB each way through a lossy link, both closes) and returns each
// side's recording.
func recordPair(t testing.TB) [2][]byte { return recordPairN(t, 100_000, tracing.TraceOptions{}) }

// recordPairN is recordPair with n bytes each way.
func recordPairN(t testing.TB, n int, opt tracing.TraceOptions) [2][]byte {
	t.Helper()
	var bufs [2]bytes.Buffer
	var ws [2]*tracing.TraceWriter
	im := netdevImpairments{Delay: 2e6, Loss: 0.02}
	cfg := PairConfig{Seed: 3, AB: im, BA: im, Record: func(side int, cfg Config) (InputRecorder, error) {
		boot, err := json.Marshal(DescribeBoot(cfg))
		if err != nil {
			return nil, err
		}
		w, err := tracing.NewTraceWriter(&bufs[side], tracing.TraceHeader{Mode: "pair", Kernel: boot}, opt)
		ws[side] = w
		return w, err
	}}
	f := newPairFix(t, cfg)
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(n, 1), 3000*sec)
	f.transfer(f.pa, sfd, f.pb, cfd, pattern(n, 2), 3000*sec)
	if _, err := f.call(f.pb, Syscall{Name: "close", Args: [4]int64{int64(cfd)}}, sec); err != nil {
		t.Fatal(err)
	}
	if _, err := f.call(f.pa, Syscall{Name: "close", Args: [4]int64{int64(sfd)}}, sec); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(120 * sec); err != nil {
		t.Fatal(err)
	}
	f.p.Stop()
	var out [2][]byte
	for i, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if in, ev := w.Counts(); in < 10 || ev < 1000 {
			t.Fatalf("side %d recorded only %d inputs and %d events", i, in, ev)
		}
		out[i] = bufs[i].Bytes()
	}
	return out
}

// replayAll replays a recording to the end and returns every event the
// replay emitted, one line each.
func replayAll(t *testing.T, trace []byte) ([]string, error) {
	t.Helper()
	r, err := tracing.NewTraceReader(bytes.NewReader(trace), "test.trace")
	if err != nil {
		return nil, err // a file cut inside its header frame
	}
	var lines []string
	rp, err := NewReplay(r, ReplayOptions{Events: func(ev *tracing.Event, _ tracing.Resolver) { lines = append(lines, ev.Format(nil)) }})
	if err != nil {
		return nil, err
	}
	defer rp.Close()
	err = rp.Run()
	if err == nil {
		err = rp.EndErr()
	}
	return lines, err
}

// recordedEvents reads the events a recording holds, one line each.
func recordedEvents(t *testing.T, trace []byte) []string {
	t.Helper()
	r, err := tracing.NewTraceReader(bytes.NewReader(trace), "test.trace")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return lines
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == tracing.RecordEvent {
			lines = append(lines, rec.Event.Format(nil))
		}
	}
}

// TestReplayReproducesAPairSession: each side of a two-kernel session
// replays on its own, twice, and emits exactly the recorded events.
func TestReplayReproducesAPairSession(t *testing.T) {
	traces := recordPair(t)
	for side, trace := range traces {
		want := recordedEvents(t, trace)
		first, err := replayAll(t, trace)
		if err != nil {
			t.Fatalf("side %d: %v", side, err)
		}
		second, err := replayAll(t, trace)
		if err != nil {
			t.Fatalf("side %d, second replay: %v", side, err)
		}
		if len(first) != len(want) {
			t.Fatalf("side %d: replay emitted %d events, the recording has %d", side, len(first), len(want))
		}
		for i := range want {
			if first[i] != want[i] || second[i] != want[i] {
				t.Fatalf("side %d, event %d: recorded %q, replays %q and %q", side, i, want[i], first[i], second[i])
			}
		}
	}
}

// TestReplayDivergesOnADifferentKernel: the same inputs on a kernel booted
// with another seed (other hash secrets, other ISNs) stop the replay at
// the first event that differs, with both events in the message.
func TestReplayDivergesOnADifferentKernel(t *testing.T) {
	trace := recordPair(t)[0]
	r, err := tracing.NewTraceReader(bytes.NewReader(trace), "test.trace")
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header()
	var boot BootDescription
	if err := json.Unmarshal(h.Kernel, &boot); err != nil {
		t.Fatal(err)
	}
	boot.Seed++
	if h.Kernel, err = json.Marshal(boot); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := tracing.NewTraceWriter(&buf, h, tracing.TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tracing.CopyRecords(r, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = replayAll(t, buf.Bytes())
	var div *Divergence
	if !errors.As(err, &div) {
		t.Fatalf("replay on another seed: %v, want a divergence", err)
	}
	if div.Want == "" || div.Got == "" || !strings.Contains(err.Error(), "recorded") {
		t.Errorf("divergence message %q should show both events", err)
	}
	t.Log(err)
}

// frameEnds lists the byte offsets where the frames of an uncompressed
// trace end: after the magic, each frame is a little-endian length, the
// type and payload it counts, and a checksum.
func frameEnds(t *testing.T, trace []byte) []int {
	t.Helper()
	var ends []int
	for off := len(tracing.TraceMagic); off < len(trace); {
		if off+4 > len(trace) {
			t.Fatalf("a frame header is cut at %d", off)
		}
		off += 4 + int(binary.LittleEndian.Uint32(trace[off:])) + 4
		ends = append(ends, off)
	}
	return ends
}

// TestReplayOfACutTrace: a recording cut at every frame boundary, and at
// bytes in between, replays as far as its complete frames go (the same
// events as the whole recording, up to there) and then says it was cut.
func TestReplayOfACutTrace(t *testing.T) {
	trace := recordPair(t)[1]
	full, err := replayAll(t, trace)
	if err != nil {
		t.Fatal(err)
	}
	ends := frameEnds(t, trace)
	cuts := append([]int(nil), ends[:len(ends)-1]...) // the last end is the whole file
	for i := 1; i < 40; i++ {
		cuts = append(cuts, len(trace)*i/40+i%7) // inside frames
	}
	longest := 0
	for _, cut := range cuts {
		got, err := replayAll(t, trace[:cut])
		var te *tracing.TraceError
		if !errors.As(err, &te) || !te.Truncated || !strings.Contains(err.Error(), "test.trace") {
			t.Fatalf("cut at %d of %d bytes: %v, want a truncation error naming the file", cut, len(trace), err)
		}
		if len(got) > len(full) {
			t.Fatalf("cut at %d: %d events replayed, more than the whole recording's %d", cut, len(got), len(full))
		}
		for i := range got {
			if got[i] != full[i] {
				t.Fatalf("cut at %d, event %d: %q, the whole recording has %q", cut, i, got[i], full[i])
			}
		}
		longest = max(longest, len(got))
	}
	if longest < len(full)*9/10 {
		t.Errorf("the longest cut replayed %d of %d events", longest, len(full))
	}
	t.Logf("%d frames; %d cuts replayed as far as their data goes", len(ends), len(cuts))
}
