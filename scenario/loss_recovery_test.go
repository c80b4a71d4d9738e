package scenario

import (
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// Loss recovery as 6.12 runs it (found by a review of tcp_input.c,
// tcp_recovery.c and tcp_rate.c; each test fails on the build before its
// fix).

// renoServer: a listener whose peer has no SACK, 100 ms round trip,
// mss 1000.
const renoServer = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
`

// TestRenoNoRACKExtraDupackNoReretransmit: tcp_recovery=0, no SACK.
// In Recovery a further duplicate ACK makes tcp_fastretrans_alert call
// tcp_update_scoreboard (do_lost = num_dupack), which in 6.12 does
// nothing without SACK (tcp_input.c:2447-2458). The head stays
// LOST|SACKED_RETRANS, retrans_out >= lost_out, so nothing is resent.
func TestRenoNoRACKExtraDupackNoReretransmit(t *testing.T) {
	r, err := runScript(t, "`sysctl -q net.ipv4.tcp_recovery=0`\n"+renoServer+`   +0 write(4, ..., 5000) = 5000
   +0 > . 1:1001(1000) ack 1
   +0 > . 1001:2001(1000) ack 1
   +0 > . 2001:3001(1000) ack 1
   +0 > . 3001:4001(1000) ack 1
   +0 > P. 4001:5001(1000) ack 1
  +.1 < . 1:1(0) ack 1 win 514
   +0 < . 1:1(0) ack 1 win 514
   +0 < . 1:1(0) ack 1 win 514
   +0 > . 1:1001(1000) ack 1
 +.01 < . 1:1(0) ack 1 win 514
 +.05 < . 1:1(0) ack 5001 win 514
   +0 close(4) = 0
   +0 > F. 5001:5001(0) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPLOSTRETRANSMIT, 0)
	mibIs(t, r, stack.LINUX_MIB_TCPRENORECOVERY, 1)
	mibIs(t, r, stack.LINUX_MIB_TCPFASTRETRANS, 1)
}

// sackAccepted: a listener's connection whose peer has SACK (no
// timestamps), 100 ms round trip, mss 1000.
const sackAccepted = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
`

// sackServer is sackAccepted with ten segments written and sent.
var sackServer = sackAccepted + "   +0 write(4, ..., 10000) = 10000\n" + sentSegments(10, 1000, true)

// TestSackNoRACKMarkHeadLostCountsSacked: tcp_recovery=0 with SACK.
// One ACK SACKs segments 2, 4, 6, 8 (holes 1, 3, 5, 7): sacked_out 4 >
// reordering 3, so Recovery begins and tcp_update_scoreboard calls
// tcp_mark_head_lost(sk, sacked_out - reordering = 1, 0)
// (tcp_input.c:2452-2455), which walks from the head counting SACKed
// segments and stops once more than 1 was passed (2431-2435): holes 1 and
// 3 are lost, 5 is not. PRR lets three go (in flight 4, ssthresh 7), but
// retrans_out reaches lost_out after two (tcp_output.c:3529), so only
// 1:1001 and 2001:3001 are retransmitted.
func TestSackNoRACKMarkHeadLostCountsSacked(t *testing.T) {
	r, err := runScript(t, "`sysctl -q net.ipv4.tcp_recovery=0`\n"+sackServer+`  +.1 < . 1:1(0) ack 1 win 514 <sack 1001:2001 3001:4001 5001:6001 7001:8001,nop,nop>
   +0 > . 1:1001(1000) ack 1
   +0 > . 2001:3001(1000) ack 1
 +.05 < . 1:1(0) ack 10001 win 514
   +0 close(4) = 0
   +0 > F. 10001:10001(0) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPFASTRETRANS, 2)
}

