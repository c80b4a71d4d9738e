package slab

import (
	"fmt"
	"math/bits"

	"github.com/stackscope/stackscope/tracing"
)

// kmalloc limits for SLUB on x86-64 with 4 KiB pages.
const (
	KmallocMinSize      = 8                               // KMALLOC_MIN_SIZE
	KmallocShiftLow     = 3                               // KMALLOC_SHIFT_LOW
	KmallocShiftHigh    = PageShift + 1                   // KMALLOC_SHIFT_HIGH
	KmallocMaxCacheSize = 1 << KmallocShiftHigh           // 8 KiB: larger requests get whole pages
	KmallocMaxSize      = 1 << (MaxPageOrder + PageShift) // 4 MiB: the largest kmalloc
	kmallocClasses      = KmallocShiftHigh + 1            // kmalloc_caches[] indices 0..13
)

// kmallocSizeIndex is kmalloc_size_index (mm/slab_common.c): the cache
// index for requests of 1..192 bytes, by (size-1)/8. Index 1 is kmalloc-96
// and index 2 is kmalloc-192; index n >= 3 is kmalloc-2^n.
var kmallocSizeIndex = [24]uint8{
	3, 4, 5, 5, 6, 6, 6, 6, // 8, 16, 24, 32, 40, 48, 56, 64
	1, 1, 1, 1, // 72 .. 96
	7, 7, 7, 7, // 104 .. 128
	2, 2, 2, 2, 2, 2, 2, 2, // 136 .. 192
}

// kmallocInfoSize is the object size of kmalloc_caches[i].
func kmallocInfoSize(i int) uint32 {
	switch i {
	case 1:
		return 96
	case 2:
		return 192
	}
	return 1 << i
}

// kmallocName is the cache name for index i: kmalloc-96, kmalloc-8,
// kmalloc-1k, kmalloc-8k.
func kmallocName(i int) string {
	size := kmallocInfoSize(i)
	if size >= 1024 {
		return fmt.Sprintf("kmalloc-%dk", size/1024)
	}
	return fmt.Sprintf("kmalloc-%d", size)
}

// kmallocIndex returns the kmalloc_caches index serving size (1..8192).
func kmallocIndex(size uint32) int {
	if size <= 192 {
		return int(kmallocSizeIndex[(size-1)/8])
	}
	return bits.Len32(size - 1)
}

// createKmallocCaches is create_kmalloc_caches: kmalloc-96 and kmalloc-192
// first, then the powers of two from 8 to 8k.
func (a *Allocator) createKmallocCaches() error {
	order := []int{1, 2}
	for i := KmallocShiftLow; i <= KmallocShiftHigh; i++ {
		order = append(order, i)
	}
	for _, i := range order {
		size := kmallocInfoSize(i)
		align := uint32(KmallocMinSize) // ARCH_KMALLOC_MINALIGN
		if size&(size-1) == 0 {
			align = size // create_boot_cache aligns power-of-two sizes naturally
		}
		c, err := a.kmemCacheCreate(kmallocName(i), size, align, SLAB_KMALLOC, false)
		if err != nil {
			return fmt.Errorf("create_kmalloc_caches: %w", err)
		}
		a.kmalloc[i] = c
	}
	return nil
}

// KmallocCache returns the cache kmalloc(size) allocates from, or nil for 0
// and for sizes above KmallocMaxCacheSize.
func (a *Allocator) KmallocCache(size uint32) *KmemCache {
	if size == 0 || size > KmallocMaxCacheSize {
		return nil
	}
	return a.kmalloc[kmallocIndex(size)]
}

// KmallocSizeRoundup is kmalloc_size_roundup: how much kmalloc(size)
// really gives.
func KmallocSizeRoundup(size uint64) uint64 {
	switch {
	case size == 0:
		return 0
	case size <= KmallocMaxCacheSize:
		return uint64(kmallocInfoSize(kmallocIndex(uint32(size))))
	case size <= KmallocMaxSize:
		return uint64(PageSize) << getOrder(size)
	}
	return size
}

