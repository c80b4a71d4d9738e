package scenario

import (
	"fmt"
	"strings"
	"testing"
)

// slowPeer is a server's connection with a 600 ms round trip, then the
// first 16 segments of 100 bytes, each acknowledged at once (the quick-ACK
// allowance of a new connection): after them, ACKs are delayed. setup
// goes between accept and the first segment.
func slowPeer(setup string) string {
	var b strings.Builder
	b.WriteString(listener + `   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.6 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
` + setup)
	for i := range 16 {
		fmt.Fprintf(&b, "   +0 < P. %d:%d(100) ack 1 win 512\n   +0 > . 1:1(0) ack %d\n", 1+i*100, 101+i*100, 101+i*100)
	}
	return b.String()
}

// TestDelayedAckTimeoutStopsAt200ms: each time the delayed-ACK timer
// fires for a connection not in interactive mode, the ACK timeout (ato)
// doubles, but never past the RTO nor TCP_DELACK_MAX (200 ms). With an
// RTO over 1 s, three timer ACKs take it 40 -> 80 -> 160 -> 200 ms. The
// previous build let it reach 320 ms.
func TestDelayedAckTimeoutStopsAt200ms(t *testing.T) {
	if _, err := runScript(t, slowPeer("")+`   +0 < P. 1601:1701(100) ack 1 win 512
 +.04 > . 1:1(0) ack 1701
  +.1 < P. 1701:1801(100) ack 1 win 512
 +.08 > . 1:1(0) ack 1801
  +.2 < P. 1801:1901(100) ack 1 win 512
 +.16 > . 1:1(0) ack 1901
   +0 %{ assert tcpi_ato == 199000, tcpi_ato }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestRcvlowatMakesTheAckImmediate: __tcp_ack_snd_check sends an ACK at
// once when more than one full segment has arrived unacknowledged and
// fewer bytes are queued than SO_RCVLOWAT asks for (the reader is still
// waiting, so the sender should not be held back). The previous build
// compared with 1 byte, not sk_rcvlowat, and delayed this ACK by 40 ms.
func TestRcvlowatMakesTheAckImmediate(t *testing.T) {
	if _, err := runScript(t, slowPeer("   +0 setsockopt(4, SOL_SOCKET, SO_RCVLOWAT, [50000], 4) = 0\n")+`   +0 < . 1601:1701(100) ack 1 win 512
+.001 < . 1701:1801(100) ack 1 win 512
   +0 > . 1:1(0) ack 1801
`); err != nil {
		t.Fatal(err)
	}
}

// TestQuickackSendsTheScheduledAck: setsockopt(TCP_QUICKACK, 0) puts the
// connection in pingpong mode, where reading a small pushed segment does
// not send its ACK (it waits to ride on a reply, or for the delayed-ACK
// timer); TCP_QUICKACK 1 then leaves pingpong mode and sends the ACK that
// waits at once, as __tcp_sock_set_quickack does through tcp_cleanup_rbuf.
// getsockopt reads the mode back. The previous build answered ENOPROTOOPT.
func TestQuickackSendsTheScheduledAck(t *testing.T) {
	if _, err := runScript(t, slowPeer("")+`   +0 setsockopt(4, SOL_TCP, TCP_QUICKACK, [0], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_QUICKACK, [0], [4]) = 0
   +0 < P. 1601:1701(100) ack 1 win 512
   +0 read(4, ..., 1700) = 1700
 +.01 setsockopt(4, SOL_TCP, TCP_QUICKACK, [1], 4) = 0
   +0 > . 1:1(0) ack 1701
   +0 getsockopt(4, SOL_TCP, TCP_QUICKACK, [1], [4]) = 0
`); err != nil {
		t.Fatal(err)
	}
}

// TestPingpongReadWaitsForTheTimer is the same without TCP_QUICKACK 1:
// in pingpong mode the read sends nothing, and the ACK comes when the
// delayed-ACK timer fires, 40 ms (TCP_ATO_MIN) after the segment.
func TestPingpongReadWaitsForTheTimer(t *testing.T) {
	if _, err := runScript(t, slowPeer("")+`   +0 setsockopt(4, SOL_TCP, TCP_QUICKACK, [0], 4) = 0
   +0 < P. 1601:1701(100) ack 1 win 512
   +0 read(4, ..., 1700) = 1700
 +.04 > . 1:1(0) ack 1701
`); err != nil {
		t.Fatal(err)
	}
}

// TestPingpongCountsJiffies: tcp_event_data_sent
// (net/ipv4/tcp_output.c:167,177) compares tcp_jiffies32 - lrcvtime with
// ato, all in jiffies (lrcvtime is tcp_jiffies32 at the last data
// received, tcp_input.c:866). With HZ=1000, data received at 0.6005 s is
// jiffy 600, a reply written at 0.6403 s is jiffy 640: 40 is not below
// ato (40 jiffies), so the reply does not count towards pingpong and
// TCP_QUICKACK still reads 1 (!inet_csk_in_pingpong_mode). The previous
// build compared nanoseconds (39.8 ms < 40 ms) and entered pingpong mode.
func TestPingpongCountsJiffies(t *testing.T) {
	if _, err := runScript(t, slowPeer("")+`+.0005 < P. 1601:1701(100) ack 1 win 512
 +.0398 write(4, ..., 100) = 100
   +0 > P. 1:101(100) ack 1701
   +0 %{ assert tcpi_ato == 40000, tcpi_ato }%
   +0 getsockopt(4, SOL_TCP, TCP_QUICKACK, [1], [4]) = 0
`); err != nil {
		t.Fatal(err)
	}
}

// TestOfoSegmentMeasuresRcvMss: tcp_data_queue_ofo runs
// tcp_measure_rcv_mss (tcp_input.c:5078), so a first data segment of 1000
// bytes that arrives out of order already sets icsk_ack.rcv_mss to 1000
// (the initial guess is 536), which the immediate-ACK test and the
// quick-ACK count use. The previous build measured in-order data only.
func TestOfoSegmentMeasuresRcvMss(t *testing.T) {
	if _, err := runScript(t, passiveOpen+`
 +.1 < . 1001:2001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001>
   +0 %{ assert tcpi_rcv_mss == 1000, tcpi_rcv_mss }%
`); err != nil {
		t.Fatal(err)
	}
}
