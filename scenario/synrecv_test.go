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
