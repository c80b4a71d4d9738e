package tracing

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unsafe"
)

// testFn is registered once for these tests, like a kernel package would.
var testFn, testLeaf FuncID

func modelledFunction() {}

func init() {
	testFn = Register(Spec{Name: "tracing_test_fn", File: "net/core/test.c", Go: modelledFunction,
		Args: []string{"skb", "len"}, Explain: "A function for the tracer's own tests."})
	testLeaf = Register(Spec{Name: "tracing_test_leaf", File: "net/core/test.c", Inline: true,
		Explain: "A callee for the tracer's own tests."})
}

type fakeClock struct{ now int64 }

func (c *fakeClock) Now() int64 { return c.now }

// wordClock is a fakeClock the tracer reads as a word (WordClock).
type wordClock struct{ fakeClock }

func (c *wordClock) NowWord() *int64 { return &c.now }

func TestRegistryKnowsNameFileAndGoLocation(t *testing.T) {
	f, ok := Lookup("tracing_test_fn")
	if !ok || f.ID != testFn || f.File != "net/core/test.c" || testFn.Name() != "tracing_test_fn" {
		t.Fatalf("lookup: %+v %v", f, ok)
	}
	if f.GoFunc != "tracing.modelledFunction" || f.GoFile != "tracing/tracing_test.go" || f.GoLine == 0 {
		t.Errorf("Go location: %s at %s:%d", f.GoFunc, f.GoFile, f.GoLine)
	}
	if _, ok := Lookup("no_such_function"); ok {
		t.Error("found an unregistered function")
	}
	if FuncByID(60000).Name != "(none)" {
		t.Error("an unknown id has a name")
	}
	found := false
	for _, g := range Funcs() {
		found = found || g.Name == "tracing_test_leaf" && g.Inline
	}
	if !found {
		t.Error("Funcs lacks the inline test function")
	}
}

func TestRegisterRefusesDuplicatesAndMissingFacts(t *testing.T) {
	for _, s := range []Spec{
		{Name: "tracing_test_fn", File: "x.c", Explain: "again"},
		{Name: "tracing_test_nofile", Explain: "no file"},
		{Name: "tracing_test_many", File: "x.c", Explain: "x", Args: []string{"a", "b", "c", "d"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not refuse", s.Name)
				}
			}()
			Register(s)
		}()
	}
}

func TestNobodyListeningEmitsNothing(t *testing.T) {
	tr := NewTracer(nil)
	tr.Enter2(testFn, Skb(1), Int(2))
	tr.Exit(testFn, Errno(0))
	tr.Point(testFn, Arg{}, Arg{})
	if tr.On() || tr.Seq() != 0 || tr.Depth() != 0 {
		t.Errorf("a silent tracer counted: on %v seq %d depth %d", tr.On(), tr.Seq(), tr.Depth())
	}
}

func TestEventsCarrySequenceTimeDepthArgsAndReturn(t *testing.T) {
	clk := &fakeClock{now: 1_500_000_123}
	tr := NewTracer(clk)
	var got []Event
	tr.Subscribe(func(ev *Event) { got = append(got, *ev) })
	tr.Enter2(testFn, Skb(0xffff888004a3c000), Int(14))
	clk.now += 10
	tr.Enter(testLeaf)
	tr.Exit(testLeaf, Arg{})
	tr.Point(testLeaf, Reason(3), Arg{})
	tr.Exit(testFn, Errno(-ENOMEM))
	if len(got) != 5 {
		t.Fatalf("%d events", len(got))
	}
	wantDepth := []uint16{0, 1, 1, 1, 0}
	wantKind := []Kind{Entry, Entry, Exit, Point, Exit}
	for i, ev := range got {
		if ev.Seq != uint64(i+1) || ev.Depth != wantDepth[i] || ev.Kind != wantKind[i] {
			t.Errorf("event %d: seq %d depth %d kind %v", i, ev.Seq, ev.Depth, ev.Kind)
		}
	}
	if got[0].Time != 1_500_000_123 || got[1].Time != 1_500_000_133 {
		t.Errorf("times %d %d", got[0].Time, got[1].Time)
	}
	if s := got[0].String(); s != "#1 t=1.500000123 tracing_test_fn(skb=0xffff888004a3c000, len=14)" {
		t.Errorf("entry formats as %q", s)
	}
	if s := got[1].String(); !strings.HasSuffix(s, "  tracing_test_leaf()") {
		t.Errorf("nested entry formats as %q", s)
	}
	if s := got[3].String(); !strings.HasSuffix(s, "! tracing_test_leaf(3)") {
		t.Errorf("point formats as %q", s)
	}
	if s := got[4].String(); !strings.HasSuffix(s, "tracing_test_fn = -12 ENOMEM") {
		t.Errorf("exit formats as %q", s)
	}
}

