package scenario

import "testing"

// Socket system calls' results as 6.12 gives them.

// TestShutdownEndsAConnectInProgress: inet_shutdown settles the state of
// a socket whose non-blocking connect() was in progress: connected if the
// handshake completed (a later connect() says EISCONN), disconnecting if
// it failed (EINVAL). The previous build left it "connecting": the
// second connect() returned 0, and after a refusal ECONNREFUSED.
func TestShutdownEndsAConnectInProgress(t *testing.T) {
	const connecting = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
`
	if _, err := runScript(t, connecting+` +.1 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>
   +0 > . 1:1(0) ack 1
   +0 shutdown(3, SHUT_WR) = 0
   +0 > F. 1:1(0) ack 1
   +0 connect(3, ..., ...) = -1 EISCONN (Transport endpoint is already connected)
`); err != nil {
		t.Fatal(err)
	}
	if _, err := runScript(t, connecting+` +.1 < R. 0:0(0) ack 1 win 0
   +0 shutdown(3, SHUT_RDWR) = -1 ENOTCONN (Transport endpoint is not connected)
   +0 connect(3, ..., ...) = -1 EINVAL (Invalid argument)
`); err != nil {
		t.Fatal(err)
	}
}

// TestBlockingUdpRecvAfterShutRd: a blocking recv on a UDP socket shut
// down for reading returns 0 (__skb_wait_for_more_packets), which is how
// one thread wakes another blocked in recv; a non-blocking one still says
// EAGAIN. The previous build said EAGAIN to both.
func TestBlockingUdpRecvAfterShutRd(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
   +0 bind(3, ..., ...) = 0
   +0 shutdown(3, SHUT_RD) = -1 ENOTCONN (Transport endpoint is not connected)
   +0 recv(3, ..., 100, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)
   +0 recv(3, ..., 100, 0) = 0
`); err != nil {
		t.Fatal(err)
	}
}

// TestGetsockoptAtAnUnknownLevel: getsockopt at a level neither the
// protocol nor IP knows is EOPNOTSUPP (ip_getsockopt), for TCP and UDP
// alike; setsockopt there is ENOPROTOOPT. The previous build said
// ENOPROTOOPT to both.
func TestGetsockoptAtAnUnknownLevel(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 getsockopt(3, 99, 1, [0], [4]) = -1 EOPNOTSUPP (Operation not supported)
   +0 setsockopt(3, 99, 1, [1], 4) = -1 ENOPROTOOPT (Protocol not available)
   +0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 4
   +0 getsockopt(4, 99, 1, [0], [4]) = -1 EOPNOTSUPP (Operation not supported)
`); err != nil {
		t.Fatal(err)
	}
}

// TestZeroLengthCallsCheckTheSocket: a send or a recv of 0 bytes on a TCP
// socket goes through the same checks as a longer one. A send on a socket
// that is not connected, or shut down for writing, is EPIPE; a recv on
// one never connected is ENOTCONN; a recv of nothing on a connection with
// nothing queued says EAGAIN without waiting and, blocking, waits until
// data comes and returns 0 without taking it (tcp_recvmsg_locked's loop
// runs once with a target of 1). The previous build returned 0 to all of
// them at once.
func TestZeroLengthCallsCheckTheSocket(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 send(3, ..., 0, 0) = -1 EPIPE (Broken pipe)
   +0 recv(3, ..., 0, 0) = -1 ENOTCONN (Transport endpoint is not connected)
`); err != nil {
		t.Fatal(err)
	}
	if _, err := runScript(t, passiveOpen+`   +0 send(4, ..., 0, 0) = 0
   +0 recv(4, ..., 0, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)
   +0...0.1 recv(4, ..., 0, 0) = 0
  +.1 < P. 1:101(100) ack 1 win 257
   +0 > . 1:1(0) ack 101
   +0 read(4, ..., 1000) = 100
   +0 shutdown(4, SHUT_WR) = 0
   +0 > F. 1:1(0) ack 101
   +0 send(4, ..., 0, 0) = -1 EPIPE (Broken pipe)
`); err != nil {
		t.Fatal(err)
	}
}

// TestSocketFlagOptions: SO_DEBUG, SO_BROADCAST and SO_OOBINLINE set and
// clear a sock flag (sock_valbool_flag), any non-zero value meaning on,
// and SO_PRIORITY sets sk_priority (any value: every process of the model
// has CAP_NET_ADMIN); getsockopt reads them back. The previous build
// refused all four with ENOPROTOOPT.
func TestSocketFlagOptions(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
   +0 getsockopt(3, SOL_SOCKET, SO_BROADCAST, [0], [4]) = 0
   +0 setsockopt(3, SOL_SOCKET, SO_BROADCAST, [5], 4) = 0
   +0 getsockopt(3, SOL_SOCKET, SO_BROADCAST, [1], [4]) = 0
   +0 setsockopt(3, SOL_SOCKET, SO_BROADCAST, [0], 4) = 0
   +0 getsockopt(3, SOL_SOCKET, SO_BROADCAST, [0], [4]) = 0
   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 setsockopt(4, SOL_SOCKET, SO_OOBINLINE, [1], 4) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_OOBINLINE, [1], [4]) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_DEBUG, [1], 4) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_DEBUG, [1], [4]) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_PRIORITY, [0], [4]) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_PRIORITY, [7], 4) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_PRIORITY, [7], [4]) = 0
