package slab

import (
	"fmt"
	"math/bits"
)

// Flags are the SLAB_* flags of include/linux/slab.h that change what the
// model does or shows.
type Flags uint32

const (
	// SLAB_HWCACHE_ALIGN aligns objects to a cache line (when they are
	// larger than half of one).
	SLAB_HWCACHE_ALIGN Flags = 1 << iota
	// SLAB_TYPESAFE_BY_RCU delays freeing the slab's pages by an RCU grace
	// period; objects may be reused at once, so SLUB keeps its free pointer
	// outside the object. TCP's socket caches use it.
	SLAB_TYPESAFE_BY_RCU
	// SLAB_PANIC makes creation failure fatal in the kernel.
	SLAB_PANIC
	// SLAB_ACCOUNT charges objects to the allocating task's memory cgroup.
	SLAB_ACCOUNT
	// SLAB_NO_MERGE keeps the cache from being merged with a compatible one.
	SLAB_NO_MERGE
	// SLAB_RECLAIM_ACCOUNT marks objects as reclaimable.
	SLAB_RECLAIM_ACCOUNT
	// SLAB_KMALLOC marks the kmalloc caches.
	SLAB_KMALLOC
)

// Constants of mm/slub.c and the x86-64 build.
const (
	cacheLineSize    = 64 // cache_line_size(), L1_CACHE_BYTES
	archSlabMinAlign = 8  // arch_slab_minalign(): __alignof__(unsigned long long)
	wordSize         = 8  // sizeof(void *)
	slubMinOrder     = 0  // slub_min_order
	slubMaxOrder     = 3  // slub_max_order = PAGE_ALLOC_COSTLY_ORDER
	maxObjsPerPage   = 32767
	minPartial       = 5  // MIN_PARTIAL
	maxPartial       = 10 // MAX_PARTIAL
	shrinkPromoteMax = 32 // SHRINK_PROMOTE_MAX
)

// CacheID identifies a cache within its Allocator; trace events carry it.
type CacheID uint32

// KmemCache is struct kmem_cache: one pool of equal-sized objects.
type KmemCache struct {
	id         CacheID
	name       string
	objectSize uint32 // object_size: what the user asked for
	size       uint32 // size: object plus metadata, aligned; the stride in a slab
	align      uint32
	offset     uint32 // where SLUB keeps the free pointer
	inuse      uint32 // bytes of the object in use (object_size rounded to a word)
	flags      Flags
	ctor       bool
	order      uint8  // oo_order(s->oo)
	objects    uint32 // oo_objects(s->oo): objects per slab
	minPartial int    // min_partial

	cpuSlab   *slab    // kmem_cache_cpu.slab of the CPU the kernel loop runs on
	partial   slabList // kmem_cache_node.partial
	nrSlabs   uint64   // node_nr_slabs
	nrObjs    uint64   // node_nr_objs
	spare     []*slab  // slab structs kept for reuse (Go memory, not pages)
	stats     counters
	destroyed bool
}

type counters struct {
	inUse                                     uint64
	allocs, frees, allocFail                  uint64
	slabsAllocated, slabsFreed                uint64
	doubleFree, wrongCache, invalid, useAfter uint64
}

// Name returns the cache's name as /proc/slabinfo shows it.
func (c *KmemCache) Name() string { return c.name }

// ID returns the cache's id within its allocator.
func (c *KmemCache) ID() CacheID { return c.id }

// ObjectSize returns object_size: the size the creator asked for.
func (c *KmemCache) ObjectSize() uint32 { return c.objectSize }

// Size returns size: the distance between objects in a slab, which
// /proc/slabinfo prints as <objsize>.
func (c *KmemCache) Size() uint32 { return c.size }

// Align returns the object alignment SLUB settled on.
func (c *KmemCache) Align() uint32 { return c.align }

// Order returns the page order of each slab.
func (c *KmemCache) Order() uint8 { return c.order }

// ObjectsPerSlab returns how many objects one slab holds.
func (c *KmemCache) ObjectsPerSlab() uint32 { return c.objects }

// PagesPerSlab returns 1 << order.
func (c *KmemCache) PagesPerSlab() uint32 { return 1 << c.order }

// Flags returns the creation flags.
func (c *KmemCache) Flags() Flags { return c.flags }

