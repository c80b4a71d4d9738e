package scenario

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// Timers as 6.12 runs them (found by a review of tcp_timer.c, the delayed
// ACK and the RTT estimator; each test fails on the build before its fix).

// TestDelayedAckCappedBelowRtoMin: once ato has grown to
// TCP_DELACK_MAX (200 ms), tcp_send_delayed_ack still bounds the timer by
// tcp_delack_max(sk) = min(icsk_delack_max, max(tcp_rto_min(sk), 2) - 1)
// = min(200, 199) = 199 jiffies (net/ipv4/tcp_output.c:4192-4197, used at
// 4234). The delayed ACK therefore goes 199 ms after the segment, not 200.
func TestDelayedAckCappedBelowRtoMin(t *testing.T) {
	if _, err := runScript(t, "--tolerance_usecs=100\n--tolerance_percent=0\n"+slowPeer("")+`   +0 < P. 1601:1701(100) ack 1 win 512
 +.04 > . 1:1(0) ack 1701
  +.1 < P. 1701:1801(100) ack 1 win 512
 +.08 > . 1:1(0) ack 1801
  +.2 < P. 1801:1901(100) ack 1 win 512
 +.16 > . 1:1(0) ack 1901
   +0 %{ assert tcpi_ato == 199000, tcpi_ato }%
  +.3 < P. 1901:2001(100) ack 1 win 512
+.199 > . 1:1(0) ack 2001
`); err != nil {
		t.Fatal(err)
	}
}

// TestSynAckTimeoutAfterManyRetries: reqsk_timeout is
// min((u64)req->timeout << req->num_timeout, TCP_RTO_MAX)
// (include/net/inet_connection_sock.h:301-306, armed at
// net/ipv4/inet_connection_sock.c:1158),
// computed in u64 jiffies: with tcp_synack_retries=36 every SYN-ACK after
// the seventh waits 120 s, all 36 of them. The previous build shifted
// 1e9 ns left by num_timeout in an int64, which overflowed at
// num_timeout=34 and armed the timer in the past.
func TestSynAckTimeoutAfterManyRetries(t *testing.T) {
	var b strings.Builder
	b.WriteString("`sysctl -q net.ipv4.tcp_synack_retries=36`\n" + listener +
		"   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>\n")
	for i := range 36 {
		fmt.Fprintf(&b, "  +%d > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>\n", min(1<<i, 120))
	}
	if _, err := runScript(t, b.String()); err != nil {
		t.Fatal(err)
	}
}

// TestZeroRttSample: a peer that answers within the same
// microsecond gives tcp_ack_update_rtt a sample of 0 us
// (tcp_stamp_us_delta clamps at 0, it does not round up). With m = 0,
// tcp_rtt_estimator (net/ipv4/tcp_input.c:941-949) sets srtt_us = max(1, 0)
// = 1 and rttvar = rto_min = 200000 us, so __tcp_set_rto
// (include/net/tcp.h:775-778) gives usecs_to_jiffies(0 + 200000) = 200
// jiffies: tcpi_rto 200000, tcpi_rtt 0. The previous build raised the
// sample to 1 us first (srtt 8, RTO usecs_to_jiffies(200001) = 201 ms).
func TestZeroRttSample(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_rto == 200000, tcpi_rto }%
   +0 %{ assert tcpi_rtt == 0, tcpi_rtt }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestDelayedAckRttBoundInJiffies: tcp_send_delayed_ack bounds ato
// by the smoothed RTT converted with usecs_to_jiffies, which rounds up
// (net/ipv4/tcp_output.c:4223-4228). With a 100.6 ms handshake RTT
// (srtt_us>>3 = 100600) and ato grown to 160 ms, the bound is 101
// jiffies: the ACK goes 101 ms after the segment. The previous build
// used the srtt in nanoseconds (100.6 ms).
func TestDelayedAckRttBoundInJiffies(t *testing.T) {
	var b strings.Builder
	b.WriteString("--tolerance_usecs=100\n--tolerance_percent=0\n" + `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
+.1006 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_rtt == 100600, tcpi_rtt }%
// From here on every packet comes on a whole millisecond (a jiffy edge).
+.0004 %{ assert tcpi_rto == 302000, tcpi_rto }%
`)
	for i := range 16 {
		fmt.Fprintf(&b, "   +0 < P. %d:%d(100) ack 1 win 512\n   +0 > . 1:1(0) ack %d\n", 1+i*100, 101+i*100, 101+i*100)
	}
	b.WriteString(`   +0 < P. 1601:1701(100) ack 1 win 512
 +.04 > . 1:1(0) ack 1701
  +.1 < P. 1701:1801(100) ack 1 win 512
 +.08 > . 1:1(0) ack 1801
   +0 %{ assert tcpi_ato == 160000, tcpi_ato }%
  +.2 < P. 1801:1901(100) ack 1 win 512
 +.101 > . 1:1(0) ack 1901
`)
	if _, err := runScript(t, b.String()); err != nil {
		t.Fatal(err)
	}
}

// TestFirstRtoInDisorderCounted: the first RTO of an episode in
// CA_Disorder (or with SACKed data) counts TCPSackFailures, or
// TCPRenoFailures without SACK (net/ipv4/tcp_timer.c:598-614). Here one
// duplicate ACK (Reno: sacked_out 1, Disorder) precedes the RTO. The
// previous build had neither counter.
func TestFirstRtoInDisorderCounted(t *testing.T) {
	r, err := runScript(t, "`sysctl -q net.ipv4.tcp_early_retrans=0`\n`sysctl -q net.ipv4.tcp_recovery=0`\n"+`    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1000,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 3000) = 3000
   +0 > . 1:1001(1000) ack 1
   +0 > . 1001:2001(1000) ack 1
   +0 > P. 2001:3001(1000) ack 1
  +.1 < . 1:1(0) ack 1 win 512
   +0 %{ assert tcpi_ca_state == 1, tcpi_ca_state }%
  +.2 > . 1:1001(1000) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPRENOFAILURES, 1)
	mibIs(t, r, stack.LINUX_MIB_TCPSACKFAILURES, 0)
}
