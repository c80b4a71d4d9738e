package stack

import "testing"

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
