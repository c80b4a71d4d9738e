package slab

import "github.com/stackscope/stackscope/tracing"

// The slab allocator's functions as the tracer knows them.
var (
	fnKmemCacheCreate, fnKmemCacheDestroy, fnKmemCacheAlloc, fnKmemCacheFree tracing.FuncID
	fnSlabAllocSlow, fnGetPartialNode, fnAllocateSlab, fnDiscardSlab         tracing.FuncID
	fnSlabFreeSlow, fnDeactivateSlab, fnKmemCacheShrink, fnObjectErr         tracing.FuncID
	fnKmalloc, fnKmallocLarge, fnKfree                                       tracing.FuncID
	fnAllocPages, fnFreePages, fnGetPage, fnPutPage                          tracing.FuncID
)

func init() {
	fnKmemCacheCreate = tracing.Register(tracing.Spec{
		Name: "kmem_cache_create", File: "mm/slab_common.c", Go: (*Allocator).KmemCacheCreate,
		Args: []string{"size", "align", "flags"},
		Explain: "Creates a slab cache: a pool of equal-sized objects such as every TCP socket. " +
			"SLUB works out the object stride, where the free pointer goes and how many pages each slab takes.",
	})
	fnKmemCacheDestroy = tracing.Register(tracing.Spec{
		Name: "kmem_cache_destroy", File: "mm/slab_common.c", Go: (*Allocator).KmemCacheDestroy,
		Args: []string{"s"},
		Explain: "Destroys a slab cache. If objects are still allocated the kernel complains " +
			"(\"Objects remaining\") because somebody leaked them.",
	})
	fnKmemCacheAlloc = tracing.Register(tracing.Spec{
		Name: "kmem_cache_alloc", File: "mm/slub.c", Go: (*Allocator).KmemCacheAlloc,
		Args: []string{"s"},
		Explain: "Allocates one object from a slab cache. The fast path pops the next free object " +
			"of this CPU's slab; only when that slab is full does SLUB look for another.",
	})
	fnKmemCacheFree = tracing.Register(tracing.Spec{
		Name: "kmem_cache_free", File: "mm/slub.c", Go: (*Allocator).KmemCacheFree,
		Args: []string{"s", "x"},
		Explain: "Returns an object to its slab. The object goes to the head of the slab's freelist, " +
			"so the next allocation from that slab gets the same, still cache-hot, memory.",
	})
	fnSlabAllocSlow = tracing.Register(tracing.Spec{
		Name: "___slab_alloc", File: "mm/slub.c", Go: (*Allocator).slowAlloc,
		Args: []string{"s"},
		Explain: "SLUB's slow path: the CPU slab has no free object left. It lets go of the full slab " +
			"and takes a partially used one from the node's partial list, or asks for a new slab.",
	})
	fnGetPartialNode = tracing.Register(tracing.Spec{
		Name: "get_partial_node", File: "mm/slub.c",
		Args: []string{"s"},
		Explain: "Takes a partially used slab off the node's partial list so that allocation can " +
			"continue in it before any new pages are used.",
	})
	fnAllocateSlab = tracing.Register(tracing.Spec{
		Name: "allocate_slab", File: "mm/slub.c", Go: (*Allocator).allocateSlab,
		Args: []string{"s"},
		Explain: "Gets 2^order pages from the page allocator and cuts them into objects of the " +
			"cache's size; the leftover at the end is waste.",
	})
	fnDiscardSlab = tracing.Register(tracing.Spec{
		Name: "discard_slab", File: "mm/slub.c", Go: (*Allocator).discardSlab,
		Args: []string{"s", "slab"},
		Explain: "Gives an empty slab's pages back to the page allocator. SLUB keeps a few empty " +
			"slabs (min_partial) instead, to avoid freeing and reallocating pages back and forth.",
	})
	fnSlabFreeSlow = tracing.Register(tracing.Spec{
		Name: "__slab_free", File: "mm/slub.c", Go: (*Allocator).slabFree,
		Args: []string{"s", "slab"},
		Explain: "Frees an object into a slab that is not the CPU's current one. A slab that was full " +
			"goes onto the partial list; one that becomes empty may be discarded.",
	})
	fnDeactivateSlab = tracing.Register(tracing.Spec{
		Name: "deactivate_slab", File: "mm/slub.c", Go: (*Allocator).deactivateSlab,
		Args: []string{"s", "slab"},
		Explain: "Hands the CPU slab back to the node: onto the partial list if it has free objects, " +
			"back to the page allocator if it is empty and enough partial slabs are kept already.",
	})
	fnKmemCacheShrink = tracing.Register(tracing.Spec{
		Name: "kmem_cache_shrink", File: "mm/slab_common.c", Go: (*Allocator).KmemCacheShrink,
		Args: []string{"s"},
		Explain: "Releases every empty slab of a cache and sorts the partial list so the fullest " +
			"slabs are used first. Writing 1 to /sys/kernel/slab/<cache>/shrink runs it.",
	})
	fnObjectErr = tracing.Register(tracing.Spec{
		Name: "object_err", File: "mm/slub.c",
		Args: []string{"s", "object"},
		Explain: "SLUB's report of a misused object: a double free, a free into the wrong cache, a pointer " +
			"that is no object, or a use after free. A real kernel may crash here; stackscope counts it and goes on.",
	})
	fnKmalloc = tracing.Register(tracing.Spec{
		Name: "kmalloc", File: "include/linux/slab.h", Go: (*Allocator).Kmalloc,
		Args: []string{"size"},
		Explain: "General-purpose allocation: rounds the size up to a size class (8, 16, 32, 64, 96, 128, " +
			"192, 256 ... 8k) and allocates from that kmalloc cache; above 8 KiB it takes whole pages.",
	})
	fnKmallocLarge = tracing.Register(tracing.Spec{
		Name: "kmalloc_large", File: "mm/slub.c", Go: (*Allocator).kmallocLarge,
		Args: []string{"size"},
		Explain: "kmalloc of more than 8 KiB: no slab cache, just a block of 2^order pages straight " +
			"from the page allocator.",
	})
	fnKfree = tracing.Register(tracing.Spec{
		Name: "kfree", File: "mm/slub.c", Go: (*Allocator).Kfree,
		Args: []string{"object"},
		Explain: "Frees memory from kmalloc. The address alone tells which slab and cache it came from " +
			"(virt_to_cache), so no size is needed; kfree(NULL) does nothing.",
	})
	fnAllocPages = tracing.Register(tracing.Spec{
		Name: "__alloc_pages", File: "mm/page_alloc.c",
		Args: []string{"order"},
		Explain: "The page allocator: hands out 2^order physically contiguous 4 KiB page frames. " +
			"Slabs and skb page frags are built from them.",
	})
	fnFreePages = tracing.Register(tracing.Spec{
		Name: "__free_pages", File: "mm/page_alloc.c",
		Args:    []string{"page"},
		Explain: "Returns a block of page frames to the page allocator.",
	})
	fnGetPage = tracing.Register(tracing.Spec{
		Name: "get_page", File: "include/linux/mm.h", Go: (*Allocator).GetPage, Inline: true,
		Args:    []string{"page"},
		Explain: "Takes one more reference to a page, for example when a cloned skb shares a page frag.",
	})
	fnPutPage = tracing.Register(tracing.Spec{
		Name: "put_page", File: "include/linux/mm.h", Go: (*Allocator).PutPage, Inline: true,
		Args:    []string{"page"},
		Explain: "Drops a reference to a page; the last reference frees it.",
	})
}