// Kmalloc is kmalloc: size bytes from the matching kmalloc-* cache,
// ZERO_SIZE_PTR for 0, whole pages above 8 KiB (kmalloc_large).
func (a *Allocator) Kmalloc(size uint64) (Addr, error) {
	a.tr.Enter1(fnKmalloc, tracing.Size(size))
	var addr Addr
	var err error
	switch {
	case size == 0:
		addr = ZeroSizePtr
	case size > KmallocMaxCacheSize:
		addr, err = a.kmallocLarge(size)
	default:
		addr, err = a.slabAlloc(a.kmalloc[kmallocIndex(uint32(size))])
	}
	a.tr.Exit(fnKmalloc, tracing.Ptr(uint64(addr)))
	return addr, err
}

// kmallocLarge is kmalloc_large: a compound page block of get_order(size).
func (a *Allocator) kmallocLarge(size uint64) (Addr, error) {
	a.tr.Enter1(fnKmallocLarge, tracing.Size(size))
	if size > KmallocMaxSize {
		a.tr.Exit(fnKmallocLarge, tracing.Ptr(0))
		return 0, &Error{Op: "kmalloc_large", Kind: ErrBadArgument, Size: size,
			Msg: fmt.Sprintf("%d bytes is more than kmalloc's limit of %d", size, KmallocMaxSize)}
	}
	order := getOrder(size)
	pfn, ok := a.allocPages(order, pageLarge)
	if !ok {
		a.tr.Exit(fnKmallocLarge, tracing.Ptr(0))
		return 0, &Error{Op: "kmalloc_large", Kind: ErrNoMemory, Cache: "pages", Size: size}
	}
	a.large.allocs++
	a.large.pages += 1 << order
	addr := pfnToAddr(pfn)
	a.tr.Exit(fnKmallocLarge, tracing.Ptr(uint64(addr)))
	return addr, nil
}

// Kfree is kfree: it frees memory from Kmalloc, finding the cache from the
// address. kfree(NULL) and kfree(ZERO_SIZE_PTR) do nothing.
func (a *Allocator) Kfree(addr Addr) error {
	a.tr.Enter1(fnKfree, tracing.Ptr(uint64(addr)))
	err := a.kfree(addr)
	if err != nil {
		a.tr.Exit(fnKfree, tracing.Errno(err.Errno()))
		return err
	}
	a.tr.Exit(fnKfree, tracing.Arg{})
	return nil
}

func (a *Allocator) kfree(addr Addr) *Error {
	if addr <= ZeroSizePtr { // ZERO_OR_NULL_PTR
		return nil
	}
	pg, pfn := a.pages.addrToPage(addr)
	if pg != nil && pg.kind == pageLarge {
		_, head := a.pages.headOf(pfn)
		if head != pfn || addr != pfnToAddr(pfn) {
			return a.report("kfree", nil, nil, addr, ErrNotObject, "it is inside a kmalloc_large block, not at its start")
		}
		a.large.frees++
		a.large.pages -= 1 << a.pages.pages[pfn-firstPFN].order
		a.freePages(pfn)
		return nil
	}
	s, idx, err := a.lookupForFree("kfree", nil, addr)
	if err != nil {
		return err
	}
	a.slabFree(s.cache, s, idx)
	return nil
}

// Ksize is __ksize: the usable size of the allocation at addr (the whole
// object of its cache, or the whole page block).
func (a *Allocator) Ksize(addr Addr) (uint64, error) {
	pg, pfn := a.pages.addrToPage(addr)
	if pg != nil && (pg.kind == pageLarge || pg.kind == pagePlain) {
		h, _ := a.pages.headOf(pfn)
		return uint64(PageSize) << h.order, nil
	}
	s, idx, err := a.findObject("ksize", nil, addr, ErrUseAfterFree)
	if err != nil {
		return 0, err
	}
	if !s.isUsed(idx) {
		return 0, a.report("ksize", nil, s.cache, addr, ErrUseAfterFree, "")
	}
	return uint64(s.cache.objectSize), nil
}
