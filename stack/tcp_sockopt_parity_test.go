package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// Socket options and ioctls as 6.12 answers them (net/ipv4/tcp.c,
// net/core/sock.c); each test failed on the build before its fix, which
// answered all of them ENOPROTOOPT or ENOTTY.

// getInt is getsockopt(fd, level, optname) read as an int, with its errno.
func getInt(p *Process, fd, level, optname int) (int64, sockets.Errno) {
	v, err := p.Getsockopt(fd, level, optname)
	return v.Int, errnoOf(err)
}

// setInt is setsockopt(fd, level, optname, &v) with its errno.
func setInt(p *Process, fd, level, optname int, v int64) sockets.Errno {
	return errnoOf(p.Setsockopt(fd, level, optname, sockets.Optval{Int: v}))
}

// TestWindowClampOptionOnAClosedSocket: tcp_set_window_clamp raises any
// value under SOCK_MIN_RCVBUF/2 (1152) to it, negative ones too, and 0
// clears the clamp, which a CLOSE socket may do; getsockopt reads
// window_clamp back (0 on a fresh socket).
func TestWindowClampOptionOnAClosedSocket(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	for _, c := range []struct{ set, want int64 }{{-1, 0}, {100, 1152}, {-5, 1152}, {5000, 5000}, {0, 0}, {1 << 20, 1 << 20}} {
		if c.set != -1 {
			if e := setInt(f.p, fd, sockets.SOL_TCP, sockets.TCP_WINDOW_CLAMP, c.set); e != 0 {
				t.Fatalf("setsockopt(TCP_WINDOW_CLAMP, %d): errno %v", c.set, e)
			}
		}
		if v, e := getInt(f.p, fd, sockets.SOL_TCP, sockets.TCP_WINDOW_CLAMP); v != c.want || e != 0 {
			t.Errorf("after setting %d: TCP_WINDOW_CLAMP reads %d (errno %v), want %d", c.set, v, e, c.want)
		}
	}
}

// TestWindowClampOptionOnAConnection: on a connection, 0 is EINVAL (the
// clamp stays); lowering the clamp below rcv_ssthresh lowers rcv_ssthresh
// to it; raising it again lets rcv_ssthresh reach min(rcv_wnd, clamp).
func TestWindowClampOptionOnAConnection(t *testing.T) {
	f := boot(t, Config{})
	_, cfd, _ := f.loopbackPair(t, 8080)
	before, _ := getInt(f.p, cfd, sockets.SOL_TCP, sockets.TCP_WINDOW_CLAMP)
	if e := setInt(f.p, cfd, sockets.SOL_TCP, sockets.TCP_WINDOW_CLAMP, 0); e != tracing.EINVAL {
		t.Errorf("TCP_WINDOW_CLAMP 0 on a connection: errno %v, want EINVAL", e)
	}
	if v, _ := getInt(f.p, cfd, sockets.SOL_TCP, sockets.TCP_WINDOW_CLAMP); v != before || v == 0 {
		t.Errorf("clamp %d after the refused 0, want it unchanged (%d, not 0)", v, before)
	}
	info := f.tcpInfo(t, f.p, cfd)
	if info.TcpiRcvSsthresh <= 10000 {
		t.Fatalf("rcv_ssthresh %d: too small to be lowered by a clamp of 10000", info.TcpiRcvSsthresh)
	}
	if e := setInt(f.p, cfd, sockets.SOL_TCP, sockets.TCP_WINDOW_CLAMP, 10000); e != 0 {
		t.Fatalf("TCP_WINDOW_CLAMP 10000: errno %v", e)
	}
	low := f.tcpInfo(t, f.p, cfd)
	if v, _ := getInt(f.p, cfd, sockets.SOL_TCP, sockets.TCP_WINDOW_CLAMP); v != 10000 || low.TcpiRcvSsthresh != 10000 {
		t.Errorf("clamp 10000: reads %d, rcv_ssthresh %d; want 10000 and 10000", v, low.TcpiRcvSsthresh)
	}
	if e := setInt(f.p, cfd, sockets.SOL_TCP, sockets.TCP_WINDOW_CLAMP, 1<<30); e != 0 {
		t.Fatalf("TCP_WINDOW_CLAMP 1<<30: errno %v", e)
	}
	high := f.tcpInfo(t, f.p, cfd)
	if want := min(high.TcpiRcvWnd, 1<<30); high.TcpiRcvSsthresh != max(want, 10000) {
		t.Errorf("clamp raised: rcv_ssthresh %d, want max(min(rcv_wnd %d, clamp), 10000) = %d",
			high.TcpiRcvSsthresh, high.TcpiRcvWnd, max(want, 10000))
	}
}

