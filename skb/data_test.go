package skb

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/tracing"
)

// TestPointerOperations walks the life of a TCP segment's buffer: reserve
// headroom, put the payload, push TCP and IP headers, then (as the
// receiver would) pull them again and trim.
func TestPointerOperations(t *testing.T) {
	f := newFixture(t)
	s := f.alloc(t, 1500) // end 1728
	steps := []struct {
		name string
		op   func() error
		want state
	}{
		{"skb_reserve(192)", func() error { return SkbReserve(s, 192) }, state{192, 192, 1728, 0, 0}},
		{"skb_put(1000)", func() error { _, err := SkbPut(s, 1000); return err }, state{192, 1192, 1728, 1000, 0}},
		{"skb_push(20) tcp", func() error { _, err := SkbPush(s, 20); return err }, state{172, 1192, 1728, 1020, 0}},
		{"skb_push(20) ip", func() error { _, err := SkbPush(s, 20); return err }, state{152, 1192, 1728, 1040, 0}},
		{"skb_pull(20)", func() error { _, err := SkbPull(s, 20); return err }, state{172, 1192, 1728, 1020, 0}},
		{"skb_pull(0)", func() error { _, err := SkbPull(s, 0); return err }, state{172, 1192, 1728, 1020, 0}},
		{"skb_put(0)", func() error { _, err := SkbPut(s, 0); return err }, state{172, 1192, 1728, 1020, 0}},
		{"skb_push(0)", func() error { _, err := SkbPush(s, 0); return err }, state{172, 1192, 1728, 1020, 0}},
		{"skb_trim(2000) longer: no-op", func() error { return SkbTrim(s, 2000) }, state{172, 1192, 1728, 1020, 0}},
		{"skb_trim(100)", func() error { return SkbTrim(s, 100) }, state{172, 272, 1728, 100, 0}},
		{"skb_put(1456) exact fit", func() error { _, err := SkbPut(s, 1456); return err }, state{172, 1728, 1728, 1556, 0}},
		{"skb_push(172) exact fit", func() error { _, err := SkbPush(s, 172); return err }, state{0, 1728, 1728, 1728, 0}},
		{"skb_pull(1728) all", func() error { _, err := SkbPull(s, 1728); return err }, state{1728, 1728, 1728, 0, 0}},
	}
	for _, st := range steps {
		if err := st.op(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := stateOf(s); got != st.want {
			t.Fatalf("%s: %+v, want %+v", st.name, got, st.want)
		}
		if SkbHeadroom(s)+SkbHeadlen(s)+SkbTailroom(s) != s.EndOffset() {
			t.Fatalf("%s: headroom %d + headlen %d + tailroom %d != end %d", st.name,
				SkbHeadroom(s), SkbHeadlen(s), SkbTailroom(s), s.EndOffset())
		}
	}
	mustFree(t, s)
	f.checkAllFreed(t)
}

func TestPutPushPullSeeTheSameBytes(t *testing.T) {
	f := newFixture(t)
	s := f.alloc(t, 200)
	if err := SkbReserve(s, 64); err != nil {
		t.Fatal(err)
	}
	payload, _ := SkbPut(s, 5)
	copy(payload, "hello")
	hdr, _ := SkbPush(s, 4)
	copy(hdr, "HDR:")
	if string(s.Bytes()) != "HDR:hello" {
		t.Fatalf("data reads %q", s.Bytes())
	}
	rest, _ := SkbPull(s, 4)
	if string(rest) != "hello" || s.Data() != s.Head()+64 {
		t.Errorf("after pull: %q at %s", rest, s.Data())
	}
	// The pulled header is still in the headroom, as in the kernel.
	if string(s.HeadBytes()[60:64]) != "HDR:" {
		t.Errorf("headroom holds %q", s.HeadBytes()[60:64])
	}
	mustFree(t, s)
}

// TestWhatTheKernelWouldBUGOnIsRefused: each case returns an error naming
// the offsets, fires the kernel's panic helper as a trace point, and leaves
// the skb exactly as it was.
func TestWhatTheKernelWouldBUGOnIsRefused(t *testing.T) {
	tests := []struct {
		name      string
		op        func(s *SkBuff) error
		panicName string
		point     string
		msg       string
	}{
		{"put one past end", func(s *SkBuff) error { _, err := SkbPut(s, 157); return err },
			"skb_over_panic", "skb_over_panic", "would move tail from head+100 past end head+256"},
		{"reserve past end", func(s *SkBuff) error { return SkbReserve(s, 157) },
			"skb_over_panic", "skb_over_panic", "past end head+256"},
		{"push one before head", func(s *SkBuff) error { _, err := SkbPush(s, 51); return err },
			"skb_under_panic", "skb_under_panic", "push 51 would move data from head+50 to before head"},
		{"pull more than len", func(s *SkBuff) error { _, err := SkbPull(s, 51); return err },
			"", "", "pull 51 is more than len 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			s := f.alloc(t, 0) // end 256
			if err := SkbReserve(s, 50); err != nil {
				t.Fatal(err)
			}
			if _, err := SkbPut(s, 50); err != nil {
				t.Fatal(err)
			}
			before := stateOf(s)
			evs := f.record()
			err := tt.op(s)
			if err == nil || !isBug(err, tt.panicName) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want %s with %q", err, tt.panicName, tt.msg)
			}
			if after := stateOf(s); after != before {
				t.Errorf("skb changed: %+v -> %+v", before, after)
			}
			sawPoint := false
			for _, ev := range *evs {
				sawPoint = sawPoint || ev.Kind == tracing.Point && ev.Func.Name() == tt.point
			}
			if tt.point != "" && !sawPoint {
				t.Errorf("no %s trace point", tt.point)
			}
			mustFree(t, s)
			f.checkAllFreed(t)
		})
	}
}

