package scenario

import (
	"maps"
	"slices"
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// ICMP errors about the kernel's own segments (tcp_v4_err): the runner
// injects them quoting a segment the kernel sent, as a router on the path
// would.

// wantMibs checks counters after a script.
func wantMibs(t *testing.T, r *Runner, want map[stack.Mib]uint64) {
	t.Helper()
	for _, m := range slices.Sorted(maps.Keys(want)) { // every counter asked for, in a fixed order
		mibIs(t, r, m, want[m])
	}
}

// TestIcmpUnreachableFailsAConnect: a host unreachable about the SYN
// ends the connect at once with EHOSTUNREACH (tcp_done_with_error); the
// previous build ignored it and kept retransmitting the SYN.
func TestIcmpUnreachableFailsAConnect(t *testing.T) {
	r, err := runScript(t, `
`+"`../common/defaults.sh`"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < icmp unreachable host_unreachable [0:0(0)]
   +0 getsockopt(3, SOL_SOCKET, SO_ERROR, [113], [4]) = 0
   +0 %{ assert tcpi_state == 7, tcpi_state }%
`)
	if err != nil {
		t.Fatal(err)
	}
	wantMibs(t, r, map[stack.Mib]uint64{stack.ICMP_MIB_INDESTUNREACHS: 1, stack.LINUX_MIB_OUTOFWINDOWICMPS: 0})
}

// TestIcmpOnAnOpenConnectionIsSoft: a network unreachable about data in
// flight does not end an established connection (RFC 1122 4.2.3.9): the
// segment keeps being retransmitted (a loss probe, then RTOs), and only
// when tcp_retries2 gives up does the error show, ENETUNREACH instead of
// ETIMEDOUT (sk_err_soft).
func TestIcmpOnAnOpenConnectionIsSoft(t *testing.T) {
	if _, err := runScript(t, `
`+"`../common/defaults.sh\nsysctl -q net.ipv4.tcp_retries2=2`"+`
`+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
 +.01 < icmp unreachable net_unreachable [1:1001(1000)]
   +0 %{ assert tcpi_state == 1, tcpi_state }%
  +.29 > P. 1:1001(1000) ack 1
  +.3 > P. 1:1001(1000) ack 1
  +.6 > P. 1:1001(1000) ack 1
  +3 read(4, ..., 1000) = -1 ENETUNREACH (Network is unreachable)
`); err != nil {
		t.Fatal(err)
	}
}

// TestIcmpUnreachableRevertsOneBackoff: TCP-LD (RFC 6069). After two
// RTOs the next retransmission is 1.2 s away; a host unreachable quoting
// the oldest unacknowledged segment undoes one doubling, so it goes 600
// ms after the last one instead (tcp_ld_RTO_revert).
func TestIcmpUnreachableRevertsOneBackoff(t *testing.T) {
	if _, err := runScript(t, `
`+"`../common/defaults.sh`"+`
`+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
  +.3 > P. 1:1001(1000) ack 1
  +.3 > P. 1:1001(1000) ack 1
  +.6 > P. 1:1001(1000) ack 1
 +.01 < icmp unreachable host_unreachable [1:1001(1000)]
 +.59 > P. 1:1001(1000) ack 1
 +1.2 > P. 1:1001(1000) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestIcmpRevertKeepsRtoInJiffies: the RTO tcp_ld_RTO_revert restores is
// __tcp_set_rto's, rounded up to whole jiffies, and the time left of it
// counts the time since the head was sent in whole jiffies too. With a
// 100.5 ms RTT the RTO is 302 ms (100.5 + 201, rounded up); the loss
// probe goes at 302 ms too, then two RTOs; after those two doublings and
// one undone the RTO is 604 ms, not 603, and 10.5 ms of it count as 11.
func TestIcmpRevertKeepsRtoInJiffies(t *testing.T) {
	if _, err := runScript(t, `
`+"`../common/defaults.sh`"+`
`+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
+.1005 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
 +.302 > P. 1:1001(1000) ack 1
 +.302 > P. 1:1001(1000) ack 1
 +.604 > P. 1:1001(1000) ack 1
+.0105 < icmp unreachable host_unreachable [1:1001(1000)]
   +0 %{ assert tcpi_rto == 604000, tcpi_rto }%
 +.593 > P. 1:1001(1000) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestIcmpAboutASynAckDropsTheRequest: an ICMP error about a SYN-ACK
// reaches the request sock (tcp_req_err). Port unreachable is not fatal
// there and an error quoting a sequence number other than the request's
// ISN is ignored (OutOfWindowIcmps); a host unreachable quoting the ISN
// drops the request quietly (ListenDrops), so the client's ACK finds only
// the listener and gets a RST.
func TestIcmpAboutASynAckDropsTheRequest(t *testing.T) {
	r, err := runScript(t, `
`+"`../common/defaults.sh`"+`
`+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
 +.01 < icmp unreachable port_unreachable [0:0(0)]
 +.01 < icmp unreachable host_unreachable [5:5(0)]
 +.99 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
 +.01 < icmp unreachable host_unreachable [0:0(0)]
  +.1 < . 1:1(0) ack 1 win 514
   +0 > R 1:1(0)
`)
	if err != nil {
		t.Fatal(err)
	}
	wantMibs(t, r, map[stack.Mib]uint64{stack.LINUX_MIB_OUTOFWINDOWICMPS: 1, stack.LINUX_MIB_LISTENDROPS: 1, stack.ICMP_MIB_INDESTUNREACHS: 3})
}

// TestPathMtuDiscovery: RFC 1191 as tcp_v4_mtu_reduced does it. A
// fragmentation needed with an MTU above the path's changes nothing; one
// with 1200 shrinks the MSS to 1160 and the two segments in flight go
// again at once, each as 1160 + 300 bytes (tcp_simple_retransmit,
// tcp_fragment in the retransmit queue), with cwnd untouched. The segment
// still queued (the window held it) is cut to the new MSS when it goes.
// An MTU below ip_rt_min_pmtu becomes 552: MSS 512.
func TestPathMtuDiscovery(t *testing.T) {
	if _, err := runScript(t, `
`+"`../common/defaults.sh`"+`
`+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
  +.1 < . 1:1(0) ack 1 win 23
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 4380) = 4380
   +0 > . 1:1461(1460) ack 1
   +0 > P. 1461:2921(1460) ack 1
   +0 %{ assert tcpi_snd_mss == 1460, tcpi_snd_mss; assert tcpi_pmtu == 1500, tcpi_pmtu }%
 +.01 < icmp unreachable frag_needed mtu 1600 [1:1461(1460)]
 +.01 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]
   +0 > . 1:1161(1160) ack 1
   +0 > . 1161:1461(300) ack 1
   +0 > . 1461:2621(1160) ack 1
   +0 > P. 2621:2921(300) ack 1
   +0 %{ assert tcpi_snd_mss == 1160, tcpi_snd_mss; assert tcpi_pmtu == 1200, tcpi_pmtu; assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%
 +.05 < . 1:1(0) ack 2921 win 23
   +0 > . 2921:4081(1160) ack 1
   +0 > P. 4081:4381(300) ack 1
 +.05 < . 1:1(0) ack 4381 win 23
 +.01 < icmp unreachable frag_needed mtu 300 [4381:4381(0)]
   +0 write(4, ..., 1000) = 1000
   +0 > . 4381:4893(512) ack 1
   +0 > P. 4893:5381(488) ack 1
   +0 %{ assert tcpi_pmtu == 552, tcpi_pmtu }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestIcmpNeedsTheQuotedSegment: an inbound ICMP line without the segment
// it quotes is refused with a message saying what to write.
func TestIcmpNeedsTheQuotedSegment(t *testing.T) {
	_, err := runScript(t, `
`+"`../common/defaults.sh`"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < icmp unreachable host_unreachable
`)
	wantRunError(t, err, 7, "needs the segment it quotes", "[1:1461(1460)]")
}

// TestPathMtuExpires: the learned path MTU lasts ip_rt_mtu_expires (10
// minutes). The next write after that finds the route's MTU back at 1500
// and tcp_current_mss syncs the MSS up again.
func TestPathMtuExpires(t *testing.T) {
	if _, err := runScript(t, ``+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1460) = 1460
   +0 > P. 1:1461(1460) ack 1
 +.01 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]
   +0 > . 1:1161(1160) ack 1
   +0 > P. 1161:1461(300) ack 1
 +.05 < . 1:1(0) ack 1461 win 514
   +0 %{ assert tcpi_snd_mss == 1160, tcpi_snd_mss }%
 +601 write(4, ..., 2000) = 2000
   +0 > . 1461:2921(1460) ack 1
   +0 > P. 2921:3461(540) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestSoErrorReportsTheSoftError: getsockopt(SO_ERROR) on an open
// connection returns, and clears, the error ICMP left in sk_err_soft.
func TestSoErrorReportsTheSoftError(t *testing.T) {
	if _, err := runScript(t, ``+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
 +.01 < icmp unreachable host_unreachable [1:1001(1000)]
   +0 getsockopt(4, SOL_SOCKET, SO_ERROR, [113], [4]) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
`); err != nil {
		t.Fatal(err)
	}
}

// TestLockedPathMtuIsNoError: an MTU below ip_rt_min_pmtu locks the path
// MTU at 552; packets then go without DF (ip_dont_fragment is false), so
// nothing is about to go wrong and no EMSGSIZE is remembered: the timeout
// reports ETIMEDOUT. A packet tap checks DF: set on the first send, clear
// on the retransmissions after the lock.
func TestLockedPathMtuIsNoError(t *testing.T) {
	var df []bool
	if _, err := runScriptTapped(t, func(p stack.PacketRecord) {
		b := p.Skb.Bytes[p.Skb.Data:]
		if p.Dir != stack.PacketOut || len(b) < 40 || b[9] != 6 { // TCP
			return
		}
		ihl := int(b[0]&0xf) * 4
		if int(p.Skb.Len) > ihl+int(b[ihl+12]>>4)*4 { // with data
			df = append(df, b[6]&0x40 != 0)
		}
	}, ``+"`sysctl -q net.ipv4.tcp_retries2=2`"+`
`+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
 +.01 < icmp unreachable frag_needed mtu 300 [1:1001(1000)]
   +0 > . 1:513(512) ack 1
   +0 > P. 513:1001(488) ack 1
   +0 %{ assert tcpi_pmtu == 552, tcpi_pmtu }%
  +10 read(4, ..., 1000) = -1 ETIMEDOUT (Connection timed out)
`); err != nil {
		t.Fatal(err)
	}
	if len(df) < 3 || !df[0] || df[1] || df[len(df)-1] {
		t.Errorf("DF on the data segments sent: %v; want set on the first only", df)
	}
}

// runScriptTapped is runScript with a packet tap on the kernel.
func runScriptTapped(t *testing.T, tap stack.PacketTap, src string) (*Runner, error) {
	t.Helper()
	r := newScriptRunner(t, src)
	if err := r.Kernel().SetPacketTap(tap); err != nil {
		t.Fatal(err)
	}
	return r, r.Run()
}

// TestIcmpThatNoSocketSees: a fragment reassembly timeout (time
// exceeded, code 1) is about our fragments, not a route: icmp_unreach
// stops it, and a connect carries on.
func TestIcmpThatNoSocketSees(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < icmp time_exceeded frag_reassembly_time_exceeded [0:0(0)]
   +0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
   +0 %{ assert tcpi_state == 2, tcpi_state }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestIcmpErrnoTable: source route failed is EOPNOTSUPP in
// icmp_err_convert (the model used to answer EHOSTUNREACH for every code
// above fragmentation needed).
func TestIcmpErrnoTable(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < icmp unreachable source_route_failed [0:0(0)]
   +0 getsockopt(3, SOL_SOCKET, SO_ERROR, [95], [4]) = 0
`); err != nil {
		t.Fatal(err)
	}
}

// TestAdvertisedMssIgnoresThePathMtu: a later connection to a destination
// with a learned path MTU still advertises the MSS of the device's MTU
// (ipv4_default_advmss); only its own sending MSS follows the path.
func TestAdvertisedMssIgnoresThePathMtu(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
 +.01 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 > . 1:1(0) ack 1
   +0 write(3, ..., 1460) = 1460
   +0 > P. 1:1461(1460) ack 1
 +.01 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]
   +0 > . 1:1161(1160) ack 1
   +0 > P. 1161:1461(300) ack 1
 +.01 < . 1:1(0) ack 1461 win 514
   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
   +0 fcntl(5, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(5, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
`); err != nil {
		t.Fatal(err)
	}
}

// TestHandshakeMssHalfTheWindow: tcp_sync_mss at the handshake bounds
// the MSS to half the window the SYN-ACK offered (tcp_bound_to_half_wnd).
func TestHandshakeMssHalfTheWindow(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < S. 0:0(0) ack 1 win 2000 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 > . 1:1(0) ack 1
   +0 %{ assert tcpi_snd_mss == 1000, tcpi_snd_mss }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestSimpleRetransmitIgnoresTheFin: tcp_simple_retransmit compares the
// data of a segment with the new MSS; a segment of exactly 1160 bytes
// plus FIN still fits an MSS of 1160 and is not resent.
func TestSimpleRetransmitIgnoresTheFin(t *testing.T) {
	if _, err := runScript(t, ``+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 setsockopt(4, SOL_TCP, TCP_CORK, [1], 4) = 0
   +0 write(4, ..., 1160) = 1160
   +0 shutdown(4, SHUT_WR) = 0
   +0 > FP. 1:1161(1160) ack 1
 +.01 < icmp unreachable frag_needed mtu 1200 [1:1161(1160)]
   +0 %{ assert tcpi_snd_mss == 1160, tcpi_snd_mss; assert tcpi_total_retrans == 0, tcpi_total_retrans; assert tcpi_lost == 0, tcpi_lost }%
 +.05 < . 1:1(0) ack 1162 win 514
`); err != nil {
		t.Fatal(err)
	}
}

// TestMssGrowsWithTheWindow: the MSS bounded to half a small first window
// (1000 of a 2000-byte SYN-ACK window) grows back when the peer offers a
// window larger than any before: tcp_ack_update_window syncs it again.
func TestMssGrowsWithTheWindow(t *testing.T) {
	if _, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < S. 0:0(0) ack 1 win 2000 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 > . 1:1(0) ack 1
   +0 %{ assert tcpi_snd_mss == 1000, tcpi_snd_mss }%
 +.01 < . 1:1(0) ack 1 win 514
   +0 fcntl(3, F_SETFL, O_RDWR) = 0
   +0 write(3, ..., 2920) = 2920
   +0 > . 1:1461(1460) ack 1
   +0 > P. 1461:2921(1460) ack 1
   +0 %{ assert tcpi_snd_mss == 1460, tcpi_snd_mss }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestSackBlocksTakeTheirRoom: while the server owes the peer a SACK block
// (it holds out-of-order data), its data segments carry it, and
// tcp_current_mss takes the option's 12 bytes off the MSS so the segment
// still fits the MTU: 1448 bytes, not 1460 (which, with DF, would not
// have left at all).
func TestSackBlocksTakeTheirRoom(t *testing.T) {
	if _, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 < . 1001:2001(1000) ack 1 win 514
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001>
   +0 write(4, ..., 2896) = 2896
   +0 > . 1:1449(1448) ack 1 <nop,nop,sack 1001:2001>
   +0 > P. 1449:2897(1448) ack 1 <nop,nop,sack 1001:2001>
`); err != nil {
		t.Fatal(err)
	}
}

// TestSynSentMss: before the SYN-ACK, tcp_connect_init has synced the
// MSS with mss_clamp still at TCP_MSS_DEFAULT: 536 less the timestamp the
// SYN offers, 524; rcv_mss is tcp_initialize_rcv_mss's floor, TCP_MIN_MSS
// (88), as no receive window is chosen yet. Both change at the SYN-ACK.
func TestSynSentMss(t *testing.T) {
	if _, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
   +0 %{ assert tcpi_snd_mss == 524, tcpi_snd_mss; assert tcpi_rcv_mss == 88, tcpi_rcv_mss }%
 +.01 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 > . 1:1(0) ack 1
   +0 %{ assert tcpi_snd_mss == 1460, tcpi_snd_mss; assert tcpi_rcv_mss == 536, tcpi_rcv_mss }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestOneMssPerWrite: tcp_sendmsg works out the MSS once per call
// (tcp_send_mss) and sizes every segment of the write with it. Here a
// D-SACK and a SACK block are owed when the write starts (SACK
// compression held the ACK back), so the MSS is 1428; the first segment
// sends the D-SACK, but the rest of the write keeps 1428 (the previous
// build went on with 1436 and ended with a 1420-byte segment).
func TestOneMssPerWrite(t *testing.T) {
	if _, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 1,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514 <nop,nop,TS val 2 ecr 100>
   +0 accept(3, ..., ...) = 4
   +0 setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0
  +.1 < . 2001:3001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 150>
   +0 > . 1:1(0) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:3001>
   +0 < . 3001:4001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 300>
   +0 > . 1:1(0) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:4001>
   +0 < . 4001:5001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 300>
   +0 > . 1:1(0) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:5001>
   +0 < . 5001:6001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 300>
   +0 < . 5001:6001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 300>
   +0 write(4, ..., 4284) = 4284
   +0 > . 1:1429(1428) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 5001:6001 2001:6001>
   +0 > . 1429:2857(1428) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:6001>
   +0 > P. 2857:4285(1428) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:6001>
`); err != nil {
		t.Fatal(err)
	}
}

// TestOneMssPerWriteUnderNagle: the same write with Nagle on and a small
// segment unacknowledged. Every segment is a full 1428 of the call's MSS,
// so Nagle holds nothing back; the previous build's 1420-byte tail was
// "partial" against a later MSS of 1436 and waited a round trip.
func TestOneMssPerWriteUnderNagle(t *testing.T) {
	if _, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 1,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514 <nop,nop,TS val 2 ecr 100>
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 100) = 100
   +0 > P. 1:101(100) ack 1 <nop,nop,TS val 200 ecr 2>
  +.1 < . 2001:3001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 150>
   +0 > . 101:101(0) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:3001>
   +0 < . 3001:4001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 300>
   +0 > . 101:101(0) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:4001>
   +0 < . 4001:5001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 300>
   +0 > . 101:101(0) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:5001>
   +0 < . 5001:6001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 300>
   +0 < . 5001:6001(1000) ack 1 win 514 <nop,nop,TS val 3 ecr 300>
   +0 write(4, ..., 4284) = 4284
   +0 > . 101:1529(1428) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 5001:6001 2001:6001>
   +0 > . 1529:2957(1428) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:6001>
   +0 > P. 2957:4385(1428) ack 1 <nop,nop,TS val 300 ecr 2,nop,nop,sack 2001:6001>
   +0 %{ assert tcpi_notsent_bytes == 0, tcpi_notsent_bytes }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestPacingRateAtTheSynAck: the SYN-ACK's tcp_ack syncs the MSS with
// tcp_header_len as tcp_connect_init left it (the timestamp the SYN
// offered counted), and the pacing rate is set from that (1448 bytes);
// only then does the handshake settle tcp_header_len (no timestamps here:
// the MSS becomes 1460).
func TestPacingRateAtTheSynAck(t *testing.T) {
	if _, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 > . 1:1(0) ack 1
   +0 %{ assert tcpi_snd_mss == 1460, tcpi_snd_mss; assert tcpi_pacing_rate == 2896000, tcpi_pacing_rate }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestPathMtuInSynSent: a fragmentation needed about the SYN (MTU 1200)
// lowers nothing below the 524 the MSS already is before the peer
// answers: tcp_sync_mss clamps to mss_clamp (536) less the timestamp the
// SYN offers.
func TestPathMtuInSynSent(t *testing.T) {
	if _, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
   +0 %{ assert tcpi_snd_mss == 524, tcpi_snd_mss }%
 +.01 < icmp unreachable frag_needed mtu 1200 [0:0(0)]
   +0 %{ assert tcpi_snd_mss == 524, tcpi_snd_mss }%
`); err != nil {
		t.Fatal(err)
	}
}
