package scenario

import (
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// The receive path's edge cases as 6.12's tcp_data_queue, tcp_ofo_queue,
// tcp_fin, tcp_rcv_state_process and tcp_recvmsg_locked handle them.

// TestFinRetransmittedInCloseWaitIsAcked: our ACK of the peer's FIN was
// lost and the FIN comes again. In CLOSE_WAIT a segment from before
// rcv_nxt still goes to tcp_data_queue, which answers old data at once
// with a D-SACK for it.
func TestFinRetransmittedInCloseWaitIsAcked(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
 +.1 < F. 1:1(0) ack 1 win 257
   +0 > . 1:1(0) ack 2
 +.3 < F. 1:1(0) ack 1 win 257
   +0 > . 1:1(0) ack 2 <nop,nop,sack 1:2>
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadAfterFinThenResetReturnsEOF: the peer's FIN, then its RST. A
// read finds the stream done (SOCK_DONE is checked before the error)
// and returns 0; the reset's error is left for the next call that asks.
func TestReadAfterFinThenResetReturnsEOF(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
 +.1 < F. 1:1(0) ack 1 win 257
   +0 > . 1:1(0) ack 2
 +.1 < R. 2:2(0) ack 1 win 257
   +0 read(4, ..., 1000) = 0
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestOfoQueueReportsOverlapInDsack: in-order data that reaches into an
// out-of-order skb: tcp_ofo_queue reports the bytes that were already
// there in a D-SACK block.
func TestOfoQueueReportsOverlapInDsack(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
 +.1 < . 1001:2001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001>
 +.1 < . 1:1501(1500) ack 1 win 257
   +0 > . 1:1(0) ack 2001 <nop,nop,sack 1001:1501>
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestRcvlowatAndWaitallMakeReadsWait: a blocking read waits for
// SO_RCVLOWAT bytes, and for the whole length with MSG_WAITALL
// (sock_rcvlowat), instead of returning the first segment. With
// SO_RCVLOWAT the sleeper is woken only once the bytes not yet read reach
// the mark (tcp_data_ready), counted from what the read already took: it
// took the first 1000 bytes, so the next 1000 leave it asleep and the
// 1000 after them wake it, and it returns all 3000.
func TestRcvlowatAndWaitallMakeReadsWait(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 setsockopt(4, SOL_SOCKET, SO_RCVLOWAT, [1500], 4) = 0
 +.1 < . 1:1001(1000) ack 1 win 257
 +0...0.2 read(4, ..., 3000) = 3000
 +.1 < . 1001:2001(1000) ack 1 win 257
 +.1 < . 2001:3001(1000) ack 1 win 257
`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runScript(t, passiveOpen+`
 +.1 < . 1:1001(1000) ack 1 win 257
 +0...0.1 recv(4, ..., 2000, MSG_WAITALL) = 2000
 +.1 < . 1001:2001(1000) ack 1 win 257
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestSegmentAtTheWindowEdgeIsDropped: a segment that starts exactly at
// the right edge of the window passes tcp_sequence, but tcp_data_queue
// drops it (TCP_OVERWINDOW) and ACKs at once, with no SACK block. The
// window is 1049 << 8: with defaults.sh's tcp_rmem[1] of 540000, the
// initial window is half of it, not capped at 65535 (only the SYN-ACK's
// unscaled field is).
func TestSegmentAtTheWindowEdgeIsDropped(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
 +.1 < . 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001 win 1049
 +.1 < . 269545:270545(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001 win 1049
`)
	if err != nil {
		t.Fatal(err)
	}
}

// smallRcvbuf is a server whose listener has a 4000-byte SO_RCVBUF, so
// that three segments close the window.
const smallRcvbuf = "`../common/defaults.sh`" + `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [4000], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 win 2920 <mss 1460,nop,nop,sackOK,nop,wscale 0>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
`

// TestDataIntoAZeroWindowIsDropped: once the advertised window is 0, new
// data at rcv_nxt is dropped (TCPZeroWindowDrop) and answered at once
// with the same zero window; the application has not read anything.
// When it reads, the window opens again. tcp_select_window counts the
// window going to zero and coming back (TCPToZeroWindowAdv,
// TCPFromZeroWindowAdv).
func TestDataIntoAZeroWindowIsDropped(t *testing.T) {
	r, err := runScript(t, smallRcvbuf+`
 +.1 < . 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001 win 2000
 +.1 < . 1001:2001(1000) ack 1 win 257
  +.04 > . 1:1(0) ack 2001 win 1000
 +.1 < . 2001:3001(1000) ack 1 win 257
  +.08 > . 1:1(0) ack 3001 win 0
 +.1 < . 3001:4001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 3001 win 0
   +0 read(4, ..., 4000) = 3000
   +0 > . 1:1(0) ack 3001
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []stack.Mib{stack.LINUX_MIB_TCPZEROWINDOWDROP, stack.LINUX_MIB_TCPTOZEROWINDOWADV, stack.LINUX_MIB_TCPFROMZEROWINDOWADV} {
		mibIs(t, r, m, 1)
	}
}

// TestOfoDataBeyondTheFinIsDropped: out-of-order data the peer sent
// beyond its FIN can never be read: tcp_fin drops it with the SACK
// blocks, and the FIN's ACK covers the FIN only. The queue is empty by
// then, so no ACK is due at once for filling it, tcp_fin has entered
// interactive mode, and the window (tcp_rmem[1] 540000 offers about
// 268 KB from the start) has not grown past what was offered: the ACK is
// delayed.
func TestOfoDataBeyondTheFinIsDropped(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
 +.1 < . 1002:2002(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1002:2002>
 +.1 < F. 1:1001(1000) ack 1 win 257
 +.04 > . 1:1(0) ack 1002
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestSmallSegmentsShareOneSkb: tcp_try_coalesce. Ten-byte segments to a
// reader that sleeps are copied into the room after the first one's data
// (its buffer, sized for a 64-byte headroom and the 50-byte packet, has
// 142 bytes free), so the socket is charged for one skb only and the
// window it offers stays at 2920 instead of shrinking as each segment's
// truesize is charged. The bytes read back whole. (The last ACK waits
// 80 ms: the delayed-ACK timer that sent the one before doubled the ATO.)
func TestSmallSegmentsShareOneSkb(t *testing.T) {
	r, err := runScript(t, `
`+"`../common/defaults.sh`"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [4000], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 win 2920 <mss 1460,nop,nop,sackOK,nop,wscale 0>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
  +.1 < P. 1:11(10) ack 1 win 257
   +0 > . 1:1(0) ack 11 win 2920
  +.1 < P. 11:21(10) ack 1 win 257
   +0 > . 1:1(0) ack 21 win 2920
  +.1 < P. 21:31(10) ack 1 win 257
 +.04 > . 1:1(0) ack 31 win 2920
  +.1 < P. 31:41(10) ack 1 win 257
 +.08 > . 1:1(0) ack 41 win 2920
   +0 read(4, ..., 100) = 40
`)
	if err != nil {
		t.Fatal(err)
	}
	wantMibs(t, r, map[stack.Mib]uint64{stack.LINUX_MIB_TCPRCVCOALESCE: 3})
}

// TestOutOfOrderSegmentsCoalesce: tcp_ooo_try_coalesce. A small
// out-of-order segment that follows on from one already queued is copied
// into it (one coalesced copy while the hole is still open), and the SACK
// block grows to 11:31.
func TestOutOfOrderSegmentsCoalesce(t *testing.T) {
	r, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
  +.1 < P. 11:21(10) ack 1 win 514
   +0 > . 1:1(0) ack 1 <nop,nop,sack 11:21>
   +0 < P. 21:31(10) ack 1 win 514
   +0 > . 1:1(0) ack 1 <nop,nop,sack 11:31>
`)
	if err != nil {
		t.Fatal(err)
	}
	wantMibs(t, r, map[stack.Mib]uint64{stack.LINUX_MIB_TCPRCVCOALESCE: 1})
}

// TestOutOfOrderReplaceDoesNotCoalesce: a segment with the same start as
// a queued one and more data takes its place (tcp_data_queue_ofo's
// rb_replace_node; TCPOFOMerge), and is not then merged into the skb
// before the one it replaced, even though it follows on from it.
func TestOutOfOrderReplaceDoesNotCoalesce(t *testing.T) {
	r, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
  +.1 < P. 21:31(10) ack 1 win 514
   +0 > . 1:1(0) ack 1 <nop,nop,sack 21:31>
   +0 < P. 11:21(10) ack 1 win 514
   +0 > . 1:1(0) ack 1 <nop,nop,sack 11:31>
   +0 < P. 21:41(20) ack 1 win 514
   +0 > . 1:1(0) ack 1 <nop,nop,sack 21:31 11:41>
`)
	if err != nil {
		t.Fatal(err)
	}
	wantMibs(t, r, map[stack.Mib]uint64{stack.LINUX_MIB_TCPRCVCOALESCE: 0, stack.LINUX_MIB_TCPOFOMERGE: 1})
}
