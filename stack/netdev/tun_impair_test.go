package netdev

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// collector gathers what a stage delivers, with the time it came.
type collector struct {
	mu     sync.Mutex
	frames [][]byte
	times  []time.Time
}

func (c *collector) deliver(f []byte) {
	c.mu.Lock()
	c.frames = append(c.frames, f)
	c.times = append(c.times, time.Now())
	c.mu.Unlock()
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// waitFor waits until n frames have arrived (or fails after a while).
func (c *collector) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d frames delivered", c.count(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func number(f []byte) int { return int(f[0])<<8 | int(f[1]) }

func TestTunStagePerfectDeliversAtOnceInOrder(t *testing.T) {
	var c collector
	s := newTunStage(1, 0, Impairments{}, c.deliver)
	defer s.stop()
	buf := make([]byte, 100)
	for i := range 100 {
		buf[0], buf[1] = byte(i>>8), byte(i)
		s.send(buf) // the same buffer each time: the stage must copy
		if c.count() != i+1 {
			t.Fatalf("frame %d not delivered on the sender's goroutine", i)
		}
	}
	for i, f := range c.frames {
		if number(f) != i {
			t.Fatalf("frame %d arrived as %d", i, number(f))
		}
	}
	if st := s.stats(); st.Sent != 100 || st.Delivered != 100 {
		t.Errorf("stats %+v", st)
	}
}

func TestTunStageDelayHoldsFramesInOrder(t *testing.T) {
	var c collector
	s := newTunStage(1, 0, Impairments{Delay: 30e6}, c.deliver)
	defer s.stop()
	start := time.Now()
	for i := range 20 {
		s.send(frame(i, 60))
	}
	if c.count() != 0 {
		t.Fatalf("%d frames delivered before the delay", c.count())
	}
	c.waitFor(t, 20)
	for i, f := range c.frames {
		if number(f) != i {
			t.Fatalf("frame %d arrived as %d", i, number(f))
		}
		if d := c.times[i].Sub(start); d < 30*time.Millisecond {
			t.Fatalf("frame %d arrived after %v, before the 30 ms delay", i, d)
		}
	}
}

func TestTunStageReorderLetsLaterFramesOvertake(t *testing.T) {
	var c collector
	s := newTunStage(3, 0, Impairments{Delay: 2e6, Reorder: 0.3, ReorderGap: 20e6}, c.deliver)
	defer s.stop()
	for i := range 200 {
		s.send(frame(i, 60))
	}
	c.waitFor(t, 200)
	late, seen := 0, map[int]bool{}
	for i, f := range c.frames {
		seen[number(f)] = true
		if i > 0 && number(f) < number(c.frames[i-1]) {
			late++
		}
	}
	st := s.stats()
	if len(seen) != 200 || late == 0 || st.Reordered < 30 || st.Reordered > 90 {
		t.Errorf("%d distinct frames, %d overtaken, stats %+v", len(seen), late, st)
	}
}

// TestTunStageSeedDecidesTheFates: without timing in the picture (no
// delay, reorder or rate), the same seed loses, repeats and corrupts the
// same frames in the same way.
func TestTunStageSeedDecidesTheFates(t *testing.T) {
	im := Impairments{Loss: 0.1, Duplicate: 0.1, Corrupt: 0.1}
	run := func(seed uint64) ([][]byte, ImpairStats) {
		var c collector
		s := newTunStage(seed, 1, im, c.deliver)
		defer s.stop()
		for i := range 2000 {
			s.send(frame(i, 80))
		}
		return c.frames, s.stats()
	}
	a, sa := run(7)
	b, sb := run(7)
	other, _ := run(8)
	if len(a) != len(b) || sa != sb {
		t.Fatalf("same seed, different fates: %d vs %d frames, %+v vs %+v", len(a), len(b), sa, sb)
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("same seed, frame %d differs", i)
		}
	}
	same := len(a) == len(other)
	for i := 0; same && i < len(a); i++ {
		same = bytes.Equal(a[i], other[i])
	}
	if same {
		t.Error("seeds 7 and 8 gave the same fates")
	}
	if sa.Lost < 150 || sa.Lost > 250 || sa.Duplicated < 150 || sa.Corrupted < 150 ||
		uint64(len(a)) != sa.Delivered || sa.Delivered != 2000-sa.Lost+sa.Duplicated {
		t.Errorf("stats %+v, %d delivered", sa, len(a))
	}
}

// TestTunStageRateSpacesFrames: at 1 Mbit/s, ten 1250-byte frames take
// 100 ms to leave.
func TestTunStageRateSpacesFrames(t *testing.T) {
	var c collector
	s := newTunStage(1, 0, Impairments{Rate: 1e6}, c.deliver)
	defer s.stop()
	start := time.Now()
	for i := range 10 {
		s.send(frame(i, 1250))
	}
	c.waitFor(t, 10)
	if d := c.times[9].Sub(start); d < 100*time.Millisecond {
		t.Errorf("ten frames left in %v at 1 Mbit/s", d)
	}
	for i := 1; i < 10; i++ {
		if c.times[i].Sub(start) < time.Duration(i+1)*10*time.Millisecond {
			t.Errorf("frame %d left at %v, before its turn", i, c.times[i].Sub(start))
		}
	}
}

func TestTunStageStopDropsHeldFrames(t *testing.T) {
	var c collector
	s := newTunStage(1, 0, Impairments{Delay: 50e6}, c.deliver)
	for i := range 10 {
		s.send(frame(i, 60))
	}
	s.stop()
	s.send(frame(10, 60))
	time.Sleep(80 * time.Millisecond)
	if n := c.count(); n != 0 {
		t.Errorf("%d frames delivered after stop", n)
	}
	s.stop() // twice is harmless
}

func TestTunImpairmentsValidate(t *testing.T) {
	if err := (TunImpairments{Rx: Impairments{Loss: 0.05}, Tx: Impairments{Delay: 1e6}}).Validate(); err != nil {
		t.Error(err)
	}
	if err := (TunImpairments{Tx: Impairments{Corrupt: 2}}).Validate(); err == nil {
		t.Error("corrupt 200% accepted")
	}
}

func TestImpairmentsString(t *testing.T) {
	for _, c := range []struct {
		im   Impairments
		want string
	}{
		{Impairments{}, "none"},
		{Impairments{Loss: 0.05}, "loss 5%"},
		{Impairments{Delay: 20e6, Reorder: 0.1}, "delay 20ms reorder 10% (gap 5ms)"},
		{Impairments{Delay: 25e6, Jitter: 1e6, Duplicate: 0.02, Corrupt: 0.01, Rate: 10e6, QueueBytes: 131072},
			"delay 25ms jitter 1ms duplicate 2% corrupt 1% rate 10Mbit/s (queue 131072 bytes)"},
		{Impairments{Rate: 1500}, "rate 1.5kbit/s (queue 150000 bytes)"},
	} {
		if got := c.im.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.im, got, c.want)
		}
	}
}
