package ui

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stackscope/stackscope/stack"
)

// driver runs a Model as Bubble Tea does, but on the test's goroutine:
// every message goes through Update here, and every command runs on a
// goroutine of its own and sends its message back. The model can be read
// between messages without a race, and a test can wait for a state (a
// console line blocked, a stop at the next function) instead of a time.
type driver struct {
	t    *testing.T
	m    *Model
	msgs chan tea.Msg
}

func drive(t *testing.T, m *Model) *driver {
	t.Helper()
	d := &driver{t: t, m: m, msgs: make(chan tea.Msg, 4096)}
	d.handle(tea.WindowSizeMsg{Width: testW, Height: testH})
	n := m.frameCount()
	d.handle(RefreshMsg{})
	d.until("the first frame", func() bool { return m.frameCount() > n })
	return d
}

func (d *driver) handle(msg tea.Msg) {
	switch msg := msg.(type) {
	case nil, tea.QuitMsg:
		return
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
		return
	}
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd != nil {
		go func() { d.msgs <- cmd() }()
	}
}

// until handles messages, with a fresh frame asked for every 10 ms as the
// ticker would, until cond holds.
func (d *driver) until(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case msg := <-d.msgs:
			d.handle(msg)
		case <-tick.C:
			d.handle(RefreshMsg{})
		case <-deadline:
			d.t.Fatalf("waited 10 s for %s; the screen:\n%s", what, d.screen())
		}
	}
}

// keys presses keys by name ("tab", "esc", "s").
func (d *driver) keys(keys ...string) {
	for _, k := range keys {
		d.handle(keyMsg(k))
	}
}

// typeText types text one key at a time.
func (d *driver) typeText(text string) {
	for _, r := range text {
		d.handle(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// frame waits for a frame sampled after now.
func (d *driver) frame() {
	n := d.m.frameCount()
	d.until("a new frame", func() bool { return d.m.frameCount() > n+1 })
}

func (d *driver) screen() string { return ansi.Strip(d.m.View().Content) }

func (d *driver) console() *consolePane {
	for _, p := range d.m.panes {
		if c, ok := p.(*consolePane); ok {
			return c
		}
	}
	d.t.Fatal("no console pane")
	return nil
}

// line types a line into the focused console and presses enter.
func (d *driver) line(text string) {
	d.typeText(text)
	d.keys("enter")
}

// settled waits until no console line is running (each is done or
// blocked).
func (d *driver) settled() {
	c := d.console()
	d.until("the console's lines", func() bool {
		for _, e := range c.entries {
			if e.state == conRunning {
				return false
			}
		}
		return true
	})
	d.frame()
}

// paneText is a screen's text without the boxes' side borders and the
// spaces that pad each line.
func paneText(screen string) string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " ")
		l = strings.TrimSuffix(strings.TrimSuffix(l, "║"), "│")
		l = strings.TrimPrefix(strings.TrimPrefix(l, "║"), "│")
		lines[i] = strings.TrimPrefix(strings.TrimRight(l, " "), " ")
	}
	return strings.Join(lines, "\n")
}

func freshKernel(t *testing.T) *stack.Kernel {
	t.Helper()
	k, err := stack.New(stack.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	t.Cleanup(k.Stop)
	return k
}

// TestConsoleRunsALineAndShowsItsResult: typed into the console pane, a
// line runs as the process "console" and its result appears under it;
// keys that are global elsewhere (s, q, :, /, digits) are text here.
func TestConsoleRunsALineAndShowsItsResult(t *testing.T) {
	k := freshKernel(t)
	d := drive(t, newTestModel(t, k))
	d.keys("9")
	d.line("socket(..., SOCK_STREAM, IPPROTO_TCP)")
	d.line("bind(3, 127.0.0.1:8080)")
	d.line("socket(..., SOCK_STREAM, IPPROTO_TCP)")
	d.line("bind(4, 127.0.0.1:8080)")
	d.line("listen(3 5)")
	d.settled()
	screen := d.screen()
	text := paneText(screen)
	for _, want := range []string{
		"> socket(..., SOCK_STREAM, IPPROTO_TCP)\n= 3\n> bind(3, 127.0.0.1:8080)\n= 0\n",
		"> bind(4, 127.0.0.1:8080)\n= -1 EADDRINUSE (Address already in use)\n",
		"> listen(3 5)\nerror: expected \",\" after the fd (column 10)\n  listen(3 5)\n           ^\n",
		"console: pid 2 (console), sockets on fds 3 4",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the console lacks %q:\n%s", want, screen)
		}
	}
	if d.m.focus != 8 || d.m.zoom || d.m.inputKind != 0 || d.m.help {
		t.Errorf("typing reached the global keys: focus %d zoom %v input %q help %v", d.m.focus, d.m.zoom, d.m.inputKind, d.m.help)
	}
	// The kernel has the console's sockets.
	snap, err := k.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var fds int
	for _, p := range snap.Processes {
		if p.Comm == "console" {
			for _, fd := range p.Fds {
				if fd.Sk != "" {
					fds++
				}
			}
		}
	}
	if fds != 2 {
		t.Errorf("the console process holds %d sockets, want 2", fds)
	}
	requireGolden(t, screen)
}

