package main

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/scenario"
)

func TestScenariosListsEveryBuiltinAligned(t *testing.T) {
	out, err := runCLI(t, "scenarios")
	if err != nil {
		t.Fatal(err)
	}
	list, err := scenario.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(list) {
		t.Fatalf("%d lines for %d scenarios:\n%s", len(lines), len(list), out)
	}
	col := -1
	for i, b := range list {
		if !strings.HasPrefix(lines[i], b.Name+" ") || !strings.HasSuffix(lines[i], "  "+b.Description) {
			t.Errorf("line %d = %q, want %s and its description", i, lines[i], b.Name)
		}
		c := len(lines[i]) - len(b.Description)
		if col >= 0 && c != col {
			t.Errorf("line %d: description at column %d, not %d", i, c, col)
		}
		col = c
	}
	for _, name := range []string{"handshake", "accept-queue-overflow", "syn-cookies", "delayed-ack", "rto-backoff", "fast-retransmit", "nagle-cork", "zero-window", "close-active", "close-passive", "simultaneous-close", "shutdown-wr", "shutdown-rd", "skb-clone", "rst-closed-port", "active-open"} {
		if !strings.Contains(out, "\n"+name+" ") && !strings.HasPrefix(out, name+" ") {
			t.Errorf("%s missing from:\n%s", name, out)
		}
	}
}

func TestRunBuiltinByName(t *testing.T) {
	out, err := runCLI(t, "run", "handshake", "--check")
	if err != nil || out != "PASS handshake\n" {
		t.Errorf("run handshake --check: %q, %v", out, err)
	}
	out, err = runCLI(t, "run", "handshake", "--headless")
	if err != nil || !strings.Contains(out, "inet_csk_complete_hashdance(") || !strings.HasSuffix(out, "PASS handshake\n") {
		t.Errorf("run handshake --headless: %v\n%s", err, out)
	}
	// Without --headless it opens the inspector, which needs a terminal.
	if _, err := runCLI(t, "run", "handshake"); err == nil || !strings.Contains(err.Error(), "needs a terminal") {
		t.Errorf("run handshake without a terminal: %v", err)
	}
	_, err = runCLI(t, "run", "no-such-scenario")
	if err == nil || !strings.Contains(err.Error(), "neither a file nor a built-in scenario") || !strings.Contains(err.Error(), "handshake") {
		t.Errorf("an unknown name: %v", err)
	}
	if _, err := runCLI(t, "run"); err == nil || !strings.Contains(err.Error(), "--check") {
		t.Errorf("run without an argument: %v", err)
	}
}

// TestRunFileWinsOverBuiltin: a file named like a built-in scenario is
// the file.
func TestRunFileWinsOverBuiltin(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "handshake", "+0 < Q 0:0(0)\n")
	t.Chdir(dir)
	out, err := runCLI(t, "run", "--check", "handshake")
	var ee exitError
	if !errors.As(err, &ee) || !strings.HasPrefix(out, "FAIL handshake:1:6: bad TCP flags") {
		t.Errorf("the file did not win: %q, %v (%s)", out, err, filepath.Join(dir, "handshake"))
	}
}

func TestRunCheckWithoutArgumentChecksEveryBuiltin(t *testing.T) {
	out, err := runCLI(t, "run", "--check")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	list, _ := scenario.Builtins()
	for _, b := range list {
		if !strings.Contains(out, "PASS "+b.Name+"\n") {
			t.Errorf("PASS %s missing", b.Name)
		}
	}
	if want := "\n" + strconv.Itoa(len(list)) + " passed, 0 failed\n"; !strings.HasSuffix(out, want) {
		t.Errorf("output does not end with %q:\n%s", want, out)
	}
}

// TestRunBuiltinHeadlessIsDeterministic: every built-in scenario twice
// with --headless gives the same output, byte for byte.
func TestRunBuiltinHeadlessIsDeterministic(t *testing.T) {
	list, err := scenario.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		a, err := runCLI(t, "run", "--headless", b.Name)
		if err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		c, err := runCLI(t, "run", "--headless", b.Name)
		if err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		if a != c {
			t.Errorf("%s: two --headless runs differ", b.Name)
		}
	}
}
