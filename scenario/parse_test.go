package scenario

import (
	"errors"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack/header"
)

func mustParse(t *testing.T, src string) *Script {
	t.Helper()
	s, err := Parse("t.pkt", src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return s
}

// TestParseWholeScript walks one script with every construct.
func TestParseWholeScript(t *testing.T) {
	s := mustParse(t, `--tolerance_usecs=10000
--strict_segments
/* A block comment
   over two lines */
`+"`../common/defaults.sh\nsysctl -q net.ipv4.tcp_sack=0 net.ipv4.tcp_timestamps=0\n"+`../common/set_sysctls.py /proc/sys/net/ipv4/tcp_min_tso_segs=10 \
    /proc/sys/net/core/somaxconn=64
ethtool -K tun0 tso off`+"`"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3   // trailing comment
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
 0.200 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 7 ecr 9,sack 1461:2921 4381:5841,eol>
   +0...0.100 accept(3, ..., ...) = 4
+.21~+.215 > P. 1:41(40) ack 1
    * > F. 41:41(0) ack 1
   +0 getsockopt(4, SOL_TCP, TCP_MAXSEG, [1100], [4]) = 0
   +0 connect(4, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd; assert tcpi_rto >= 200000 }%
   +0 %{
assert tcpi_unacked != 0
x = 1
}%
   +0 sendmsg(4, {msg_name(...)=...,
                  msg_iov(1)=[{..., 40}], msg_flags=0}, MSG_MORE) = 40
   +0 < udp (100)
   +0 > icmp unreachable port_unreachable
   +0 < icmp unreachable frag_needed mtu 1200
`)
	if v, ok := s.Option("tolerance_usecs"); !ok || v != "10000" {
		t.Errorf("tolerance_usecs = %q, %v", v, ok)
	}
	if _, ok := s.Option("strict_segments"); !ok {
		t.Error("flag option lost")
	}
	ev := s.Events
	if len(ev) != 19 {
		for _, e := range ev {
			t.Logf("%d %v %q", e.Line, e.Kind, e.Text)
		}
		t.Fatalf("%d events, want 19", len(ev))
	}
	sh := ev[0].Shell
	if ev[0].Kind != EventShell || ev[0].Line != 5 || ev[0].EndLine != 9 || len(sh.Includes) != 1 || sh.Includes[0] != "../common/defaults.sh" {
		t.Errorf("shell event %+v %+v", ev[0], sh)
	}
	wantSys := []SysctlSetting{{"net.ipv4.tcp_sack", "0"}, {"net.ipv4.tcp_timestamps", "0"},
		{"net.ipv4.tcp_min_tso_segs", "10"}, {"net.core.somaxconn", "64"}}
	if len(sh.Sysctls) != len(wantSys) {
		t.Fatalf("sysctls %+v", sh.Sysctls)
	}
	for i, w := range wantSys {
		if sh.Sysctls[i] != w {
			t.Errorf("sysctl %d = %+v, want %+v", i, sh.Sysctls[i], w)
		}
	}
	if len(sh.Other) != 1 || sh.Other[0] != "ethtool -K tun0 tso off" {
		t.Errorf("other shell lines %q", sh.Other)
	}
	if e := ev[1]; e.Kind != EventSyscall || e.Time != (Time{Kind: TimeAbsolute}) || e.Syscall.Syscall.Name != "socket" ||
		e.Syscall.Expect.Ret != 3 || e.Text != "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3" {
		t.Errorf("socket line %+v %+v", e, e.Syscall)
	}
	syn := ev[5].Packet
	if ev[5].Time != (Time{Kind: TimeRelative, Start: 100e6, End: 100e6}) || syn.Dir != Inbound || syn.TCP.Flags != header.TCP_FLAG_SYN ||
		syn.TCP.HasAck || syn.TCP.Win != 32792 || OptionsString(syn.TCP.Options) != "<mss 1460,sackOK,nop,nop,nop,wscale 7>" {
		t.Errorf("SYN %+v %+v", ev[5].Time, syn.TCP)
	}
	synack := ev[6].Packet.TCP
	if ev[6].Packet.Dir != Outbound || synack.Flags != header.TCP_FLAG_SYN|header.TCP_FLAG_ACK || !synack.AnyOptions || synack.Ack != 1 || synack.HasWin {
		t.Errorf("SYN-ACK %+v", synack)
	}
	ack := ev[7]
	if ack.Time != (Time{Kind: TimeAbsolute, Start: 200e6, End: 200e6}) ||
		OptionsString(ack.Packet.TCP.Options) != "<nop,nop,TS val 7 ecr 9,sack 1461:2921 4381:5841,eol>" {
		t.Errorf("ACK %+v %s", ack.Time, OptionsString(ack.Packet.TCP.Options))
	}
	if e := ev[8]; e.Time != (Time{Kind: TimeRelative, Start: 0, End: 100e6, Range: true}) || e.Syscall.Syscall.Name != "accept4" {
		t.Errorf("accept %+v", e.Time)
	}
	if e := ev[9]; e.Time != (Time{Kind: TimeRelative, Start: 210e6, End: 215e6, Range: true}) || e.Packet.TCP.Len != 40 ||
		e.Packet.TCP.Flags != header.TCP_FLAG_PSH|header.TCP_FLAG_ACK {
		t.Errorf("tilde range %+v %+v", e.Time, e.Packet.TCP)
	}
	if e := ev[10]; e.Time.Kind != TimeAny || e.Packet.TCP.Flags != header.TCP_FLAG_FIN|header.TCP_FLAG_ACK {
		t.Errorf("any time %+v", e)
	}
	if e := ev[11]; e.ExpectOpt == nil || *e.ExpectOpt != 1100 {
		t.Errorf("getsockopt's expected value %v", e.ExpectOpt)
	}
	if e := ev[12]; e.Syscall.Expect.Ret != -1 || e.Syscall.Expect.Errno != "EINPROGRESS" {
		t.Errorf("connect expectation %+v", e.Syscall.Expect)
	}
	c := ev[13].Code
	if len(c.Asserts) != 2 || c.Asserts[0] != (Assert{Field: "tcpi_snd_cwnd", Op: "==", Value: 10, Text: "assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd"}) ||
		c.Asserts[1].Op != ">=" || c.Asserts[1].Value != 200000 {
		t.Errorf("asserts %+v", c.Asserts)
	}
	if c := ev[14]; c.Line != 23 || c.EndLine != 26 || len(c.Code.Asserts) != 1 || c.Code.Asserts[0].Op != "!=" || len(c.Code.Other) != 1 {
		t.Errorf("multi-line code block %+v %+v", c, c.Code)
	}
	if e := ev[15]; e.Line != 27 || e.EndLine != 28 || e.Syscall.Expect.Ret != 40 || e.Syscall.Syscall.Name != "sendto" ||
		len(e.Syscall.Syscall.Data) != 40 || e.Syscall.Syscall.Args[1] != 0x8000 {
		t.Errorf("sendmsg %+v %+v", e, e.Syscall.Syscall)
	}
	if e := ev[16].Packet; e.UDP == nil || e.UDP.Len != 100 {
		t.Errorf("udp %+v", e)
	}
	if e := ev[17].Packet; e.ICMP == nil || e.ICMP.Type != "unreachable" || e.ICMP.Code != "port_unreachable" || e.Dir != Outbound {
		t.Errorf("icmp %+v", e.ICMP)
	}
	if e := ev[18].Packet; e.ICMP.MTU != 1200 || e.ICMP.Code != "frag_needed" {
		t.Errorf("icmp frag needed %+v", e.ICMP)
	}
}

func TestParseFlagCombinations(t *testing.T) {
	for text, want := range map[string]uint8{
		"S": header.TCP_FLAG_SYN, "S.": header.TCP_FLAG_SYN | header.TCP_FLAG_ACK, ".": header.TCP_FLAG_ACK,
		"P.": header.TCP_FLAG_PSH | header.TCP_FLAG_ACK, "F.": header.TCP_FLAG_FIN | header.TCP_FLAG_ACK,
		"R": header.TCP_FLAG_RST, "R.": header.TCP_FLAG_RST | header.TCP_FLAG_ACK,
		"FP.": header.TCP_FLAG_FIN | header.TCP_FLAG_PSH | header.TCP_FLAG_ACK, "SEW": header.TCP_FLAG_SYN | header.TCP_FLAG_ECE | header.TCP_FLAG_CWR,
	} {
		s := mustParse(t, "0 > "+text+" 0:0(0)\n")
		if got := s.Events[0].Packet.TCP.Flags; got != want {
			t.Errorf("%s: flags %#x, want %#x", text, got, want)
		}
	}
}

// TestParseIcmpForms: the ICMP forms packetdrill writes, resolved to the
// type and code on the wire: its sixteen unreachable code names, type_N
// and code_N, a missing code (0), and the quoted segment before "icmp"
// (its older grammar) or after.
func TestParseIcmpForms(t *testing.T) {
	for _, c := range []struct {
		src       string
		typ, code uint8
		mtu       int
		echo      uint32 // the quoted segment's start (0: none)
	}{
		{"+0 < icmp unreachable host_prohibited [5:5(0)]", 3, 10, 0, 5},
		{"+0 < icmp unreachable precedence_cutoff [5:5(0)]", 3, 15, 0, 5},
		{"+0 < icmp type_3 code_13 [7:7(0)]", 3, 13, 0, 7},
		{"+0 < icmp parameter_problem [9:9(0)]", 12, 0, 0, 9},
		{"+0 < [1:1461(1460)] icmp unreachable frag_needed mtu 1200", 3, 4, 1200, 1},
		{"+0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]", 3, 4, 1200, 1},
		{"+0 > icmp echo_reply", 0, 0, 0, 0},
	} {
		s, err := Parse("icmp.pkt", c.src+"\n")
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		ic := s.Events[0].Packet.ICMP
		if ic == nil || ic.TypeNum != c.typ || ic.CodeNum != c.code || ic.MTU != c.mtu {
			t.Errorf("%q: parsed %+v, want type %d code %d mtu %d", c.src, ic, c.typ, c.code, c.mtu)
			continue
		}
		if (c.echo == 0) != (ic.Echo == nil) || (ic.Echo != nil && ic.Echo.Seq != c.echo) {
			t.Errorf("%q: quoted segment %+v, want one starting at %d", c.src, ic.Echo, c.echo)
		}
	}
}

// TestParseErrorsNameFileLineAndColumn: each malformed statement fails
// where it goes wrong.
func TestParseErrorsNameFileLineAndColumn(t *testing.T) {
	cases := []struct {
		src  string
		line int
		col  int
		msg  string
	}{
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+x close(3)\n", 2, 2, "bad time"},
		{"  +0 < SX 0:0(0)\n", 1, 9, "bad TCP flags"},
		{"+0 < S 0:0\n", 1, 8, "start:end(length)"},
		{"+0 < . 1:11(5)\n", 1, 8, "not the length 5"},
		{"+0 < . 1:1(0) ack\n", 1, 18, "acknowledgement number"},
		{"+0 < . 1:1(0) win 70000\n", 1, 19, "a window"},
		{"+0 < . 1:1(0) <mss 1460,frob 3>\n", 1, 25, "unknown TCP option \"frob\""},
		{"+0 < . 1:1(0) <mss 1460\n", 1, 15, "unclosed '<'"},
		{"+0 < . 1:1(0) urg 3\n", 1, 15, "unexpected \"urg\""},
		{"+0 < udp 100\n", 1, 10, "payload length"},
		{"+0 < icmp unreachable bogus\n", 1, 23, "unknown code"},
		{"+0 < icmp bogus\n", 1, 11, "unknown ICMP type"},
		{"+0 < icmp echo_request mtu 1200\n", 1, 24, "only to ICMP unreachable frag_needed"},
		{"+0 < icmp unreachable [1:2]\n", 1, 23, "start:end(length)"},
		{"+0 < [1:1(0)] tcp\n", 1, 15, "expected icmp after the quoted segment"},
		{"+0 < icmp unreachable [udp (10)]\n", 1, 23, "UDP datagram"},
		{"0 frobnicate(3\n", 1, 3, "unclosed '('"},
		{"0 bind(3, nowhere) = 0\n", 1, 11, "expected an address"},
		{"0 sendmsg(3, ...) junk\n", 1, 19, "unexpected"},
		{"`defaults.sh\n", 1, 1, "unclosed backtick"},
		{"+0 %{ assert tcpi_rto > 1\n", 1, 4, "unclosed %{"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP)\n--tolerance_usecs=1\n", 2, 1, "before the first event"},
		{"< S 0:0(0)\n", 1, 1, "needs a time"},
		{"+0...0.1x close(3)\n", 1, 9, "bad time"},
		{"0.5...0.1 close(3)\n", 1, 7, "ends before it starts"},
		{"+0\n", 1, 3, "after the time"},
	}
	for _, c := range cases {
		_, err := Parse("bad.pkt", c.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v, want a SyntaxError", c.src, err)
			continue
		}
		if se.File != "bad.pkt" || se.Line != c.line || se.Column != c.col || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%q: %v (line %d column %d), want line %d column %d containing %q", c.src, se, se.Line, se.Column, c.line, c.col, c.msg)
		}
	}
}

