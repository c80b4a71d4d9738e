package stack

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/stackscope/stackscope/tracing"
)

// opener returns a TraceOpener over a trace in memory.
func opener(trace []byte) TraceOpener {
	return func() (*tracing.TraceReader, error) {
		return tracing.NewTraceReader(bytes.NewReader(trace), "test.trace")
	}
}

// snapJSON is a kernel's state as JSON, for comparisons.
func snapJSON(t *testing.T, k *Kernel) string {
	t.Helper()
	s, err := k.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// straightTo replays from the boot, without keyframes, and stops at seq.
func straightTo(t *testing.T, trace []byte, seq uint64) string {
	t.Helper()
	s, err := NewSeeker(opener(trace), 1<<62, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pos, err := s.Seek(seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pos.Replay.Close()
	return snapJSON(t, pos.Replay.Kernel())
}

// TestSeekFromKeyframesMatchesTheStart: a replay sent to an event from a
// keyframe is in exactly the state of one that ran there from the boot,
// for events in every keyframe interval.
func TestSeekFromKeyframesMatchesTheStart(t *testing.T) {
	trace := recordPair(t)[0]
	s, err := NewSeeker(opener(trace), 2000, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	total := s.Timeline().Total()
	inputs := s.keyframeInputs()
	if len(inputs) < 5 {
		t.Fatalf("%d keyframes for %d events", len(inputs), total)
	}
	t.Logf("%d events, %d inputs, %d keyframes", total, s.Timeline().Inputs(), len(inputs))
	// The first event after every keyframe, and a few in between.
	seqs := []uint64{1, total / 3, total / 2, total - 1, total}
	for _, in := range inputs {
		if e := s.tl.InputEnd[in] + 1; e <= total {
			seqs = append(seqs, e)
		}
	}
	for _, seq := range seqs {
		pos, err := s.Seek(seq, nil)
		if err != nil {
			t.Fatalf("seek #%d: %v", seq, err)
		}
		got := snapJSON(t, pos.Replay.Kernel())
		pos.Replay.Close()
		if want := straightTo(t, trace, seq); got != want {
			t.Fatalf("event #%d: the state from a keyframe differs from the state replayed from the boot", seq)
		}
	}
}

// TestStepForwardThenBack: N steps forward, then a seek back N events,
// gives the state the replay had before the steps.
func TestStepForwardThenBack(t *testing.T) {
	trace := recordPair(t)[1]
	s, err := NewSeeker(opener(trace), 1000, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := s.Timeline().Total() / 2
	pos, err := s.Seek(start, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := snapJSON(t, pos.Replay.Kernel())
	const n = 300
	for i := 0; i < n; i++ {
		if err := pos.Forward(tracing.StepInto); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if pos.Seq != start+n {
		t.Fatalf("after %d steps at #%d, want #%d", n, pos.Seq, start+n)
	}
	after := snapJSON(t, pos.Replay.Kernel())
	pos.Replay.Close()
	if after == before {
		t.Fatalf("%d steps changed nothing in the snapshot: pick a busier stretch", n)
	}
	back, err := s.Seek(pos.Seq-n, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Replay.Close()
	if got := snapJSON(t, back.Replay.Kernel()); got != before {
		t.Fatalf("back at #%d the state differs from the state before the steps", start)
	}
	// And on to the end: the replay finishes the recording.
	for {
		err := back.Forward(tracing.Continue)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
