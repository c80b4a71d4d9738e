package skb

import (
	"strings"
	"testing"

	"github.com/stackscope/stackscope/tracing"
)

// queueOrder returns the skbs of list as indices into skbs, head first,
// and checks the links both ways.
func queueOrder(t *testing.T, list *SkBuffHead, skbs []*SkBuff) []int {
	t.Helper()
	index := map[*SkBuff]int{}
	for i, s := range skbs {
		index[s] = i
	}
	var out []int
	var prev *SkBuff
	for s := list.next; s != nil; s = s.next {
		if s.prev != prev || s.list != list {
			t.Fatalf("broken links at skb %d", index[s])
		}
		out = append(out, index[s])
		prev = s
	}
	if list.prev != prev || uint32(len(out)) != SkbQueueLen(list) {
		t.Fatalf("tail or qlen wrong: qlen %d, walked %d", SkbQueueLen(list), len(out))
	}
	return out
}

func eq(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQueueOperations(t *testing.T) {
	f := newFixture(t)
	var q SkBuffHead
	SkbQueueHeadInit(&q, f.tr, 0xffff888001234000)
	skbs := make([]*SkBuff, 8)
	for i := range skbs {
		skbs[i] = f.alloc(t, 10)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		op   func()
		want []int
	}{
		{"skb_queue_tail 0", func() { must(SkbQueueTail(&q, skbs[0])) }, []int{0}},
		{"__skb_queue_tail 1", func() { must(SkbQueueTailLocked(&q, skbs[1])) }, []int{0, 1}},
		{"skb_queue_head 2", func() { must(SkbQueueHead(&q, skbs[2])) }, []int{2, 0, 1}},
		{"__skb_queue_head 3", func() { must(SkbQueueHeadLocked(&q, skbs[3])) }, []int{3, 2, 0, 1}},
		{"skb_append 4 after 2", func() { must(SkbAppend(skbs[2], skbs[4], &q)) }, []int{3, 2, 4, 0, 1}},
		{"__skb_queue_before 5 before 3", func() { must(SkbQueueBeforeLocked(&q, skbs[3], skbs[5])) }, []int{5, 3, 2, 4, 0, 1}},
		{"__skb_queue_after 6 after 1 (the tail)", func() { must(SkbQueueAfterLocked(&q, skbs[1], skbs[6])) }, []int{5, 3, 2, 4, 0, 1, 6}},
		{"__skb_insert 7 between 4 and 0", func() { must(SkbInsertLocked(skbs[7], skbs[4], skbs[0], &q)) }, []int{5, 3, 2, 4, 7, 0, 1, 6}},
		{"skb_unlink 4", func() { must(SkbUnlink(skbs[4], &q)) }, []int{5, 3, 2, 7, 0, 1, 6}},
		{"__skb_unlink 5 (the head)", func() { must(SkbUnlinkLocked(skbs[5], &q)) }, []int{3, 2, 7, 0, 1, 6}},
		{"skb_dequeue", func() {
			if s := SkbDequeue(&q); s != skbs[3] {
				t.Fatal("dequeued the wrong skb")
			}
		}, []int{2, 7, 0, 1, 6}},
		{"skb_dequeue_tail", func() {
			if s := SkbDequeueTail(&q); s != skbs[6] {
				t.Fatal("dequeued the wrong skb from the tail")
			}
		}, []int{2, 7, 0, 1}},
		{"__skb_dequeue", func() { SkbDequeueLocked(&q) }, []int{7, 0, 1}},
		{"__skb_dequeue_tail", func() { SkbDequeueTailLocked(&q) }, []int{7, 0}},
	}
	for _, st := range steps {
		st.op()
		if got := queueOrder(t, &q, skbs); !eq(got, st.want) {
			t.Fatalf("%s: queue %v, want %v", st.name, got, st.want)
		}
	}
	if SkbPeek(&q) != skbs[7] || SkbPeekTail(&q) != skbs[0] || SkbPeekNext(skbs[7], &q) != skbs[0] {
		t.Error("peek")
	}
	var walked int
	SkbQueueWalk(&q, func(*SkBuff) bool { walked++; return true })
	if walked != 2 {
		t.Errorf("walked %d", walked)
	}
	if err := SkbQueuePurge(&q); err != nil {
		t.Fatal(err)
	}
	if !SkbQueueEmpty(&q) || SkbPeek(&q) != nil || SkbDequeue(&q) != nil || SkbDequeueTail(&q) != nil {
		t.Error("queue not empty after purge")
	}
	for _, i := range []int{1, 2, 3, 4, 5, 6} { // 7 and 0 were purged
		mustFree(t, skbs[i])
	}
	f.checkAllFreed(t)
}

func TestQueueMisuseIsRefused(t *testing.T) {
	f := newFixture(t)
	var q, other SkBuffHead
	SkbQueueHeadInit(&q, f.tr, 0)
	SkbQueueHeadInit(&other, nil, 0)
	a, b := f.alloc(t, 1), f.alloc(t, 1)
	if err := SkbQueueTail(&q, a); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"queue twice", SkbQueueTail(&q, a), "already on this queue"},
		{"queue on two lists", SkbQueueTailLocked(&other, a), "already on another queue"},
		{"unlink from the wrong list", SkbUnlink(a, &other), "not on this queue"},
		{"append after an skb not on the list", SkbAppend(b, f.alloc(t, 1), &q), "not on this queue"},
		{"insert between non-neighbours", SkbInsertLocked(b, nil, nil, &q), "not neighbours"},
		{"queue nil", SkbQueueHead(&q, nil), "no skb"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", c.name, c.err, c.msg)
		}
	}
	if got := queueOrder(t, &q, []*SkBuff{a}); !eq(got, []int{0}) || !SkbQueueEmpty(&other) || q.Locked {
		t.Errorf("misuse changed the queues: %v, other %d, locked %v", got, SkbQueueLen(&other), q.Locked)
	}
	mustFree(t, b)
	if err := SkbQueueTail(&q, b); err == nil || !strings.Contains(err.Error(), "use after free") {
		t.Errorf("queueing a freed skb: %v", err)
	}
}

