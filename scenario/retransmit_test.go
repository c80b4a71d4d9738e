package scenario

import "testing"

// Retransmissions as __tcp_retransmit_skb sizes them.

// TestRetransmitWithinAShrunkWindow: the peer shrinks its window to 1024
// bytes (8 << 7) while a 1460-byte segment is unacknowledged. The loss
// probe sends it again only as far as the window reaches: 1024 bytes,
// cut off the skb by tcp_fragment (PSH stays with the rest), which stays
// in flight as a second packet. The previous build sent all 1460.
func TestRetransmitWithinAShrunkWindow(t *testing.T) {
	if _, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1460) = 1460
   +0 > P. 1:1461(1460) ack 1
 +.01 < P. 1:11(10) ack 1 win 514
   +0 > . 1461:1461(0) ack 11
 +.01 < . 11:11(0) ack 1 win 8
 +.3 > . 1:1025(1024) ack 11
   +0 %{ assert tcpi_unacked == 2, tcpi_unacked }%
 +.01 < . 11:11(0) ack 1025 win 8
   +0 %{ assert tcpi_unacked == 1, tcpi_unacked }%
`); err != nil {
		t.Fatal(err)
	}
}

// threeLostWrites: three 100-byte writes with Nagle off, none
// acknowledged; the loss probe resends the last. The RTO's retransmission
// comes next.
const threeLostWrites = listener + `   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0
   +0 write(4, ..., 100) = 100
   +0 > P. 1:101(100) ack 1
   +0 write(4, ..., 100) = 100
   +0 > P. 101:201(100) ack 1
   +0 write(4, ..., 100) = 100
   +0 > P. 201:301(100) ack 1
 +.2 > P. 201:301(100) ack 1
`

// TestRetransmitCollapsesSmallSegments: at the RTO the first of three
// lost 100-byte segments goes again with the two after it merged in
// (tcp_retrans_try_collapse, tcp_retrans_collapse 1): one 300-byte
// segment. The previous build sent 1:101.
func TestRetransmitCollapsesSmallSegments(t *testing.T) {
	if _, err := runScript(t, threeLostWrites+` +.3 > P. 1:301(300) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestRetransmitCollapseCanBeTurnedOff: with tcp_retrans_collapse 0 the
// RTO resends the first 100-byte segment alone.
func TestRetransmitCollapseCanBeTurnedOff(t *testing.T) {
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_retrans_collapse=0`\n"+threeLostWrites+` +.3 > P. 1:101(100) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestLossProbeTestsTheWindowAtTheCurrentMSS: tcp_send_loss_probe asks
// whether new data fits the window at tcp_current_mss, which a pending
// SACK block shortens (1000 - 12 bytes here). Ten segments fill the
// initial cwnd; the eleventh waits. Out-of-order data from the peer makes
// the client owe a SACK block. At the probe timer the window ends at
// 10996: 988 bytes from 10001 fit, 1000 would not, so the probe is new
// data, 988 bytes cut off the queued skb, sent past the full cwnd as a
// probe may. The previous build tested the window at mss_cache (1000)
// and resent the last segment sent instead (9001:9989).
func TestLossProbeTestsTheWindowAtTheCurrentMSS(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0...0.05 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
 +.05 < S. 0:0(0) ack 1 win 10995 <mss 1000,sackOK>
   +0 > . 1:1(0) ack 1
   +0 write(3, ..., 11000) = 11000
   +0 > . 1:1001(1000) ack 1
   +0 > . 1001:2001(1000) ack 1
   +0 > . 2001:3001(1000) ack 1
   +0 > . 3001:4001(1000) ack 1
   +0 > . 4001:5001(1000) ack 1
   +0 > P. 5001:6001(1000) ack 1
   +0 > . 6001:7001(1000) ack 1
   +0 > . 7001:8001(1000) ack 1
   +0 > . 8001:9001(1000) ack 1
   +0 > . 9001:10001(1000) ack 1
 +.01 < P. 1001:1101(100) ack 1 win 10995
   +0 > . 10001:10001(0) ack 1 <nop,nop,sack 1001:1101>
 +.09 > . 10001:10989(988) ack 1 <nop,nop,sack 1001:1101>
`); err != nil {
		t.Fatal(err)
	}
}
