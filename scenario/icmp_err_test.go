package scenario

import (
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// ICMP errors about the kernel's own segments (tcp_v4_err): the runner
// injects them quoting a segment the kernel sent, as a router on the path
// would.

// wantMibs checks counters after a script.
func wantMibs(t *testing.T, r *Runner, want map[stack.Mib]uint64) {
	t.Helper()
	for _, m := range []stack.Mib{stack.LINUX_MIB_OUTOFWINDOWICMPS, stack.LINUX_MIB_LISTENDROPS, stack.ICMP_MIB_INDESTUNREACHS,
		stack.ICMP_MIB_INERRORS} {
		w, ok := want[m]
		if !ok {
			continue
		}
		if got, err := r.Kernel().Mib(m); err != nil || got != w {
			t.Errorf("%v = %d (%v), want %d", m, got, err, w)
		}
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
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
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
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
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

// TestIcmpAboutASynAckDropsTheRequest: an ICMP error about a SYN-ACK
// reaches the request sock (tcp_req_err). Port unreachable is not fatal
// there and an error quoting a sequence number other than the request's
// ISN is ignored (OutOfWindowIcmps); a host unreachable quoting the ISN
// drops the request quietly (ListenDrops), so the client's ACK finds only
// the listener and gets a RST.
func TestIcmpAboutASynAckDropsTheRequest(t *testing.T) {
	r, err := runScript(t, `
`+"`../common/defaults.sh`"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
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
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
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
