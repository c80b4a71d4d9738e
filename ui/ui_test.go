package ui

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// Golden tests run at this size with the Ascii profile.
const testW, testH = 160, 45

// testKernel boots a kernel on a virtual clock (seed 1) with a
// "server" process listening on 127.0.0.1:8080 and a "client" process
// connected to it, which has sent 5 bytes the server has not read. The
// fixture is the same on every run, so golden files are stable.
func testKernel(t *testing.T) (*stack.Kernel, *stack.Process, *stack.Process) {
	t.Helper()
	k, err := stack.New(stack.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	t.Cleanup(k.Stop)
	srv, _ := k.NewProcess("server")
	cli, _ := k.NewProcess("client")
	l, err := srv.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 16)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cli.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = l
	return k, srv, cli
}

// newTestModel builds the inspector over k in test mode.
func newTestModel(t *testing.T, k *stack.Kernel) *Model {
	t.Helper()
	m, err := New(&KernelSource{K: k, SourceMode: ModeDemo, SourceTitle: "test kernel"}, Options{TestMode: true, Dark: true, Stepping: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// runKeys runs the model in a teatest program at the golden size: a
// first frame, then each message (keys as strings, or tea.Msgs), each
// followed by a fresh frame; it returns the final screen as plain text.
func runKeys(t *testing.T, m *Model, msgs ...any) string {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(testW, testH),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	frames := m.frameCount() // a model may be run more than once
	waitFrame := func() {
		frames++
		want := frames
		deadline := time.Now().Add(5 * time.Second)
		for m.frameCount() < want {
			if time.Now().After(deadline) {
				t.Fatalf("no frame %d", want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	tm.Send(RefreshMsg{})
	waitFrame()
	for _, msg := range msgs {
		switch v := msg.(type) {
		case string:
			tm.Send(keyMsg(v))
		case tea.Msg:
			tm.Send(v)
		}
		tm.Send(RefreshMsg{})
		waitFrame()
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	return ansi.Strip(fm.View().Content)
}

// keyMsg turns a key name into a key press ("tab", "j", "ctrl+b", "?").
func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "ctrl+b":
		return tea.KeyPressMsg{Code: 'b', Mod: tea.ModCtrl}
	}
	r := []rune(s)
	return tea.KeyPressMsg{Code: r[0], Text: s}
}

// requireGolden compares a screen with testdata/NAME.golden (go test
// -update rewrites it).
func requireGolden(t *testing.T, screen string) {
	t.Helper()
	golden.RequireEqual(t, []byte(screen))
}

func TestMain(m *testing.M) {
	// Golden files live next to the tests.
	_ = os.MkdirAll(filepath.Join("testdata"), 0o755)
	os.Exit(m.Run())
}

// TestMainScreen: the grid of six panes with their numbers and names, the
// status bar and the key line.
func TestMainScreen(t *testing.T) {
	k, _, _ := testKernel(t)
	screen := runKeys(t, newTestModel(t, k))
	for _, want := range []string{"1 sockets", "2 queues", "3 trace", "4 skb", "5 slab", "6 hash", " DEMO ", "? help", "127.0.0.1:8080"} {
		if !strings.Contains(screen, want) {
			t.Errorf("main screen lacks %q:\n%s", want, screen)
		}
	}
	if n := strings.Count(screen, "\n") + 1; n != testH {
		t.Errorf("screen has %d lines, want %d", n, testH)
	}
	requireGolden(t, screen)
}

// TestHelpListsEveryKey: ? shows every global binding and the panes' own.
func TestHelpListsEveryKey(t *testing.T) {
	k, _, _ := testKernel(t)
	m := newTestModel(t, k)
	screen := runKeys(t, m, "?")
	for _, g := range m.ctx.Keys.Global() {
		for _, b := range g {
			if !strings.Contains(screen, b.Help().Desc) {
				t.Errorf("help lacks %q", b.Help().Desc)
			}
		}
	}
}

var _ = sockets.AF_INET

// TestMouseClickFocusesAPane: with the mouse on, a click in a grid cell
// focuses that pane and the wheel moves its cursor.
func TestMouseClickFocusesAPane(t *testing.T) {
	k, _, _ := testKernel(t)
	m := newTestModel(t, k)
	screen := runKeys(t, m, "m", tea.MouseClickMsg{X: 120, Y: 30, Button: tea.MouseLeft})
	if m.focus != 5 || !strings.Contains(screen, "[hash]") {
		t.Errorf("a click at (120, 30) focused pane %d, want 6 (hash)", m.focus+1)
	}
	m2 := newTestModel(t, k)
	runKeys(t, m2, "m", tea.MouseWheelMsg{X: 10, Y: 5, Button: tea.MouseWheelDown})
	if sp := m2.panes[0].(*socketsPane); sp.cursor != 1 {
		t.Errorf("the wheel left the sockets cursor at %d, want 1", sp.cursor)
	}
}

// TestTinyAndOddSizesDoNotPanic: every pane, in the grid and zoomed, and
// the help, render at sizes from a postage stamp up, with exactly the
// screen's number of lines.
func TestTinyAndOddSizesDoNotPanic(t *testing.T) {
	k, _, _ := testKernel(t)
	m := newTestModel(t, k)
	msg := m.fetch()()
	m.Update(msg)
	for _, sz := range [][2]int{{1, 1}, {10, 3}, {20, 5}, {41, 9}, {80, 24}, {300, 100}} {
		m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		for i := range m.panes {
			m.setFocus(i)
			for _, zoom := range []bool{false, true} {
				m.zoom = zoom
				m.layout()
				if n := strings.Count(m.View().Content, "\n") + 1; n < sz[1] && sz[1] >= 3 {
					t.Errorf("%dx%d pane %d zoom %v: %d lines", sz[0], sz[1], i+1, zoom, n)
				}
			}
		}
		m.help = true
		_ = m.View()
		m.help = false
	}
}
