package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// A subnet's broadcast address (and lo's 127.255.255.255, and
// 255.255.255.255 through the default route) is an RTN_BROADCAST route:
// udp_sendmsg and ip4_datagram_connect say EACCES unless SO_BROADCAST is
// set, and tcp_v4_connect says ENETUNREACH.
func TestBroadcastRouteNeedsSoBroadcast(t *testing.T) {
	f := boot(t, Config{})
	_, c := scriptDev(t, f, 1500)
	p := f.p
	for _, dst := range []string{"192.0.2.255:9", "255.255.255.255:9", "127.255.255.255:9"} {
		to := addr(dst)
		fd := f.udpSocket(t)
		if _, err := p.Sendto(fd, []byte("x"), 0, &to); errnoOf(err) != tracing.EACCES {
			t.Errorf("sendto %s without SO_BROADCAST: %v, want EACCES", dst, err)
		}
		if err := p.Connect(fd, to); errnoOf(err) != tracing.EACCES {
			t.Errorf("connect %s without SO_BROADCAST: %v, want EACCES", dst, err)
		}
		if err := p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_BROADCAST, sockets.Optval{Int: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Sendto(fd, []byte("x"), 0, &to); err != nil {
			t.Errorf("sendto %s with SO_BROADCAST: %v", dst, err)
		}
		if err := p.Connect(fd, to); err != nil {
			t.Errorf("connect %s with SO_BROADCAST: %v", dst, err)
		}
		tfd := f.socket(t)
		if _, err := p.Fcntl(tfd, sockets.F_SETFL, sockets.O_NONBLOCK); err != nil {
			t.Fatal(err)
		}
		tdst := dst[:len(dst)-1] + "80"
		if err := p.Connect(tfd, addr(tdst)); errnoOf(err) != tracing.ENETUNREACH {
			t.Errorf("TCP connect %s: %v, want ENETUNREACH", tdst, err)
		}
	}
	_ = f.k.Sync()
	if n := len(c.Take()); n != 2 {
		t.Errorf("%d packets on the wire, want the 2 broadcasts sent with SO_BROADCAST", n)
	}
}