// nonlinear builds an skb with a 10-byte linear part and two page frags of
// 100 and 50 bytes.
func nonlinear(t *testing.T, f *fixture) *SkBuff {
	t.Helper()
	s := f.alloc(t, 64)
	lin, _ := SkbPut(s, 10)
	fill(lin, 0)
	for i, n := range []uint32{100, 50} {
		pg, err := f.mem.AllocPages(0)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := f.mem.Mem(pg+200, n)
		fill(m, byte(10+100*i))
		if err := SkbAddRxFrag(s, i, pg, 200, n, 4096); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestNonlinearSkbs(t *testing.T) {
	f := newFixture(t)
	s := nonlinear(t, f)
	if s.Len != 160 || s.DataLen != 150 || SkbHeadlen(s) != 10 || SkbTailroom(s) != 0 || s.Shinfo().NrFrags != 2 {
		t.Fatalf("len %d data_len %d headlen %d tailroom %d frags %d", s.Len, s.DataLen, SkbHeadlen(s), SkbTailroom(s), s.Shinfo().NrFrags)
	}
	if _, err := SkbPut(s, 1); !isBug(err, "SKB_LINEAR_ASSERT") {
		t.Errorf("skb_put on a nonlinear skb: %v", err)
	}
	if _, err := SkbPull(s, 11); !isBug(err, "BUG in __skb_pull") {
		t.Errorf("pulling into the frags: %v", err)
	}
	if err := SkbTrim(s, 5); !isBug(err, "WARN in __skb_trim") {
		t.Errorf("trimming a nonlinear skb: %v", err)
	}
	// skb_copy_bits across the linear part and both frags.
	out := make([]byte, 30)
	if err := SkbCopyBits(s, 95, out); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := 95; i < 125; i++ {
		switch {
		case i < 110:
			want = append(want, byte(10+(i-10)))
		default:
			want = append(want, byte(110+(i-110)))
		}
	}
	if !bytes.Equal(out, want) {
		t.Errorf("copy_bits(95, 30) = %v, want %v", out, want)
	}
	if err := SkbCopyBits(s, 150, make([]byte, 11)); err == nil {
		t.Error("copy_bits past the end worked")
	}
	mustFree(t, s)
	f.checkAllFreed(t)
}

func TestCopyBitsReachesIntoHeadroom(t *testing.T) {
	f := newFixture(t)
	s := f.alloc(t, 100)
	_ = SkbReserve(s, 10)
	p, _ := SkbPut(s, 3)
	copy(p, "abc")
	copy(s.HeadBytes()[8:10], "xy")
	out := make([]byte, 5)
	if err := SkbCopyBits(s, -2, out); err != nil || string(out) != "xyabc" {
		t.Errorf("copy_bits(-2): %q %v", out, err)
	}
	if err := SkbCopyBits(s, -11, out); err == nil {
		t.Error("copy_bits before head worked")
	}
	mustFree(t, s)
}
