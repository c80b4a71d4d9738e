package netdev

import (
	"math"
	"slices"
	"testing"
)

// drain takes everything off the wire in arrival order and returns what
// arrived at end 1 with the arrival times.
func drain(w *Wire) (times []int64, frames [][]byte) {
	for {
		t, ok := w.NextArrival()
		if !ok {
			return
		}
		for _, f := range w.Arrivals(t)[1] {
			times = append(times, t)
			frames = append(frames, f)
		}
	}
}

func frame(i, size int) []byte {
	b := make([]byte, size)
	b[0], b[1] = byte(i>>8), byte(i)
	return b
}

func TestWirePerfectIsInstantAndInOrder(t *testing.T) {
	w, err := NewWire(1, Impairments{}, Impairments{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		_ = w.End(0).Xmit(frame(i, 100))
	}
	times, frames := drain(w)
	if len(frames) != 100 {
		t.Fatalf("%d frames arrived", len(frames))
	}
	for i, f := range frames {
		if times[i] != 0 || int(f[0])<<8|int(f[1]) != i {
			t.Fatalf("frame %d: at %d, number %d", i, times[i], int(f[0])<<8|int(f[1]))
		}
	}
	if st := w.Stats(0); st.Sent != 100 || st.Delivered != 100 {
		t.Errorf("stats %+v", st)
	}
}

func TestWireLossRateIsNearItsSetting(t *testing.T) {
	w, _ := NewWire(42, Impairments{Loss: 0.1}, Impairments{})
	for i := range 10000 {
		_ = w.End(0).Xmit(frame(i, 60))
	}
	_, frames := drain(w)
	lost := 10000 - len(frames)
	if lost < 900 || lost > 1100 || w.Stats(0).Lost != uint64(lost) {
		t.Errorf("%d of 10000 lost at 10%% (stats %d)", lost, w.Stats(0).Lost)
	}
}

func TestWireDelayJitterKeepOrder(t *testing.T) {
	var now int64
	w, _ := NewWire(5, Impairments{Delay: 10e6, Jitter: 4e6}, Impairments{})
	w.End(0).SetClock(func() int64 { return now })
	for i := range 1000 {
		now = int64(i) * 1e5 // every 0.1 ms
		_ = w.End(0).Xmit(frame(i, 60))
	}
	times, frames := drain(w)
	for i, f := range frames {
		sent := int64(i) * 1e5
		if n := int(f[0])<<8 | int(f[1]); n != i {
			t.Fatalf("frame %d arrived as number %d: jitter reordered", i, n)
		}
		if d := times[i] - sent; d < 10e6 || d > 14e6+1e5*40 {
			t.Fatalf("frame %d took %d ns", i, d)
		}
	}
}

func TestWireRateLimitSpacesFramesAndDropsAtTheTail(t *testing.T) {
	// 12 Mbit/s: a 1500-byte frame takes exactly 1 ms on the link.
	w, _ := NewWire(1, Impairments{Rate: 12e6, QueueBytes: 15000}, Impairments{})
	for i := range 20 {
		_ = w.End(0).Xmit(frame(i, 1500))
	}
	times, _ := drain(w)
	// The queue holds 10 frames' worth, the one on the link included:
	// frames 0..9 fit, the rest are tail-dropped.
	if len(times) != 10 || w.Stats(0).QueueDrops != 10 {
		t.Fatalf("%d arrived, %d dropped", len(times), w.Stats(0).QueueDrops)
	}
	for i, at := range times {
		if want := int64(i+1) * 1e6; at != want {
			t.Errorf("frame %d arrived at %d, want %d", i, at, want)
		}
	}
}

func TestWireReorderDuplicateCorrupt(t *testing.T) {
	w, _ := NewWire(9, Impairments{Delay: 1e6, Reorder: 0.2, Duplicate: 0.1, Corrupt: 0.1}, Impairments{})
	for i := range 2000 {
		_ = w.End(0).Xmit(frame(i, 64))
	}
	_, frames := drain(w)
	st := w.Stats(0)
	inversions, dups, corrupt := 0, 0, 0
	seen := map[int]bool{}
	last := -1
	for _, f := range frames {
		n := int(f[0])<<8 | int(f[1])
		if n < last {
			inversions++
		}
		last = max(last, n)
		if seen[n] {
			dups++
		}
		seen[n] = true
		for _, b := range f[2:] {
			if b != 0 {
				corrupt++
				break
			}
		}
	}
	if math.Abs(float64(st.Reordered)-400) > 80 || inversions == 0 {
		t.Errorf("reordered %d (want about 400), inversions seen %d", st.Reordered, inversions)
	}
	if math.Abs(float64(st.Duplicated)-200) > 60 || dups == 0 {
		t.Errorf("duplicated %d (want about 200), duplicates seen %d", st.Duplicated, dups)
	}
	if math.Abs(float64(st.Corrupted)-200) > 60 || corrupt == 0 {
		t.Errorf("corrupted %d (want about 200), corrupt payloads seen %d", st.Corrupted, corrupt)
	}
	if len(frames) != 2000+int(st.Duplicated) {
		t.Errorf("%d frames arrived, want %d", len(frames), 2000+st.Duplicated)
	}
}

func TestWireSameSeedSameFate(t *testing.T) {
	run := func(seed uint64) []int {
		w, _ := NewWire(seed, Impairments{Loss: 0.3}, Impairments{})
		for i := range 200 {
			_ = w.End(0).Xmit(frame(i, 60))
		}
		_, frames := drain(w)
		var out []int
		for _, f := range frames {
			out = append(out, int(f[0])<<8|int(f[1]))
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if len(a) != len(b) || len(a) == len(c) && slices.Equal(a, c) {
		t.Fatalf("seed 1 twice: %d and %d frames; seed 2: %d", len(a), len(b), len(c))
	}
	if !slices.Equal(a, b) {
		t.Errorf("the same seed lost different frames")
	}
}

func TestWireRejectsImpossibleSettings(t *testing.T) {
	for _, im := range []Impairments{{Loss: 1.5}, {Corrupt: -0.1}, {Delay: -1}, {Rate: -5}} {
		if _, err := NewWire(1, im, Impairments{}); err == nil {
			t.Errorf("%+v accepted", im)
		}
	}
}

func TestDeviceFeatures(t *testing.T) {
	lo := NewLoopback()
	if got := lo.FeatureNames(); len(got) != 2 || got[0] != "vlan-challenged" || got[1] != "loopback" {
		t.Errorf("lo features %v", got)
	}
	w, _ := NewWire(1, Impairments{}, Impairments{})
	if got := New("wire0", "wire", 2, 1500, lo.Addrs[0], w.End(0)).FeatureNames(); len(got) != 0 {
		t.Errorf("a wire device offers %v; the model performs no offloads", got)
	}
}
