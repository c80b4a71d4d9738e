package scenario

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack"
)

func bootConsole(t *testing.T, opts ...Option) (*stack.Kernel, *Console, *bytes.Buffer) {
	t.Helper()
	k, err := stack.New(stack.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	t.Cleanup(k.Stop)
	var out bytes.Buffer
	c, err := NewConsole(k, &out, "", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k, c, &out
}

// TestWithoutGraphPrintsOnlyTheLineAndItsResult: the inspector's console
// leaves the graph to its trace pane.
func TestWithoutGraphPrintsOnlyTheLineAndItsResult(t *testing.T) {
	_, c, out := bootConsole(t, WithoutGraph())
	if err := c.Run(strings.NewReader("socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n"), ""); err != nil {
		t.Fatal(err)
	}
	want := "> socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n= 3\nmismatch: the line expects = 4\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out, want)
	}
}

func startLine(t *testing.T, c *Console, text string) *Call {
	t.Helper()
	cl, err := c.Start(1, text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return cl
}

// TestStartedAcceptSleepsUntilAConnectWakesIt: a started call that sleeps
// is reported blocked, is not interrupted, and returns when another
// process's connect fills the accept queue.
func TestStartedAcceptSleepsUntilAConnectWakesIt(t *testing.T) {
	k, c, out := bootConsole(t, WithoutGraph())
	for _, l := range [][2]string{{"socket(..., SOCK_STREAM, IPPROTO_TCP)", "= 3"}, {"bind(3, 127.0.0.1:8080)", "= 0"},
		{"listen(3, 5)", "= 0"}} {
		cl := startLine(t, c, l[0])
		if blocked, err := cl.Blocked(); err != nil || blocked {
			t.Fatalf("%s: blocked %v, %v", l[0], blocked, err)
		}
		if got := cl.Wait(); !slices.Equal(got, []string{l[1]}) {
			t.Fatalf("%s: %q, want %q", l[0], got, l[1])
		}
	}
	acc := startLine(t, c, "accept(3, ..., ...)")
	if blocked, err := acc.Blocked(); err != nil || !blocked {
		t.Fatalf("accept on an empty queue: blocked %v, %v", blocked, err)
	}
	if blocked, _ := acc.Blocked(); !blocked {
		t.Fatal("the accept returned with nothing to accept")
	}
	cli, err := k.NewProcess("client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.DialTCP(netip.MustParseAddrPort("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	got := acc.Wait()
	if len(got) != 1 || !strings.HasPrefix(got[0], "= 4 [peer 127.0.0.1:") {
		t.Errorf("accept returned %q", got)
	}
	if out.Len() != 0 {
		t.Errorf("Start printed %q", out)
	}
}

func TestStartReportsSyntaxErrorsAndSkipsComments(t *testing.T) {
	_, c, _ := bootConsole(t, WithoutGraph())
	if cl, err := c.Start(1, "// nothing"); cl != nil || err != nil {
		t.Errorf("a comment started %v, %v", cl, err)
	}
	var se *SyntaxError
	if _, err := c.Start(2, "listen(3 5)"); !errors.As(err, &se) || se.Column == 0 {
		t.Errorf("a malformed line gave %v", err)
	}
	cl := startLine(t, c, "sysctl net.core.somaxconn=64")
	if got := cl.Wait(); !slices.Equal(got, []string{"net.core.somaxconn = 64"}) {
		t.Errorf("sysctl gave %q", got)
	}
	cl = startLine(t, c, "close(9) = 0")
	if got := cl.Wait(); !slices.Equal(got, []string{"= -1 EBADF (Bad file descriptor)", "mismatch: the line expects = 0"}) {
		t.Errorf("close(9) gave %q", got)
	}
}
