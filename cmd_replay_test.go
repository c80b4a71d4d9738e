package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recordScenario records a built-in scenario and returns the trace's path.
func recordScenario(t *testing.T, name string, extra ...string) string {
	t.Helper()
	trace := filepath.Join(t.TempDir(), name+".trace")
	args := append([]string{"run", name, "--check", "--record", trace}, extra...)
	if out, err := runCLI(t, args...); err != nil {
		t.Fatalf("record %s: %v\n%s", name, err, out)
	}
	st, err := os.Stat(trace)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the trace has mode %v, want 0600", st.Mode().Perm())
	}
	return trace
}

// TestReplayReproducesRecordedScenarios: every kind of built-in scenario,
// recorded plain and compressed, replays with the same events, twice with
// the same output.
func TestReplayReproducesRecordedScenarios(t *testing.T) {
	for _, name := range []string{"handshake", "fast-retransmit", "close-active", "syn-cookies"} {
		for _, extra := range [][]string{nil, {"--compress"}} {
			trace := recordScenario(t, name, extra...)
			out, err := runCLI(t, "replay", trace, "--summary")
			if err != nil || !strings.Contains(out, "the same events as recorded") {
				t.Fatalf("%s %v: replay: %v\n%s", name, extra, err, out)
			}
			first, err := runCLI(t, "replay", trace, "--headless")
			if err != nil {
				t.Fatal(err)
			}
			second, _ := runCLI(t, "replay", trace, "--headless")
			if first != second || strings.Count(first, "\n") < 500 {
				t.Fatalf("%s: two headless replays differ or are short (%d lines)", name, strings.Count(first, "\n"))
			}
		}
	}
}

// frame builds one trace frame: length, type, payload, CRC-32C.
func frame(typ byte, payload []byte) []byte {
	body := append([]byte{typ}, payload...)
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

// TestReplayBadFiles: each kind of bad file gets a one-line error that
// says which file and what is wrong, and nothing panics.
func TestReplayBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(recordScenario(t, "handshake"))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)/2] ^= 0x40
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "not a stackscope trace"},
		{"json", []byte(`{"traceEvents": []}`), "not a stackscope trace"},
		{"future", append([]byte("STKTRACE"), frame('H', []byte(`{"format":9}`))...), "newer"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"corrupt", corrupt, "checksum"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name+".trace")
		if err := os.WriteFile(path, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := runCLI(t, "replay", path, "--summary")
		if err == nil {
			t.Errorf("%s: replay succeeded:\n%s", c.name, out)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, path) || !strings.Contains(msg, c.want) {
			t.Errorf("%s: error %q: want one line naming %s and saying %q", c.name, msg, path, c.want)
		}
	}
}

// TestReplayAfterSIGKILL: a recording whose program is killed mid-session
// replays up to its last complete frame and says where it ends.
func TestReplayAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "stackscope")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	trace := filepath.Join(dir, "killed.trace")
	cmd := exec.Command(bin, "demo", "--headless", "--every", "100ms", "--record", trace)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // long enough for flushes (every 500 ms)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	out, err := runCLI(t, "replay", trace, "--summary")
	// The file ends at a frame's end or inside one (an O_DIRECT chunk
	// ends wherever 1 MiB does): either way the error says so.
	if err == nil || !(strings.Contains(err.Error(), "ends without an end frame") || strings.Contains(err.Error(), "ends inside frame")) ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("replay of a killed recording: %v, want a one-line error about its missing end", err)
	}
	var inputs, events int
	if _, serr := fmt.Sscanf(out, "replayed %d inputs and %d events: the trace ends early", &inputs, &events); serr != nil || inputs < 10 || events < 1000 {
		t.Fatalf("replay printed %q: want most of the session replayed", out)
	}
	t.Logf("%s / %v", strings.TrimSpace(out), err)
}
