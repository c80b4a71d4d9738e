package ui

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// watchedKernel boots the test kernel's activity (a server listening on
// 127.0.0.1:8080, a client connected that sent 5 bytes) with the
// inspector built first, so its feed saw every kernel function from the
// first socket() on.
func watchedKernel(t *testing.T) (*stack.Kernel, *Model) {
	t.Helper()
	k := freshKernel(t)
	m := newTestModel(t, k)
	srv, _ := k.NewProcess("server")
	cli, _ := k.NewProcess("client")
	if _, err := srv.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 16); err != nil {
		t.Fatal(err)
	}
	c, err := cli.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	return k, m
}

// TestStepThroughSocket: a breakpoint at __sys_socket, socket() typed in
// the console pane, then s, s, s... in the zoomed trace pane: the stop
// walks socket()'s path as KERNEL.md section 1 lists it, and at every
// stop the screen names the current function, its kernel file and the
// project's explanation of it, marked "<- STEPPING".
func TestStepThroughSocket(t *testing.T) {
	k := freshKernel(t)
	m := newTestModel(t, k)
	d := drive(t, m)
	d.keys(":")
	d.typeText("break __sys_socket")
	d.keys("enter")
	d.until("the breakpoint", func() bool { return strings.HasPrefix(m.status, "breakpoint #1") })
	d.keys("9")
	d.line("socket(..., SOCK_STREAM, IPPROTO_TCP)")
	d.until("the stop at __sys_socket", func() bool { return m.ctx.Frame.Stop != nil })
	if got := paneText(d.screen()); !strings.Contains(got, "... running; stepping has stopped the kernel at __sys_socket") {
		t.Errorf("the console does not say its line is stopped in the kernel:\n%s", got)
	}
	d.keys("esc", "3", "z")

	want := []string{"__sys_socket", "__sys_socket_create|sock_create", "__sock_create", "sock_alloc", "inet_create",
		"sk_alloc", "sk_prot_alloc"}
	var path []string
	var golden string
	for step := 0; len(want) > 0; step++ {
		st := m.ctx.Frame.Stop
		if st == nil || step > 80 {
			t.Fatalf("the stepping ended before %s; it went %s", want[0], strings.Join(path, " "))
		}
		f := tracing.FuncByID(st.Event.Func)
		screen := d.screen()
		text := paneText(screen)
		for _, w := range []string{"trace: " + f.Name + " (" + f.File + ")", f.Name + "()  " + f.File, "stopped at its ",
			"<- STEPPING", "call stack: __sys_socket"} {
			if !strings.Contains(text, w) {
				t.Fatalf("stopped at %s, the screen lacks %q:\n%s", f.Name, w, screen)
			}
		}
		if !strings.Contains(squashSpace(text), squashSpace(f.Explain)) {
			t.Fatalf("stopped at %s, the screen lacks its explanation %q:\n%s", f.Name, f.Explain, screen)
		}
		if m.panes[m.focus].(Cursorable).FuncUnderCursor() != f.Name {
			t.Errorf("stopped at %s, the cursor is on %s", f.Name, m.panes[m.focus].(Cursorable).FuncUnderCursor())
		}
		if st.Event.Kind == tracing.Entry {
			path = append(path, f.Name)
			if slices.Contains(strings.Split(want[0], "|"), f.Name) {
				want = want[1:]
			}
			if f.Name == "inet_create" {
				golden = screen
			}
		}
		if len(want) == 0 {
			break
		}
		seq := st.Event.Seq
		d.keys("s")
		d.until("the next stop", func() bool { s := m.ctx.Frame.Stop; return s == nil || s.Event.Seq != seq })
	}
	t.Logf("socket() stopped at %s", strings.Join(path, " "))
	requireGolden(t, golden)

	// c runs the call to its end; the console shows its result.
	d.keys("c")
	d.until("the kernel to run", func() bool { return m.ctx.Frame.Stop == nil })
	d.keys("9")
	d.settled()
	if got := paneText(d.screen()); !strings.Contains(got, "> socket(..., SOCK_STREAM, IPPROTO_TCP)\n= 3\n") {
		t.Errorf("after c, the console lacks socket()'s result:\n%s", got)
	}
}

// squashSpace folds runs of white space to one space.
func squashSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestTraceFollowsTheGraph: the trace pane, zoomed, after the test
// kernel's activity: the end of the client's write, newest at the bottom
// under the cursor.
func TestTraceFollowsTheGraph(t *testing.T) {
	_, m := watchedKernel(t)
	screen := runKeys(t, m, "3", "z")
	text := paneText(screen)
	for _, w := range []string{"╔═ 3 trace ═", "client-3       │ ", "> ", "} = 5 /* __sys_sendto */\n╚",
		"kfree_skbmem(skb=0x"} {
		if !strings.Contains(text, w) {
			t.Errorf("the trace pane lacks %q:\n%s", w, screen)
		}
	}
	requireGolden(t, screen)
}

