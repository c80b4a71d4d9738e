package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// tcp_info read back as 6.12's tcp_get_info (net/ipv4/tcp.c) fills it;
// each test failed on the build before its fix.

// advance moves the fixture's virtual clock to t (ns since boot).
func (f *fixture) advance(t *testing.T, at int64) {
	t.Helper()
	if err := f.k.AdvanceTo(at); err != nil {
		t.Fatal(err)
	}
}

// TestTCPInfoLastTimesCountWholeJiffies: tcpi_last_data_sent,
// tcpi_last_data_recv and tcpi_last_ack_recv are
// jiffies_to_msecs(tcp_jiffies32 - stamp), a difference of two jiffy
// counts. Data sent at 0.9 ms (jiffy 0) and read about at 2.1 ms (jiffy 2)
// is 2 ms old, not the 1 ms the previous build got by truncating 1.2 ms.
func TestTCPInfoLastTimesCountWholeJiffies(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	_, cfd, afd := f.loopbackPair(t, 8080)
	f.advance(t, 900_000)
	if n, err := p.Sendto(cfd, make([]byte, 100), 0, nil); n != 100 || err != nil {
		t.Fatalf("send: %d %v", n, err)
	}
	f.advance(t, 2_100_000)
	c := f.tcpInfo(t, p, cfd)
	a := f.tcpInfo(t, p, afd)
	if c.TcpiLastDataSent != 2 || c.TcpiLastAckRecv != 2 || a.TcpiLastDataRecv != 2 {
		t.Errorf("client last_data_sent %d, last_ack_recv %d; server last_data_recv %d; want 2 ms each",
			c.TcpiLastDataSent, c.TcpiLastAckRecv, a.TcpiLastDataRecv)
	}
}

// jiffiesAt is u32 jiffies at t ns after boot: INITIAL_JIFFIES + t in
// jiffies, what jiffies_to_msecs(tcp_jiffies32 - 0) reads at HZ=1000.
func jiffiesAt(t int64) uint32 { return uint32(INITIAL_JIFFIES + t/NsecPerJiffy) }

// TestTCPInfoLastTimesOfAFreshSocket: sk_alloc zeroes the sock and
// nothing sets lsndtime, icsk_ack.lrcvtime or rcv_tstamp before a
// connection does, so tcp_get_info reports tcp_jiffies32 - 0: u32
// jiffies, 4294668796 at 1.5 s (INITIAL_JIFFIES + 1500). The previous
// build reported 1500, the time since boot.
func TestTCPInfoLastTimesOfAFreshSocket(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	f.advance(t, 1_500_000_000)
	info := f.tcpInfo(t, f.p, fd)
	want := jiffiesAt(1_500_000_000)
	if want != 4294668796 {
		t.Fatalf("jiffies at 1.5 s %d", want)
	}
	if info.TcpiLastDataSent != want || info.TcpiLastDataRecv != want || info.TcpiLastAckRecv != want {
		t.Errorf("last_data_sent %d, last_data_recv %d, last_ack_recv %d; want %d each",
			info.TcpiLastDataSent, info.TcpiLastDataRecv, info.TcpiLastAckRecv, want)
	}
}

// TestTCPInfoLastDataRecvAfterDisconnect: tcp_disconnect clears icsk_ack
// (inet_csk_delack_init), lrcvtime with it, and keeps lsndtime and
// rcv_tstamp. Connected and used at 0, disconnected at 1.5 s, the socket
// reports last_data_recv as u32 jiffies and the other two as 1500 ms.
func TestTCPInfoLastDataRecvAfterDisconnect(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	_, cfd, afd := f.loopbackPair(t, 8080)
	if n, err := p.Sendto(afd, make([]byte, 100), 0, nil); n != 100 || err != nil {
		t.Fatalf("send: %d %v", n, err)
	}
	if n, err := p.Sendto(cfd, make([]byte, 100), 0, nil); n != 100 || err != nil {
		t.Fatalf("send: %d %v", n, err)
	}
	f.advance(t, 1_500_000_000)
	if err := p.Connect(cfd, sockets.SockaddrIn{Family: sockets.AF_UNSPEC}); err != nil {
		t.Fatalf("connect(AF_UNSPEC): %v", err)
	}
	info := f.tcpInfo(t, p, cfd)
	if info.TcpiLastDataRecv != jiffiesAt(1_500_000_000) || info.TcpiLastDataSent != 1500 || info.TcpiLastAckRecv != 1500 {
		t.Errorf("last_data_recv %d (want %d), last_data_sent %d, last_ack_recv %d (want 1500)",
			info.TcpiLastDataRecv, jiffiesAt(1_500_000_000), info.TcpiLastDataSent, info.TcpiLastAckRecv)
	}
}
