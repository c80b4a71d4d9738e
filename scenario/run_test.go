package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// passiveOpen is the start of a script whose peer opens the connection.
const passiveOpen = passiveSynAck + `  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
`

// passiveSynAck is passiveOpen up to the kernel's SYN-ACK: a request sock
// waits for the final ACK.
const passiveSynAck = `// A server: the peer opens, the kernel answers.
` + "`../common/defaults.sh`" + `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
`

func runScript(t *testing.T, src string) (*Runner, error) {
	t.Helper()
	r := newScriptRunner(t, src)
	return r, r.Run()
}

// newScriptRunner parses src and makes its runner (closed when the test
// ends), not yet run.
func newScriptRunner(t *testing.T, src string, opts ...RunOption) *Runner {
	t.Helper()
	s, err := Parse("test.pkt", src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	r, err := NewRunner(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// listener is a server's socket, bind and listen, and the peer's SYN (MSS
// 1460, SACK, window scale 7, no timestamps, no defaults.sh): the next
// line is the kernel's SYN-ACK.
const listener = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
`

// wantRunError checks that a script fails on line with a message holding
// every one of parts.
func wantRunError(t *testing.T, err error, line int, parts ...string) {
	t.Helper()
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want a RunError", err)
	}
	if re.Line != line {
		t.Errorf("failed on line %d, want %d: %v", re.Line, line, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%q missing from:\n%v", p, err)
		}
	}
}

func TestPassiveOpenAndDataPass(t *testing.T) {
	r, err := runScript(t, passiveOpen+`
   +0 %{ assert tcpi_snd_mss == 1000, tcpi_snd_mss; assert tcpi_snd_cwnd >= 10 }%
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
  +.1 < . 1:1(0) ack 1001 win 257
  +.1 < P. 1:101(100) ack 1001 win 257
   * > . 1001:1001(0) ack 101
   +0 read(4, ..., 1000) = 100
   +0 close(4) = 0
   +0 > F. 1001:1001(0) ack 101
`)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Done() || r.Next() != nil {
		t.Error("the runner is not done")
	}
}

// TestActiveOpenLearnsTheKernelsISN: outbound sequence numbers count from
// the ISN of the kernel's SYN, inbound acks too.
func TestActiveOpenLearnsTheKernelsISN(t *testing.T) {
	_, err := runScript(t, "`../common/defaults.sh`\n"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
  +.1...0.200 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
  +.1 < S. 0:0(0) ack 1 win 5792 <mss 1460,nop,wscale 2,nop,nop,sackOK>
   +0 > . 1:1(0) ack 1
   +0 write(3, ..., 10) = 10
   +0 > P. 1:11(10) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestScriptFdsMapOntoTheKernels(t *testing.T) {
	_, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 7
   +0 bind(7, ..., ...) = 0
   +0 listen(7, 1) = 0
   +0 close(7) = 0
`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestWrongFlagFailsNamingTheField(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 write(4, ..., 1000) = 1000
   +0 > . 1:1001(1000) ack 1
`)
	wantRunError(t, err, 13, "test.pkt:13: error handling packet: live packet field tcp_psh: expected: 0 (0x0) vs actual: 1 (0x1)",
		"script packet:  . 1:1001(1000) ack 1", "actual packet:  0.200000 P. 1:1001(1000) ack 1 win ")
}

func TestWrongWindowFailsNamingTheField(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1 win 9999
`)
	wantRunError(t, err, 13, "live packet field tcp_window: expected: 9999 (0x270f) vs actual:")
}

func TestWrongOptionsFail(t *testing.T) {
	_, err := runScript(t, "`../common/defaults.sh`\n"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 8>
`)
	wantRunError(t, err, 5, "live packet field tcp_options: expected: <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 8> vs actual: <mss 1460,")
}

// TestLatePacketIsATimingError: the retransmission comes when the RTO
// fires, not 10 ms after the first transmission.
func TestLatePacketIsATimingError(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
 +.01 > P. 1:1001(1000) ack 1
`)
	wantRunError(t, err, 14, "timing error: expected outbound packet at 0.210000 sec but happened at", "tolerance 0.004000 sec")
}

func TestEarlyPacketIsATimingError(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 write(4, ..., 1000) = 1000
  +.5 > P. 1:1001(1000) ack 1
`)
	wantRunError(t, err, 13, "timing error: expected outbound packet at 0.700000 sec but happened at 0.200000 sec; tolerance 0.062500 sec")
}

func TestMissingPacketFails(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 > F. 1:1(0) ack 1
`)
	wantRunError(t, err, 12, "expected outbound packet at 0.200000 sec, but the kernel sent none")
}

// TestUnexpectedPacketFailsTheNextOutboundLine: as in packetdrill, the
// next outbound line meets the packet no line expected.
func TestUnexpectedPacketFailsTheNextOutboundLine(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 write(4, ..., 1000) = 1000
   +0 close(4) = 0
   +0 > F. 1001:1001(0) ack 1
`)
	wantRunError(t, err, 14, "live packet field tcp_fin: expected: 1 (0x1) vs actual: 0 (0x0)", "actual packet:  0.200000 P. 1:1001(1000) ack 1")
}

// TestUnexpectedPacketAtTheEndFailsWhenStrict: with WithStrictEnd, what
// the kernel sent after the last outbound line must be expected too.
func TestUnexpectedPacketAtTheEndFailsWhenStrict(t *testing.T) {
	src := passiveOpen + `
   +0 write(4, ..., 1000) = 1000
`
	if _, err := runScript(t, src); err != nil {
		t.Fatalf("packetdrill's rules: %v", err)
	}
	s, err := Parse("test.pkt", src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(s, WithStrictEnd())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantRunError(t, r.Run(), 12, "the kernel sent 1 packet(s) no line expected", "unexpected packet: P. 1:1001(1000) ack 1")
}

func TestSyscallResultMismatch(t *testing.T) {
	_, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 close(3) = -1 EBADF (Bad file descriptor)
`)
	wantRunError(t, err, 3, "runtime error in close call: expected result -1 EBADF but got 0")
}

