package scenario

import (
	"strings"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// TestCongestionOptionInAScript: packetdrill's string option values:
// setsockopt passes the string and its length, getsockopt checks the
// string the kernel wrote back and its length.
func TestCongestionOptionInAScript(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 getsockopt(4, SOL_TCP, TCP_CONGESTION, "cubic", [5]) = 0
   +0 setsockopt(4, IPPROTO_TCP, TCP_CONGESTION, "reno", 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_CONGESTION, "reno", [4]) = 0
   +0 setsockopt(4, IPPROTO_TCP, TCP_CONGESTION, "vegas", 5) = -1 ENOENT (No such file or directory)
   +0 setsockopt(4, IPPROTO_TCP, TCP_CONGESTION, "cubicreno", 5) = 0
   +0 getsockopt(4, SOL_TCP, TCP_CONGESTION, "cubic", [5]) = 0
`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runScript(t, passiveOpen+`
   +0 getsockopt(4, SOL_TCP, TCP_CONGESTION, "reno", [4]) = 0
`)
	wantRunError(t, err, 12, `bad getsockopt optval: expected: "reno" actual: "cubi"`)
	_, err = runScript(t, passiveOpen+`
   +0 getsockopt(4, SOL_TCP, TCP_CONGESTION, "cubic", [16]) = 0
`)
	wantRunError(t, err, 12, "expected optlen (16 bytes) does not match length of expected optval string")
}

// TestIoctlInAScript: ioctl(fd, SIOCINQ, [N]) checks the bytes waiting to
// be read, SIOCOUTQ the bytes not yet acknowledged.
func TestIoctlInAScript(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
  +.1 < P. 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001
   +0 ioctl(4, SIOCINQ, [1000]) = 0
   +0 read(4, ..., 600) = 600
   +0 ioctl(4, FIONREAD, [400]) = 0
   +0 write(4, ..., 500) = 500
   +0 > P. 1:501(500) ack 1001
   +0 ioctl(4, SIOCOUTQ, [500]) = 0
   +0 ioctl(4, SIOCOUTQNSD, [0]) = 0
  +.1 < . 1001:1001(0) ack 501 win 257
   +0 ioctl(4, SIOCOUTQ, [0]) = 0
   +0 ioctl(3, SIOCINQ, [0]) = -1 EINVAL (Invalid argument)
`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runScript(t, passiveOpen+`
  +.1 < P. 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001
   +0 ioctl(4, SIOCINQ, [999]) = 0
`)
	wantRunError(t, err, 14, "bad ioctl optval: expected: 999 actual: 1000")
}

// TestConsoleShowsOptionStringsAndIoctls: the console prints a string
// option with the length the kernel wrote back, and an ioctl's int.
func TestConsoleShowsOptionStringsAndIoctls(t *testing.T) {
	out, _ := runConsole(t, 1, `socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
getsockopt(3, SOL_TCP, TCP_CONGESTION, [...], [16])
setsockopt(3, SOL_TCP, TCP_CONGESTION, "reno", 4) = 0
getsockopt(3, SOL_TCP, TCP_CONGESTION)
ioctl(3, SIOCOUTQ, [...]) = 0
ioctl(3, 0x1234, [...])
`)
	for _, want := range []string{`= 0 ["cubic"] [16]`, `= 0 ["reno"] [16]`, "= 0 [0]", "= -1 ENOTTY (Inappropriate ioctl for device)"} {
		if !strings.Contains(out, "\n"+want+"\n") {
			t.Errorf("%q missing from:\n%s", want, out)
		}
	}
	if strings.Contains(out, "mismatch") {
		t.Errorf("a line did not return what it expects:\n%s", out)
	}
}

// TestParseStringOptionValues: the lexer reads C strings with their
// escapes, cuts or pads them to the length given, and argument splitting
// ignores commas and brackets inside strings.
func TestParseStringOptionValues(t *testing.T) {
	for _, c := range []struct {
		line string
		want string
	}{
		{`setsockopt(3, SOL_TCP, TCP_CONGESTION, "reno", 4)`, "reno"},
		{`setsockopt(3, SOL_TCP, TCP_CONGESTION, "reno", 6)`, "reno\x00\x00"},
		{`setsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic", 3)`, "cub"},
		{`setsockopt(3, SOL_TCP, TCP_CONGESTION, "a\"b\\c\x41\0d")`, "a\"b\\cA\x00d\x00"},
	} {
		cmd, err := ParseLine("", 1, c.line)
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		if got := string(cmd.Syscall.Opt.Bytes); got != c.want {
			t.Errorf("%s: optval %q, want %q", c.line, got, c.want)
		}
	}
	cmd, err := ParseLine("", 1, `ioctl(4, SIOCINQ, [1000]) = 0`)
	if err != nil {
		t.Fatal(err)
	}
	if sc := cmd.Syscall; sc.Name != "ioctl" || sc.Args[0] != 4 || sc.Args[1] != sockets.SIOCINQ {
		t.Errorf("ioctl parsed as %+v", sc)
	}
	if _, err := ParseLine("", 1, `setsockopt(3, SOL_TCP, TCP_CONGESTION, "reno, 4)`); err == nil ||
		!strings.Contains(err.Error(), "unclosed string") {
		t.Errorf("an unclosed string: error %v", err)
	}
	if got := splitArgs(`f("a, (b", [1, 2], "c\"d,")`); len(got) != 3 {
		t.Errorf("splitArgs split into %q", got)
	}
}

// TestRcvlowatGrowsTheBuffer: SO_RCVLOWAT on TCP goes through
// tcp_set_rcvlowat. The mark is capped at half of what the buffer may
// become, and a buffer smaller than twice the mark (the window it needs;
// the script's tcp_rmem is 4096 540000 15728640) grows to that, unless
// SO_RCVBUF fixed it; -1 means INT_MAX and 0 means 1. A UDP
// socket stores the value as given.
func TestRcvlowatGrowsTheBuffer(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 getsockopt(4, SOL_SOCKET, SO_RCVBUF, [540000], [4]) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_RCVLOWAT, [100000], 4) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_RCVLOWAT, [100000], [4]) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_RCVBUF, [540000], [4]) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_RCVLOWAT, [300000], 4) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_RCVBUF, [600000], [4]) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_RCVLOWAT, [-1], 4) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_RCVLOWAT, [7864320], [4]) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_RCVBUF, [15728640], [4]) = 0

   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
   +0 setsockopt(5, SOL_SOCKET, SO_RCVBUF, [10000], 4) = 0
   +0 setsockopt(5, SOL_SOCKET, SO_RCVLOWAT, [50000], 4) = 0
   +0 getsockopt(5, SOL_SOCKET, SO_RCVLOWAT, [10000], [4]) = 0
   +0 getsockopt(5, SOL_SOCKET, SO_RCVBUF, [20000], [4]) = 0
   +0 setsockopt(5, SOL_SOCKET, SO_RCVLOWAT, [0], 4) = 0
   +0 getsockopt(5, SOL_SOCKET, SO_RCVLOWAT, [1], [4]) = 0

   +0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 6
   +0 setsockopt(6, SOL_SOCKET, SO_RCVLOWAT, [100000], 4) = 0
   +0 getsockopt(6, SOL_SOCKET, SO_RCVLOWAT, [100000], [4]) = 0
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeferAcceptWaitsForData: with TCP_DEFER_ACCEPT a bare third ACK does
// not make the connection (TCPDeferAcceptDrop); the request waits, and the
// first data makes it, with the data. 5 s are three SYN-ACK timeouts.
func TestDeferAcceptWaitsForData(t *testing.T) {
	r, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 setsockopt(3, SOL_TCP, TCP_DEFER_ACCEPT, [5], 4) = 0
   +0 getsockopt(3, SOL_TCP, TCP_DEFER_ACCEPT, [7], [4]) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)
  +.5 < P. 1:11(10) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 read(4, ..., 100) = 10
`)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Kernel().Mib(stack.LINUX_MIB_TCPDEFERACCEPTDROP); err != nil || n != 1 {
		t.Errorf("TCPDeferAcceptDrop = %d (%v), want 1", n, err)
	}
}

// TestDeferAcceptSynAckTimeouts: syn_ack_recalc with TCP_DEFER_ACCEPT. A
// request whose handshake is done waits quietly for data through the
// first timeouts (1 s and 3 s after the SYN-ACK); from the deferring's
// last timeout on (7 s) its SYN-ACK goes again, a last chance for data,
// and again at 15 s.
func TestDeferAcceptSynAckTimeouts(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 setsockopt(3, SOL_TCP, TCP_DEFER_ACCEPT, [5], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 512
 +6.9 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +8 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
`); err != nil {
		t.Fatal(err)
	}
}
