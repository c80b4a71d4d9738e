package slab

import (
	"fmt"

	"github.com/stackscope/stackscope/tracing"
)

// KmemCacheAlloc is kmem_cache_alloc: it returns the address of a free
// object of c. The fast path takes the CPU slab's next free object; when
// that slab is full, ___slab_alloc takes a slab from the partial list or
// makes a new one.
func (a *Allocator) KmemCacheAlloc(c *KmemCache) (Addr, error) {
	a.tr.Enter1(fnKmemCacheAlloc, tracing.Cache(uint64(c.id)))
	addr, err := a.slabAlloc(c)
	a.tr.Exit(fnKmemCacheAlloc, tracing.Ptr(uint64(addr)))
	return addr, err
}

// slabAlloc is slab_alloc_node without the trace point.
func (a *Allocator) slabAlloc(c *KmemCache) (Addr, error) {
	s := c.cpuSlab
	if s == nil || len(s.freelist) == 0 {
		var err error
		if s, err = a.slowAlloc(c); err != nil {
			c.stats.allocFail++
			return 0, err
		}
	}
	last := len(s.freelist) - 1
	idx := uint32(s.freelist[last])
	s.freelist = s.freelist[:last]
	s.used[idx/64] |= 1 << (idx % 64)
	s.inuse++
	c.stats.inUse++
	c.stats.allocs++
	return s.base + Addr(idx*c.size), nil
}

// slowAlloc is ___slab_alloc: the CPU slab is full (or there is none), so
// SLUB lets go of it (full slabs are on no list) and takes the first slab of
// the node's partial list, or a new slab.
func (a *Allocator) slowAlloc(c *KmemCache) (*slab, error) {
	a.tr.Enter1(fnSlabAllocSlow, tracing.Cache(uint64(c.id)))
	c.cpuSlab = nil
	var s *slab
	if c.partial.head != nil {
		a.tr.Enter1(fnGetPartialNode, tracing.Cache(uint64(c.id)))
		s = c.partial.head
		c.partial.remove(s)
		a.tr.Exit(fnGetPartialNode, tracing.Ptr(uint64(s.base)))
	} else {
		var err error
		if s, err = a.allocateSlab(c); err != nil {
			a.tr.Exit(fnSlabAllocSlow, tracing.Ptr(0))
			return nil, err
		}
	}
	c.cpuSlab = s
	a.tr.Exit(fnSlabAllocSlow, tracing.Ptr(uint64(s.base)))
	return s, nil
}

// allocateSlab is allocate_slab: pages from the page allocator, cut into
// objects.
func (a *Allocator) allocateSlab(c *KmemCache) (*slab, error) {
	a.tr.Enter1(fnAllocateSlab, tracing.Cache(uint64(c.id)))
	pfn, ok := a.allocPages(c.order, pageSlab)
	if !ok {
		a.tr.Exit(fnAllocateSlab, tracing.Ptr(0))
		return nil, &Error{Op: "kmem_cache_alloc", Kind: ErrNoMemory, Cache: c.name, Size: uint64(c.size)}
	}
	var s *slab
	if n := len(c.spare); n > 0 {
		s = c.spare[n-1]
		c.spare = c.spare[:n-1]
	} else {
		s = new(slab)
	}
	s.reset(c, pfn)
	for i := uint64(0); i < uint64(1)<<c.order; i++ {
		a.pages.pages[pfn+i-firstPFN].slab = s
	}
	c.nrSlabs++
	c.nrObjs += uint64(c.objects)
	c.stats.slabsAllocated++
	a.tr.Exit(fnAllocateSlab, tracing.Ptr(uint64(s.base)))
	return s, nil
}

// discardSlab is discard_slab: an empty slab's pages go back to the page
// allocator.
func (a *Allocator) discardSlab(c *KmemCache, s *slab) {
	a.tr.Enter2(fnDiscardSlab, tracing.Cache(uint64(c.id)), tracing.Ptr(uint64(s.base)))
	c.nrSlabs--
	c.nrObjs -= uint64(s.objects)
	c.stats.slabsFreed++
	a.freePages(s.pfn)
	s.cache = nil
	c.spare = append(c.spare, s)
	a.tr.Exit(fnDiscardSlab, tracing.Arg{})
}

// KmemCacheFree is kmem_cache_free: it gives an object back to c. A wrong
// cache, a double free or an address that is not an object is reported and
// nothing changes.
func (a *Allocator) KmemCacheFree(c *KmemCache, addr Addr) error {
	a.tr.Enter2(fnKmemCacheFree, tracing.Cache(uint64(c.id)), tracing.Ptr(uint64(addr)))
	s, idx, err := a.lookupForFree("kmem_cache_free", c, addr)
	if err != nil {
		a.tr.Exit(fnKmemCacheFree, tracing.Errno(err.Errno()))
		return err
	}
	a.slabFree(c, s, idx)
	a.tr.Exit(fnKmemCacheFree, tracing.Arg{})
	return nil
}

