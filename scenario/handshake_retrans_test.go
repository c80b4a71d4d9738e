package scenario

import (
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// A handshake that needed retransmissions, as 6.12 starts the connection
// after it (tcp_create_openreq_child, tcp_init_transfer, tcp_init_metrics,
// tcp_try_undo_spurious_syn), and the checks tcp_rcv_synsent_state_process
// makes of a SYN-ACK.

// TestRetransmittedSynAckStartsSmall: the SYN-ACK went three times and no
// timestamp tells which one was answered. The child inherits the
// request's retransmissions (total_retrans 2) and an undo marker, so
// tcp_init_transfer starts cwnd at 1; with no RTT sample the RTO is
// TCP_TIMEOUT_FALLBACK, 3 s. The previous build gave cwnd 10, RTO 1 s
// and total_retrans 0.
func TestRetransmittedSynAckStartsSmall(t *testing.T) {
	if _, err := runScript(t, server+synAck+`   +1 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +2 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
 +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_total_retrans == 2, tcpi_total_retrans }%
   +0 %{ assert tcpi_snd_cwnd == 1, tcpi_snd_cwnd }%
   +0 %{ assert tcpi_rto == 3000000, tcpi_rto }%
`); err != nil {
		t.Fatal(err)
	}
}

// tsSynAckTwice is a listener answering a SYN with timestamps, its SYN-ACK
// sent again at 1 s and 3 s.
const tsSynAckTwice = server + ` +.1 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 100,nop,wscale 7>
   +1 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 1100 ecr 100,nop,wscale 7>
   +2 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 3100 ecr 100,nop,wscale 7>
`

// TestSynAckTimestampGivesTheFirstRtt: the final ACK echoes the last
// SYN-ACK's timestamp. Its timing cannot be used (which SYN-ACK was
// answered?), but the echo gives the RTT (tcp_synack_rtt_meas with no
// request: 100 ms, so RTO 300 ms), and the retransmissions were needed:
// cwnd 1. The previous build had no RTT (0) at all.
func TestSynAckTimestampGivesTheFirstRtt(t *testing.T) {
	if _, err := runScript(t, tsSynAckTwice+` +.1 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 300 ecr 3100>
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_rtt == 100000, tcpi_rtt }%
   +0 %{ assert tcpi_rto == 300000, tcpi_rto }%
   +0 %{ assert tcpi_snd_cwnd == 1, tcpi_snd_cwnd }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestSpuriousSynAckTimeoutIsUndone: the final ACK echoes the first
// SYN-ACK's timestamp: that one arrived, the peer was only slow, and
// tcp_try_undo_spurious_syn drops the undo marker, so cwnd starts at 10
// although two retransmissions are counted.
func TestSpuriousSynAckTimeoutIsUndone(t *testing.T) {
	if _, err := runScript(t, tsSynAckTwice+` +.1 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 300 ecr 100>
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_total_retrans == 2, tcpi_total_retrans }%
   +0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestConnectWithoutRttSampleFallsBackTo3s: the SYN went twice and there
// are no timestamps, so the handshake gave no RTT: the RTO after it is
// TCP_TIMEOUT_FALLBACK (3 s). The previous build kept 1 s.
func TestConnectWithoutRttSampleFallsBackTo3s(t *testing.T) {
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_timestamps=0`\n"+`    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +1 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 7>
 +.1 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 > . 1:1(0) ack 1
   +0 %{ assert tcpi_rto == 3000000, tcpi_rto }%
`); err != nil {
		t.Fatal(err)
	}
}

// connecting is a non-blocking connect's SYN, with timestamps.
const connecting = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
`

// TestSynAckChecks: a SYN-ACK acknowledging something we never sent is
// answered with a RST and, as no retransmission has happened yet (a RST
// of ours may have been lost), the SYN goes again after TCP_TIMEOUT_MIN
// (2 ms) rather than the full second; one echoing a timestamp we never
// sent is reset too (PAWSActive) and the socket stays in
// SYN_SENT. The previous build waited the full RTO for the first and
// accepted the second.
func TestSynAckChecks(t *testing.T) {
	if _, err := runScript(t, connecting+` +.1 < S. 0:0(0) ack 12345 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 > R 12345:12345(0)
 +.002 > S 0:0(0) <mss 1460,sackOK,TS val 200 ecr 0,nop,wscale 7>
`); err != nil {
		t.Fatal(err)
	}
	r, err := runScript(t, connecting+` +.1 < S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 700 ecr 999999,nop,wscale 7>
   +0 > R 1:1(0)
   +0 %{ assert tcpi_state == 2, tcpi_state }%
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_PAWSACTIVEREJECTED, 1)
}

// TestWriterWaitingForConnectSavesAnAck: a blocking write() on a socket
// still connecting waits (sk_write_pending); when the SYN-ACK comes,
// tcp_rcv_synsent_state_process does not send the handshake's ACK but
// arms the delayed-ACK timer, and the data the writer sends at once
// carries the ACK: two segments out in all (OutSegs), not three. The
// previous build sent a bare ACK first (which the runner's matching of
// back-to-back segments hides in the script itself).
func TestWriterWaitingForConnectSavesAnAck(t *testing.T) {
	r, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
   +0 fcntl(3, F_SETFL, O_RDWR) = 0
  +0...0.100 write(3, ..., 100) = 100
 +.1 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 > P. 1:101(100) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.TCP_MIB_OUTSEGS, 2)
}