func TestUnsupportedSyscallSaysSo(t *testing.T) {
	_, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 epoll_create(10) = 4
`)
	wantRunError(t, err, 3, "unsupported system call epoll_create")
}

// TestBlockingCallReturnsWithinItsRange: accept blocks from 0.1 until the
// handshake completes at 0.3, inside +.1...0.300.
func TestBlockingCallReturnsWithinItsRange(t *testing.T) {
	const server = `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
`
	_, err := runScript(t, server+`
  +.1...0.300 accept(3, ..., ...) = 4
  +.1 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
  +.1 < . 1:1(0) ack 1 win 257
`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runScript(t, server+`
  +.1...0.150 accept(3, ..., ...) = 4
  +.1 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
  +.1 < . 1:1(0) ack 1 win 257
`)
	wantRunError(t, err, 6, "timing error: expected system call return in time range 0.100000~0.150000 sec but happened at 0.300000 sec")
	_, err = runScript(t, server+`
  +.1 accept(3, ..., ...) = 4
`)
	wantRunError(t, err, 6, "did not return by the end of the script")
}

func TestFailedAssertNamesTheValue(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 %{ assert tcpi_snd_mss == 1460 }%
`)
	wantRunError(t, err, 12, "assertion failed: assert tcpi_snd_mss == 1460 (tcpi_snd_mss is 1000)")
}

func TestShellLinesApplySysctlsAndNoteTheRest(t *testing.T) {
	r, err := runScript(t, "`../common/defaults.sh\nsysctl -q net.core.somaxconn=64\nethtool -K tun0 tso off`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Kernel().Sysctl("net.core.somaxconn", nil)
	if err != nil || v != "64" {
		t.Errorf("somaxconn = %q, %v", v, err)
	}
	if v, _ := r.Kernel().Sysctl("net.ipv4.tcp_wmem", nil); v != "4096\t262144\t4194304" && v != "4096 262144 4194304" {
		t.Errorf("tcp_wmem = %q: defaults.sh not applied", v)
	}
	notes := strings.Join(r.Notes(), "\n")
	if !strings.Contains(notes, `shell command "ethtool -K tun0 tso off": unsupported, ignored`) ||
		!strings.Contains(notes, "sysctl net.ipv4.tcp_fack=0: unsupported by the model, ignored") {
		t.Errorf("notes:\n%s", notes)
	}
}

// TestStepRunsOneLineAtATime is what the inspector's script pane does.
func TestStepRunsOneLineAtATime(t *testing.T) {
	s, err := Parse("step.pkt", passiveOpen)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r, err := NewRunner(s, WithOutput(&out))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var lines []int
	for !r.Done() {
		want := r.Next()
		ev, err := r.Step()
		if err != nil {
			t.Fatal(err)
		}
		if ev != want {
			t.Fatal("Step ran another event than Next said")
		}
		lines = append(lines, ev.Line)
	}
	if got := fmt.Sprint(lines); got != "[2 3 4 5 6 7 8 9 10]" {
		t.Errorf("lines %s", got)
	}
	if _, err := r.Step(); err == nil {
		t.Error("Step after the end gives no error")
	}
	o := out.String()
	for _, w := range []string{"0.100000 +.1 < S 0:0(0) win 32792", "tcp_v4_rcv(", "tcp_conn_request(", "matched 0.100000 S. 0:0(0) ack 1 win",
		"0.200000 +0 accept(3, ..., ...) = 4", "inet_csk_accept(", "  = 4"} {
		if !strings.Contains(o, w) {
			t.Errorf("%q missing from the headless output:\n%s", w, o)
		}
	}
}

// TestBurstIsOneTSOPacketWithPSH: a write of more than the initial window
// goes out as back-to-back segments, which the runner reads as the one TSO
// packet Linux would send: ten MSS of payload, with PSH (Linux sets it on
// every GSO packet), and the write's tail left for later.
func TestBurstIsOneTSOPacketWithPSH(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 write(4, ..., 12000) = 12000
   +0 > P. 1:10001(10000) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	// The same burst read as a plain ACK (no PSH) fails on that field.
	_, err = runScript(t, passiveOpen+`
   +0 write(4, ..., 12000) = 12000
   +0 > . 1:10001(10000) ack 1
`)
	wantRunError(t, err, 13, "tcp_psh", "expected: 0", "actual: 1")
}