// lookupForFree finds the slab and index of the object at addr and checks
// that it may be freed into c (nil c: into whichever cache owns it, as kfree
// does). Problems are counted on c (or the owner) and reported.
func (a *Allocator) lookupForFree(op string, c *KmemCache, addr Addr) (*slab, uint32, *Error) {
	s, idx, err := a.findObject(op, c, addr, ErrDoubleFree)
	if err != nil {
		return nil, 0, err
	}
	if !s.isUsed(idx) {
		return nil, 0, a.report(op, c, s.cache, addr, ErrDoubleFree, "")
	}
	return s, idx, nil
}

// findObject resolves addr to the slab object it starts. freedKind is the
// error to give when addr lies in pages that have been freed: a double free
// for free calls, a use after free for accesses.
func (a *Allocator) findObject(op string, c *KmemCache, addr Addr, freedKind ErrorKind) (*slab, uint32, *Error) {
	pg, _ := a.pages.addrToPage(addr)
	if pg == nil {
		return nil, 0, a.report(op, c, nil, addr, ErrNotObject, "the address is not in any page the allocator handed out")
	}
	switch pg.kind {
	case pageFree:
		return nil, 0, a.report(op, c, nil, addr, freedKind, "")
	case pageLarge, pagePlain:
		return nil, 0, a.report(op, c, nil, addr, ErrNotObject, "it is in a "+pg.kind.String()+" page block, not a slab")
	}
	s := pg.slab
	if c != nil && s.cache != c {
		return nil, 0, a.report(op, c, s.cache, addr, ErrWrongCache, "")
	}
	off := uint32(addr - s.base)
	idx := off / s.cache.size
	if off%s.cache.size != 0 || idx >= s.objects {
		return nil, 0, a.report(op, c, s.cache, addr, ErrNotObject,
			fmt.Sprintf("it is %d bytes into a %d-byte object of %s", off%s.cache.size, s.cache.size, s.cache.name))
	}
	return s, idx, nil
}

// report counts a misuse on the cache the caller named (or the owner when
// none was named), fires the object_err trace point and builds the error.
func (a *Allocator) report(op string, c, owner *KmemCache, addr Addr, kind ErrorKind, msg string) *Error {
	counted := c
	if counted == nil {
		counted = owner
	}
	e := &Error{Op: op, Kind: kind, Addr: addr, Msg: msg}
	if c != nil {
		e.Cache = c.name
	} else if owner != nil {
		e.Cache = owner.name
	}
	if owner != nil {
		e.Owner = owner.name
	}
	if counted != nil {
		switch kind {
		case ErrDoubleFree:
			counted.stats.doubleFree++
		case ErrWrongCache:
			counted.stats.wrongCache++
		case ErrNotObject:
			counted.stats.invalid++
		case ErrUseAfterFree:
			counted.stats.useAfter++
		}
	}
	cacheArg := tracing.Arg{}
	if counted != nil {
		cacheArg = tracing.Cache(uint64(counted.id))
	}
	a.tr.Point(fnObjectErr, cacheArg, tracing.Ptr(uint64(addr)))
	return e
}

// slabFree puts object idx of slab s back. It is do_slab_free: the fast
// path when s is the CPU slab, otherwise __slab_free, which puts a slab that
// was full on the partial list and gives an empty one back to the page
// allocator once the node keeps min_partial partial slabs.
func (a *Allocator) slabFree(c *KmemCache, s *slab, idx uint32) {
	wasFull := s.inuse == s.objects
	s.used[idx/64] &^= 1 << (idx % 64)
	s.freelist = append(s.freelist, uint16(idx))
	s.inuse--
	c.stats.inUse--
	c.stats.frees++
	if s == c.cpuSlab {
		return
	}
	a.tr.Enter2(fnSlabFreeSlow, tracing.Cache(uint64(c.id)), tracing.Ptr(uint64(s.base)))
	switch {
	case s.inuse == 0 && c.partial.n >= c.minPartial:
		if s.onList {
			c.partial.remove(s)
		}
		a.discardSlab(c, s)
	case wasFull:
		c.partial.pushTail(s)
	}
	a.tr.Exit(fnSlabFreeSlow, tracing.Arg{})
}

// KmemCacheShrink is kmem_cache_shrink (what writing 1 to
// /sys/kernel/slab/<cache>/shrink does): it lets go of the CPU slab, gives
// every empty slab back to the page allocator and sorts the partial list so
// the fullest slabs are used first.
func (a *Allocator) KmemCacheShrink(c *KmemCache) {
	a.tr.Enter1(fnKmemCacheShrink, tracing.Cache(uint64(c.id)))
	a.kmemCacheShrink(c)
	a.tr.Exit(fnKmemCacheShrink, tracing.Arg{})
}