// TestRackReoWndNotWidenedByDsackOnlyAck: RACK's reordering window
// (min_rtt/4 per step) widens on a D-SACK only once the ACK carries a rate
// sample: tcp_rack_update_reo_wnd returns when rs->prior_delivered is 0
// (tcp_recovery.c:191-194), and prior_delivered is set only by
// tcp_rate_skb_delivered for an skb newly (S)ACKed by this ACK
// (tcp_rate.c:87-95; an skb SACKed before had delivered_mstamp zeroed,
// tcp_rate.c:113). The previous build passed tp->delivered at the start
// of tcp_ack instead, so a D-SACK-only ACK widened the window at once.
//
// Scenario (min_rtt 100 ms, so one step is 25 ms): reordering is seen
// (reord_seen 1); a RACK reo timeout retransmits 3001:4001; the original
// arrives (ack 5001) with 6001:7001 SACKed, arming the reo timer for
// 5001:6001 (rack.rtt 140 ms, due 165 ms after it was sent). At +166 ms
// a D-SACK of the retransmission (and nothing newly delivered) undoes the
// recovery (tcp_try_undo_dsack), which sets rack.advanced, and RACK runs
// again in the same ACK with reo_wnd still 25 ms: 140 + 25 - 166 < 0,
// 5001:6001 is lost, Recovery starts again and it is retransmitted at
// once. The previous build had widened the window to 50 ms by then and
// waited for its reo timer (+26 ms).
func TestRackReoWndNotWidenedByDsackOnlyAck(t *testing.T) {
	r, err := runScript(t, sackServer+`  +.1 < . 1:1(0) ack 1 win 514 <sack 2001:3001,nop,nop>
+.005 < . 1:1(0) ack 3001 win 514
+.005 < . 1:1(0) ack 3001 win 514 <sack 4001:5001,nop,nop>
+.027 > . 3001:4001(1000) ack 1
+.003 < . 1:1(0) ack 5001 win 514 <sack 6001:7001,nop,nop>
+.026 < . 1:1(0) ack 5001 win 514 <sack 3001:4001 6001:7001,nop,nop>
   +0 > . 5001:6001(1000) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPDSACKUNDO, 1)
	mibIs(t, r, stack.LINUX_MIB_TCPSACKRECOVERY, 2)
}

// TestNewDataRearmsRtoOverPendingProbe: tcp_recovery=0 (no RACK
// timer). Ten segments fill cwnd with an eleventh waiting; the loss probe
// is due 202 ms after they went. A SACK of one segment puts the
// connection in Disorder (no timer is touched: no FLAG_SET_XMIT_TIMER)
// and frees room for the eleventh segment. Sending it, 6.12's
// tcp_event_new_data_sent calls tcp_rearm_rto because the pending timer
// is the loss probe (tcp_output.c:82-83), which turns it into the RTO due
// at head's send time + RTO (tcp_input.c:3291-3304); tcp_write_xmit's
// tcp_schedule_loss_probe then declines in Disorder
// (tcp_output.c:2900-2904). So no probe goes at +202 ms; the RTO
// retransmits 1:1001 300 ms after it was first sent.
func TestNewDataRearmsRtoOverPendingProbe(t *testing.T) {
	r, err := runScript(t, "`sysctl -q net.ipv4.tcp_recovery=0`\n"+sackAccepted+"   +0 write(4, ..., 11000) = 11000\n"+sentSegments(10, 1000, false)+`  +.1 < . 1:1(0) ack 1 win 514 <sack 2001:3001,nop,nop>
   +0 > P. 10001:11001(1000) ack 1
  +.2 > . 1:1001(1000) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPLOSSPROBES, 0)
}