func TestSubscribersRunInOrderAndMayLeave(t *testing.T) {
	tr := NewTracer(nil)
	var order []string
	var second int
	tr.Subscribe(func(*Event) { order = append(order, "first") })
	second = tr.Subscribe(func(*Event) {
		order = append(order, "second")
		tr.Unsubscribe(second)
	})
	tr.Subscribe(func(*Event) { order = append(order, "third") })
	tr.Enter(testFn)
	tr.Exit(testFn, Arg{})
	want := "first second third first third"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestRingKeepsTheMostRecentEvents(t *testing.T) {
	tr := NewTracer(nil)
	r := NewRing(5) // rounds up to 8
	tr.SetRing(r)
	if !tr.On() || r.Cap() != 8 {
		t.Fatalf("on %v cap %d", tr.On(), r.Cap())
	}
	for i := 0; i < 10; i++ {
		tr.Enter(testFn)
		tr.Exit(testFn, Int(int64(i)))
	}
	evs := r.Events(nil)
	if len(evs) != 8 || r.Len() != 8 || r.Overwritten() != 12 {
		t.Fatalf("len %d overwritten %d", len(evs), r.Overwritten())
	}
	for i, ev := range evs {
		if ev.Seq != uint64(13+i) {
			t.Errorf("slot %d holds seq %d, want %d", i, ev.Seq, 13+i)
		}
	}
	if last := r.Last(nil, 3); len(last) != 3 || last[0].Seq != 18 || last[2].Seq != 20 || len(r.Last(nil, 100)) != 8 || r.Written() != 20 {
		t.Errorf("Last(3) = %d events from seq %d; Last(100) = %d", len(last), last[0].Seq, len(r.Last(nil, 100)))
	}
	r.Reset()
	if r.Len() != 0 || len(r.Events(nil)) != 0 {
		t.Error("reset left events")
	}
	tr.SetRing(nil)
	if tr.On() {
		t.Error("tracer still on with no listener")
	}
}

func TestErrnoNames(t *testing.T) {
	if ErrnoName(EADDRINUSE) != "EADDRINUSE" || ErrnoName(9999) != "errno9999" {
		t.Error(ErrnoName(EADDRINUSE), ErrnoName(9999))
	}
}

// BenchmarkTracePointNobodyListening measures one trace point with two
// arguments that nobody listens to: the target is under 2 ns.
func BenchmarkTracePointNobodyListening(b *testing.B) {
	tr := NewTracer(nil)
	for i := 0; i < b.N; i++ {
		tr.Enter2(testFn, Skb(uint64(i)), Int(int64(i)))
	}
}

// BenchmarkTracePointIntoRing measures an event stored in the ring.
func BenchmarkTracePointIntoRing(b *testing.B) {
	tr := NewTracer(&fakeClock{})
	tr.SetRing(NewRing(1 << 12))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.Enter2(testFn, Skb(uint64(i)), Int(int64(i)))
	}
}

