package scenario

import "testing"

// TestDataAfterShutdownIsAnsweredWithAReset: after shutdown(SHUT_RDWR)
// the socket is in FIN_WAIT2 and reads nothing more. New data from the
// peer gets a reset (RFC 1122; tcp_rcv_state_process's FIN_WAIT case,
// TCPAbortOnData): tcp_reset gives the socket ECONNRESET, and the RST
// answers the segment (tcp_v4_send_reset: seq = its ACK, no ACK flag).
func TestDataAfterShutdownIsAnsweredWithAReset(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 shutdown(4, SHUT_RDWR) = 0
   +0 > F. 1:1(0) ack 1
 +.05 < . 1:1(0) ack 2 win 257
 +.05 < P. 1:11(10) ack 2 win 257
   +0 > R 2:2(0)
   +0 read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutOfOrderDuplicateOfAQueuedStart: a segment that starts where a
// queued out-of-order skb starts and ends inside it adds nothing: it is
// dropped and reported in a D-SACK block before the queued range
// (tcp_data_queue_ofo's "all the bits are present").
func TestOutOfOrderDuplicateOfAQueuedStart(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
 +.05 < . 1001:2001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001>
   +0 < . 1001:1501(500) ack 1 win 257
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1001:1501 1001:2001>
`)
	if err != nil {
		t.Fatal(err)
	}
}