// TestDeferAcceptReadsZero: getsockopt(TCP_DEFER_ACCEPT) is
// retrans_to_secs(rskq_defer_accept), 0 on any socket that did not set
// it. The model does not defer accepts, so setting it is ENOPROTOOPT
// TestDeferAcceptRoundTrip: TCP_DEFER_ACCEPT reads 0 until set; the
// seconds set are kept as the SYN-ACK timeouts that cover them
// (secs_to_retrans), and read back as those timeouts' seconds
// (retrans_to_secs): 5 s takes three (1 + 2 + 4), so it reads 7.
func TestDeferAcceptRoundTrip(t *testing.T) {
	f := boot(t, Config{})
	lfd, cfd, afd := f.loopbackPair(t, 8080)
	for _, fd := range []int{f.socket(t), lfd, cfd, afd} {
		if v, e := getInt(f.p, fd, sockets.SOL_TCP, sockets.TCP_DEFER_ACCEPT); v != 0 || e != 0 {
			t.Errorf("fd %d: TCP_DEFER_ACCEPT reads %d (errno %v), want 0", fd, v, e)
		}
	}
	for _, c := range []struct{ set, want int64 }{{5, 7}, {1, 1}, {0, 0}, {-3, 0}, {100000, 29887}} {
		if e := setInt(f.p, lfd, sockets.SOL_TCP, sockets.TCP_DEFER_ACCEPT, c.set); e != 0 {
			t.Fatalf("setsockopt(TCP_DEFER_ACCEPT, %d): errno %v", c.set, e)
		}
		if v, _ := getInt(f.p, lfd, sockets.SOL_TCP, sockets.TCP_DEFER_ACCEPT); v != c.want {
			t.Errorf("TCP_DEFER_ACCEPT set to %d reads %d, want %d", c.set, v, c.want)
		}
	}
}

// TestRetransToSecs: TCP_DEFER_ACCEPT's seconds are SYN-ACK timeouts
// added up, 1 s doubling to at most 120 s: 1, 3, 7, 15, ... 127, 247.
func TestRetransToSecs(t *testing.T) {
	for _, c := range []struct {
		retrans uint8
		want    int
	}{{0, 0}, {1, 1}, {2, 3}, {3, 7}, {7, 127}, {8, 247}, {9, 367}, {255, 247 + 247*120}} {
		if got := retransToSecs(c.retrans, 1, 120); got != c.want {
			t.Errorf("retrans_to_secs(%d) = %d, want %d", c.retrans, got, c.want)
		}
	}
}

// TestSndlowatIsFixedAtOne: sk_getsockopt answers SO_SNDLOWAT with 1;
// sk_setsockopt has no case for it and answers ENOPROTOOPT.
func TestSndlowatIsFixedAtOne(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	if v, e := getInt(f.p, fd, sockets.SOL_SOCKET, sockets.SO_SNDLOWAT); v != 1 || e != 0 {
		t.Errorf("SO_SNDLOWAT reads %d (errno %v), want 1", v, e)
	}
	if e := setInt(f.p, fd, sockets.SOL_SOCKET, sockets.SO_SNDLOWAT, 100); e != tracing.ENOPROTOOPT {
		t.Errorf("setsockopt(SO_SNDLOWAT): errno %v, want ENOPROTOOPT", e)
	}
}

