package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// do_accept asks inet_getname for the peer with peer == 2, which refuses
// only a sock with no inet_dport: a connection reset while it waited in
// the accept queue (now CLOSE) still reports its peer, while
// getpeername (peer == 1) on it says ENOTCONN.
func TestAcceptOfResetConnectionReportsPeer(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	lfd := f.listenOn(t, addr("127.0.0.1:80"))
	cfd := f.socket(t)
	if err := p.Connect(cfd, addr("127.0.0.1:80")); err != nil {
		t.Fatal(err)
	}
	me, _ := p.Getsockname(cfd)
	if err := p.Setsockopt(cfd, sockets.SOL_SOCKET, sockets.SO_LINGER, sockets.Optval{LingerOnoff: true}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(cfd); err != nil { // RST to the queued child
		t.Fatal(err)
	}
	afd, peer, err := p.Accept4(lfd, 0)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	if peer.Addr.String() != "127.0.0.1" || peer.Port != me.Port {
		t.Errorf("accept reported the peer as %v:%d, want 127.0.0.1:%d", peer.Addr, peer.Port, me.Port)
	}
	if _, err := p.Getpeername(afd); errnoOf(err) != tracing.ENOTCONN {
		t.Errorf("getpeername on the reset connection: %v, want ENOTCONN", err)
	}
}

// __inet_dev_addr_type calls all of 0.0.0.0/8 broadcast (ipv4_is_zeronet),
// and inet_bind accepts a broadcast address: bind to 0.1.2.3 succeeds,
// for UDP and TCP alike.
func TestBindToZeronetSucceeds(t *testing.T) {
	f := boot(t, Config{})
	for _, fd := range []int{f.udpSocket(t), f.socket(t)} {
		if err := f.p.Bind(fd, addr("0.1.2.3:5000")); err != nil {
			t.Errorf("bind to 0.1.2.3: %v, want success", err)
		}
	}
}
