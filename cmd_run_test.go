package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const handshakeScript = "`../common/defaults.sh`\n" + `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
`

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(strings.NewReader(""), &out, &errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func writeScript(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunHeadlessIsDeterministic is acceptance item 4: the same script
// twice gives the same output, byte for byte.
func TestRunHeadlessIsDeterministic(t *testing.T) {
	p := writeScript(t, t.TempDir(), "hs.pkt", handshakeScript)
	a, err := runCLI(t, "run", "--headless", p)
	if err != nil {
		t.Fatalf("%v\n%s", err, a)
	}
	b, err := runCLI(t, "run", "--headless", p)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("two runs differ:\n%s\n----\n%s", a, b)
	}
	for _, w := range []string{"0.100000 +.1 < S 0:0(0)", "tcp_v4_rcv(", "matched 0.100000 S. 0:0(0) ack 1", "PASS " + p} {
		if !strings.Contains(a, w) {
			t.Errorf("%q missing from:\n%s", w, a)
		}
	}
}

func TestRunCheckSaysPassOrFailWithTheField(t *testing.T) {
	dir := t.TempDir()
	good := writeScript(t, dir, "a-good.pkt", handshakeScript)
	out, err := runCLI(t, "run", "--check", good)
	if err != nil || out != "PASS "+good+"\n" {
		t.Errorf("good script: %q, %v", out, err)
	}
	bad := writeScript(t, dir, "b-bad.pkt", strings.Replace(handshakeScript, "> P. 1:1001(1000) ack 1", "> P. 1:1001(1000) ack 1 win 1", 1))
	out, err = runCLI(t, "run", "--check", bad)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("bad script: error %v, want exit status 1", err)
	}
	if !strings.HasPrefix(out, "FAIL "+bad+":11: error handling packet: live packet field tcp_window: expected: 1 (0x1) vs actual: ") {
		t.Errorf("bad script: %q", out)
	}
	writeScript(t, dir, "c-unparsable.pkt", "+0 < Q 0:0(0)\n")
	out, err = runCLI(t, "run", "--check", dir)
	if !errors.As(err, &ee) {
		t.Errorf("directory: error %v", err)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "PASS ") || !strings.HasPrefix(lines[1], "FAIL "+bad) || !strings.Contains(out, "\n1 passed, 2 failed\n") ||
		!strings.Contains(out, "  "+filepath.Join(dir, "c-unparsable.pkt")+":1:6: bad TCP flags") {
		t.Errorf("directory report:\n%s", out)
	}
	if _, err := runCLI(t, "run", dir); err == nil || !strings.Contains(err.Error(), "--check") {
		t.Errorf("a directory without --check: %v", err)
	}
}
