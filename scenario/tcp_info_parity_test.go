package scenario

import "testing"

// What a reader of struct tcp_info sees, compared with 6.12's
// tcp_get_info (net/ipv4/tcp.c); each test failed on the build before
// its fix.

// TestTcpInfoAtoClampedToDelackMax: tcp_get_info reports
// jiffies_to_usecs(min(icsk_ack.ato, tcp_delack_max(sk))). With
// tcp_rto_min_us=20000, tcp_delack_max is max(20, 2) - 1 = 19 jiffies, so
// the 40 ms ato the first data segment sets (TCP_ATO_MIN) reads back as
// 19000 µs. The previous build reported the raw 40000.
func TestTcpInfoAtoClampedToDelackMax(t *testing.T) {
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_rto_min_us=20000`\n"+listener+
		`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_ato == 0, tcpi_ato }%
   +0 < P. 1:101(100) ack 1 win 512
   +0 > . 1:1(0) ack 101
   +0 %{ assert tcpi_ato == 19000, tcpi_ato }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestTcpInfoRtoTimeInMillisecondStamps: during an RTO recovery
// tcp_get_info adds tcp_clock_ms() - rto_stamp, two clocks each truncated
// to whole milliseconds. The RTO fires at 400.5 ms (data sent at 100.5 ms,
// RTO 300 ms, no tail loss probe); read at 401.2 ms that is 401 - 400 = 1 ms, where the
// previous build truncated the 0.7 ms between them to 0.
func TestTcpInfoRtoTimeInMillisecondStamps(t *testing.T) {
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_early_retrans=0`\n"+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
+.0005 write(4, ..., 100) = 100
   +0 > P. 1:101(100) ack 1
  +.3 > P. 1:101(100) ack 1
   +0 %{ assert tcpi_total_rto == 1, tcpi_total_rto }%
   +0 %{ assert tcpi_total_rto_time == 0, tcpi_total_rto_time }%
+.0007 %{ assert tcpi_total_rto_time == 1, tcpi_total_rto_time }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestTcpInfoLastTimesWhileConnecting: tcp_connect sets rcv_tstamp only
// for a socket in repair mode, and a SYN is not data (lsndtime waits for
// tcp_finish_connect), so in SYN_SENT all three stamps are still the
// zeroed sock's 0 and the last_* fields read u32 jiffies: 4294668796 at
// 1.5 s. The previous build set rcv_tstamp at connect and counted all
// three from boot (1500).
func TestTcpInfoLastTimesWhileConnecting(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
   +1 > S 0:0(0) <...>
  +.5 %{ assert tcpi_state == 2, tcpi_state }%
   +0 %{ assert tcpi_last_data_sent == 4294668796, tcpi_last_data_sent }%
   +0 %{ assert tcpi_last_data_recv == 4294668796, tcpi_last_data_recv }%
   +0 %{ assert tcpi_last_ack_recv == 4294668796, tcpi_last_ack_recv }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestWindowClampOnAListener: TCP_WINDOW_CLAMP (10) set on a listener is
// the request's rsk_window_clamp: tcp_select_initial_window offers
// min(space, 5000) rounded down to the MSS (4380) in the SYN-ACK, with
// window scale 0 (ilog2(5000) - 15 < 0), and the child reads the clamp
// back as 5000. The previous build answered the option ENOPROTOOPT.
func TestWindowClampOnAListener(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 setsockopt(3, SOL_TCP, 10, [5000], 4) = 0
   +0 getsockopt(3, SOL_TCP, 10, [5000], [4]) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 win 4380 <mss 1460,nop,nop,sackOK,nop,wscale 0>
  +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 getsockopt(4, SOL_TCP, 10, [5000], [4]) = 0
`); err != nil {
		t.Fatal(err)
	}
}

// TestTcpInfoSynAckRtoTimeInMillisecondStamps: a passive open whose
// SYN-ACK timed out starts with the RTO recovery's time so far, counted as
// tcp_create_openreq_child does, from whole-millisecond stamps: the first
// SYN-ACK at 0.8 ms and the final ACK at 1001.5 ms make 1001 - 0 = 1001 ms
// (the difference itself, 1000.7 ms, truncates to 1000).
func TestTcpInfoSynAckRtoTimeInMillisecondStamps(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
+.0008 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +1 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
+.0007 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_total_rto == 1, tcpi_total_rto }%
   +0 %{ assert tcpi_total_rto_time == 1001, tcpi_total_rto_time }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestTcpInfoRtoTimeOfAFinishedRecovery: tcp_update_rto_time adds the
// finished RTO recovery's length as the difference of whole-millisecond
// stamps: from 400.5 ms to 601.2 ms is 601 - 400 = 201 ms (the difference
// itself, 200.7 ms, truncates to 200).
func TestTcpInfoRtoTimeOfAFinishedRecovery(t *testing.T) {
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_early_retrans=0`\n"+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
+.0005 write(4, ..., 100) = 100
   +0 > P. 1:101(100) ack 1
  +.3 > P. 1:101(100) ack 1
+.2007 < . 1:1(0) ack 101 win 512
   +0 %{ assert tcpi_total_rto == 1, tcpi_total_rto }%
   +0 %{ assert tcpi_total_rto_time == 201, tcpi_total_rto_time }%
`); err != nil {
		t.Fatal(err)
	}
}