// BenchmarkTracePointIntoTrace measures a trace point recorded into a
// trace (written to nowhere): an entry with two arguments and its exit
// with a return value, the pair a traced kernel function costs, per event.
func BenchmarkTracePointIntoTrace(b *testing.B) {
	clk := &wordClock{}
	tr := NewTracer(clk)
	w, err := NewTraceWriter(io.Discard, TraceHeader{Funcs: []string{}}, TraceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	tr.SubscribeTrace(w)
	b.ReportAllocs()
	for i := 0; i < b.N; i += 2 {
		clk.now += 150
		addr := 0xffff888004a3c000 + uint64(i&1023)*256
		tr.Enter2(testFn, Skb(addr), Int(int64(i&63)))
		tr.Exit(testFn, Errno(0))
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// TestGraphFoldsLeavesAndClosesBlocks pins the function graph's lines: a
// callee with nothing inside folds to one line, a caller opens and closes
// a block, a point is a comment; the line helpers are what Graph prints.
func TestGraphFoldsLeavesAndClosesBlocks(t *testing.T) {
	tr := NewTracer(&fakeClock{})
	var b strings.Builder
	g := NewGraph(&b, nil)
	var evs []Event
	tr.Subscribe(g.Event)
	tr.Subscribe(func(ev *Event) { evs = append(evs, *ev) })
	tr.Enter2(testFn, Skb(0x10), Int(14))
	tr.Enter(testLeaf)
	tr.Exit(testLeaf, Int(7))
	tr.Point(testLeaf, Reason(3), Arg{})
	tr.Exit(testFn, Errno(0))
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	want := "tracing_test_fn(skb=0x10, len=14) {\n" +
		"  tracing_test_leaf() = 7;\n" +
		"  /* tracing_test_leaf(3) */\n" +
		"} = 0 /* tracing_test_fn */\n"
	if b.String() != want {
		t.Errorf("graph\n%s\nwant\n%s", b.String(), want)
	}
	if !Closes(&evs[1], &evs[2]) || Closes(&evs[0], &evs[2]) || Closes(&evs[1], &evs[1]) {
		t.Error("Closes pairs the wrong events")
	}
	other := evs[2]
	other.Task = 9
	if Closes(&evs[1], &other) {
		t.Error("an exit of another task closes the entry")
	}
	if s := GraphOpen(&evs[0], nil); s != "tracing_test_fn(skb=0x10, len=14) {" {
		t.Errorf("GraphOpen = %q", s)
	}
}

// TestEventIsOneCacheLine: an event fits a 64-byte cache line, which keeps
// tracing into a ring cheap.
func TestEventIsOneCacheLine(t *testing.T) {
	if n := unsafe.Sizeof(Event{}); n != 64 {
		t.Errorf("sizeof(Event) = %d, want 64", n)
	}
	e := Event{}.WithArgs(Int(-5), Skb(0xffff888004000000), Size(128))
	if e.NArg != 2 || e.Arg(0) != Skb(0xffff888004000000) || e.Arg(1) != Size(128) || e.Arg(2).Kind != ArgNone || e.Ret() != Int(-5) {
		t.Errorf("WithArgs: %+v", e)
	}
}

// TestSubscribeTraceMatchesSubscribe checks the recorder's direct path: a
// trace writer subscribed with SubscribeTrace, alone and read through a
// WordClock, writes the same bytes as one subscribed with Subscribe(w.Event)
// under a clock that is called, for every kind of trace point; with a ring
// or a second listener attached on the way, it still gets every event.
func TestSubscribeTraceMatchesSubscribe(t *testing.T) {
	record := func(direct bool) ([]byte, int) {
		var buf bytes.Buffer
		w, err := NewTraceWriter(&buf, TraceHeader{Funcs: []string{}}, TraceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var clk Clock = &fakeClock{}
		set := func(v int64) { clk.(*fakeClock).now = v }
		if direct {
			wc := &wordClock{}
			clk, set = wc, func(v int64) { wc.now = v }
		}
		tr := NewTracer(clk)
		if direct {
			tr.SubscribeTrace(w)
		} else {
			tr.Subscribe(w.Event)
		}
		seen, second := 0, 0
		for i := range 3000 {
			set(int64(i/7) * 1000)
			tr.SetTask(uint32(i / 500))
			switch i % 500 {
			case 100:
				tr.SetRing(NewRing(64))
			case 200:
				tr.SetRing(nil)
			case 300:
				second = tr.Subscribe(func(*Event) { seen++ })
			case 400:
				tr.Unsubscribe(second)
			}
			addr := 0xffff888004a3c000 + uint64(i%97)*256
			tr.Enter(testFn)
			tr.Enter1(testFn, Skb(addr))
			tr.Enter2(testFn, Sock(addr), Int(int64(i)))
			tr.Enter3(testFn, Skb(addr), Size(uint64(i)), Bool(i%2 == 0))
			tr.Point(testFn, Reason(uint64(i%5)), Arg{})
			tr.Point(testFn, Arg{}, Int(-int64(i)))
			tr.Point(testFn, Arg{}, Arg{})
			// An argument of no kind is no argument, whatever its
			// value: both paths drop it.
			tr.Point(testFn, Arg{Val: 5}, Arg{})
			tr.Point(testFn, Int(1), Arg{Val: 9})
			tr.Exit(testFn, Errno(-int64(i%3)))
			tr.Exit(testFn, Arg{})
			tr.Exit(testFn, Skb(addr))
			tr.Exit(testFn, Int(0))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), seen
	}
	via, seenVia := record(false)
	direct, seenDirect := record(true)
	if !bytes.Equal(via, direct) {
		t.Fatalf("SubscribeTrace wrote %d bytes, Subscribe(w.Event) %d; equal %v", len(direct), len(via), bytes.Equal(via, direct))
	}
	if seenVia != seenDirect || seenVia == 0 {
		t.Fatalf("the second listener saw %d and %d events", seenVia, seenDirect)
	}
	r, err := NewTraceReader(bytes.NewReader(direct), "direct")
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind == RecordEvent {
			events++
		}
	}
	if events != 3000*13 {
		t.Fatalf("the trace reads back %d events, want %d", events, 3000*13)
	}
}