func TestParseTimes(t *testing.T) {
	for text, want := range map[string]Time{
		"0":             {Kind: TimeAbsolute},
		"1.5":           {Kind: TimeAbsolute, Start: 1500e6, End: 1500e6},
		"+.1":           {Kind: TimeRelative, Start: 100e6, End: 100e6},
		"+0...0.200":    {Kind: TimeRelative, Start: 0, End: 200e6, Range: true},
		"0.1...0.2":     {Kind: TimeAbsolute, Start: 100e6, End: 200e6, Range: true},
		"+.01~+.015":    {Kind: TimeRelative, Start: 10e6, End: 15e6, Range: true},
		"*":             {Kind: TimeAny},
		"+0.0000014":    {Kind: TimeRelative, Start: 1000, End: 1000},
		"+.08...0.180":  {Kind: TimeRelative, Start: 80e6, End: 180e6, Range: true},
		"+.001":         {Kind: TimeRelative, Start: 1e6, End: 1e6},
		"+2":            {Kind: TimeRelative, Start: 2e9, End: 2e9},
		"0.000...0.000": {Kind: TimeAbsolute, Range: true},
	} {
		got, n, err := parseTime(text + " x")
		if err != nil || got != want || n != len(text) {
			t.Errorf("%q: %+v %d %v, want %+v", text, got, n, err, want)
		}
	}
}

// TestParseSharedCorpus parses the shared packetdrill scripts when they
// are there: every one must parse.
func TestParseSharedCorpus(t *testing.T) {
	files := sharedScripts(t)
	for _, f := range files {
		if _, err := ParseFile(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func FuzzParseScript(f *testing.F) {
	for _, s := range []string{
		"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+.1 < S 0:0(0) win 1000 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>\n",
		"`../common/defaults.sh\nsysctl -q a=b`\n+0 %{ assert tcpi_snd_cwnd == 10 }%\n",
		"--tolerance_usecs=1\n/* x */ +0...0.1 accept(3, ..., ...) = 4\n* > F. 1:1(0) ack 2 <...>\n",
		"+0 sendmsg(4, {msg_iov(1)=[{..., 4}]},\n 0) = 4\n+0 < udp (10)\n+0 > icmp unreachable frag_needed mtu 10\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse("fuzz.pkt", src)
		if err == nil && s == nil {
			t.Fatal("no script and no error")
		}
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error %v is not a SyntaxError", err)
		}
	})
}
