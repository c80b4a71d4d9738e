package scenario

import (
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// A request sock in SYN_RECV, and the SYN-ACK timer, as 6.12's
// tcp_check_req and reqsk_timer_handler handle them.

// server is a listener (backlog 8) with no SYN yet.
const server = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 8) = 0
`

// synAck is the peer's SYN (no timestamps) and the SYN-ACK it gets.
const synAck = ` +.1 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
`

// TestRetransmittedSynRestartsTheTimer: a retransmitted SYN gets the
// SYN-ACK again and the SYN-ACK timer starts over from then
// (mod_timer_pending); a second one within tcp_invalid_ratelimit gets
// nothing (TCPACKSkippedSynRecv). The previous build answered every SYN
// and left the timer where it was (its SYN-ACK came at 1.1 s, not 1.6 s).
func TestRetransmittedSynRestartsTheTimer(t *testing.T) {
	r, err := runScript(t, server+synAck+` +.5 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
 +.2 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
  +.8 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPACKSKIPPEDSYNRECV, 1)
	mibIs(t, r, stack.LINUX_MIB_TCPSYNRETRANS, 2)
	mibIs(t, r, stack.TCP_MIB_RETRANSSEGS, 2)
	mibIs(t, r, stack.LINUX_MIB_TCPTIMEOUTS, 1)
}

// TestListenerSyncntLimitsSynAckRetries: TCP_SYNCNT on a listener is its
// SYN-ACK retry limit (icsk_syn_retries before tcp_synack_retries): two
// retransmissions, then the request is dropped and a late ACK is reset.
// The previous build used tcp_synack_retries (5) and connected.
func TestListenerSyncntLimitsSynAckRetries(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, IPPROTO_TCP, TCP_SYNCNT, [2], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 8) = 0
`+synAck+`   +1 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +2 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +5 < . 1:1(0) ack 1 win 512
   +0 > R 1:1(0)
`); err != nil {
		t.Fatal(err)
	}
}

// TestRstToARequestSock: a RST in the window but not at rcv_nxt gets a
// challenge ACK and the request stays (the handshake then completes); a
// RST with the ACK flag and a wrong ack number still ends the request
// (the ack test is skipped for a RST), so the late final ACK is reset.
// The previous build dropped the request on the first and handed the
// second to the listener.
func TestRstToARequestSock(t *testing.T) {
	r, err := runScript(t, server+synAck+` +.1 < R 100:100(0) win 0
   +0 > . 1:1(0) ack 1 win 501
 +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPCHALLENGEACK, 1)
	if _, err := runScript(t, server+synAck+` +.1 < R. 1:1(0) ack 12345 win 0
 +.1 < . 1:1(0) ack 1 win 512
   +0 > R 1:1(0)
`); err != nil {
		t.Fatal(err)
	}
}

// TestRequestKeepsTheSynTimestamp: the request's ts_recent is the SYN's
// TSval and stays so: a later segment in the window (dropped for want of
// an ACK flag) does not move it, and the retransmitted SYN-ACK echoes 100.
// The previous build echoed the later segment's 200.
func TestRequestKeepsTheSynTimestamp(t *testing.T) {
	if _, err := runScript(t, server+` +.1 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 100,nop,wscale 7>
 +.1 < P 1:11(10) win 512 <nop,nop,TS val 200 ecr 0>
  +.9 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 1100 ecr 100,nop,wscale 7>
`); err != nil {
		t.Fatal(err)
	}
}

// TestRequestSockWindowAndAcks: the window a request sock checks and
// offers is tcp_synack_window, what its SYN-ACK's unscaled field could
// carry (at most 65535), not the whole initial window (about 268 KB with
// defaults.sh's tcp_rmem): data at 70001 is outside it, answered with
// the request's ACK (65535 >> 8 = 255) and dropped, twice (a segment with
// data is never rate-limited). The previous build took the first as in
// the window and made the child.
func TestRequestSockWindowAndAcks(t *testing.T) {
	r, err := runScript(t, passiveSynAck+`  +.1 < . 70001:71001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1 win 255
  +.1 < . 70001:71001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1 win 255
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPACKSKIPPEDSYNRECV, 0)
}

// TestTimestampsOffIgnoresTheOption: with net.ipv4.tcp_timestamps 0, a
// segment that meets no established connection has its timestamp option
// ignored (tcp_parse_options with estab 0): no PAWS for a request sock
// (the ACK with an older TSval completes the handshake) and none for a
// SYN-ACK in SYN_SENT (one echoing a value never sent is accepted). The
// previous build rejected both.
func TestTimestampsOffIgnoresTheOption(t *testing.T) {
	r, err := runScript(t, "`sysctl -q net.ipv4.tcp_timestamps=0`\n"+server+` +.1 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
 +.1 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 500 ecr 0>
   +0 accept(3, ..., ...) = 4
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_PAWSESTABREJECTED, 0)
	r, err = runScript(t, "`sysctl -q net.ipv4.tcp_timestamps=0`\n"+`    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 7>
 +.1 < S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 700 ecr 5000000,nop,wscale 7>
   +0 > . 1:1(0) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_PAWSACTIVEREJECTED, 0)
}