func (a *Allocator) kmemCacheShrink(c *KmemCache) {
	if s := c.cpuSlab; s != nil {
		c.cpuSlab = nil
		a.deactivateSlab(c, s)
	}
	// __kmem_cache_do_shrink
	var promote [shrinkPromoteMax]slabList
	var discard slabList
	for s := c.partial.head; s != nil; {
		next := s.next
		free := int(s.objects - s.inuse)
		switch {
		case free == int(s.objects):
			c.partial.remove(s)
			discard.pushTail(s)
		case free <= shrinkPromoteMax:
			c.partial.remove(s)
			promote[free-1].pushTail(s)
		}
		s = next
	}
	for i := shrinkPromoteMax - 1; i >= 0; i-- {
		c.partial.spliceHead(&promote[i])
	}
	for s := discard.head; s != nil; {
		next := s.next
		discard.remove(s)
		a.discardSlab(c, s)
		s = next
	}
}

// deactivateSlab is deactivate_slab: the CPU slab goes back to the node,
// on the partial list if it has free objects, to the page allocator if it is
// empty and the node has enough partial slabs, nowhere if it is full.
func (a *Allocator) deactivateSlab(c *KmemCache, s *slab) {
	a.tr.Enter2(fnDeactivateSlab, tracing.Cache(uint64(c.id)), tracing.Ptr(uint64(s.base)))
	switch {
	case s.inuse == 0 && c.partial.n >= c.minPartial:
		a.discardSlab(c, s)
	case s.inuse < s.objects:
		c.partial.pushHead(s)
	}
	a.tr.Exit(fnDeactivateSlab, tracing.Arg{})
}

// Mem returns the n bytes of kernel memory at addr. The range must lie
// inside one allocated slab object (within its object_size) or one
// allocated page block; anything else is reported like KASAN would, as
// use after free or an invalid access, and nothing is returned.
func (a *Allocator) Mem(addr Addr, n uint32) ([]byte, error) {
	pg, pfn := a.pages.addrToPage(addr)
	if pg == nil {
		return nil, a.report("mem", nil, nil, addr, ErrNotObject, "the address is not in any page the allocator handed out")
	}
	switch pg.kind {
	case pageFree:
		return nil, a.report("mem", nil, nil, addr, ErrUseAfterFree, "")
	case pageLarge, pagePlain:
		h, hpfn := a.pages.headOf(pfn)
		off := uint64(addr - pfnToAddr(hpfn))
		if off+uint64(n) > uint64(PageSize)<<h.order {
			return nil, a.report("mem", nil, nil, addr, ErrNotObject,
				fmt.Sprintf("%d bytes run past the end of a %d-page block", n, 1<<h.order))
		}
		mem := a.pages.memOf(hpfn)
		return mem[off : off+uint64(n) : off+uint64(n)], nil
	}
	s := pg.slab
	c := s.cache
	off := uint32(addr - s.base)
	idx := off / c.size
	in := off % c.size
	if idx >= s.objects {
		return nil, a.report("mem", nil, c, addr, ErrNotObject, "it is in the slab's leftover space")
	}
	if !s.isUsed(idx) {
		return nil, a.report("mem", nil, c, addr, ErrUseAfterFree, "")
	}
	if uint64(in)+uint64(n) > uint64(c.objectSize) {
		return nil, a.report("mem", nil, c, addr, ErrNotObject,
			fmt.Sprintf("%d bytes at offset %d run past the end of a %d-byte object", n, in, c.objectSize))
	}
	mem := a.pages.memOf(s.pfn)
	return mem[off : off+n : off+n], nil
}

// VirtToCache is virt_to_cache: the cache that owns the object at addr, or
// nil if addr is not in a slab.
func (a *Allocator) VirtToCache(addr Addr) *KmemCache {
	pg, _ := a.pages.addrToPage(addr)
	if pg == nil || pg.kind != pageSlab {
		return nil
	}
	return pg.slab.cache
}

// IsAllocated reports whether addr is the start of an allocated slab object
// or the head of an allocated page block.
func (a *Allocator) IsAllocated(addr Addr) bool {
	pg, pfn := a.pages.addrToPage(addr)
	if pg == nil {
		return false
	}
	switch pg.kind {
	case pageSlab:
		s := pg.slab
		off := uint32(addr - s.base)
		idx := off / s.cache.size
		return off%s.cache.size == 0 && idx < s.objects && s.isUsed(idx)
	case pageLarge, pagePlain:
		_, h := a.pages.headOf(pfn)
		return h == pfn && addr == pfnToAddr(pfn)
	}
	return false
}