// collectTrace boots the test kernel's activity with a collector and the
// console's graph writer subscribed from the start.
func collectTrace(t *testing.T) (*stack.Kernel, []tracing.Event, string) {
	t.Helper()
	k := freshKernel(t)
	var evs []tracing.Event
	var graph strings.Builder
	g := tracing.NewGraph(&graph, k)
	if _, err := k.Subscribe(func(ev *tracing.Event) { evs = append(evs, *ev) }); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Subscribe(g.Event); err != nil {
		t.Fatal(err)
	}
	srv, _ := k.NewProcess("server")
	cli, _ := k.NewProcess("client")
	if _, err := srv.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 16); err != nil {
		t.Fatal(err)
	}
	c, err := cli.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := k.Sync(); err != nil {
		t.Fatal(err)
	}
	var out []tracing.Event
	var text string
	if _, err := k.Do("read", func(*stack.Kernel) any {
		out = append(out, evs...)
		_ = g.Close()
		text = graph.String()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return k, out, text
}

// refreshTraceIn feeds a pane the events as frames would: each frame the
// newest frameEvents up to a point, every step events later.
func refreshTraceIn(p *tracePane, c *Context, evs []tracing.Event, step int) {
	for end := min(step, len(evs)); ; end = min(end+step, len(evs)) {
		c.Frame = &Frame{Events: evs[max(end-frameEvents, 0):end]}
		p.Refresh(c)
		if end == len(evs) {
			return
		}
	}
}

// TestTraceIsTheConsolesGraph: however the events are cut into frames,
// the pane's lines are the console's function graph (tracing.Graph), line
// for line: entries open blocks, exits close them, leaves fold.
func TestTraceIsTheConsolesGraph(t *testing.T) {
	k, evs, graph := collectTrace(t)
	want := strings.Split(strings.TrimSuffix(graph, "\n"), "\n")
	for _, step := range []int{1, 2, 7, 100, len(evs)} {
		p := newTracePane()
		p.SetSize(150, 40)
		refreshTraceIn(p, &Context{K: k, Styles: NewStyles(true), Keys: DefaultKeys()}, evs, step)
		var got []string
		for _, l := range p.lines {
			got = append(got, strings.Repeat("  ", int(l.depth))+l.text)
		}
		if !slices.Equal(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("frames of %d events: line %d is %q, the console prints %q", step, i, got[i], want[i])
				}
			}
			t.Fatalf("frames of %d events: %d lines, the console prints %d", step, len(got), len(want))
		}
		if p.cursor != len(got)-1 || !p.follow {
			t.Errorf("frames of %d events: the cursor is on line %d of %d, following %v", step, p.cursor, len(got), p.follow)
		}
	}
}

// TestTraceScrollsUpAndFollowsAgain: up stops following (new events do
// not move the cursor), g goes to the first line, b breaks at its
// function, G and end follow the newest again.
func TestTraceScrollsUpAndFollowsAgain(t *testing.T) {
	k, m := watchedKernel(t)
	d := drive(t, m)
	d.keys("3", "z", "g")
	p := m.panes[2].(*tracePane)
	if p.follow || p.cursor != 0 {
		t.Fatalf("g: cursor %d following %v", p.cursor, p.follow)
	}
	first := p.FuncUnderCursor()
	if first != "__sys_socket" {
		t.Errorf("the first line is %s, want the server's __sys_socket", first)
	}
	text := paneText(d.screen())
	if !strings.Contains(text, "trace: scrolled, line 1 of") || !strings.Contains(text, "> server-2       │ __sys_socket(family=2, type=524289, protocol=6) {") {
		t.Errorf("g did not show the first line under the cursor:\n%s", d.screen())
	}
	d.keys("down", "down")
	at := p.cursorNo()
	// New events arrive; the cursor stays on its line.
	cli, _ := k.NewProcess("late")
	if _, err := cli.Socket(2, 1, 6); err != nil {
		t.Fatal(err)
	}
	d.frame()
	if p.follow || p.cursorNo() != at {
		t.Errorf("new events moved the cursor from line %d to %d (following %v)", at, p.cursorNo(), p.follow)
	}
	d.keys("G")
	if !p.follow || p.cursor != p.n-1 {
		t.Errorf("G: cursor %d of %d, following %v", p.cursor, p.n, p.follow)
	}
	d.keys("up", "end")
	if !p.follow || p.cursor != p.n-1 {
		t.Errorf("end: cursor %d of %d, following %v", p.cursor, p.n, p.follow)
	}
	d.keys("g", "b")
	d.until("the breakpoint", func() bool { return strings.HasPrefix(m.status, "breakpoint") })
	if m.status != "breakpoint #1 at __sys_socket()" {
		t.Errorf("b on the first line: %q", m.status)
	}
}

