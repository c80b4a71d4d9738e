package skb

import (
	"errors"
	"testing"

	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

type fixture struct {
	h   *Hotdata
	mem *slab.Allocator
	tr  *tracing.Tracer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	tr := tracing.NewTracer(nil)
	mem, err := slab.New(slab.Config{Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	h, err := SkbInit(mem)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, mem: mem, tr: tr}
}

func (f *fixture) alloc(t testing.TB, size uint32) *SkBuff {
	t.Helper()
	s, err := AllocSkb(f.h, size)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) allocFclone(t testing.TB, size uint32) *SkBuff {
	t.Helper()
	s, err := AllocSkbFclone(f.h, size)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// record collects every event from now on.
func (f *fixture) record() *[]tracing.Event {
	var evs []tracing.Event
	f.tr.Subscribe(func(ev *tracing.Event) { evs = append(evs, *ev) })
	return &evs
}

// checkAllFreed asserts that nothing is allocated any more: no object in
// any cache, and, after shrinking every cache, no slab and no page.
func (f *fixture) checkAllFreed(t testing.TB) {
	t.Helper()
	if skbs, bufs := f.h.Live(); skbs != 0 || bufs != 0 {
		t.Errorf("%d skbs and %d data buffers still live", skbs, bufs)
	}
	for _, c := range f.mem.Caches() {
		if st := c.Stats(); st.InUse != 0 {
			t.Errorf("cache %s has %d objects in use", c.Name(), st.InUse)
		}
		f.mem.KmemCacheShrink(c)
		if st := c.Stats(); st.ActiveObjs != 0 || st.NumObjs != 0 {
			t.Errorf("cache %s: %d/%d objects after shrinking", c.Name(), st.ActiveObjs, st.NumObjs)
		}
	}
	if n := f.mem.PagesInUse(); n != 0 {
		t.Errorf("%d pages still in use", n)
	}
}

// state is the pointer arithmetic of an skb, for table tests.
type state struct {
	data, tail, end, len, dataLen uint32
}

func stateOf(s *SkBuff) state {
	return state{s.DataOffset(), s.TailOffset(), s.EndOffset(), s.Len, s.DataLen}
}

func isBug(err error, panicName string) bool {
	var e *Error
	return errors.As(err, &e) && e.Panic == panicName
}

func mustFree(t testing.TB, s *SkBuff) {
	t.Helper()
	if err := KfreeSkb(s); err != nil {
		t.Fatal(err)
	}
}

// fill writes a recognisable pattern.
func fill(b []byte, seed byte) {
	for i := range b {
		b[i] = seed + byte(i)
	}
}
