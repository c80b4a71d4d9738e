package scenario

import "testing"

// TestSynInSynRecvGetsAChallengeAck: after crossed SYNs the socket is in
// SYN_RECV, and the only SYN tcp_validate_incoming lets through is the
// peer's SYN-ACK that completes the simultaneous open (acknowledging our
// SYN, its own SYN again, nothing else). A bare SYN, here the peer's SYN
// sent again, gets a challenge ACK (RFC 5961 4.2, TCPSYNChallenge);
// the SYN-ACK that follows establishes the connection.
func TestSynInSynRecvGetsAChallengeAck(t *testing.T) {
	_, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < S 0:0(0) win 65535 <mss 1000,sackOK,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
 +.01 < S 0:0(0) win 65535 <mss 1000,sackOK,nop,wscale 7>
   +0 > . 1:1(0) ack 1
 +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,sackOK,nop,wscale 7>
   +0 %{ assert tcpi_state == 1, tcpi_state }%
`)
	if err != nil {
		t.Fatal(err)
	}
}
