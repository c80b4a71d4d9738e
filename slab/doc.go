// Package slab models the Linux SLUB allocator (mm/slub.c, mm/slab_common.c)
// and the page allocator beneath it, closely enough that /proc/slabinfo and
// slabtop output look like a real 6.x machine's and every object has a
// kernel address that stays put for its life.
//
// What is modelled:
//
//   - kmem_cache geometry exactly as SLUB computes it: calculate_alignment,
//     calculate_sizes (the free pointer moves behind the object for
//     SLAB_TYPESAFE_BY_RCU caches and caches with a constructor) and
//     calculate_order, for a configurable number of CPUs (default 2).
//   - Slabs: a CPU slab that allocations come from, the node's partial
//     list, and full slabs that SLUB does not track. Objects in a fresh slab
//     are handed out in address order; a freed object goes to the head of its
//     slab's freelist, so the next allocation reuses it (LIFO), as in SLUB.
//   - A slab that becomes empty is given back to the page allocator when the
//     node's partial list, counting the slab itself, already holds
//     min_partial slabs (5 to 10, from the object size); otherwise SLUB
//     keeps it for reuse, and so does the model.
//     kmem_cache_shrink flushes the CPU slab and releases every empty slab.
//   - /proc/slabinfo semantics, including SLUB's quirk that every object of
//     the CPU slab counts as active: active_objs is num_objs minus the free
//     objects on the partial list. Stats.InUse is the exact count.
//   - kmalloc size classes (kmalloc-8 ... kmalloc-8k, with kmalloc-96 and
//     kmalloc-192) chosen as kmalloc_size_index does, ZERO_SIZE_PTR for
//     kmalloc(0), and larger requests going straight to the page allocator
//     (kmalloc_large).
//   - Pages with reference counts (get_page/put_page), for skb page frags.
//   - Errors the kernel would BUG on (double free, a free into the wrong
//     cache, a pointer that is not an object, use after free) are detected,
//     counted per cache, reported as a trace point and returned as errors.
//
// What is left out, and said so in the UI: per-CPU partial lists
// (CONFIG_SLUB_CPU_PARTIAL), freelist randomisation
// (CONFIG_SLAB_FREELIST_RANDOM), cache merging (every cache is shown under its
// own name, as with slab_nomerge), memcg accounting (the kmalloc-cg-*
// caches), NUMA nodes (one node), and buddy coalescing in the page
// allocator (freed blocks are reused whole, per order).
//
// The Go memory behind slabs is kept and reused with the pages, so a steady
// state of allocations and frees does not allocate on the Go heap.
package slab
