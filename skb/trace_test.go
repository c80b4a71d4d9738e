package skb

import (
	"os"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/tracing"
)

// TestEveryOperationReportsUnderItsKernelName runs each operation the
// model offers with a listener attached and checks that it reported
// under its kernel name, and that the registry can explain it.
func TestEveryOperationReportsUnderItsKernelName(t *testing.T) {
	f := newFixture(t)
	evs := f.record()
	var q, q2 SkBuffHead
	SkbQueueHeadInit(&q, f.tr, 0)
	SkbQueueHeadInit(&q2, f.tr, 0)

	s := f.allocFclone(t, 300)
	_ = SkbReserve(s, 64)
	_, _ = SkbPut(s, 100)
	_, _ = SkbPush(s, 20)
	_, _ = SkbPull(s, 20)
	_ = SkbTrim(s, 90)
	SkbHeadroom(s)
	SkbTailroom(s)
	SkbHeadlen(s)
	_ = SkbCopyBits(s, 0, make([]byte, 10))
	_ = SkbHeaderRelease(s)
	c, _ := SkbClone(s)
	SkbCloned(c)
	SkbHeaderCloned(c)
	cp, _ := SkbCopy(c)
	pc, _ := PskbCopy(c)
	u, _ := SkbUnshare(c)
	_ = PskbExpandHead(cp, 16, 16)
	_, _ = SkbGet(cp)
	_ = KfreeSkb(cp)
	pg, _ := f.mem.AllocPages(0)
	_ = SkbAddRxFrag(pc, 0, pg, 0, 10, 4096)
	pc2, _ := PskbCopy(pc) // shares the frag: get_page

	a, b, d := f.alloc(t, 1), f.alloc(t, 1), f.alloc(t, 1)
	_ = SkbQueueTail(&q, a)
	_ = SkbQueueHead(&q, b)
	_ = SkbAppend(a, d, &q)
	_ = SkbUnlink(d, &q)
	_ = SkbQueueBeforeLocked(&q, a, d)
	SkbPeek(&q)
	SkbPeekTail(&q)
	SkbDequeue(&q)
	SkbDequeueTail(&q)
	_ = SkbQueueTail(&q2, a)
	_ = SkbQueueTail(&q2, b)
	SkbQueueSplice(&q2, &q)
	SkbQueueSpliceTail(&q, &q2)
	_ = SkbInsertLocked(d, nil, SkbPeek(&q2), &q2)
	_ = SkbQueuePurge(&q2)
	for _, x := range []*SkBuff{s, pc, pc2, u, cp} {
		_ = ConsumeSkb(x)
	}
	_ = KfreeSkbReason(f.alloc(t, 1), SKB_DROP_REASON_NO_SOCKET)

	seen := map[string]bool{}
	for _, ev := range *evs {
		seen[ev.Func.Name()] = true
	}
	want := []string{
		"alloc_skb", "alloc_skb_fclone", "__alloc_skb", "kmalloc_reserve", "skb_reserve", "skb_put",
		"skb_push", "skb_pull", "skb_trim", "skb_headroom", "skb_tailroom", "skb_headlen",
		"skb_clone", "skb_copy", "pskb_copy", "skb_cloned", "skb_header_cloned", "skb_unshare",
		"pskb_expand_head", "skb_copy_bits", "kfree_skb_reason", "consume_skb", "trace_kfree_skb",
		"trace_consume_skb", "__kfree_skb", "skb_release_all", "skb_release_data", "skb_free_head",
		"kfree_skbmem", "__skb_header_release", "skb_get", "skb_add_rx_frag",
		"skb_queue_head", "__skb_queue_head", "skb_queue_tail", "__skb_queue_tail", "skb_dequeue",
		"__skb_dequeue", "skb_dequeue_tail", "__skb_dequeue_tail", "skb_unlink", "__skb_unlink",
		"skb_append", "__skb_queue_after", "__skb_queue_before", "__skb_insert", "skb_peek",
		"skb_peek_tail", "skb_queue_purge", "skb_queue_splice", "skb_queue_splice_tail",
		"kmem_cache_alloc", "kmem_cache_free", "kmalloc", "kfree", "__alloc_pages", "get_page", "put_page",
	}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("%s never reported", name)
		}
		fn, ok := tracing.Lookup(name)
		if !ok || fn.File == "" || len(fn.Explain) < 20 {
			t.Errorf("%s: registry entry %+v", name, fn)
		}
	}
}

// TestRegistryPointsAtRealGoCode: every registered function with a Go
// location names a file of this repository.
func TestRegistryPointsAtRealGoCode(t *testing.T) {
	n := 0
	for _, fn := range tracing.Funcs() {
		if fn.GoFile == "" {
			continue
		}
		n++
		if strings.HasPrefix(fn.GoFile, "/") {
			t.Errorf("%s: Go file %s is not relative to the module", fn.Name, fn.GoFile)
			continue
		}
		if _, err := os.Stat("../" + fn.GoFile); err != nil {
			t.Errorf("%s: Go file %s: %v", fn.Name, fn.GoFile, err)
		}
	}
	if n < 40 {
		t.Errorf("only %d functions have a Go location", n)
	}
}

func TestSkbAppendExplainsThatSkbInsertIsGone(t *testing.T) {
	fn, _ := tracing.Lookup("skb_append")
	if !strings.Contains(fn.Explain, "skb_insert") || !strings.Contains(fn.Explain, "removed") {
		t.Errorf("skb_append's explanation: %q", fn.Explain)
	}
}