`); err != nil {
		t.Fatal(err)
	}
}

// TestNotsentLowat: with TCP_NOTSENT_LOWAT (or the sysctl
// tcp_notsent_lowat) a socket polls writable only while twice its unsent
// bytes are under the mark (tcp_stream_memory_free with wake 1), and a
// write that needs a new segment waits while the unsent bytes reach it
// (sk_stream_memory_free). The peer's window is shut, so nothing leaves:
// 1000 bytes take POLLOUT away under a mark of 1500; 1000 more fill the
// first segment and start a second (1460 unsent, under the mark); the
// next write fills the second segment (920 bytes) and stops. The previous
// build had neither the option nor the sysctl.
func TestNotsentLowat(t *testing.T) {
	const shut = `   +0 < . 1:1(0) ack 1 win 0
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
`
	if _, err := runScript(t, accepted+shut+`   +0 getsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [0], [4]) = 0
   +0 write(4, ..., 1000) = 1000
   +0 poll([{fd=4, events=POLLOUT}], 1, 0) = 1
   +0 setsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [1500], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [1500], [4]) = 0
   +0 poll([{fd=4, events=POLLOUT}], 1, 0) = 0
   +0 write(4, ..., 1000) = 1000
   +0 write(4, ..., 1000) = 920
   +0 write(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
`); err != nil {
		t.Fatal(err)
	}
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_notsent_lowat=1500`\n"+accepted+shut+`   +0 write(4, ..., 1000) = 1000
   +0 poll([{fd=4, events=POLLOUT}], 1, 0) = 0
`); err != nil {
		t.Fatal(err)
	}
}

// TestRecvFlagsWithoutTheirData: flags asking for data the model never
// has. MSG_OOB (tcp_recv_urg) is EINVAL: there is no urgent data, and the
// call neither waits nor reads ordinary data. MSG_ERRQUEUE is EAGAIN on
// any socket, a listener too (the error queue is empty: IP_RECVERR is not
// modelled), and leaves the data queued. MSG_FASTOPEN is EOPNOTSUPP, as
// on a kernel whose tcp_fastopen lacks the client bit (TCP Fast Open is
// not modelled).
func TestRecvFlagsWithoutTheirData(t *testing.T) {
	if _, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
   +0 recv(3, ..., 100, MSG_ERRQUEUE) = -1 EAGAIN (Resource temporarily unavailable)
  +.1 < . 1:1(0) ack 1 win 514
   +0 accept(3, ..., ...) = 4
   +0 < P. 1:11(10) ack 1 win 514
   +0 recv(4, ..., 3, MSG_OOB) = -1 EINVAL (Invalid argument)
   +0 recv(4, ..., 100, MSG_ERRQUEUE) = -1 EAGAIN (Resource temporarily unavailable)
   +0 send(4, ..., 10, MSG_FASTOPEN) = -1 EOPNOTSUPP (Operation not supported)
   +0 recv(4, ..., 100, 0) = 10
`); err != nil {
		t.Fatal(err)
	}
}

// TestPeekOffset: SO_PEEK_OFF on a TCP socket (sk_set_peek_off). Off by
// default (-1); set, each MSG_PEEK starts where the last one ended
// (sk_peek_offset_fwd), and a read takes the offset back by what it
// consumed (sk_peek_offset_bwd), so peeks and reads can share the stream.
func TestPeekOffset(t *testing.T) {
	if _, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
   +0 getsockopt(4, SOL_SOCKET, SO_PEEK_OFF, [-1], [4]) = 0
  +.1 < P. 1:11(10) ack 1 win 257
   +0 setsockopt(4, SOL_SOCKET, SO_PEEK_OFF, [0], 4) = 0
   +0 recv(4, ..., 4, MSG_PEEK) = 4
   +0 recv(4, ..., 100, MSG_PEEK) = 6
   +0 getsockopt(4, SOL_SOCKET, SO_PEEK_OFF, [10], [4]) = 0
   +0 recv(4, ..., 3, 0) = 3
   +0 getsockopt(4, SOL_SOCKET, SO_PEEK_OFF, [7], [4]) = 0
   +0 recv(4, ..., 100, 0) = 7
   +0 getsockopt(4, SOL_SOCKET, SO_PEEK_OFF, [0], [4]) = 0
`); err != nil {
		t.Fatal(err)
	}
}
