package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// tmuxSession runs the stackscope binary in a detached tmux session at
// 160x45 and returns a handle; the session is killed at the end.
type tmuxSession struct {
	t    *testing.T
	name string
}

func startTmux(t *testing.T, args ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (Debian: tmux); the inspector's end-to-end test is skipped")
	}
	bin := filepath.Join(t.TempDir(), "stackscope")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := &tmuxSession{t: t, name: fmt.Sprintf("stk-test-%d", os.Getpid())}
	cmd := append([]string{"new-session", "-d", "-s", s.name, "-x", "160", "-y", "45", bin}, args...)
	if out, err := exec.Command("tmux", cmd...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("tmux", "kill-session", "-t", s.name).Run()
		// Nothing of ours may be left running, once it has had a moment
		// to finish closing (a busy machine makes that take a while).
		var out []byte
		for deadline := time.Now().Add(5 * time.Second); ; {
			out, _ = exec.Command("pgrep", "-f", bin).Output()
			if strings.TrimSpace(string(out)) == "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if strings.TrimSpace(string(out)) != "" {
			t.Errorf("stackscope still running 5 s after the test: pids %s", out)
		}
	})
	return s
}

// keys sends tmux key names ("Tab", "Escape", "q", "?"). After Escape it
// waits, as a person would, until the screen shows the key was taken (up
// to 2 s, at least 150 ms): an ESC followed at once by a key reads as
// alt+key, and on a busy machine a fixed pause was not always enough.
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		before := ""
		if k == "Escape" {
			before = s.screen()
		}
		if out, err := exec.Command("tmux", "send-keys", "-t", s.name, k).CombinedOutput(); err != nil {
			s.t.Fatalf("send-keys %q: %v\n%s", k, err, out)
		}
		if k == "Escape" {
			time.Sleep(150 * time.Millisecond)
			for deadline := time.Now().Add(2 * time.Second); s.screen() == before && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// screen captures the pane as text.
func (s *tmuxSession) screen() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	return string(out)
}