// FreePointerOffset returns where SLUB stores a free object's next pointer:
// behind the object for RCU and constructor caches, near its middle
// otherwise.
func (c *KmemCache) FreePointerOffset() uint32 { return c.offset }

// MinPartial returns min_partial: how many empty slabs the node keeps.
func (c *KmemCache) MinPartial() int { return c.minPartial }

func alignUp(x, a uint32) uint32 { return (x + a - 1) &^ (a - 1) }

// calculateAlignment is calculate_alignment (mm/slab_common.c).
func calculateAlignment(flags Flags, align, size uint32) uint32 {
	if flags&SLAB_HWCACHE_ALIGN != 0 {
		ralign := uint32(cacheLineSize)
		for size <= ralign/2 {
			ralign /= 2
		}
		align = max(align, ralign)
	}
	align = max(align, archSlabMinAlign)
	return alignUp(align, wordSize)
}

// orderObjects is order_objects: how many objects of size fit in a slab of
// the given order.
func orderObjects(order uint8, size uint32) uint32 {
	return uint32((uint64(PageSize) << order) / uint64(size))
}

// calcSlabOrder is calc_slab_order: the smallest order from minOrder whose
// leftover is at most 1/fract of the slab.
func calcSlabOrder(size uint32, minOrder, maxOrder uint8, fract uint32) uint8 {
	order := minOrder
	for ; order <= maxOrder; order++ {
		slabSize := uint32(PageSize) << order
		if slabSize%size <= slabSize/fract {
			break
		}
	}
	return order
}

// fls is the kernel's find-last-set: fls(1) = 1, fls(2) = 2, fls(0) = 0.
func fls(x uint32) uint32 { return uint32(bits.Len32(x)) }

// calculateOrder is calculate_order (mm/slub.c): the page order of a slab
// for objects of size on a machine with cpus present CPUs. It aims for at
// least 4*(fls(cpus)+1) objects per slab and accepts at most 1/16 of the
// slab as waste, relaxing to 1/8 and 1/4 before giving up.
func calculateOrder(size uint32, cpus int) (uint8, error) {
	nrCPUs := uint32(max(cpus, 1))
	minObjects := 4 * (fls(nrCPUs) + 1)
	maxObjects := max(orderObjects(slubMaxOrder, size), 1)
	minObjects = min(minObjects, maxObjects)

	minOrder := max(uint8(slubMinOrder), getOrder(uint64(minObjects)*uint64(size)))
	if orderObjects(minOrder, size) > maxObjsPerPage {
		return getOrder(uint64(size)*maxObjsPerPage) - 1, nil
	}
	for fraction := uint32(16); fraction > 1; fraction /= 2 {
		order := calcSlabOrder(size, minOrder, slubMaxOrder, fraction)
		if order <= slubMaxOrder {
			return order, nil
		}
	}
	order := getOrder(uint64(size))
	if order <= MaxPageOrder {
		return order, nil
	}
	return 0, fmt.Errorf("objects of %d bytes do not fit in a slab of order %d or less", size, MaxPageOrder)
}

// calculateSizes is calculate_sizes (mm/slub.c) without the debug options:
// it fixes the stride, the free pointer's place and the slab order.
func (c *KmemCache) calculateSizes(cpus int) error {
	size := alignUp(c.objectSize, wordSize)
	c.inuse = size
	if c.flags&SLAB_TYPESAFE_BY_RCU != 0 || c.ctor {
		// The object may be read after kmem_cache_free (RCU) or must keep
		// its constructed state, so the free pointer goes behind it.
		c.offset = size
		size += wordSize
	} else {
		c.offset = (c.objectSize / 2) &^ (wordSize - 1)
	}
	size = alignUp(size, c.align)
	c.size = size
	order, err := calculateOrder(size, cpus)
	if err != nil {
		return err
	}
	c.order = order
	c.objects = orderObjects(order, size)
	if c.objects == 0 {
		return fmt.Errorf("objects of %d bytes do not fit in a slab of order %d", size, order)
	}
	// set_min_partial(s, ilog2(s->size) / 2), clamped to [MIN_PARTIAL, MAX_PARTIAL].
	mp := (bits.Len32(size) - 1) / 2
	c.minPartial = min(max(mp, minPartial), maxPartial)
	return nil
}