// TestConsoleTypesTheGlobalKeys: while the console takes text, s, n, q,
// /, :, z and digits are letters of the line; esc hands the keys back and
// tab still moves on.
func TestConsoleTypesTheGlobalKeys(t *testing.T) {
	k := freshKernel(t)
	d := drive(t, newTestModel(t, k))
	d.keys("9")
	d.typeText("snq/:z?12 ")
	c := d.console()
	if got := c.input.Value(); got != "snq/:z?12 " {
		t.Errorf("the input holds %q", got)
	}
	if d.m.focus != 8 || d.m.zoom || d.m.help || d.m.inputKind != 0 {
		t.Errorf("a typed key acted: focus %d zoom %v help %v input %q", d.m.focus, d.m.zoom, d.m.help, d.m.inputKind)
	}
	d.keys("esc")
	if c.Typing() {
		t.Fatal("esc did not stop typing")
	}
	d.keys("?")
	if !d.m.help {
		t.Error("after esc, ? did not open the help")
	}
	d.keys("?", "i")
	if !c.Typing() {
		t.Error("i did not resume typing")
	}
	d.keys("tab")
	if d.m.focus != 0 {
		t.Errorf("tab while typing went to pane %d, want 0", d.m.focus)
	}
}

// TestConsoleRecallsLinesWithUpAndDown, as a shell does.
func TestConsoleRecallsLinesWithUpAndDown(t *testing.T) {
	k := freshKernel(t)
	d := drive(t, newTestModel(t, k))
	d.keys("9")
	d.line("socket(..., SOCK_STREAM, IPPROTO_TCP)")
	d.line("close(3)")
	d.typeText("lis")
	c := d.console()
	for _, step := range []struct{ key, want string }{
		{"up", "close(3)"}, {"up", "socket(..., SOCK_STREAM, IPPROTO_TCP)"}, {"up", "socket(..., SOCK_STREAM, IPPROTO_TCP)"},
		{"down", "close(3)"}, {"down", "lis"},
	} {
		d.keys(step.key)
		if got := c.input.Value(); got != step.want {
			t.Errorf("after %s the input holds %q, want %q", step.key, got, step.want)
		}
	}
	d.settled()
}

// TestConsoleBlockingAcceptFinishesWhenAnotherProcessConnects: accept on
// an empty queue shows as blocked while the UI goes on, and returns the
// new connection when a second process of the kernel connects.
func TestConsoleBlockingAcceptFinishesWhenAnotherProcessConnects(t *testing.T) {
	k := freshKernel(t)
	d := drive(t, newTestModel(t, k))
	d.keys("9")
	d.line("socket(..., SOCK_STREAM, IPPROTO_TCP)")
	d.line("bind(3, 127.0.0.1:8080)")
	d.line("listen(3, 5)")
	d.line("+0 accept(3, ..., ...)")
	d.settled()
	c := d.console()
	if e := c.entries[3]; e.state != conBlocked {
		t.Fatalf("accept on an empty queue: state %d, out %q", e.state, e.out)
	}
	if screen := d.screen(); !strings.Contains(screen, "... blocked: accept sleeps until the kernel wakes it") {
		t.Errorf("the console does not show the accept blocked:\n%s", screen)
	}
	// The UI answers keys meanwhile, and the console takes more lines.
	d.line("getsockname(3, ..., ...)")
	d.until("getsockname", func() bool { return len(c.entries) == 5 && c.entries[4].state == conDone })
	if got := c.entries[4].out; len(got) != 1 || got[0] != "= 0 [127.0.0.1:8080]" {
		t.Errorf("getsockname while accept sleeps: %q", got)
	}
	other, err := k.NewProcess("client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	d.until("the accept", func() bool { return c.entries[3].state == conDone })
	d.frame()
	if got := c.entries[3].out; len(got) != 1 || !strings.HasPrefix(got[0], "= 4 [peer 127.0.0.1:") {
		t.Errorf("accept returned %q", got)
	}
	if screen := d.screen(); !strings.Contains(screen, "= 4 [peer 127.0.0.1:") || strings.Contains(screen, "blocked") {
		t.Errorf("the console does not show the accept done:\n%s", screen)
	}
}
