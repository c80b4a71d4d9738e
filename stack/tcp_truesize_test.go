package stack

import (
	"testing"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
)

// What TCP's data skbs cost, as 6.12 counts it: tcp_stream_alloc_skb's
// skb (alloc_skb_fclone(MAX_TCP_HEADER), a 576-byte skbuff_small_head
// object, skb_end_offset 256) costs SKB_TRUESIZE(256) = 832, and
// skb_copy_to_page_nocache adds each payload byte once: 832 + len.

// tcpHeadTruesize is SKB_TRUESIZE(256) on the reference x86-64 build.
const tcpHeadTruesize = 832

// delayedPair is a connection on a wire with 50 ms each way, so that what
// is sent stays unacknowledged while the test looks; it returns the
// sender's (B's) and the receiver's (A's) descriptors.
func delayedPair(t *testing.T) (f *pairFix, cfd, sfd int) {
	t.Helper()
	f = newPairFix(t, PairConfig{AB: wireDelay(50e6), BA: wireDelay(50e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd = f.dial(lfd, 9)
	return f, cfd, sfd
}

func setIntOpt(t *testing.T, p *Process, fd, level, name int, v int64) {
	t.Helper()
	if err := p.Setsockopt(fd, level, name, sockets.Optval{Int: v}); err != nil {
		t.Fatalf("setsockopt %d/%d: %v", level, name, err)
	}
}

// queueTruesizes lists the truesize of every skb on q.
func queueTruesizes(q *skb.SkBuffHead) []uint32 {
	var out []uint32
	skb.SkbQueueWalk(q, func(s *skb.SkBuff) bool {
		out = append(out, s.Truesize)
		return true
	})
	return out
}

// TestTcpDataSkbCostsSmallHeadPlusPayload: a 100-byte write sent at once
// (TCP_NODELAY) leaves an skb of truesize 932 in the retransmit queue, a
// full 1448-byte segment one of 2280; sk_wmem_queued is their sum.
func TestTcpDataSkbCostsSmallHeadPlusPayload(t *testing.T) {
	f, cfd, _ := delayedPair(t)
	setIntOpt(t, f.pb, cfd, sockets.IPPROTO_TCP, sockets.TCP_NODELAY, 1)
	mss := onSock(t, f.pb, cfd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any { return k.tcpCurrentMss(sk) }).(uint32)
	if mss != 1448 {
		t.Fatalf("MSS %d, want 1448 (1500-byte MTU, timestamps)", mss)
	}
	f.send(f.pb, cfd, pattern(100, 1), sec)
	f.send(f.pb, cfd, pattern(1448, 2), sec)
	type st struct {
		rtx    []uint32
		queued int32
	}
	got := onSock(t, f.pb, cfd, func(_ *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		return st{queueTruesizes(&tp.rtxQueue), sk.SkWmemQueued}
	}).(st)
	want := []uint32{tcpHeadTruesize + 100, tcpHeadTruesize + 1448}
	if len(got.rtx) != 2 || got.rtx[0] != want[0] || got.rtx[1] != want[1] {
		t.Errorf("retransmit queue truesizes %v, want %v", got.rtx, want)
	}
	if got.queued != int32(want[0]+want[1]) {
		t.Errorf("sk_wmem_queued %d, want %d", got.queued, want[0]+want[1])
	}
}

// TestTcpWriteIntoTailChargesOnlyTheBytes: a corked write of 100 bytes and
// one of 600 more share one skb (the second copies into the tail, growing
// it); it costs 832 + 700, and sk_wmem_queued says the same.
func TestTcpWriteIntoTailChargesOnlyTheBytes(t *testing.T) {
	f, cfd, _ := delayedPair(t)
	setIntOpt(t, f.pb, cfd, sockets.IPPROTO_TCP, sockets.TCP_CORK, 1)
	f.send(f.pb, cfd, pattern(100, 1), sec)
	f.send(f.pb, cfd, pattern(600, 2), sec)
	type st struct {
		wq     []uint32
		queued int32
	}
	got := onSock(t, f.pb, cfd, func(_ *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		return st{queueTruesizes(&sk.SkWriteQueue), sk.SkWmemQueued}
	}).(st)
	if len(got.wq) != 1 || got.wq[0] != tcpHeadTruesize+700 || got.queued != tcpHeadTruesize+700 {
		t.Errorf("write queue truesizes %v, sk_wmem_queued %d; want one skb of %d and the same queued",
			got.wq, got.queued, tcpHeadTruesize+700)
	}
}

// TestTcpFragmentMovesTheBytesTruesize: tcp_fragment of a 1000-byte skb at
// 600 gives the new skb its own head (832, charged to sk_wmem_queued) and
// the 400 bytes' truesize, taken from the original: 1432 and 1232.
// tcp_grow_skb moving the 400 bytes back (skb_shift) makes it 1832 again,
// and the emptied skb gives back its 832.
func TestTcpFragmentMovesTheBytesTruesize(t *testing.T) {
	f, cfd, _ := delayedPair(t)
	setIntOpt(t, f.pb, cfd, sockets.IPPROTO_TCP, sockets.TCP_CORK, 1)
	f.send(f.pb, cfd, pattern(1000, 3), sec)
	type st struct {
		split, grown           []uint32
		queued, afterSplit, qg int32
		err                    error
	}
	got := onSock(t, f.pb, cfd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		var r st
		r.queued = sk.SkWmemQueued
		s := skb.SkbPeek(&sk.SkWriteQueue)
		if r.err = k.tcpFragment(sk, TCP_FRAG_IN_WRITE_QUEUE, s, 600); r.err != nil {
			return r
		}
		r.split, r.afterSplit = queueTruesizes(&sk.SkWriteQueue), sk.SkWmemQueued
		k.tcpGrowSkb(sk, s, 400)
		r.grown, r.qg = queueTruesizes(&sk.SkWriteQueue), sk.SkWmemQueued
		return r
	}).(st)
	if got.err != nil {
		t.Fatalf("tcp_fragment: %v", got.err)
	}
	if got.queued != 1832 {
		t.Errorf("sk_wmem_queued %d before the split, want 1832", got.queued)
	}
	if len(got.split) != 2 || got.split[0] != 1432 || got.split[1] != 1232 || got.afterSplit != 1832+tcpHeadTruesize {
		t.Errorf("after tcp_fragment: truesizes %v, sk_wmem_queued %d; want [1432 1232] and %d",
			got.split, got.afterSplit, 1832+tcpHeadTruesize)
	}
	if len(got.grown) != 1 || got.grown[0] != 1832 || got.qg != 1832 {
		t.Errorf("after tcp_grow_skb: truesizes %v, sk_wmem_queued %d; want [1832] and 1832", got.grown, got.qg)
	}
}

// TestLoopbackReceiverChargesTheSendersTruesize: over lo the receiver
// queues the clone tcp_transmit_skb made, whose truesize is the sent
// skb's: a 100-byte segment charges sk_rmem_alloc 932, not a linear
// buffer's kmalloc class.
func TestLoopbackReceiverChargesTheSendersTruesize(t *testing.T) {
	f := boot(t, Config{})
	_, cfd, afd := f.loopbackPair(t, 9000)
	if _, err := f.p.Sendto(cfd, pattern(100, 4), 0, nil); err != nil {
		t.Fatal(err)
	}
	type st struct {
		rq   []uint32
		rmem int32
	}
	got := onSock(t, f.p, afd, func(_ *Kernel, sk *sockets.Sock, _ *TcpSock) any {
		return st{queueTruesizes(&sk.SkReceiveQueue), sk.SkRmemAlloc}
	}).(st)
	if len(got.rq) != 1 || got.rq[0] != tcpHeadTruesize+100 || got.rmem != tcpHeadTruesize+100 {
		t.Errorf("receive queue truesizes %v, sk_rmem_alloc %d; want one skb of %d", got.rq, got.rmem, tcpHeadTruesize+100)
	}
	b, _, err := f.p.Recvfrom(afd, 200, 0)
	if err != nil || string(b) != string(pattern(100, 4)) {
		t.Errorf("read %d bytes (%v), want the 100 sent", len(b), err)
	}
}

// TestTcpStreamHeadIsASmallHeadObject: the head every TCP data skb gets
// is what alloc_skb(MAX_TCP_HEADER) hands out, 256 usable bytes, so
// SKB_TRUESIZE of it is 832.
func TestTcpStreamHeadIsASmallHeadObject(t *testing.T) {
	if e := skb.AllocSkbEndOffset(MaxTCPHeader); e != 256 {
		t.Errorf("alloc_skb(%d) end %d, want 256", MaxTCPHeader, e)
	}
	if e := uint32(tcpStreamHeadEnd); e != skb.AllocSkbEndOffset(MaxTCPHeader) {
		t.Errorf("tcpStreamHeadEnd %d is not alloc_skb(MAX_TCP_HEADER)'s end", e)
	}
	if ts := skb.SkbTruesize(tcpStreamHeadEnd); ts != tcpHeadTruesize {
		t.Errorf("SKB_TRUESIZE(%d) = %d, want %d", tcpStreamHeadEnd, ts, tcpHeadTruesize)
	}
}

// TestLoopbackSegmentsAreNotMergedUncharged: a loopback segment's payload
// sits in page frags in the kernel, so skb_try_coalesce could only move
// frags there, charging the payload (never a copy into tailroom for
// nothing); the model does not move frags, so it queues such segments
// whole. Either way no byte goes uncharged: every queued skb carries at
// least its head and its payload, and sk_rmem_alloc is their sum.
func TestLoopbackSegmentsAreNotMergedUncharged(t *testing.T) {
	f := boot(t, Config{})
	_, cfd, afd := f.loopbackPair(t, 9000)
	for i := 0; i < 3; i++ {
		if _, err := f.p.Sendto(cfd, []byte("abcde"), 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	type st struct {
		rq   []uint32
		lens []uint32
		rmem int32
	}
	got := onSock(t, f.p, afd, func(k *Kernel, sk *sockets.Sock, _ *TcpSock) any {
		var lens []uint32
		skb.SkbQueueWalk(&sk.SkReceiveQueue, func(s *skb.SkBuff) bool { lens = append(lens, s.Len); return true })
		return st{queueTruesizes(&sk.SkReceiveQueue), lens, sk.SkRmemAlloc}
	}).(st)
	var sum, bytes uint32
	for i, ts := range got.rq {
		sum += ts
		bytes += got.lens[i]
		if ts < tcpHeadTruesize+got.lens[i] {
			t.Errorf("skb %d: truesize %d for %d bytes, below the head's %d plus its payload", i, ts, got.lens[i], tcpHeadTruesize)
		}
	}
	if bytes != 15 || int32(sum) != got.rmem {
		t.Errorf("receive queue %v (%v bytes), sk_rmem_alloc %d; want 15 bytes and rmem the truesizes' sum", got.rq, got.lens, got.rmem)
	}
}
