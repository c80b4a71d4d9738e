package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// TestQueueSumsGiveLenAndSeq: a TCP receive queue's summary carries each
// skb's len and TCP_SKB_CB seq..end_seq, the same as DescribeSkb.
func TestQueueSumsGiveLenAndSeq(t *testing.T) {
	f := boot(t, Config{})
	lfd := f.socket(t)
	_ = f.p.Bind(lfd, addr("127.0.0.1:8080"))
	_ = f.p.Listen(lfd, 8)
	cfd := f.socket(t)
	if err := f.p.Connect(cfd, addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Sendto(cfd, []byte("seven b"), 0, nil); err != nil {
		t.Fatal(err)
	}
	var q *QueueSnap
	var rcvIsn uint32
	snap := f.snapshot(t)
	for i := range snap.Socks {
		if sk := &snap.Socks[i]; sk.SkReceiveQueue.Qlen > 0 {
			q, rcvIsn = &sk.SkReceiveQueue, sk.Tcp.RcvIsn
		}
	}
	if q == nil || len(q.Sums) != 1 || len(q.Skbs) != 1 {
		t.Fatalf("receive queue %+v", q)
	}
	s, err := f.k.DescribeSkb(q.Skbs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := SkbSum{Len: 7, Seq: rcvIsn + 1, EndSeq: rcvIsn + 8}
	if q.Sums[0] != want || s.Seq != want.Seq || s.EndSeq != want.EndSeq {
		t.Errorf("sum %+v, described seq %d..%d, want %+v", q.Sums[0], s.Seq, s.EndSeq, want)
	}
}

// TestQueueSumsAreCapped: a queue longer than queueSumCap lists every skb
// by address but summarises only the first queueSumCap; a UDP queue's
// summaries carry no sequence numbers.
func TestQueueSumsAreCapped(t *testing.T) {
	f := boot(t, Config{})
	fd, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, sockets.IPPROTO_UDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_RCVBUF, sockets.Optval{Int: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	to := addr("127.0.0.1:5353")
	if err := f.p.Bind(fd, to); err != nil {
		t.Fatal(err)
	}
	const n = queueSumCap + 20
	for i := range n {
		if _, err := f.p.Sendto(fd, []byte{byte(i), 1, 2}, 0, &to); err != nil {
			t.Fatal(err)
		}
	}
	for _, sk := range f.snapshot(t).Socks {
		q := sk.SkReceiveQueue
		if q.Qlen == 0 {
			continue
		}
		if q.Qlen != n || len(q.Skbs) != n || len(q.Sums) != queueSumCap {
			t.Fatalf("qlen %d, %d skbs, %d sums; want %d, %d, %d", q.Qlen, len(q.Skbs), len(q.Sums), n, n, queueSumCap)
		}
		if q.Sums[0] != (SkbSum{Len: 3}) {
			t.Errorf("a UDP skb's sum is %+v, want len 3 and no seq", q.Sums[0])
		}
		return
	}
	t.Fatal("no receive queue holds the datagrams")
}
