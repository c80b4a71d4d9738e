package scenario

import "testing"

// renegingScript plays a receiver that SACKs two segments and then
// acknowledges up to them without the SACK block: it has dropped what it
// had SACKed (reneged).
const renegingScript = `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0...0.05 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
 +.05 < S. 0:0(0) ack 1 win 65535 <mss 1000,sackOK,nop,wscale 7>
   +0 > . 1:1(0) ack 1
   +0 write(3, ..., 10000) = 10000
   +0 > P. 1:10001(10000) ack 1

// Segment 3 is missing; 4 and 5 are SACKed: Disorder.
 +.05 < . 1:1(0) ack 2001 win 512
   +0 < . 1:1(0) ack 2001 win 512 <sack 3001:5001,nop,nop>
   +0 %{ assert tcpi_ca_state == 1, tcpi_ca_state }%
   +0 %{ assert tcpi_sacked == 2, tcpi_sacked }%

// 5 ms later snd_una moves to 3001, the start of SACKed data, and the
// block is gone. tcp_check_sack_reneging: nothing is decided on the
// scoreboard; the retransmission timer is set to half the RTT (srtt 50
// ms: 25 ms), and the SACK marks stay until it fires.
 +.005 < . 1:1(0) ack 3001 win 512
   +0 %{ assert tcpi_sacked == 2, tcpi_sacked }%

// It fires: tcp_enter_loss finds the head SACKed, counts TCPSACKReneging,
// clears every SACK mark and takes everything for lost; the head goes
// again with cwnd 1.
 +.025 > . 3001:4001(1000) ack 1
   +0 %{ assert tcpi_ca_state == 4, tcpi_ca_state }%
   +0 %{ assert tcpi_sacked == 0, tcpi_sacked }%
   +0 %{ assert tcpi_snd_cwnd == 1, tcpi_snd_cwnd }%
`

// TestSackRenegingWaitsHalfAnRTT: after a reneging ACK the sender neither
// trusts its scoreboard nor waits a whole RTO: the timer fires after
// max(srtt/2, 10 ms) and the RTO clears the SACK marks.
func TestSackRenegingWaitsHalfAnRTT(t *testing.T) {
	if _, err := runScript(t, renegingScript); err != nil {
		t.Fatal(err)
	}
}
