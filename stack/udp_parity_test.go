package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// udp_sendmsg refuses MSG_OOB ("mirror BSD error message compatibility")
// before it looks at the address: nothing is sent.
func TestUDPSendMsgOOBIsEOPNOTSUPP(t *testing.T) {
	f := boot(t, Config{})
	fd := f.udpSocket(t)
	to := addr("127.0.0.1:9")
	if _, err := f.p.Sendto(fd, []byte("x"), sockets.MSG_OOB, &to); errnoOf(err) != tracing.EOPNOTSUPP {
		t.Errorf("sendto(MSG_OOB): %v, want EOPNOTSUPP", err)
	}
	if n := f.mib(t, UDP_MIB_OUTDATAGRAMS); n != 0 {
		t.Errorf("OutDatagrams %d, want 0", n)
	}
}

// sock_alloc_send_pskb (from __ip_append_data) fails with EPIPE once the
// socket is shut down for writing: a connected socket after
// shutdown(SHUT_WR), and an unconnected one too (inet_shutdown says
// ENOTCONN but records the shutdown all the same). UDP sends no SIGPIPE.
func TestUDPSendAfterShutdownIsEPIPE(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	to := addr("127.0.0.1:9")
	conn := f.udpSocket(t)
	if err := p.Connect(conn, to); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(conn, sockets.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sendto(conn, []byte("x"), 0, nil); errnoOf(err) != tracing.EPIPE {
		t.Errorf("send after SHUT_WR: %v, want EPIPE", err)
	}
	unconn := f.udpSocket(t)
	if err := p.Shutdown(unconn, sockets.SHUT_WR); errnoOf(err) != tracing.ENOTCONN {
		t.Errorf("shutdown of an unconnected socket: %v, want ENOTCONN", err)
	}
	if _, err := p.Sendto(unconn, []byte("x"), 0, &to); errnoOf(err) != tracing.EPIPE {
		t.Errorf("sendto after SHUT_WR: %v, want EPIPE", err)
	}
	if n := f.mib(t, UDP_MIB_OUTDATAGRAMS); n != 0 {
		t.Errorf("OutDatagrams %d, want 0", n)
	}
}

// udp_sendmsg rejects only len > 0xFFFF up front; 65508..65535 bytes
// fail in __ip_append_data, after EDESTADDRREQ and the route lookup; the
// pending socket error is taken still later, in sock_alloc_send_pskb, so
// an unroutable send leaves it pending.
func TestUDPSendErrorOrder(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd := f.udpSocket(t)
	if _, err := p.Sendto(fd, make([]byte, 65536), 0, nil); errnoOf(err) != tracing.EMSGSIZE {
		t.Errorf("65536 bytes, no address: %v, want EMSGSIZE", err)
	}
	if _, err := p.Sendto(fd, make([]byte, 65508), 0, nil); errnoOf(err) != tracing.EDESTADDRREQ {
		t.Errorf("65508 bytes, no address: %v, want EDESTADDRREQ", err)
	}
	far := addr("198.51.100.1:9")
	if _, err := p.Sendto(fd, make([]byte, 65508), 0, &far); errnoOf(err) != tracing.ENETUNREACH {
		t.Errorf("65508 bytes, no route: %v, want ENETUNREACH", err)
	}
	// A connected socket with ECONNREFUSED pending.
	if err := p.Connect(fd, addr("127.0.0.1:9")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sendto(fd, []byte("x"), 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sendto(fd, []byte("x"), 0, &far); errnoOf(err) != tracing.ENETUNREACH {
		t.Errorf("no route, an error pending: %v, want ENETUNREACH", err)
	}
	if _, err := p.Sendto(fd, make([]byte, 65508), 0, nil); errnoOf(err) != tracing.EMSGSIZE {
		t.Errorf("65508 bytes, an error pending: %v, want EMSGSIZE", err)
	}
	if _, err := p.Sendto(fd, []byte("x"), 0, nil); errnoOf(err) != tracing.ECONNREFUSED {
		t.Errorf("the pending error: %v, want ECONNREFUSED", err)
	}
}
