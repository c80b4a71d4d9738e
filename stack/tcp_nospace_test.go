package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// TestSndbufGrowsOnlyForAWriterThatRanOut: tcp_check_space acts only on a
// socket whose writer found the send buffer full (SOCK_NOSPACE). A write
// that fits leaves sk_sndbuf as tcp_init_buffer_space sized it, however
// far cwnd grows meanwhile; a write larger than the buffer sleeps in
// sk_stream_wait_memory, and the ACKs that free space then grow the
// buffer (tcp_sndbuf_expand) and wake the writer, which clears the flag.
func TestSndbufGrowsOnlyForAWriterThatRanOut(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	sndbuf := func() int64 {
		t.Helper()
		o, err := f.pb.Getsockopt(cfd, sockets.SOL_SOCKET, sockets.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		return o.Int
	}
	type st struct {
		cwnd    uint32
		nospace bool
	}
	state := func() st {
		return onSock(t, f.pb, cfd, func(_ *Kernel, sk *sockets.Sock, tp *TcpSock) any {
			return st{tp.SndCwnd, sk.SkSocket.TestFlag(sockets.SOCK_NOSPACE)}
		}).(st)
	}
	initial := sndbuf()
	t.Logf("initial SO_SNDBUF %d", initial)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(int(initial)*2/5, 6), 10*sec)
	if s := state(); s.cwnd <= TCP_INIT_CWND || s.nospace {
		t.Fatalf("after a write that fits: cwnd %d, SOCK_NOSPACE %v; want cwnd grown and the flag clear", s.cwnd, s.nospace)
	}
	if got := sndbuf(); got != initial {
		t.Errorf("SO_SNDBUF %d after a write that fit, want it unchanged at %d", got, initial)
	}
	t.Logf("cwnd %d after a write that fit", state().cwnd)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(int(initial)*8, 7), 60*sec)
	if got := sndbuf(); got <= initial {
		t.Errorf("SO_SNDBUF %d after a write eight times the buffer, want more than %d", got, initial)
	} else {
		t.Logf("SO_SNDBUF %d after a write eight times the buffer (cwnd %d)", got, state().cwnd)
	}
	if s := state(); s.nospace {
		t.Errorf("SOCK_NOSPACE still set once the writer is done")
	}
}

// TestSelectWindowEndsQuickAckWhenTheBufferFills: __tcp_select_window,
// finding less than half the receive buffer free (a reader that does not
// keep up), ends quick-ack mode; with more free it leaves it alone.
func TestSelectWindowEndsQuickAckWhenTheBufferFills(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	_, sfd := f.dial(lfd, 9)
	got := onSock(t, f.pa, sfd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		tp.ack.Quick = 8
		k.tcpSelectWindowCore(tp, sk)
		roomy := tp.ack.Quick
		saved := sk.SkRmemAlloc
		sk.SkRmemAlloc = sk.SkRcvbuf * 3 / 4 // a quarter free
		k.tcpSelectWindowCore(tp, sk)
		sk.SkRmemAlloc = saved
		return [2]uint8{roomy, tp.ack.Quick}
	}).([2]uint8)
	if got != [2]uint8{8, 0} {
		t.Errorf("quick-ack count %d with the buffer empty, %d with a quarter free; want 8 and 0", got[0], got[1])
	}
}