// waitFor waits until the screen contains every text, or fails.
func (s *tmuxSession) waitFor(texts ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		scr := s.screen()
		ok := true
		for _, t := range texts {
			ok = ok && strings.Contains(scr, t)
		}
		if ok {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q:\n%s", texts, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running reports whether the session still exists.
func (s *tmuxSession) running() bool {
	return exec.Command("tmux", "has-session", "-t", s.name).Run() == nil
}

// TestInspectorInTmux drives the real program: the demo opens with its
// panes labelled, keys switch and zoom panes, a filter narrows the
// sockets, ? lists the keys, the SYN burst fills the HTTP listener's SYN
// queue, and q quits, leaving nothing behind.
func TestInspectorInTmux(t *testing.T) {
	s := startTmux(t, "demo", "--every", "1h")
	s.waitFor(" DEMO ", "1 sockets", "2 queues", "3 trace", "4 skb", "5 slab", "6 hash", "*:80", "? help")
	s.keys("/", "8", "0", "Enter")
	scr := s.waitFor("/80", "*:80")
	if strings.Contains(scr, "*:7 ") || strings.Contains(scr, "*:19 ") {
		t.Errorf("the filter /80 still shows other listeners:\n%s", scr)
	}
	s.keys("Escape")
	for i, name := range []string{"sockets", "queues", "trace", "skb", "slab", "hash", "packets", "flow", "console"} {
		s.keys(fmt.Sprint(i + 1))
		s.waitFor(fmt.Sprintf("[%s]", name), fmt.Sprintf("%d %s", i+1, name))
	}
	// The console takes the keys while it has the focus; esc gives them back.
	s.keys("Escape", "1", "z")
	s.waitFor("1 sockets")
	s.keys("z", "?")
	s.waitFor("help: every key", "next pane", "step (into)", "SYN burst")
	s.keys("Escape", "S")
	s.waitFor("sent 200 SYNs")
	s.keys("q")
	deadline := time.Now().Add(5 * time.Second)
	for s.running() {
		if time.Now().After(deadline) {
			t.Fatalf("q did not quit:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopEvent finds the event number the trace pane says the kernel
// stopped at.
var stopEvent = regexp.MustCompile(`event #[0-9]+`)

// TestInspectorStepsThroughSocketInTmux: a breakpoint at __sys_socket, a
// socket() line typed into the console pane, then s again and again in
// the trace pane: the stops walk socket()'s path in KERNEL.md's order, and
// c lets the call finish with its file descriptor.
func TestInspectorStepsThroughSocketInTmux(t *testing.T) {
	s := startTmux(t, "demo", "--every", "1h")
	s.waitFor(" DEMO ", "1 sockets")
	s.keys(":")
	s.keys("break __sys_socket", "Enter")
	s.waitFor("breakpoint #1 at __sys_socket()")
	s.keys("9")
	s.waitFor("stackscope>")
	s.keys("socket(..., SOCK_STREAM, IPPROTO_TCP)", "Enter")
	s.waitFor("STEPPING")
	s.keys("Escape", "3", "z")
	want := []string{"__sys_socket", "__sock_create", "sock_alloc", "inet_create", "sk_alloc", "sk_prot_alloc"}
	var seen []string
	for step := 0; step < 80 && len(want) > 0; step++ {
		scr := s.waitFor("STEPPING", "trace: ")
		i := strings.Index(scr, "trace: ")
		fn := strings.Fields(scr[i+len("trace: "):])[0]
		if len(seen) == 0 || seen[len(seen)-1] != fn {
			seen = append(seen, fn)
		}
		if fn == want[0] {
			want = want[1:]
			continue
		}
		ev := stopEvent.FindString(scr)
		s.keys("s")
		deadline := time.Now().Add(5 * time.Second)
		for stopEvent.FindString(s.screen()) == ev && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(want) > 0 {
		t.Fatalf("stepping never reached %v; it went %v", want, seen)
	}
	t.Logf("socket() stopped at %v", seen)
	s.keys("c", "9")
	s.waitFor("= 3")
	s.keys("Escape", "q")
}

// TestRunOpensTheScriptInTmux: run NAME opens the inspector on the
// script (SCRIPT), enter runs one line, r the rest; the sockets pane then
// holds the connection the script made.
func TestRunOpensTheScriptInTmux(t *testing.T) {
	s := startTmux(t, "run", "handshake")
	s.waitFor(" SCRIPT ", "9 script: builtin/handshake.pkt, next line")
	s.keys("Enter")
	s.waitFor("next line 10 of")
	s.keys("r")
	s.waitFor("done (PASS)")
	s.keys("1")
	s.waitFor("ESTAB", "LISTEN")
	s.keys("q")
}

// TestReplayStepsBackThroughAHandshakeInTmux: a recorded handshake,
// replayed in the inspector, shows the queues as they were at each event,
// going forwards and backwards: the request sock in the SYN queue, then
// the child in the accept queue, then back to an empty SYN queue.
func TestReplayStepsBackThroughAHandshakeInTmux(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "hs.trace")
	if out, err := runCLI(t, "run", "handshake", "--check", "--record", trace); err != nil {
		t.Fatalf("record: %v\n%s", err, out)
	}
	// Where the request sock enters the SYN queue and the child the
	// accept queue, from the trace's own index.
	tl, err := stack.ScanTrace(func() (*tracing.TraceReader, error) { return tracing.OpenTrace(trace) })
	if err != nil {
		t.Fatal(err)
	}
	hashAdd, _ := tracing.Lookup("inet_csk_reqsk_queue_hash_add")
	queueAdd, _ := tracing.Lookup("inet_csk_reqsk_queue_add")
	var inSynQueue, inAcceptQueue uint64
	for i, e := range tl.Events {
		if e.Kind == tracing.Exit && e.Func == hashAdd.ID && inSynQueue == 0 {
			inSynQueue = uint64(i) + 1
		}
		if e.Kind == tracing.Exit && e.Func == queueAdd.ID && inAcceptQueue == 0 {
			inAcceptQueue = uint64(i) + 1
		}
	}
	if inSynQueue == 0 || inAcceptQueue <= inSynQueue {
		t.Fatalf("the handshake's trace has no SYN queue add (#%d) before an accept queue add (#%d)", inSynQueue, inAcceptQueue)
	}

	s := startTmux(t, "replay", trace)
	s.waitFor(" REPLAY ", "9 replay: "+trace+", next input 1 of")
	s.keys(":", fmt.Sprintf("goto %d", inAcceptQueue), "Enter")
	s.waitFor(fmt.Sprintf("event #%d of", inAcceptQueue))
	s.keys("2")
	s.waitFor("SYN queue qlen 0", "accept queue 1 / 8")
	// Back to where the request sock has just been hashed: it waits in the
	// SYN queue, nothing is in the accept queue yet.
	s.keys(":", fmt.Sprintf("goto %d", inSynQueue), "Enter")
	s.waitFor(fmt.Sprintf("ev %d ", inSynQueue), "SYN queue qlen 1", "NEW_SYN_RECV", "accept queue 0 / 8")
	// One step back at a time: before the request was hashed, the SYN
	// queue is empty again.
	for i := 0; i < 5; i++ {
		s.keys("p")
		s.waitFor(fmt.Sprintf("ev %d ", inSynQueue-uint64(i)-1))
	}
	s.waitFor("SYN queue qlen 0")
	// And forwards again with the stepping keys.
	for i := 0; i < 5; i++ {
		s.keys("s")
		s.waitFor(fmt.Sprintf("ev %d ", inSynQueue-4+uint64(i)))
	}
	s.waitFor("SYN queue qlen 1")
	s.keys("q")
}
