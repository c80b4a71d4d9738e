package stack

import (
	"testing"
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
