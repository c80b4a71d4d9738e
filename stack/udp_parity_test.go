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

// inet_dgram_ops has set_peek_off (udp_set_peek_off): SO_PEEK_OFF reads
// -1 until set, and then a MSG_PEEK starts that many bytes into the
// queue (__skb_try_recv_from_queue skips the datagrams it covers) and
// moves it on by what it returned; a read takes it back
// (skb_consume_udp).
func TestUDPPeekOffset(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	srv, cli := f.udpSocket(t), f.udpSocket(t)
	if err := p.Bind(srv, addr("127.0.0.1:7")); err != nil {
		t.Fatal(err)
	}
	if v, err := p.Getsockopt(srv, sockets.SOL_SOCKET, sockets.SO_PEEK_OFF); err != nil || v.Int != -1 {
		t.Fatalf("SO_PEEK_OFF reads %d, %v; want -1", v.Int, err)
	}
	to := addr("127.0.0.1:7")
	for _, m := range []string{"abcdef", "ghij"} {
		if _, err := p.Sendto(cli, []byte(m), 0, &to); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Setsockopt(srv, sockets.SOL_SOCKET, sockets.SO_PEEK_OFF, sockets.Optval{Int: 2}); err != nil {
		t.Fatalf("set SO_PEEK_OFF: %v", err)
	}
	peek := func(n int, want string) {
		t.Helper()
		if data, _, err := p.Recvfrom(srv, n, sockets.MSG_PEEK|sockets.MSG_DONTWAIT); err != nil || string(data) != want {
			t.Errorf("peek %d: %q %v, want %q", n, data, err, want)
		}
	}
	off := func(want int64) {
		t.Helper()
		if v, _ := p.Getsockopt(srv, sockets.SOL_SOCKET, sockets.SO_PEEK_OFF); v.Int != want {
			t.Errorf("SO_PEEK_OFF %d, want %d", v.Int, want)
		}
	}
	peek(3, "cde")
	off(5)
	peek(10, "f")
	off(6)
	peek(10, "ghij") // the first datagram is covered: the second, from its start
	off(10)
	if _, _, err := p.Recvfrom(srv, 10, sockets.MSG_PEEK|sockets.MSG_DONTWAIT); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("peek past everything: %v, want EAGAIN", err)
	}
	if data, _, err := p.Recvfrom(srv, 10, 0); err != nil || string(data) != "abcdef" {
		t.Errorf("read: %q %v", data, err)
	}
	off(4) // 10 - 6: still past the whole of "ghij"
	if _, _, err := p.Recvfrom(srv, 10, sockets.MSG_PEEK|sockets.MSG_DONTWAIT); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("peek at 4 of a 4-byte queue: %v, want EAGAIN", err)
	}
	if data, _, err := p.Recvfrom(srv, 10, 0); err != nil || string(data) != "ghij" {
		t.Errorf("read: %q %v", data, err)
	}
	off(0)
}
