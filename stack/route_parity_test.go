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

// ip_route_output_key_hash_rcu routes 0.0.0.0 over lo to the socket's own
// source address, or to 127.0.0.1 for an unbound socket, and
// udp_sendmsg, ip4_datagram_connect and tcp_v4_connect take that as the
// destination.
func TestZeroDestinationIsThisHost(t *testing.T) {
	f := boot(t, Config{})
	scriptDev(t, f, 1500)
	p := f.p
	srv := f.udpSocket(t)
	if err := p.Bind(srv, addr("0.0.0.0:7")); err != nil {
		t.Fatal(err)
	}
	zero := addr("0.0.0.0:7")
	cli := f.udpSocket(t)
	if _, err := p.Sendto(cli, []byte("a"), 0, &zero); err != nil {
		t.Fatalf("sendto 0.0.0.0: %v", err)
	}
	if data, from, err := p.Recvfrom(srv, 10, sockets.MSG_DONTWAIT); err != nil || string(data) != "a" || from.Addr.String() != "127.0.0.1" {
		t.Errorf("recvfrom: %q from %v: %v, want \"a\" from 127.0.0.1", data, from.Addr, err)
	}
	bound := f.udpSocket(t)
	if err := p.Bind(bound, addr("192.0.2.2:0")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sendto(bound, []byte("b"), 0, &zero); err != nil {
		t.Fatalf("sendto 0.0.0.0 from 192.0.2.2: %v", err)
	}
	if data, from, err := p.Recvfrom(srv, 10, sockets.MSG_DONTWAIT); err != nil || string(data) != "b" || from.Addr.String() != "192.0.2.2" {
		t.Errorf("recvfrom: %q from %v: %v, want \"b\" from 192.0.2.2", data, from.Addr, err)
	}
	if err := p.Connect(cli, zero); err != nil {
		t.Fatalf("UDP connect 0.0.0.0: %v", err)
	}
	if peer, err := p.Getpeername(cli); err != nil || peer.Addr.String() != "127.0.0.1" {
		t.Errorf("UDP peer %v: %v, want 127.0.0.1", peer.Addr, err)
	}
	f.listenOn(t, addr("127.0.0.1:80"))
	cfd := f.socket(t)
	if err := p.Connect(cfd, addr("0.0.0.0:80")); err != nil {
		t.Fatalf("TCP connect 0.0.0.0: %v", err)
	}
	if peer, err := p.Getpeername(cfd); err != nil || peer.Addr.String() != "127.0.0.1" {
		t.Errorf("TCP peer %v: %v, want 127.0.0.1", peer.Addr, err)
	}
}
