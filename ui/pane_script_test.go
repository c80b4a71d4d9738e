package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/stackscope/stackscope/scenario"
)

// scriptSrc is a short passive open, written for this test.
const scriptSrc = `// A passive open, for the inspector's script pane.
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
`

func scriptModel(t *testing.T, src string) (*Model, *ScriptSource) {
	t.Helper()
	s, err := scenario.Parse("pane.pkt", src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := scenario.NewRunner(s)
	if err != nil {
		t.Fatal(err)
	}
	ss := NewScriptSource(r)
	t.Cleanup(func() { _ = ss.Close() })
	m, err := New(ss, Options{TestMode: true, Dark: true, Stepping: true})
	if err != nil {
		t.Fatal(err)
	}
	return m, ss
}

// TestScriptPaneStepsLineByLine: a script run opens on its script pane
// (SCRIPT in the status bar), enter runs one line at a time and the ">"
// moves to the next; at the end the pane says PASS and the sockets pane
// holds the accepted connection.
func TestScriptPaneStepsLineByLine(t *testing.T) {
	m, ss := scriptModel(t, scriptSrc)
	d := drive(t, m)
	if got := paneText(d.screen()); !strings.Contains(got, " SCRIPT ") || !strings.Contains(got, ">    2      0 socket(") {
		t.Fatalf("the script run does not open on its script:\n%s", d.screen())
	}
	d.keys("enter")
	d.until("line 2 to run", func() bool { return ss.State().Ran == 2 })
	// The pane hears of it when the line's message arrives, a moment later.
	d.until("the pane to mark line 3 next", func() bool {
		return strings.Contains(paneText(d.screen()), ">    3     +0 bind(")
	})
	d.keys("r")
	deadline := time.Now().Add(5 * time.Second)
	for !ss.State().Done {
		if time.Now().After(deadline) {
			t.Fatal("r did not run the script to its end")
		}
		d.frame()
	}
	d.frame()
	screen := d.screen()
	if st := ss.State(); st.Err != nil || !strings.Contains(screen, "done (PASS)") {
		t.Fatalf("the script did not pass (%v):\n%s", st.Err, screen)
	}
	requireGolden(t, screen)
	d.keys("1")
	if got := paneText(d.screen()); !strings.Contains(got, "ESTAB") {
		t.Errorf("the accepted connection is not in the sockets pane:\n%s", got)
	}
}

// TestScriptPaneShowsTheFailure: a line that does not match stops the run;
// the pane marks it X and prints the runner's message.
func TestScriptPaneShowsTheFailure(t *testing.T) {
	m, ss := scriptModel(t, strings.Replace(scriptSrc, "S. 0:0(0) ack 1 <mss 1460", "S. 0:0(0) ack 1 <mss 1400", 1))
	d := drive(t, m)
	d.keys("r")
	d.until("the failure", func() bool { return ss.State().Err != nil })
	d.frame()
	got := paneText(d.screen())
	if !strings.Contains(got, "FAILED at line 6") || !strings.Contains(got, "X    6") || !strings.Contains(got, "mss") {
		t.Errorf("the failure is not shown:\n%s", got)
	}
}
