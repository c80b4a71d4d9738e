package skb

import (
	"testing"

	"github.com/stackscope/stackscope/tracing"
)

// The benchmarks measure steady state: the first iterations fill the
// slabs and the Go pools, after which a cycle should allocate nothing on
// the Go heap. Targets on a 2-core machine: under 150 ns and 0 allocs/op.

// BenchmarkAllocReservePutFree is the life of a small transmit buffer:
// alloc_skb + skb_reserve + skb_put + kfree_skb.
func BenchmarkAllocReservePutFree(b *testing.B) {
	f := newFixture(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s, err := AllocSkb(f.h, 1500)
		if err != nil {
			b.Fatal(err)
		}
		if err := SkbReserve(s, MaxTCPHeader); err != nil {
			b.Fatal(err)
		}
		if _, err := SkbPut(s, 1000); err != nil {
			b.Fatal(err)
		}
		if err := KfreeSkb(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCloneFree is TCP's transmit: skb_clone of an fclone original
// and freeing the clone.
func BenchmarkCloneFree(b *testing.B) {
	f := newFixture(b)
	orig := f.allocFclone(b, 1500)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := SkbClone(orig)
		if err != nil {
			b.Fatal(err)
		}
		if err := KfreeSkb(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCloneFreeHeadCache clones an ordinary skb, so every clone takes
// an skbuff_head_cache object.
func BenchmarkCloneFreeHeadCache(b *testing.B) {
	f := newFixture(b)
	orig := f.alloc(b, 1500)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := SkbClone(orig)
		if err != nil {
			b.Fatal(err)
		}
		if err := KfreeSkb(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueDequeue is skb_queue_tail + skb_dequeue.
func BenchmarkEnqueueDequeue(b *testing.B) {
	f := newFixture(b)
	var q SkBuffHead
	SkbQueueHeadInit(&q, f.tr, 0)
	s := f.alloc(b, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := SkbQueueTail(&q, s); err != nil {
			b.Fatal(err)
		}
		if SkbDequeue(&q) != s {
			b.Fatal("dequeued the wrong skb")
		}
	}
}

// BenchmarkEnqueueDequeueLocked is __skb_queue_tail + __skb_dequeue, the
// forms TCP uses under the socket lock.
func BenchmarkEnqueueDequeueLocked(b *testing.B) {
	f := newFixture(b)
	var q SkBuffHead
	SkbQueueHeadInit(&q, f.tr, 0)
	s := f.alloc(b, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := SkbQueueTailLocked(&q, s); err != nil {
			b.Fatal(err)
		}
		if SkbDequeueLocked(&q) != s {
			b.Fatal("dequeued the wrong skb")
		}
	}
}

// BenchmarkAllocReservePutFreeTraced is the same cycle with a ring buffer
// listening, to show what tracing costs when somebody looks.
func BenchmarkAllocReservePutFreeTraced(b *testing.B) {
	f := newFixture(b)
	f.tr.SetRing(tracing.NewRing(1 << 14))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s, err := AllocSkb(f.h, 1500)
		if err != nil {
			b.Fatal(err)
		}
		_ = SkbReserve(s, MaxTCPHeader)
		_, _ = SkbPut(s, 1000)
		_ = KfreeSkb(s)
	}
}
