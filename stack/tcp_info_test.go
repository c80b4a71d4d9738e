package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

func (f *fixture) tcpInfo(t *testing.T, p *Process, fd int) *sockets.TcpInfo {
	t.Helper()
	info, err := p.TCPInfo(fd)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// loopbackPair connects a client to a listener on 127.0.0.1:port and
// accepts it; it returns the listener, client and accepted fds.
func (f *fixture) loopbackPair(t *testing.T, port uint16) (lfd, cfd, afd int) {
	t.Helper()
	p := f.p
	a := sockets.SockaddrIn{Family: sockets.AF_INET, Addr: addr("127.0.0.1:1").Addr, Port: port}
	lfd = f.listenOn(t, a)
	cfd = f.socket(t)
	if err := p.Connect(cfd, a); err != nil {
		t.Fatal(err)
	}
	afd, _, err := p.Accept4(lfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	return lfd, cfd, afd
}

// TestTCPInfoFreshSocket: before any connection, tcp_info shows
// tcp_init_sock's values: CLOSE, RTO 1 s (1000000 µs), cwnd 10, MSS 536,
// ssthresh "infinite", no RTT sample yet (min_rtt ~0).
func TestTCPInfoFreshSocket(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	m := f.mark()
	info := f.tcpInfo(t, f.p, fd)
	if info.TcpiState != uint8(sockets.TCP_CLOSE) || info.TcpiRto != 1000000 || info.TcpiSndCwnd != TCP_INIT_CWND ||
		info.TcpiSndMss != TCP_MSS_DEFAULT || info.TcpiSndSsthresh != TCP_INFINITE_SSTHRESH ||
		info.TcpiMinRtt != ^uint32(0) || info.TcpiReordering != 3 || info.TcpiOptions != 0 {
		t.Errorf("fresh socket: %+v", *info)
	}
	if info.TcpiMaxPacingRate != ^uint64(0) {
		t.Errorf("max_pacing_rate %d, want ~0 (no SO_MAX_PACING_RATE)", info.TcpiMaxPacingRate)
	}
	want := []string{"__sys_getsockopt", "tcp_getsockopt", "tcp_get_info"}
	if got := f.entries(m); !inOrder(got, want) {
		t.Errorf("getsockopt path %v, want %v in order", got, want)
	}
}

// TestTCPInfoAfterTransfer: a loopback connection after the handshake and
// 1000 bytes one way, 500 the other. Both ends negotiated timestamps,
// SACK and window scale 7; the MSS is loopback's 65483 (65536 - 40 - 12
// for timestamps); every byte sent is acknowledged, every segment one side
// sent the other received.
func TestTCPInfoAfterTransfer(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	_, cfd, afd := f.loopbackPair(t, 8080)
	if n, err := p.Sendto(cfd, make([]byte, 1000), 0, nil); n != 1000 || err != nil {
		t.Fatalf("send: %d %v", n, err)
	}
	if b, _, err := p.Recvfrom(afd, 4096, 0); len(b) != 1000 || err != nil {
		t.Fatalf("server read %d %v", len(b), err)
	}
	if n, err := p.Sendto(afd, make([]byte, 500), 0, nil); n != 500 || err != nil {
		t.Fatalf("reply: %d %v", n, err)
	}
	if b, _, err := p.Recvfrom(cfd, 4096, 0); len(b) != 500 || err != nil {
		t.Fatalf("client read %d %v", len(b), err)
	}
	if err := f.k.AdvanceTo(1500e6); err != nil {
		t.Fatal(err)
	}
	c, s := f.tcpInfo(t, p, cfd), f.tcpInfo(t, p, afd)
	// tcp_sync_mss bounds the MSS to half the largest window the peer
	// offered (tcp_bound_to_half_wnd): the client saw the SYN-ACK's
	// unscaled 65483 first (MSS 32741), then 512 << 7 in the server's
	// ACKs, and tcp_ack_update_window synced it again; the server saw
	// 512 << 7 in the handshake's ACK. Both 32768, the "mss:32768" ss
	// shows on a Linux loopback connection.
	for _, x := range []struct {
		side string
		info *sockets.TcpInfo
		mss  uint32
	}{{"client", c, 32768}, {"server", s, 32768}} {
		i := x.info
		const opts = sockets.TCPI_OPT_TIMESTAMPS | sockets.TCPI_OPT_SACK | sockets.TCPI_OPT_WSCALE
		if i.TcpiState != uint8(sockets.TCP_ESTABLISHED) || i.TcpiCaState != sockets.TCP_CA_Open || i.TcpiOptions != opts ||
			i.TcpiSndWscale != 7 || i.TcpiRcvWscale != 7 {
			t.Errorf("%s: state %d ca_state %d options %#x wscale %d,%d", x.side, i.TcpiState, i.TcpiCaState,
				i.TcpiOptions, i.TcpiSndWscale, i.TcpiRcvWscale)
		}
		if i.TcpiSndMss != x.mss || i.TcpiAdvmss != 65483 || i.TcpiPmtu != 65536 {
			t.Errorf("%s: snd_mss %d advmss %d pmtu %d, want %d 65483 65536", x.side, i.TcpiSndMss, i.TcpiAdvmss, i.TcpiPmtu, x.mss)
		}
		// Loopback in virtual time: every RTT sample is 0 µs, which
		// tcp_rtt_estimator keeps as srtt_us 1 (tcpi_rtt 0); the RTO is
		// srtt + rttvar, where rttvar is at least TCP_RTO_MIN: 200 ms
		// (on a real loopback connection a few µs make it 201 ms, the
		// "rto:201" of ss -i). min_rtt takes a 0 sample as one jiffy.
		if i.TcpiRtt != 0 || i.TcpiMinRtt != 1000 || i.TcpiRto != 200000 {
			t.Errorf("%s: rtt %d min_rtt %d rto %d, want 0 1000 200000", x.side, i.TcpiRtt, i.TcpiMinRtt, i.TcpiRto)
		}
		if i.TcpiUnacked != 0 || i.TcpiRetrans != 0 || i.TcpiTotalRetrans != 0 || i.TcpiNotsentBytes != 0 ||
			i.TcpiRetransmits != 0 || i.TcpiBackoff != 0 {
			t.Errorf("%s: something outstanding: %+v", x.side, *i)
		}
		if i.TcpiLastDataSent != 1500 || i.TcpiLastDataRecv != 1500 || i.TcpiLastAckRecv != 1500 {
			t.Errorf("%s: last data sent/recv, ack recv %d %d %d ms ago, want 1500", x.side,
				i.TcpiLastDataSent, i.TcpiLastDataRecv, i.TcpiLastAckRecv)
		}
		if i.TcpiSndWnd == 0 || i.TcpiRcvWnd == 0 || i.TcpiRcvSsthresh == 0 || i.TcpiSndCwnd < TCP_INIT_CWND {
			t.Errorf("%s: windows snd %d rcv %d rcv_ssthresh %d cwnd %d", x.side, i.TcpiSndWnd, i.TcpiRcvWnd,
				i.TcpiRcvSsthresh, i.TcpiSndCwnd)
		}
	}
	// The client's SYN counts in bytes_acked (one sequence number), as in Linux.
	if c.TcpiBytesAcked != 1001 || c.TcpiBytesSent != 1000 || c.TcpiBytesReceived != 500 {
		t.Errorf("client bytes acked %d sent %d received %d, want 1001 1000 500", c.TcpiBytesAcked, c.TcpiBytesSent,
			c.TcpiBytesReceived)
	}
	if s.TcpiBytesAcked != 500 || s.TcpiBytesSent != 500 || s.TcpiBytesReceived != 1000 {
		t.Errorf("server bytes acked %d sent %d received %d, want 500 500 1000", s.TcpiBytesAcked, s.TcpiBytesSent,
			s.TcpiBytesReceived)
	}
	if c.TcpiDataSegsOut != 1 || s.TcpiDataSegsIn != 1 || s.TcpiDataSegsOut != 1 || c.TcpiDataSegsIn != 1 {
		t.Errorf("data segments: client out %d in %d, server out %d in %d", c.TcpiDataSegsOut, c.TcpiDataSegsIn,
			s.TcpiDataSegsOut, s.TcpiDataSegsIn)
	}
	// Nothing is lost on loopback: what one side sent, the other received.
	// The server's child counts the SYN it was born from (segs_in = 1) but
	// not the SYN-ACK, which its request sock sent, as in Linux.
	if c.TcpiSegsOut < 3 || c.TcpiSegsOut != s.TcpiSegsIn || s.TcpiSegsOut+1 != c.TcpiSegsIn {
		t.Errorf("segments: client out %d in %d, server out %d in %d", c.TcpiSegsOut, c.TcpiSegsIn, s.TcpiSegsOut, s.TcpiSegsIn)
	}
	// Delivered: the client's SYN and its data segment; the server's
	// SYN-ACK (counted as the handshake completes, tcp_rcv_state_process)
	// and its data.
	if c.TcpiDelivered != 2 || s.TcpiDelivered != 2 {
		t.Errorf("delivered client %d server %d, want 2 2", c.TcpiDelivered, s.TcpiDelivered)
	}
	// The peer's FIN counts in bytes_received too (tcp_rcv_nxt_update).
	if err := p.Shutdown(afd, sockets.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if c := f.tcpInfo(t, p, cfd); c.TcpiState != uint8(sockets.TCP_CLOSE_WAIT) || c.TcpiBytesReceived != 501 {
		t.Errorf("client after the server's FIN: state %d bytes_received %d, want CLOSE_WAIT 501", c.TcpiState,
			c.TcpiBytesReceived)
	}
}

// TestTCPInfoListenerReportsAcceptQueue: for a listener, tcp_get_info
// reports the accept queue in tcpi_unacked (connections waiting) and
// tcpi_sacked (the backlog), and nothing of a connection.
func TestTCPInfoListenerReportsAcceptQueue(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	lfd := f.socket(t)
	_ = p.Bind(lfd, addr("127.0.0.1:8080"))
	if err := p.Listen(lfd, 5); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.Connect(f.socket(t), addr("127.0.0.1:8080")); err != nil {
			t.Fatal(err)
		}
	}
	info := f.tcpInfo(t, p, lfd)
	if info.TcpiState != uint8(sockets.TCP_LISTEN) || info.TcpiUnacked != 2 || info.TcpiSacked != 5 ||
		info.TcpiSndCwnd != TCP_INIT_CWND || info.TcpiRto != 0 || info.TcpiSndMss != 0 {
		t.Errorf("listener: state %d unacked %d sacked %d cwnd %d rto %d snd_mss %d, want LISTEN 2 5 10 0 0",
			info.TcpiState, info.TcpiUnacked, info.TcpiSacked, info.TcpiSndCwnd, info.TcpiRto, info.TcpiSndMss)
	}
	if _, _, err := p.Accept4(lfd, 0); err != nil {
		t.Fatal(err)
	}
	if info := f.tcpInfo(t, p, lfd); info.TcpiUnacked != 1 {
		t.Errorf("after one accept: tcpi_unacked %d, want 1", info.TcpiUnacked)
	}
}

// TestTCPInfoDuringSynRetransmits: an unanswered SYN, resent twice: the
// RTO is still 1 s (tcp_syn_linear_timeouts), both resends count as
// retransmits, as RTO expiries of one recovery, and the SYN is the one
// segment in flight and retransmitted.
func TestTCPInfoDuringSynRetransmits(t *testing.T) {
	f := boot(t, Config{})
	_, c := scriptDev(t, f, 1500)
	fd := f.socket(t)
	_, _ = f.p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK)
	if err := f.p.Connect(fd, addr("192.0.2.1:80")); errnoOf(err) != tracing.EINPROGRESS {
		t.Fatal(err)
	}
	for range 2 {
		if ok, err := f.k.AdvanceToNextTimer(); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	_ = c.Take()
	if err := f.k.AdvanceTo(2500e6); err != nil { // half a second after the second resend
		t.Fatal(err)
	}
	i := f.tcpInfo(t, f.p, fd)
	if i.TcpiState != uint8(sockets.TCP_SYN_SENT) || i.TcpiRetransmits != 2 || i.TcpiBackoff != 0 || i.TcpiRto != 1000000 {
		t.Errorf("state %d retransmits %d backoff %d rto %d, want SYN_SENT 2 0 1000000", i.TcpiState, i.TcpiRetransmits,
			i.TcpiBackoff, i.TcpiRto)
	}
	if i.TcpiTotalRetrans != 2 || i.TcpiTotalRto != 2 || i.TcpiTotalRtoRecoveries != 1 || i.TcpiTotalRtoTime != 1500 {
		t.Errorf("total_retrans %d total_rto %d recoveries %d rto_time %d ms, want 2 2 1 1500", i.TcpiTotalRetrans,
			i.TcpiTotalRto, i.TcpiTotalRtoRecoveries, i.TcpiTotalRtoTime)
	}
	if i.TcpiUnacked != 1 || i.TcpiRetrans != 1 || i.TcpiSegsOut != 3 || i.TcpiSegsIn != 0 || i.TcpiDataSegsOut != 0 {
		t.Errorf("unacked %d retrans %d segs_out %d segs_in %d data_segs_out %d, want 1 1 3 0 0", i.TcpiUnacked,
			i.TcpiRetrans, i.TcpiSegsOut, i.TcpiSegsIn, i.TcpiDataSegsOut)
	}
	if i.TcpiPmtu != 1500 || i.TcpiAdvmss != 1460 {
		t.Errorf("pmtu %d advmss %d, want 1500 1460", i.TcpiPmtu, i.TcpiAdvmss)
	}
}

// TestTCPInfoNotForUDP: TCP_INFO is a TCP option; udp_getsockopt hands
// any level but SOL_UDP to ip_getsockopt, which refuses a level other than
// SOL_IP with EOPNOTSUPP.
func TestTCPInfoNotForUDP(t *testing.T) {
	f := boot(t, Config{})
	fd, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.TCPInfo(fd); errnoOf(err) != tracing.EOPNOTSUPP {
		t.Errorf("TCP_INFO on UDP: %v, want EOPNOTSUPP", err)
	}
}
