package stack

import (
	"testing"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
)

// rcvQueueView is what a receiver's queue looks like to these tests.
type rcvQueueView struct {
	lens      []uint32
	fins      []bool
	rmem      int32
	truesizes uint32
	unread    uint32 // rcv_nxt - copied_seq
}

func viewRcvQueue(t *testing.T, p *Process, fd int) rcvQueueView {
	t.Helper()
	return onSock(t, p, fd, func(_ *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		var v rcvQueueView
		skb.SkbQueueWalk(&sk.SkReceiveQueue, func(s *skb.SkBuff) bool {
			v.lens = append(v.lens, s.Len)
			v.fins = append(v.fins, cbFlagsOf(s)&header.TCP_FLAG_FIN != 0)
			v.truesizes += s.Truesize
			return true
		})
		v.rmem = sk.SkRmemAlloc
		v.unread = tp.RcvNxt - tp.CopiedSeq
		return v
	}).(rcvQueueView)
}

func (f *pairFix) shutdownWr(p *Process, fd int) {
	f.t.Helper()
	if _, err := f.call(p, Syscall{Name: "shutdown", Args: [4]int64{int64(fd), sockets.SHUT_WR}}, sec); err != nil {
		f.t.Fatalf("shutdown: %v", err)
	}
	if err := f.p.RunFor(200e6); err != nil {
		f.t.Fatal(err)
	}
}

// TestBareFinWaitsOnTheReceiveQueue: a FIN that comes after everything was
// read is queued as an skb of its own (tcp_queue_rcv), charged to the
// socket until a read consumes its sequence number (found_fin_ok); SIOCINQ
// says 0 meanwhile, and the read that takes it returns end of file.
func TestBareFinWaitsOnTheReceiveQueue(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	f.send(f.pb, cfd, pattern(100, 1), sec)
	if got := f.recvAll(f.pa, sfd, 100, sec); len(got) != 100 {
		t.Fatalf("read %d bytes, want 100", len(got))
	}
	f.shutdownWr(f.pb, cfd)
	v := viewRcvQueue(t, f.pa, sfd)
	if len(v.lens) != 1 || v.lens[0] != 0 || !v.fins[0] {
		t.Fatalf("receive queue lens %v fins %v, want one skb of 0 bytes with FIN", v.lens, v.fins)
	}
	if v.rmem == 0 || v.rmem != int32(v.truesizes) {
		t.Errorf("sk_rmem_alloc %d, want the FIN skb's truesize %d", v.rmem, v.truesizes)
	}
	if v.unread != 1 {
		t.Errorf("rcv_nxt - copied_seq = %d, want 1 (the FIN)", v.unread)
	}
	if n, err := f.pa.Ioctl(sfd, sockets.SIOCINQ); err != nil || n != 0 {
		t.Errorf("SIOCINQ = %d, %v; want 0", n, err)
	}
	if got := f.recvAll(f.pa, sfd, 1, sec); len(got) != 0 {
		t.Fatalf("read %d bytes after the FIN, want end of file", len(got))
	}
	v = viewRcvQueue(t, f.pa, sfd)
	if len(v.lens) != 0 || v.rmem != 0 || v.unread != 0 {
		t.Errorf("after the read: queue %v, sk_rmem_alloc %d, unread %d; want empty, 0, 0", v.lens, v.rmem, v.unread)
	}
}

// TestFinMergesIntoUnreadTail: a FIN that comes while data waits is merged
// into the queue's tail (tcp_try_coalesce: 0 bytes fit any room), which
// then carries it; a read takes the data and the FIN together.
func TestFinMergesIntoUnreadTail(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	f.send(f.pb, cfd, pattern(100, 1), sec)
	if err := f.p.RunFor(200e6); err != nil {
		t.Fatal(err)
	}
	before := f.mib(f.p.A, LINUX_MIB_TCPRCVCOALESCE)
	f.shutdownWr(f.pb, cfd)
	v := viewRcvQueue(t, f.pa, sfd)
	if len(v.lens) != 1 || v.lens[0] != 100 || !v.fins[0] {
		t.Fatalf("receive queue lens %v fins %v, want one skb of 100 bytes carrying the FIN", v.lens, v.fins)
	}
	if got := f.mib(f.p.A, LINUX_MIB_TCPRCVCOALESCE) - before; got != 1 {
		t.Errorf("TCPRcvCoalesce grew by %d, want 1", got)
	}
	pd, err := f.call(f.pa, Syscall{Name: "recvfrom", Args: [4]int64{int64(sfd), 4096}}, sec)
	if err != nil || len(pd.Data()) != 100 {
		t.Fatalf("read: %d bytes, %v; want 100", len(pd.Data()), err)
	}
	v = viewRcvQueue(t, f.pa, sfd)
	if len(v.lens) != 0 || v.rmem != 0 || v.unread != 0 {
		t.Errorf("after the read: queue %v, sk_rmem_alloc %d, unread %d; want empty, 0, 0", v.lens, v.rmem, v.unread)
	}
}

// TestFinMergesIntoLoopbackTail: over loopback the data skb keeps its
// payload in page frags, which the model does not merge into; a FIN brings
// no bytes, so it still merges into that tail, as in the kernel.
func TestFinMergesIntoLoopbackTail(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	_, cfd, afd := f.loopbackPair(t, 9000)
	if _, err := p.Sendto(cfd, pattern(100, 1), 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(cfd, sockets.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Sync()
	v := viewRcvQueue(t, p, afd)
	if len(v.lens) != 1 || v.lens[0] != 100 || !v.fins[0] {
		t.Fatalf("receive queue lens %v fins %v, want one skb of 100 bytes carrying the FIN", v.lens, v.fins)
	}
	if v.unread != 101 {
		t.Errorf("rcv_nxt - copied_seq = %d, want 101", v.unread)
	}
}