// TestTraceFilterNarrowsLines: / keeps the lines that contain the text.
func TestTraceFilterNarrowsLines(t *testing.T) {
	_, m := watchedKernel(t)
	d := drive(t, m)
	d.keys("3", "z", "/")
	d.typeText("kmem_cache_alloc(s=TCP)")
	d.keys("enter")
	p := m.panes[2].(*tracePane)
	if p.n == 0 || p.n >= len(p.lines) {
		t.Fatalf("the filter kept %d of %d lines", p.n, len(p.lines))
	}
	for i := range p.n {
		if l := p.row(i); !strings.Contains(l.text, "kmem_cache_alloc(s=TCP)") {
			t.Errorf("row %d %q does not match", i, l.text)
		}
	}
	// New events are filtered as they come.
	d.keys("9")
	d.line("socket(..., SOCK_STREAM, IPPROTO_TCP)")
	d.settled()
	d.keys("esc", "3")
	if last := p.row(p.n - 1); !strings.Contains(last.text, "kmem_cache_alloc(s=TCP)") || p.n < 2 {
		t.Errorf("after socket(), %d rows, the last %q", p.n, last.text)
	}
	d.keys("esc", "esc") // unzoom, then clear the filter
	if m.filters[2] != "" || p.n != len(p.lines) {
		t.Errorf("esc left %d of %d lines", p.n, len(p.lines))
	}
}

// TestTraceShowsTheTaskWhereItChanges: the events of two tasks
// interleave; each run of one task's lines starts with TASK-PID.
func TestTraceShowsTheTaskWhereItChanges(t *testing.T) {
	fn := func(name string) tracing.FuncID {
		f, ok := tracing.Lookup(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		return f.ID
	}
	rcv, lookup, sendmsg := fn("tcp_v4_rcv"), fn("__inet_lookup_skb"), fn("tcp_sendmsg")
	evs := []tracing.Event{
		{Seq: 1, Func: sendmsg, Kind: tracing.Entry, Task: 4},
		{Seq: 2, Func: rcv, Kind: tracing.Entry, Task: 0},
		{Seq: 3, Func: lookup, Kind: tracing.Entry, Depth: 1, Task: 0},
		{Seq: 4, Func: lookup, Kind: tracing.Exit, Depth: 1, Task: 0},
		{Seq: 5, Func: rcv, Kind: tracing.Exit, Task: 0},
		tracing.Event{Seq: 6, Func: sendmsg, Kind: tracing.Exit, Task: 4}.WithArgs(tracing.Int(5)),
	}
	p := newTracePane()
	p.SetSize(80, 10)
	c := &Context{Styles: NewStyles(true), Keys: DefaultKeys(),
		Frame: &Frame{Events: evs, Snap: &stack.Snapshot{Processes: []stack.ProcessSnap{{Pid: 4, Comm: "curl"}}}}}
	p.Refresh(c)
	got := strings.Split(ansi.Strip(p.View(c)), "\n")[:5]
	want := []string{
		"  curl-4         │ tcp_sendmsg() {",
		"  <idle>-0       │ tcp_v4_rcv() {",
		"                 │   __inet_lookup_skb();",
		"                 │ } /* tcp_v4_rcv */",
		"> curl-4         │ } = 5 /* tcp_sendmsg */",
	}
	for i := range want {
		if strings.TrimRight(got[i], " ") != want[i] {
			t.Errorf("line %d is %q, want %q", i, strings.TrimRight(got[i], " "), want[i])
		}
	}
	// Events lost between frames are said to be lost.
	c.Frame = &Frame{Events: []tracing.Event{{Seq: 20, Func: rcv, Kind: tracing.Point}}}
	p.Refresh(c)
	if l := p.row(p.n - 2); !strings.Contains(l.text, "13 events not shown") {
		t.Errorf("a gap of 13 events shows as %q", l.text)
	}
}

// BenchmarkTraceFrame: one frame of 4096 new events, laid out and drawn.
func BenchmarkTraceFrame(b *testing.B) {
	f, _ := tracing.Lookup("tcp_v4_rcv")
	evs := make([]tracing.Event, frameEvents)
	p := newTracePane()
	p.SetSize(150, 40)
	c := &Context{Styles: NewStyles(true), Keys: DefaultKeys()}
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		for i := range evs {
			seq++
			kind := tracing.Entry
			if i%2 == 1 {
				kind = tracing.Exit
			}
			evs[i] = tracing.Event{Seq: seq, Func: f.ID, Kind: kind}.WithArgs(tracing.Arg{}, tracing.Skb(0xffff888004000000))
		}
		c.Frame = &Frame{Events: evs}
		p.Refresh(c)
		_ = p.View(c)
	}
}
