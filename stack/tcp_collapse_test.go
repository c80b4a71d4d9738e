package stack

import (
	"bytes"
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// TestCollapseKeepsSmallSegments: a receiver with a small buffer that does
// not read while the sender, with Nagle off, writes in 100-byte pieces.
// Each 100-byte segment sits in an skb whose truesize is ten times its
// data, so sk_rcvbuf is reached long before the window the receiver
// offered is used. tcp_prune_queue collapses runs of those skbs into
// page-sized ones (TCPRcvCollapsed), and the data keeps coming without a
// segment dropped for memory and nothing retransmitted (the previous
// build, which copied skbs one by one, dropped one and the sender
// retransmitted six); every byte then reads back in order.
func TestCollapseKeepsSmallSegments(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listenRcvbuf(f.pa, addrA, 9, 16384)
	cfd, sfd := f.dial(lfd, 9)
	if err := f.pb.Setsockopt(cfd, sockets.SOL_TCP, sockets.TCP_NODELAY, sockets.Optval{Int: 1}); err != nil {
		t.Fatal(err)
	}
	data := pattern(12000, 5)
	for off := 0; off < len(data); off += 100 {
		f.send(f.pb, cfd, data[off:off+100], sec)
		if err := f.p.RunFor(sec / 1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.p.RunFor(2 * sec); err != nil {
		t.Fatal(err)
	}
	collapsed := f.mib(f.p.A, LINUX_MIB_TCPRCVCOLLAPSED)
	pruneCalled := f.mib(f.p.A, LINUX_MIB_PRUNECALLED)
	if collapsed == 0 || pruneCalled == 0 {
		t.Errorf("TCPRcvCollapsed %d, PruneCalled %d: want both above 0", collapsed, pruneCalled)
	}
	if dropped := f.mib(f.p.A, LINUX_MIB_RCVPRUNED) + f.mib(f.p.A, LINUX_MIB_OFOPRUNED) + f.mib(f.p.A, LINUX_MIB_TCPRCVQDROP); dropped != 0 {
		t.Errorf("RcvPruned + OfoPruned + TCPRcvQDrop = %d: collapsing should have made room", dropped)
	}
	if rtx := f.mib(f.p.B, TCP_MIB_RETRANSSEGS); rtx != 0 {
		t.Errorf("the sender retransmitted %d segments: none was lost", rtx)
	}
	got := f.recvAll(f.pa, sfd, len(data), 10*sec)
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want the %d written, in order (equal prefix: %v)", len(got), len(data), bytes.HasPrefix(data, got))
	}
	t.Logf("TCPRcvCollapsed %d, PruneCalled %d, RcvQDrop %d, sender RetransSegs %d", collapsed, pruneCalled,
		f.mib(f.p.A, LINUX_MIB_TCPRCVQDROP), f.mib(f.p.B, TCP_MIB_RETRANSSEGS))
}