// TestAtmarkWithoutUrgentData: tcp_ioctl answers SIOCATMARK with
// urg_data && urg_seq == copied_seq; with no urgent data that is 0 on any
// TCP socket, a listener included (no EINVAL, unlike SIOCINQ).
func TestAtmarkWithoutUrgentData(t *testing.T) {
	f := boot(t, Config{})
	lfd, cfd, afd := f.loopbackPair(t, 8080)
	if n, err := f.p.Sendto(cfd, make([]byte, 100), 0, nil); n != 100 || err != nil {
		t.Fatalf("send: %d %v", n, err)
	}
	for _, fd := range []int{f.socket(t), lfd, cfd, afd} {
		if v, e := ioctlOf(f.p, fd, sockets.SIOCATMARK); v != 0 || e != 0 {
			t.Errorf("fd %d: SIOCATMARK %d (errno %v), want 0", fd, v, e)
		}
	}
}

// TestSocketTimeoutsRoundUpToAJiffy: sock_set_timeout keeps SO_RCVTIMEO
// and SO_SNDTIMEO in jiffies, the microseconds rounded up
// (DIV_ROUND_UP(tv_usec, USEC_PER_SEC / HZ)), and sock_get_timeout
// reads the jiffies back: {0, 1500} is {0, 2000}, {1, 999999} is {2, 0}.
// tv_usec outside [0, 1e6) is EDOM, even with a negative tv_sec. The
// previous build kept 1500 µs as they were.
func TestSocketTimeoutsRoundUpToAJiffy(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	for _, opt := range []int{sockets.SO_RCVTIMEO, sockets.SO_SNDTIMEO} {
		for _, c := range []struct{ sec, usec, wantSec, wantUsec int64 }{
			{0, 1500, 0, 2000}, {1, 999999, 2, 0}, {3, 1, 3, 1000}, {0, 0, 0, 0}, {-1, 0, 0, 0},
		} {
			if err := f.p.Setsockopt(fd, sockets.SOL_SOCKET, opt, sockets.Optval{TvSec: c.sec, TvUsec: c.usec}); err != nil {
				t.Fatalf("option %d {%d, %d}: %v", opt, c.sec, c.usec, err)
			}
			v, err := f.p.Getsockopt(fd, sockets.SOL_SOCKET, opt)
			if err != nil || v.TvSec != c.wantSec || v.TvUsec != c.wantUsec {
				t.Errorf("option %d set {%d, %d}: reads {%d, %d} (%v), want {%d, %d}",
					opt, c.sec, c.usec, v.TvSec, v.TvUsec, err, c.wantSec, c.wantUsec)
			}
		}
		for _, bad := range []struct{ sec, usec int64 }{{0, 1000000}, {0, -1}, {-1, 1000000}} {
			err := f.p.Setsockopt(fd, sockets.SOL_SOCKET, opt, sockets.Optval{TvSec: bad.sec, TvUsec: bad.usec})
			if errnoOf(err) != tracing.EDOM {
				t.Errorf("option %d {%d, %d}: %v, want EDOM", opt, bad.sec, bad.usec, err)
			}
		}
	}
}

// TestReceiveTimeoutWaitsWholeJiffies: a 1500 µs SO_RCVTIMEO is two
// jiffies, so accept() on an empty queue gives up with EAGAIN at 2 ms.
// The previous build gave up at 1.5 ms.
func TestReceiveTimeoutWaitsWholeJiffies(t *testing.T) {
	f := boot(t, Config{IdleAdvance: true})
	fd := f.socket(t)
	if err := f.p.Listen(fd, 5); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_RCVTIMEO, sockets.Optval{TvUsec: 1500}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.p.Accept4(fd, 0); errnoOf(err) != tracing.EAGAIN {
		t.Fatalf("accept with a 1500 µs timeout: %v, want EAGAIN", err)
	}
	if now, _ := f.k.Now(); now != 2e6 {
		t.Errorf("accept gave up at %d ns, want 2000000 (two jiffies)", now)
	}
}
