package scenario

import (
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// Connection teardown as 6.12's tcp_minisocks.c, tcp_close and
// tcp_rcv_state_process do it.

// accepted is a server's connection accepted as fd 4, without
// timestamps.
const accepted = listener + `   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
`

// mibIs checks one counter after a script.
func mibIs(t *testing.T, r *Runner, m stack.Mib, want uint64) {
	t.Helper()
	if got, err := r.Kernel().Mib(m); err != nil || got != want {
		t.Errorf("%v = %d (%v), want %d", m, got, err, want)
	}
}

// TestTimeWaitAcksEveryRetransmittedFin: in TIME_WAIT each retransmitted
// FIN gets its ACK, however close together they come: a segment that
// takes sequence space is never rate-limited (tcp_oow_rate_limited), only
// bare ACKs are. The previous build limited everything to one ACK per
// 500 ms and sent none for the third FIN.
func TestTimeWaitAcksEveryRetransmittedFin(t *testing.T) {
	r, err := runScript(t, accepted+` +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.1 < . 1:1(0) ack 2 win 512
 +.1 < F. 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
 +.1 < F. 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
 +.1 < F. 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
// Bare ACKs out of the window are limited: one answer per 500 ms.
 +.1 < . 100:100(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
 +.1 < . 100:100(0) ack 2 win 512
 +.1 < . 100:100(0) ack 2 win 512
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPACKSKIPPEDTIMEWAIT, 2)
}

// TestFinWait2OrphanCountsItsOwnSkippedAcks: an orphan in FIN_WAIT2 kept
// as a timewait sock counts out-of-window ACKs it does not answer in
// TCPACKSkippedFinWait2, not TCPACKSkippedTimeWait.
func TestFinWait2OrphanCountsItsOwnSkippedAcks(t *testing.T) {
	r, err := runScript(t, accepted+` +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.1 < . 1:1(0) ack 2 win 512
 +.1 < . 0:0(0) ack 2 win 512
   +0 > . 2:2(0) ack 1
 +.1 < . 0:0(0) ack 2 win 512
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPACKSKIPPEDFINWAIT2, 1)
	mibIs(t, r, stack.LINUX_MIB_TCPACKSKIPPEDTIMEWAIT, 0)
}

// TestTimeWaitRejectsAnOldTimestamp: PAWS in TIME_WAIT. After the
// peer's FIN with TS val 1020, a SYN with a higher sequence number but
// TS val 900 is an old duplicate (tcp_paws_reject): it does not open a
// new connection; it is answered with the TIME_WAIT ACK and counted in
// PAWSEstabRejected. The previous build took it as a new connection and
// sent a SYN-ACK.
func TestTimeWaitRejectsAnOldTimestamp(t *testing.T) {
	r, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 8) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 1000,nop,wscale 7>
 +.1 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 1010 ecr 100>
   +0 accept(3, ..., ...) = 4
 +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1 <nop,nop,TS val 200 ecr 1010>
 +.1 < F. 1:1(0) ack 2 win 512 <nop,nop,TS val 1020 ecr 200>
   +0 > . 2:2(0) ack 2 <nop,nop,TS val 300 ecr 1020>
 +.1 < S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 900 ecr 0,nop,wscale 7>
   +0 > . 2:2(0) ack 2 <nop,nop,TS val 400 ecr 1020>
// A newer timestamp is a new connection (TCP_TW_SYN).
 +.1 < S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 2000 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1001 <mss 1460,sackOK,TS val 500 ecr 2000,nop,wscale 7>
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_PAWSESTABREJECTED, 1)
}
