package scenario

import "testing"

// TestSmallWritesFillSndbufAsLinux: TCP's data skbs cost 832 + len (a
// MAX_TCP_HEADER head plus the payload in page frags), so with SO_SNDBUF
// 2304 (sk_sndbuf 4608) and nothing acknowledged, four 100-byte skbs
// queue 3728 bytes and a fifth write still fits; only the sixth finds
// sk_wmem_queued (4660) at sk_sndbuf and fails with EAGAIN.
func TestSmallWritesFillSndbufAsLinux(t *testing.T) {
	_, err := runScript(t, "`../common/defaults.sh\nsysctl -q net.ipv4.tcp_autocorking=0`\n"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
   +0 setsockopt(4, SOL_SOCKET, SO_SNDBUF, [2304], 4) = 0
   +0 setsockopt(4, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
 +.01 write(4, ..., 100) = 100
   +0 > P. 1:101(100) ack 1
 +.01 write(4, ..., 100) = 100
   +0 > P. 101:201(100) ack 1
 +.01 write(4, ..., 100) = 100
   +0 > P. 201:301(100) ack 1
 +.01 write(4, ..., 100) = 100
   +0 > P. 301:401(100) ack 1
 +.01 write(4, ..., 100) = 100
   +0 > P. 401:501(100) ack 1
 +.01 write(4, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)
`)
	if err != nil {
		t.Fatal(err)
	}
}
