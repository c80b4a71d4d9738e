package stack

import (
	"testing"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
)

// TestSelectWindowAcrossTheWrap: tcp_select_window works out what is left
// of the window it last offered (tcp_receive_window) in 32-bit sequence
// arithmetic, so the same distances give the same window whether or not
// the sequence numbers wrap between rcv_wup and rcv_nxt. The previous
// build subtracted in 64 bits: across the wrap the remainder came out
// 4 GB too large, and it kept re-offering the old window (486 instead of
// 501 here).
func TestSelectWindowAcrossTheWrap(t *testing.T) {
	k, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	win := func(wup uint32) (uint16, uint32) {
		sk := newTcpSock(nil)
		tp := tcpSk(sk)
		sk.SkRcvbuf = 131072
		tp.WindowClamp, tp.RcvSsthresh = 64076, 64076
		tp.RcvMss = 1000
		tp.RxOpt.RcvWscale = 7
		tp.RcvWup, tp.RcvWnd = wup, 64128
		tp.RcvNxt = wup + 2000
		return k.tcpSelectWindow(tp), tp.RcvWnd
	}
	plain, plainWnd := win(1000)
	wrapped, wrappedWnd := win(0xffffffff - 1000)
	if plain != wrapped || plainWnd != wrappedWnd {
		t.Fatalf("window field %d (rcv_wnd %d) without the wrap, %d (rcv_wnd %d) across it", plain, plainWnd, wrapped, wrappedWnd)
	}
}

// TestShrinkWindowSysctl: with net.ipv4.tcp_shrink_window (6.5 and
// later) and window scaling in use, __tcp_select_window offers what the
// buffer has free, rounded down to the scale, even below what it offered
// before, down to 0; without it the offered window is never taken back.
// A socket that offered 64128 bytes (62128 still open) with 20000 bytes
// of window's worth free offers 19968 (156 << 7) with the sysctl and
// keeps 62208 (486 << 7) without; with 1000 free, 0 and 486.
func TestShrinkWindowSysctl(t *testing.T) {
	win := func(shrink int, room int32) (uint16, uint32) {
		k, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		k.net.Sysctl.TcpShrinkWindow = shrink
		sk := newTcpSock(nil)
		tp := tcpSk(sk)
		sk.SkRcvbuf = 131072
		sk.SkRmemAlloc = sk.SkRcvbuf - 2*room // tcp_space: half the room, at the default scaling ratio
		tp.WindowClamp, tp.RcvSsthresh = 64076, 64076
		tp.RcvMss = 1000
		tp.RxOpt.RcvWscale = 7
		tp.RcvWup, tp.RcvWnd = 1000, 64128
		tp.RcvNxt = 3000
		return k.tcpSelectWindow(tp), tp.RcvWnd
	}
	for _, c := range []struct {
		shrink int
		room   int32
		field  uint16
		rcvWnd uint32
	}{
		{1, 20000, 156, 19968},
		{0, 20000, 486, 62208},
		{1, 1000, 0, 0},
		{0, 1000, 486, 62208},
	} {
		if field, wnd := win(c.shrink, c.room); field != c.field || wnd != c.rcvWnd {
			t.Errorf("tcp_shrink_window=%d, %d bytes free: window field %d (rcv_wnd %d), want %d (%d)",
				c.shrink, c.room, field, wnd, c.field, c.rcvWnd)
		}
	}
}

// TestWorkaroundSignedWindows: with net.ipv4.tcp_workaround_signed_windows
// an unscaled window is at most 32767 (MAX_TCP_WINDOW), for peers that
// read the field as signed; without it, up to 65535.
func TestWorkaroundSignedWindows(t *testing.T) {
	for _, c := range []struct {
		workaround int
		field      uint16
	}{{0, 65000}, {1, 32767}} {
		k, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		k.net.Sysctl.TcpWorkaroundSignedWindows = c.workaround
		sk := newTcpSock(nil)
		tp := tcpSk(sk)
		sk.SkRcvbuf = 262144
		tp.WindowClamp, tp.RcvSsthresh = 65535, 65535
		tp.RcvMss = 1000
		tp.RcvWup, tp.RcvNxt = 1000, 1000
		if field := k.tcpSelectWindow(tp); field != c.field {
			t.Errorf("tcp_workaround_signed_windows=%d: window field %d, want %d", c.workaround, field, c.field)
		}
	}
}

// tcp_workaround_signed_windows also caps the first window
// (tcp_select_initial_window): at most 32767 until the peer shows it
// understands window scaling.
func TestWorkaroundSignedWindowsInitialWindow(t *testing.T) {
	for _, c := range []struct {
		workaround int
		wnd        uint32
	}{{0, 65160}, {1, 32767}} {
		k, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		k.net.Sysctl.TcpWorkaroundSignedWindows = c.workaround
		clamp := uint32(0)
		wnd, _ := k.tcpSelectInitialWindow(65535, 1448, &clamp, true)
		if wnd != c.wnd {
			t.Errorf("tcp_workaround_signed_windows=%d: initial window %d, want %d", c.workaround, wnd, c.wnd)
		}
	}
}

// tcp_space counts what waits in the backlog as used, and release_sock
// keeps the backlog's length until all of it has been processed, so the
// segments processed from the backlog see the space the later ones take.
func TestTcpSpaceCountsTheBacklog(t *testing.T) {
	f := boot(t, Config{})
	_, cfd, _ := f.loopbackPair(t, 9000)
	f.withSock(t, cfd, func(sk *sockets.Sock) {
		free := tcpSpace(sk)
		sk.SkBacklog.Len = 4096
		if got, want := tcpSpace(sk), tcpWinFromSpace(int(sk.SkRcvbuf)-4096-int(sk.SkRmemAlloc)); got != want || got >= free {
			t.Errorf("tcp_space with 4096 bytes in the backlog = %d, want %d (and below %d)", got, want, free)
		}
		sk.SkBacklog.Len = 0
		var seen []int
		a, _ := skb.AllocSkb(f.k.skbs, 128)
		b, _ := skb.AllocSkb(f.k.skbs, 128)
		rcv := sk.SkBacklogRcv
		sk.SkBacklogRcv = func(sk *sockets.Sock, s *skb.SkBuff) int {
			for ; s != nil; s = f.k.backlogNext[s] {
				seen = append(seen, sk.SkBacklog.Len)
			}
			return 0
		}
		sk.SkLock.Owned = true
		sk.SkBacklog.Head, sk.SkBacklog.Tail = a, b
		f.k.backlogNext[a] = b
		sk.SkBacklog.Len = int(a.Truesize + b.Truesize)
		sockets.ReleaseSock(sk)
		sk.SkBacklogRcv = rcv
		delete(f.k.backlogNext, a)
		_ = skb.KfreeSkb(a)
		_ = skb.KfreeSkb(b)
		want := int(a.Truesize + b.Truesize)
		if len(seen) != 2 || seen[0] != want || seen[1] != want {
			t.Errorf("backlog length while release_sock processed it: %v, want [%d %d]", seen, want, want)
		}
		if sk.SkBacklog.Len != 0 {
			t.Errorf("backlog length after release_sock = %d, want 0", sk.SkBacklog.Len)
		}
	})
}
