package skb

import (
	"strings"
	"testing"

	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

func TestConfigMatchesTheReferenceMachine(t *testing.T) {
	if MaxTCPHeader != 192 || SkbSmallHeadCacheSize != 576 || SkbSmallHeadHeadroom != 256 {
		t.Errorf("MAX_TCP_HEADER %d, small head %d (headroom %d); want 192, 576, 256",
			MaxTCPHeader, SkbSmallHeadCacheSize, SkbSmallHeadHeadroom)
	}
	f := newFixture(t)
	for name, want := range map[string]uint32{"skbuff_head_cache": 256, "skbuff_fclone_cache": 512, "skbuff_small_head": 576} {
		c, ok := f.mem.CacheByName(name)
		if !ok || c.Size() != want {
			t.Errorf("%s: %v, want objects of %d bytes", name, c, want)
		}
	}
}

// TestAllocSkbRoundsUpToItsBuffer: the head comes from skbuff_small_head or
// the next kmalloc class, and all of it (less skb_shared_info) is usable.
func TestAllocSkbRoundsUpToItsBuffer(t *testing.T) {
	tests := []struct {
		size         uint32
		wantEnd      uint32
		wantTruesize uint32
		wantCache    string
	}{
		{0, 256, 832, "skbuff_small_head"},
		{MaxTCPHeader, 256, 832, "skbuff_small_head"},
		{256, 256, 832, "skbuff_small_head"}, // exact fit
		{257, 704, 1280, "kmalloc-1k"},
		{1500, 1728, 2304, "kmalloc-2k"},
		{3776, 3776, 4352, "kmalloc-4k"}, // exact fit
		{7872, 7872, 8448, "kmalloc-8k"},
		{9000, 16064, 16640, ""}, // kmalloc_large: 4 pages
	}
	for _, tt := range tests {
		f := newFixture(t)
		s := f.alloc(t, tt.size)
		if s.EndOffset() != tt.wantEnd || s.Truesize != tt.wantTruesize {
			t.Errorf("alloc_skb(%d): end %d truesize %d; want %d and %d", tt.size, s.EndOffset(), s.Truesize, tt.wantEnd, tt.wantTruesize)
		}
		var cache string
		if c := f.mem.VirtToCache(s.Head()); c != nil {
			cache = c.Name()
		}
		if cache != tt.wantCache {
			t.Errorf("alloc_skb(%d): head from %q, want %q", tt.size, cache, tt.wantCache)
		}
		if got := stateOf(s); got != (state{0, 0, tt.wantEnd, 0, 0}) {
			t.Errorf("alloc_skb(%d): %+v", tt.size, got)
		}
		if s.Users() != 1 || s.Shinfo().Dataref() != 1 || s.Cloned || SkbMacHeaderWasSet(s) ||
			SkbTransportHeaderWasSet(s) || s.NetworkHeader != 0 || s.Fclone != SKB_FCLONE_UNAVAILABLE {
			t.Errorf("alloc_skb(%d): fresh skb fields wrong: %+v", tt.size, s)
		}
		if c := f.mem.VirtToCache(slab.Addr(s.Addr())); c == nil || c.Name() != "skbuff_head_cache" {
			t.Errorf("sk_buff at %s is not in skbuff_head_cache", s.Addr())
		}
		if s.EndPointer() != s.Head()+slab.Addr(tt.wantEnd) {
			t.Errorf("skb_shared_info at %s, want head+end", s.EndPointer())
		}
		mustFree(t, s)
		f.checkAllFreed(t)
	}
}

func TestAllocSkbTraceShowsTheCallTree(t *testing.T) {
	f := newFixture(t)
	evs := f.record()
	s := f.alloc(t, 100)
	var tree []string
	for _, ev := range *evs {
		if ev.Kind == tracing.Entry {
			tree = append(tree, strings.Repeat(" ", int(ev.Depth))+ev.Func.Name())
		}
	}
	want := []string{
		"alloc_skb",
		" __alloc_skb",
		"  kmem_cache_alloc",
		"   ___slab_alloc",
		"    allocate_slab",
		"     __alloc_pages",
		"  kmalloc_reserve",
		"   kmem_cache_alloc",
		"    ___slab_alloc",
		"     allocate_slab",
		"      __alloc_pages",
	}
	if strings.Join(tree, "\n") != strings.Join(want, "\n") {
		t.Errorf("call tree:\n%s\nwant:\n%s", strings.Join(tree, "\n"), strings.Join(want, "\n"))
	}
	last := (*evs)[len(*evs)-1]
	if last.Kind != tracing.Exit || last.Func.Name() != "alloc_skb" || last.Ret() != tracing.Skb(uint64(s.Addr())) {
		t.Errorf("last event %v", last.String())
	}
}

func TestKfreeSkbDropsOneReferenceAndReportsTheReason(t *testing.T) {
	f := newFixture(t)
	s := f.alloc(t, 64)
	if _, err := SkbGet(s); err != nil {
		t.Fatal(err)
	}
	evs := f.record()
	if err := KfreeSkbReason(s, SKB_DROP_REASON_NO_SOCKET); err != nil {
		t.Fatal(err)
	}
	if s.Freed() || s.Users() != 1 {
		t.Fatalf("after one of two references: freed %v users %d", s.Freed(), s.Users())
	}
	for _, ev := range *evs {
		if ev.Func.Name() == "trace_kfree_skb" {
			t.Fatal("the tracepoint fired before the last reference went")
		}
	}
	if err := KfreeSkbReason(s, SKB_DROP_REASON_NO_SOCKET); err != nil {
		t.Fatal(err)
	}
	var point *tracing.Event
	for i := range *evs {
		if (*evs)[i].Func.Name() == "trace_kfree_skb" {
			point = &(*evs)[i]
		}
	}
	if point == nil || point.Kind != tracing.Point || !strings.Contains(point.Format(f.h), "reason=NO_SOCKET") {
		t.Fatalf("kfree_skb tracepoint: %v", point)
	}
	if err := KfreeSkb(s); err == nil || !strings.Contains(err.Error(), "use after free") {
		t.Errorf("freeing a freed skb: %v", err)
	}
	if _, err := SkbPut(s, 1); err == nil {
		t.Error("skb_put on a freed skb worked")
	}
	if KfreeSkb(nil) != nil || ConsumeSkb(nil) != nil {
		t.Error("kfree_skb(NULL) failed")
	}
	f.checkAllFreed(t)
}

func TestConsumeSkbIsNotADrop(t *testing.T) {
	f := newFixture(t)
	s := f.alloc(t, 64)
	evs := f.record()
	if err := ConsumeSkb(s); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, ev := range *evs {
		names[ev.Func.Name()] = true
	}
	if !names["trace_consume_skb"] || names["trace_kfree_skb"] {
		t.Errorf("events %v", names)
	}
	f.checkAllFreed(t)
}

func TestAllocFailureLeavesNothingBehind(t *testing.T) {
	tr := tracing.NewTracer(nil)
	mem, err := slab.New(slab.Config{Tracer: tr, PageLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	h, err := SkbInit(mem)
	if err != nil {
		t.Fatal(err)
	}
	// One page for skbuff_head_cache, one for skbuff_small_head; a 2k head
	// needs eight more.
	if _, err := AllocSkb(h, 1500); err == nil || !strings.Contains(err.Error(), "cannot allocate memory") {
		t.Fatalf("alloc_skb past the page limit: %v", err)
	}
	if skbs, bufs := h.Live(); skbs != 0 || bufs != 0 || h.SkbuffCache().Stats().InUse != 0 {
		t.Errorf("a failed alloc_skb left %d skbs, %d buffers, %d objects", skbs, bufs, h.SkbuffCache().Stats().InUse)
	}
}
