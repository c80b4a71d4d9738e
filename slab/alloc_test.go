package slab

import (
	"errors"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/tracing"
)

func mustCache(t testing.TB, a *Allocator, name string, size uint32, flags Flags) *KmemCache {
	t.Helper()
	c, err := a.KmemCacheCreate(name, size, 0, flags, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustAlloc(t testing.TB, a *Allocator, c *KmemCache) Addr {
	t.Helper()
	p, err := a.KmemCacheAlloc(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func kindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func TestObjectsComeInAddressOrderAndFreedOnesAreReusedFirst(t *testing.T) {
	a := newTestAllocator(t, Config{})
	c := mustCache(t, a, "TCP", testTCPObject, socketFlags)
	p0 := mustAlloc(t, a, c)
	p1 := mustAlloc(t, a, c)
	p2 := mustAlloc(t, a, c)
	if uint64(p0)&0xfffff00000000000 != PageOffset&0xfffff00000000000 {
		t.Errorf("address %s is not in the direct map 0xffff888...", p0)
	}
	if p0%PageSize != 0 || p1 != p0+2368 || p2 != p1+2368 {
		t.Errorf("objects at %s %s %s, want a page-aligned slab with a 2368-byte stride", p0, p1, p2)
	}
	if err := a.KmemCacheFree(c, p1); err != nil {
		t.Fatal(err)
	}
	if again := mustAlloc(t, a, c); again != p1 {
		t.Errorf("after freeing %s the next object is %s; SLUB reuses the last freed object first", p1, again)
	}
	st := c.Stats()
	if st.InUse != 3 || st.Allocs != 4 || st.Frees != 1 {
		t.Errorf("stats: in use %d allocs %d frees %d, want 3 4 1", st.InUse, st.Allocs, st.Frees)
	}
}

func TestSlabsAreAddedAsNeeded(t *testing.T) {
	a := newTestAllocator(t, Config{})
	c := mustCache(t, a, "request_sock_TCP", testReqObject, socketFlags)
	var objs []Addr
	for i := 0; i < 12; i++ {
		objs = append(objs, mustAlloc(t, a, c))
	}
	if st := c.Stats(); st.NumSlabs != 1 || st.NumObjs != 12 {
		t.Fatalf("12 objects: %d slabs, %d objs; want 1 and 12", st.NumSlabs, st.NumObjs)
	}
	thirteenth := mustAlloc(t, a, c)
	if st := c.Stats(); st.NumSlabs != 2 || st.NumObjs != 24 || st.ActiveObjs != 24 {
		t.Fatalf("13 objects: %d slabs, %d objs, %d active; want 2, 24, 24 (the CPU slab counts as active)",
			st.NumSlabs, st.NumObjs, st.ActiveObjs)
	}
	if thirteenth>>PageShift == objs[0]>>PageShift {
		t.Errorf("the 13th object %s is in the first slab", thirteenth)
	}
	// Freeing one object of the first (full, untracked) slab puts it on
	// the partial list: its free object stops counting as active.
	if err := a.KmemCacheFree(c, objs[3]); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.PartialSlabs != 1 || st.ActiveObjs != 23 || st.InUse != 12 {
		t.Errorf("after one free: partial %d active %d in use %d; want 1, 23, 12", st.PartialSlabs, st.ActiveObjs, st.InUse)
	}
}

// TestEmptySlabsAreKeptUpToMinPartial: SLUB keeps empty slabs on the
// partial list while it has fewer than min_partial, and frees the rest.
func TestEmptySlabsAreKeptUpToMinPartial(t *testing.T) {
	a := newTestAllocator(t, Config{})
	c := mustCache(t, a, "tw_sock_TCP", testTwsockObject, socketFlags)
	if c.MinPartial() != 5 {
		t.Fatalf("min_partial %d, want 5", c.MinPartial())
	}
	const slabs = 9
	var objs []Addr
	for i := 0; i < slabs*16; i++ {
		objs = append(objs, mustAlloc(t, a, c))
	}
	pagesBefore := a.PagesInUse()
	for _, p := range objs {
		if err := a.KmemCacheFree(c, p); err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	// The CPU slab (the last one) stays. Each of the other 8 goes onto the
	// partial list at its first free; when it becomes empty, __slab_free
	// discards it if the list, counting the slab itself, holds min_partial
	// (5) or more. So four stay and four go back.
	if st.InUse != 0 || st.NumSlabs != 5 || st.PartialSlabs != 4 || st.SlabsFreed != 4 {
		t.Errorf("after freeing all: in use %d, slabs %d, partial %d, freed %d; want 0, 5, 4, 4",
			st.InUse, st.NumSlabs, st.PartialSlabs, st.SlabsFreed)
	}
	if st.ActiveObjs != 16 {
		t.Errorf("active_objs %d, want 16: slabinfo counts the CPU slab's objects as active", st.ActiveObjs)
	}
	if got := pagesBefore - a.PagesInUse(); got != 4 {
		t.Errorf("%d pages went back, want 4", got)
	}
	a.KmemCacheShrink(c)
	if st := c.Stats(); st.NumSlabs != 0 || st.ActiveObjs != 0 || st.NumObjs != 0 {
		t.Errorf("after kmem_cache_shrink: %d slabs, %d/%d objs; want all 0", st.NumSlabs, st.ActiveObjs, st.NumObjs)
	}
}

func TestShrinkPutsTheFullestSlabsFirst(t *testing.T) {
	a := newTestAllocator(t, Config{})
	c := mustCache(t, a, "obj", 256, 0) // 16 per slab
	var objs []Addr
	for i := 0; i < 48; i++ {
		objs = append(objs, mustAlloc(t, a, c))
	}
	// Slab 0 keeps 15 objects (1 free), slab 1 keeps 4 (12 free).
	for _, p := range objs[16+4 : 32] {
		if err := a.KmemCacheFree(c, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.KmemCacheFree(c, objs[0]); err != nil {
		t.Fatal(err)
	}
	// Partial list order by arrival: slab 1, then slab 0.
	if c.partial.head.base != objs[16] {
		t.Fatalf("partial head %s, want slab 1 at %s", c.partial.head.base, objs[16])
	}
	a.KmemCacheShrink(c)
	if c.partial.head.base != objs[0] {
		t.Errorf("after shrink partial head %s, want the fullest slab at %s", c.partial.head.base, objs[0])
	}
	if c.cpuSlab != nil {
		t.Error("shrink left a CPU slab")
	}
	if again := mustAlloc(t, a, c); again != objs[0] {
		t.Errorf("next object %s, want %s from the fullest slab", again, objs[0])
	}
}

func TestMisuseIsReportedCountedAndHarmless(t *testing.T) {
	a := newTestAllocator(t, Config{})
	var points []tracing.Event
	a.Tracer().Subscribe(func(ev *tracing.Event) {
		if ev.Kind == tracing.Point {
			points = append(points, *ev)
		}
	})
	tcp := mustCache(t, a, "TCP", testTCPObject, socketFlags)
	req := mustCache(t, a, "request_sock_TCP", testReqObject, socketFlags)
	p := mustAlloc(t, a, tcp)
	q := mustAlloc(t, a, tcp)
	r := mustAlloc(t, a, req)

	if err := a.KmemCacheFree(tcp, p); err != nil {
		t.Fatal(err)
	}
	err := a.KmemCacheFree(tcp, p)
	if kindOf(err) != ErrDoubleFree || !strings.Contains(err.Error(), "double free") {
		t.Errorf("second free: %v, want a double free", err)
	}
	err = a.KmemCacheFree(tcp, r)
	if kindOf(err) != ErrWrongCache || !strings.Contains(err.Error(), "belongs to cache request_sock_TCP, not TCP") {
		t.Errorf("free into the wrong cache: %v", err)
	}
	err = a.KmemCacheFree(tcp, q+8)
	if kindOf(err) != ErrNotObject {
		t.Errorf("free of an interior pointer: %v", err)
	}
	_, err = a.Mem(p, 4)
	if kindOf(err) != ErrUseAfterFree {
		t.Errorf("reading a freed object: %v", err)
	}
	if err := a.Kfree(Addr(0xffff888000001000)); kindOf(err) != ErrNotObject {
		t.Errorf("kfree of an address nobody allocated: %v", err)
	}
	st := tcp.Stats()
	if st.DoubleFree != 1 || st.WrongCache != 1 || st.InvalidFree != 1 || st.UseAfterFree != 1 {
		t.Errorf("counters %+v", st)
	}
	// Nothing changed: q and r are still allocated and usable.
	if st.InUse != 1 || req.Stats().InUse != 1 || !a.IsAllocated(q) || !a.IsAllocated(r) {
		t.Errorf("misuse changed state: TCP in use %d, req in use %d", st.InUse, req.Stats().InUse)
	}
	if len(points) != 5 || points[0].Func.Name() != "object_err" {
		t.Errorf("trace points: %d, first %v", len(points), points)
	}
	if err := a.Kfree(0); err != nil {
		t.Errorf("kfree(NULL): %v", err)
	}
	if err := a.Kfree(ZeroSizePtr); err != nil {
		t.Errorf("kfree(ZERO_SIZE_PTR): %v", err)
	}
}

func TestFullyFreedSlabAddressIsUseAfterFree(t *testing.T) {
	a := newTestAllocator(t, Config{})
	c := mustCache(t, a, "obj", 2048, 0)
	var objs []Addr
	for i := 0; i < 16*7; i++ { // seven 8-page slabs
		objs = append(objs, mustAlloc(t, a, c))
	}
	for _, p := range objs {
		if err := a.KmemCacheFree(c, p); err != nil {
			t.Fatal(err)
		}
	}
	// The first slab was discarded (the node already kept five).
	if c.Stats().SlabsFreed == 0 {
		t.Fatal("no slab was discarded")
	}
	err := a.KmemCacheFree(c, objs[0])
	if kindOf(err) != ErrDoubleFree {
		t.Errorf("free into a discarded slab: %v, want a double free", err)
	}
	if _, err := a.Mem(objs[0], 1); kindOf(err) != ErrUseAfterFree {
		t.Errorf("read from a discarded slab: %v, want use after free", err)
	}
}

func TestKmallocPicksTheKernelsSizeClass(t *testing.T) {
	a := newTestAllocator(t, Config{})
	tests := []struct {
		size uint64
		want string
	}{
		{1, "kmalloc-8"}, {8, "kmalloc-8"}, {9, "kmalloc-16"}, {17, "kmalloc-32"}, {24, "kmalloc-32"},
		{33, "kmalloc-64"}, {64, "kmalloc-64"}, {65, "kmalloc-96"}, {96, "kmalloc-96"},
		{97, "kmalloc-128"}, {128, "kmalloc-128"}, {129, "kmalloc-192"}, {192, "kmalloc-192"},
		{193, "kmalloc-256"}, {257, "kmalloc-512"}, {513, "kmalloc-1k"}, {1025, "kmalloc-2k"},
		{2049, "kmalloc-4k"}, {4097, "kmalloc-8k"}, {8192, "kmalloc-8k"},
	}
	for _, tt := range tests {
		p, err := a.Kmalloc(tt.size)
		if err != nil {
			t.Fatalf("kmalloc(%d): %v", tt.size, err)
		}
		c := a.VirtToCache(p)
		if c == nil || c.Name() != tt.want {
			t.Errorf("kmalloc(%d) came from %v, want %s", tt.size, c, tt.want)
		}
		if got, _ := a.Ksize(p); got != uint64(c.ObjectSize()) || got != KmallocSizeRoundup(tt.size) {
			t.Errorf("ksize(kmalloc(%d)) = %d, roundup %d", tt.size, got, KmallocSizeRoundup(tt.size))
		}
		if err := a.Kfree(p); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := a.Kmalloc(0); p != ZeroSizePtr || err != nil {
		t.Errorf("kmalloc(0) = %s, %v; want ZERO_SIZE_PTR", p, err)
	}
	big, err := a.Kmalloc(8193)
	if err != nil {
		t.Fatal(err)
	}
	if a.VirtToCache(big) != nil || big%(4*PageSize) != 0 {
		t.Errorf("kmalloc(8193) at %s: want an order-2 page block, not a slab object", big)
	}
	if n, _ := a.Ksize(big); n != 16384 {
		t.Errorf("ksize of a large kmalloc: %d, want 16384", n)
	}
	used := a.PagesInUse()
	if err := a.Kfree(big); err != nil {
		t.Fatal(err)
	}
	if used-a.PagesInUse() != 4 {
		t.Errorf("kfree of a large kmalloc gave back %d pages, want 4", used-a.PagesInUse())
	}
	if err := a.Kfree(big); kindOf(err) != ErrDoubleFree {
		t.Errorf("second kfree of a large kmalloc: %v", err)
	}
	if _, err := a.Kmalloc(KmallocMaxSize + 1); kindOf(err) != ErrBadArgument {
		t.Errorf("kmalloc above the limit: %v", err)
	}
}

func TestMemIsRealAndBounded(t *testing.T) {
	a := newTestAllocator(t, Config{})
	p, err := a.Kmalloc(100) // kmalloc-128
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Mem(p, 128)
	if err != nil {
		t.Fatal(err)
	}
	copy(m, "hello")
	m2, _ := a.Mem(p+1, 4)
	if string(m2) != "ello" {
		t.Errorf("memory at p+1 reads %q", m2)
	}
	if _, err := a.Mem(p+100, 29); kindOf(err) != ErrNotObject {
		t.Errorf("reading past the object: %v", err)
	}
}

func TestPageLimitMakesAllocationFail(t *testing.T) {
	a := newTestAllocator(t, Config{PageLimit: 8})
	c := mustCache(t, a, "TCP", testTCPObject, socketFlags)
	for i := 0; i < 13; i++ {
		mustAlloc(t, a, c)
	}
	_, err := a.KmemCacheAlloc(c)
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrNoMemory || e.Errno() != -tracing.ENOMEM {
		t.Fatalf("allocation past the page limit: %v", err)
	}
	if st := c.Stats(); st.AllocFail != 1 || st.InUse != 13 {
		t.Errorf("alloc failures %d, in use %d; want 1 and 13", st.AllocFail, st.InUse)
	}
}

func TestPagesAreReferenceCounted(t *testing.T) {
	a := newTestAllocator(t, Config{})
	pg, err := a.AllocPages(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.GetPage(pg + PageSize + 10); err != nil { // any address in the block
		t.Fatal(err)
	}
	if a.PageRef(pg) != 2 {
		t.Fatalf("ref %d, want 2", a.PageRef(pg))
	}
	before := a.PagesInUse()
	if err := a.PutPage(pg); err != nil {
		t.Fatal(err)
	}
	if a.PagesInUse() != before {
		t.Error("the block was freed with a reference left")
	}
	if err := a.PutPage(pg); err != nil {
		t.Fatal(err)
	}
	if before-a.PagesInUse() != 2 {
		t.Errorf("the last put_page freed %d pages, want 2", before-a.PagesInUse())
	}
	if err := a.PutPage(pg); kindOf(err) != ErrUseAfterFree {
		t.Errorf("put_page on a freed block: %v", err)
	}
}

func TestDestroyRefusesABusyCache(t *testing.T) {
	a := newTestAllocator(t, Config{})
	c := mustCache(t, a, "leaky", 64, 0)
	p := mustAlloc(t, a, c)
	if err := a.KmemCacheDestroy(c); kindOf(err) != ErrCacheBusy || !strings.Contains(err.Error(), "1 objects remaining") {
		t.Errorf("destroy with an object left: %v", err)
	}
	if err := a.KmemCacheFree(c, p); err != nil {
		t.Fatal(err)
	}
	if err := a.KmemCacheDestroy(c); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.CacheByName("leaky"); ok {
		t.Error("destroyed cache still listed")
	}
}

func TestBadCacheArgumentsAreRefused(t *testing.T) {
	a := newTestAllocator(t, Config{})
	for _, tt := range []struct {
		name        string
		size, align uint32
	}{{"", 8, 0}, {"zero", 0, 0}, {"huge", KmallocMaxSize + 1, 0}, {"align", 64, 3}} {
		if _, err := a.KmemCacheCreate(tt.name, tt.size, tt.align, 0, false); kindOf(err) != ErrBadArgument {
			t.Errorf("%+v: %v", tt, err)
		}
	}
}

func TestSlabtopSummary(t *testing.T) {
	a := newTestAllocator(t, Config{})
	c := mustCache(t, a, "TCP", testTCPObject, socketFlags)
	for i := 0; i < 3; i++ {
		mustAlloc(t, a, c)
	}
	if _, err := a.Kmalloc(64); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := a.WriteSlabtop(&b, SortObjs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		// SLUB counts every object of a CPU slab as active.
		" Active / Total Objects (% used)    : 77 / 77 (100.0%)",
		" Active / Total Caches (% used)     : 2 / 14 (14.3%)",
		"  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME",
		"    64     64 100%    0.06K      1       64         4K kmalloc-64",
		"    13     13 100%    2.31K      1       13        32K TCP",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("slabtop output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "kmalloc-64") > strings.Index(out, "TCP") {
		t.Errorf("not sorted by object count:\n%s", out)
	}
	if _, err := ParseSlabtopSort("x"); err == nil {
		t.Error("bad sort letter accepted")
	}
}

// TestSameOperationsSameEvents: the allocator is deterministic, so two runs
// of the same operations emit identical events.
func TestSameOperationsSameEvents(t *testing.T) {
	run := func() []tracing.Event {
		tr := tracing.NewTracer(nil)
		ring := tracing.NewRing(4096)
		tr.SetRing(ring)
		a := newTestAllocator(t, Config{Tracer: tr})
		c := mustCache(t, a, "TCP", testTCPObject, socketFlags)
		var ps []Addr
		for i := 0; i < 40; i++ {
			ps = append(ps, mustAlloc(t, a, c))
			if i%3 == 0 {
				k, _ := a.Kmalloc(uint64(i * 37))
				_ = a.Kfree(k)
			}
		}
		for i := len(ps) - 1; i >= 0; i -= 2 {
			_ = a.KmemCacheFree(c, ps[i])
		}
		return ring.Events(nil)
	}
	x, y := run(), run()
	if len(x) == 0 || len(x) != len(y) {
		t.Fatalf("%d and %d events", len(x), len(y))
	}
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("event %d differs: %v vs %v", i, x[i].String(), y[i].String())
		}
	}
}

// TestSlabtopCellsUnderTheirHeaders: each cell is as wide as its header
// cell (NAME aside), so callers can pick columns and stay aligned, and
// SortSlabtop breaks ties by name.
func TestSlabtopCellsUnderTheirHeaders(t *testing.T) {
	a := newTestAllocator(t, Config{})
	c := mustCache(t, a, "TCP", testTCPObject, socketFlags)
	mustAlloc(t, a, c)
	hdr, cells := SlabtopHeaderCells(), c.Stats().SlabtopCells()
	if len(hdr) != len(SlabtopColumns) || len(cells) != len(hdr) {
		t.Fatalf("%d headers, %d cells, want %d", len(hdr), len(cells), len(SlabtopColumns))
	}
	for i := range len(hdr) - 1 {
		if len(cells[i]) != len(hdr[i]) {
			t.Errorf("column %s: cell %q under header %q", SlabtopColumns[i], cells[i], hdr[i])
		}
	}
	stats := []CacheStats{{Name: "b", ActiveObjs: 1}, {Name: "a", ActiveObjs: 1}, {Name: "c", ActiveObjs: 2}}
	SortSlabtop(stats, SortActive)
	if stats[0].Name != "c" || stats[1].Name != "a" || stats[2].Name != "b" {
		t.Errorf("sorted by active: %v, want c a b", stats)
	}
}