func TestLockedVariantsWrapTheUnlockedOnes(t *testing.T) {
	f := newFixture(t)
	var q SkBuffHead
	SkbQueueHeadInit(&q, f.tr, 0xffff888001234000)
	s := f.alloc(t, 1)
	evs := f.record()
	var lockedInside bool
	f.tr.Subscribe(func(ev *tracing.Event) {
		if ev.Func.Name() == "__skb_queue_tail" && ev.Kind == tracing.Entry {
			lockedInside = q.Locked
		}
	})
	if err := SkbQueueTail(&q, s); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range *evs {
		got = append(got, ev.Kind.String()+":"+ev.Func.Name())
	}
	want := "entry:skb_queue_tail entry:__skb_queue_tail exit:__skb_queue_tail exit:skb_queue_tail"
	if strings.Join(got, " ") != want {
		t.Errorf("events %v", got)
	}
	if !lockedInside || q.Locked {
		t.Errorf("lock held inside: %v, after: %v", lockedInside, q.Locked)
	}
	if s := (*evs)[0].Format(nil); !strings.Contains(s, "list=0xffff888001234000") {
		t.Errorf("queue address missing from %q", s)
	}
}

func TestSpliceMovesWholeQueues(t *testing.T) {
	f := newFixture(t)
	var a, b SkBuffHead
	SkbQueueHeadInit(&a, f.tr, 0)
	SkbQueueHeadInit(&b, f.tr, 0)
	skbs := make([]*SkBuff, 6)
	for i := range skbs {
		skbs[i] = f.alloc(t, 1)
	}
	_ = SkbQueueTail(&a, skbs[0])
	_ = SkbQueueTail(&a, skbs[1])
	_ = SkbQueueTail(&b, skbs[2])
	SkbQueueSplice(&a, &b)
	if got := queueOrder(t, &b, skbs); !eq(got, []int{0, 1, 2}) || !SkbQueueEmpty(&a) {
		t.Fatalf("splice: %v", got)
	}
	_ = SkbQueueTail(&a, skbs[3])
	_ = SkbQueueTail(&a, skbs[4])
	SkbQueueSpliceTail(&a, &b)
	if got := queueOrder(t, &b, skbs); !eq(got, []int{0, 1, 2, 3, 4}) || !SkbQueueEmpty(&a) {
		t.Fatalf("splice_tail: %v", got)
	}
	SkbQueueSplice(&a, &b) // empty: nothing happens
	var c SkBuffHead
	SkbQueueSpliceTail(&b, &c)
	if got := queueOrder(t, &c, skbs); !eq(got, []int{0, 1, 2, 3, 4}) || skbs[0].List() != &c {
		t.Fatalf("splice into an empty queue: %v", got)
	}
	_ = SkbQueuePurge(&c)
	mustFree(t, skbs[5])
	f.checkAllFreed(t)
}