// TestLossProbeUsesRtoMinSysctl: 6.12 has net.ipv4.tcp_rto_min_us
// (sysctl_net_ipv4.c:1577-1583), read into icsk_rto_min at socket
// creation (tcp.c:433-434). With one segment in flight
// tcp_schedule_loss_probe waits 2*srtt + tcp_rto_min_us(sk)
// (tcp_output.c:2911-2913): 200 ms + 50 ms here, before the RTO
// (srtt 100 + rttvar 200 = 300 ms), so the probe (the last segment again)
// goes 250 ms after the write.
func TestLossProbeUsesRtoMinSysctl(t *testing.T) {
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_rto_min_us=50000`\n"+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
 +.25 > P. 1:1001(1000) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestLossProbeTimeoutInJiffies: tcp_schedule_loss_probe turns 2 * srtt +
// TCP_TIMEOUT_MIN into jiffies with usecs_to_jiffies, which rounds up
// (tcp_output.c, timeout = usecs_to_jiffies(timeout_us)). With a 100.4 ms
// RTT that is 202.8 ms -> 203 jiffies: the probe goes 203 ms after the
// data (written on a jiffy edge). The previous build armed 202.8 ms.
func TestLossProbeTimeoutInJiffies(t *testing.T) {
	if _, err := runScript(t, "--tolerance_usecs=100\n--tolerance_percent=0\n"+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
+.1004 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
+.0006 write(4, ..., 2000) = 2000
   +0 > . 1:1461(1460) ack 1
   +0 > P. 1461:2001(540) ack 1
 +.203 > P. 1461:2001(540) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestSackOnAnOldAckIsNotDelivered: an ACK below snd_una may still carry
// SACK news, which tcp_ack's old_ack path tags (tcpi_sacked 1), but it
// never counts what they deliver (tcp_count_delivered is on the main path
// only), and those skbs are never counted later: delivered stays 4 (the
// SYN-ACK and three segments). A SACK block wholly below snd_una on the
// in-order ACK that follows is counted as TCPSACKDiscard.
func TestSackOnAnOldAckIsNotDelivered(t *testing.T) {
	r, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 10000) = 10000
   +0 > . 1:1001(1000) ack 1
   +0 > . 1001:2001(1000) ack 1
   +0 > . 2001:3001(1000) ack 1
   +0 > . 3001:4001(1000) ack 1
   +0 > . 4001:5001(1000) ack 1
   +0 > . 5001:6001(1000) ack 1
   +0 > . 6001:7001(1000) ack 1
   +0 > . 7001:8001(1000) ack 1
   +0 > . 8001:9001(1000) ack 1
   +0 > P. 9001:10001(1000) ack 1
 +.1 < . 1:1(0) ack 3001 win 514
  +0 %{ assert tcpi_delivered == 4 }%
  +0 < . 1:1(0) ack 2001 win 514 <sack 5001:6001,nop,nop>
  +0 %{ assert tcpi_delivered == 4 }%
  +0 %{ assert tcpi_sacked == 1 }%
  +0 < . 1:1(0) ack 3001 win 514 <sack 1001:2001,nop,nop>
`)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Kernel().Mib(stack.LINUX_MIB_TCPSACKDISCARD); err != nil || n != 1 {
		t.Errorf("TCPSACKDiscard = %d (%v), want 1", n, err)
	}
}

// TestDsackOfNeverRetransmittedData: a D-SACK of data never
// retransmitted is dubious (tcp_dsack_seen finds more duplicates than
// retransmissions): tcp_check_dsack counts it received and ignored, and
// tcp_sacktag_write_queue then takes it as an ordinary block, wholly below
// snd_una on an ACK at snd_una, so invalid: TCPSACKDiscard.
func TestDsackOfNeverRetransmittedData(t *testing.T) {
	r, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 2920) = 2920
   +0 > . 1:1461(1460) ack 1
   +0 > P. 1461:2921(1460) ack 1
  +.1 < . 1:1(0) ack 1461 win 514
   +0 < . 1:1(0) ack 1461 win 514 <sack 1:1461,nop,nop>
`)
	if err != nil {
		t.Fatal(err)
	}
	for m, want := range map[stack.Mib]uint64{stack.LINUX_MIB_TCPDSACKRECV: 1, stack.LINUX_MIB_TCPDSACKIGNOREDDUBIOUS: 1,
		stack.LINUX_MIB_TCPSACKDISCARD: 1, stack.LINUX_MIB_TCPDSACKIGNOREDNOUNDO: 0} {
		if n, err := r.Kernel().Mib(m); err != nil || n != want {
			t.Errorf("%v = %d (%v), want %d", m, n, err, want)
		}
	}
}
