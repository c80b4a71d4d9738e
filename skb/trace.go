package skb

import "github.com/stackscope/stackscope/tracing"

// The skb functions as the tracer knows them.
var (
	fnAllocSkb, fnAllocSkbFclone, fnAllocSkbCore, fnKmallocReserve                              tracing.FuncID
	fnKfreeSkbReason, fnConsumeSkb, fnTraceKfreeSkb, fnTraceConsumeSkb                          tracing.FuncID
	fnKfreeSkbCore, fnSkbReleaseAll, fnSkbReleaseData, fnSkbFreeHead, fnKfreeSkbmem             tracing.FuncID
	fnSkbReserve, fnSkbPut, fnSkbPush, fnSkbPull, fnSkbTrim, fnSkbCopyBits                      tracing.FuncID
	fnSkbOverPanic, fnSkbUnderPanic, fnSkbAddRxFrag                                             tracing.FuncID
	fnSkbClone, fnSkbCopy, fnPskbCopy, fnSkbUnshare, fnPskbExpandHead, fnSkbHeaderRelease       tracing.FuncID
	fnSkbPeek, fnSkbPeekTail, fnSkbQueueHead, fnSkbQueueHeadU, fnSkbQueueTail, fnSkbQueueTailU  tracing.FuncID
	fnSkbDequeue, fnSkbDequeueU, fnSkbDequeueTail, fnSkbDequeueTailU, fnSkbUnlink, fnSkbUnlinkU tracing.FuncID
	fnSkbQueueAfter, fnSkbQueueBefore, fnSkbInsertU, fnSkbAppend, fnSkbQueuePurge               tracing.FuncID
	fnSkbQueueSplice, fnSkbQueueSpliceTail                                                      tracing.FuncID
	fnSkbHeadroom, fnSkbTailroom, fnSkbHeadlen, fnSkbCloned, fnSkbHeaderCloned, fnSkbGet        tracing.FuncID
)

const (
	skbuffC = "net/core/skbuff.c"
	skbuffH = "include/linux/skbuff.h"
)

func reg(name, file string, inline bool, goFn any, args []string, explain string) tracing.FuncID {
	return tracing.Register(tracing.Spec{Name: name, File: file, Inline: inline, Go: goFn, Args: args, Explain: explain})
}

func init() {
	skb := []string{"skb"}
	skbLen := []string{"skb", "len"}
	list := []string{"list"}
	listSkb := []string{"list", "newsk"}

	fnAllocSkb = reg("alloc_skb", skbuffH, true, AllocSkb, []string{"size"},
		"Allocates a packet buffer with size bytes of room: the sk_buff from skbuff_head_cache and the data "+
			"from skbuff_small_head or kmalloc. head, data and tail all start at the beginning; end is past size.")
	fnAllocSkbFclone = reg("alloc_skb_fclone", skbuffH, true, AllocSkbFclone, []string{"size"},
		"Like alloc_skb, but the sk_buff is the first of a pair from skbuff_fclone_cache. TCP keeps the original "+
			"for retransmission and sends a clone; the pair makes that clone free.")
	fnAllocSkbCore = reg("__alloc_skb", skbuffC, false, (*Hotdata).allocSkb, []string{"size", "flags"},
		"The real allocator behind alloc_skb: takes the sk_buff from its cache, the data buffer from "+
			"kmalloc_reserve, and sets head = data = tail with skb_shared_info at the very end.")
	fnKmallocReserve = reg("kmalloc_reserve", skbuffC, false, (*Hotdata).kmallocReserve, []string{"size"},
		"Allocates an skb's data buffer: size plus skb_shared_info, rounded up. Small heads come from the "+
			"skbuff_small_head cache (since 6.3), larger ones from kmalloc, and the rounding becomes extra tailroom.")
	fnKfreeSkbReason = reg("kfree_skb_reason", skbuffC, false, KfreeSkbReason, []string{"skb", "reason"},
		"Drops a reference to an skb and, with the last one, frees it as a dropped packet, recording why "+
			"(the drop reason tools like pwru and dropwatch show).")
	fnConsumeSkb = reg("consume_skb", skbuffC, false, ConsumeSkb, skb,
		"Frees an skb that did its job (delivered, transmitted). Same as kfree_skb except that it is not counted as a drop.")
	fnTraceKfreeSkb = reg("trace_kfree_skb", "include/trace/events/skb.h", false, nil, []string{"skb", "reason"},
		"The kfree_skb tracepoint: fires once for every packet the kernel drops, with the drop reason.")
	fnTraceConsumeSkb = reg("trace_consume_skb", "include/trace/events/skb.h", false, nil, skb,
		"The consume_skb tracepoint: fires for every packet freed after normal use.")
	fnKfreeSkbCore = reg("__kfree_skb", skbuffC, false, (*Hotdata).kfreeSkb, skb,
		"Frees an skb whose last reference is gone: releases its data (skb_release_all) and then the sk_buff itself (kfree_skbmem).")
	fnSkbReleaseAll = reg("skb_release_all", skbuffC, false, (*Hotdata).skbReleaseAll, skb,
		"Releases what an skb holds: its destructor and route (not modelled yet) and its reference to the data buffer.")
	fnSkbReleaseData = reg("skb_release_data", skbuffC, false, (*Hotdata).skbReleaseData, skb,
		"Drops this skb's reference to the shared data (dataref). Only the last reference frees the page frags, "+
			"the frag list and the head buffer; clones keep the data alive until then.")
	fnSkbFreeHead = reg("skb_free_head", skbuffC, false, (*Hotdata).skbFreeHead, []string{"head"},
		"Returns the data buffer to skbuff_small_head or to kmalloc.")
	fnKfreeSkbmem = reg("kfree_skbmem", skbuffC, false, (*Hotdata).kfreeSkbmem, skb,
		"Returns the sk_buff struct to its cache. Half of an fclone pair goes back only when its sibling is free too.")
	fnSkbReserve = reg("skb_reserve", skbuffH, true, SkbReserve, skbLen,
		"Moves data and tail forward on an empty skb, making headroom so that headers can be pushed in front later "+
			"without copying. TCP reserves MAX_TCP_HEADER this way.")
	fnSkbPut = reg("skb_put", skbuffC, false, SkbPut, skbLen,
		"Adds len bytes at the end of the data: tail moves forward and len grows. Returns where to write them. "+
			"Going past end is a kernel crash (skb_over_panic).")
	fnSkbPush = reg("skb_push", skbuffC, false, SkbPush, skbLen,
		"Adds len bytes in front of the data, for a header: data moves back into the headroom and len grows. "+
			"Going before head is a kernel crash (skb_under_panic).")
	fnSkbPull = reg("skb_pull", skbuffC, false, SkbPull, skbLen,
		"Removes len bytes from the front, as each layer strips its header on receive: data moves forward and len "+
			"shrinks. The bytes are still there in the headroom.")
	fnSkbTrim = reg("skb_trim", skbuffC, false, SkbTrim, skbLen,
		"Cuts the data down to len bytes by moving tail back, for example to drop Ethernet padding.")
	fnSkbCopyBits = reg("skb_copy_bits", skbuffC, false, SkbCopyBits, []string{"skb", "offset", "len"},
		"Copies bytes out of an skb wherever they are: the linear part, the page frags or the frag list.")
	fnSkbOverPanic = reg("skb_over_panic", skbuffC, false, nil, skbLen,
		"What the kernel calls when skb_put would run past end: it prints the pointers and crashes. stackscope reports it instead.")
	fnSkbUnderPanic = reg("skb_under_panic", skbuffC, false, nil, skbLen,
		"What the kernel calls when skb_push would go before head: it prints the pointers and crashes. stackscope reports it instead.")
	fnSkbAddRxFrag = reg("skb_add_rx_frag", skbuffC, false, SkbAddRxFrag, []string{"skb", "page", "size"},
		"Attaches part of a page to the skb as a page frag: the bytes count in len and data_len but are not in the linear buffer.")
	fnSkbClone = reg("skb_clone", skbuffC, false, SkbClone, skb,
		"Makes a second sk_buff that shares the same data: only the struct is new and dataref goes up. TCP "+
			"transmits a clone and keeps the original queued until it is acknowledged.")
	fnSkbCopy = reg("skb_copy", skbuffC, false, SkbCopy, skb,
		"Makes a complete private copy: new sk_buff, new data buffer, every byte copied (including the headroom), paged data made linear.")
	fnPskbCopy = reg("pskb_copy", skbuffH, true, PskbCopy, skb,
		"Copies the linear part (the headers) so it can be changed, but shares the page frags: cheaper than skb_copy when only headers change.")
	fnSkbUnshare = reg("skb_unshare", skbuffH, true, SkbUnshare, skb,
		"Makes sure the caller owns the data: if it is shared with a clone, swaps the skb for a private copy.")
	fnPskbExpandHead = reg("pskb_expand_head", skbuffC, false, PskbExpandHead, []string{"skb", "nhead", "ntail"},
		"Moves the linear data into a bigger buffer with more headroom or tailroom. data, tail, end and the header offsets are all updated.")
	fnSkbHeaderRelease = reg("__skb_header_release", skbuffH, true, SkbHeaderRelease, skb,
		"TCP promises it will only touch the payload of this skb, so clones may write their own headers: "+
			"dataref's upper half counts this payload-only reference.")

	fnSkbPeek = reg("skb_peek", skbuffH, true, SkbPeek, list,
		"Returns the first skb of a queue without removing it.")
	fnSkbPeekTail = reg("skb_peek_tail", skbuffH, true, SkbPeekTail, list,
		"Returns the last skb of a queue without removing it.")
	fnSkbQueueHead = reg("skb_queue_head", skbuffC, false, SkbQueueHead, listSkb,
		"Takes the queue's spinlock and puts the skb at the front.")
	fnSkbQueueHeadU = reg("__skb_queue_head", skbuffH, true, SkbQueueHeadLocked, listSkb,
		"Puts the skb at the front of the queue; the caller already holds the lock.")
	fnSkbQueueTail = reg("skb_queue_tail", skbuffC, false, SkbQueueTail, listSkb,
		"Takes the queue's spinlock and puts the skb at the end.")
	fnSkbQueueTailU = reg("__skb_queue_tail", skbuffH, true, SkbQueueTailLocked, listSkb,
		"Puts the skb at the end of the queue; the caller already holds the lock (TCP holds the socket lock instead).")
	fnSkbDequeue = reg("skb_dequeue", skbuffC, false, SkbDequeue, list,
		"Takes the queue's spinlock and removes the first skb.")
	fnSkbDequeueU = reg("__skb_dequeue", skbuffH, true, SkbDequeueLocked, list,
		"Removes and returns the first skb; the caller holds the lock.")
	fnSkbDequeueTail = reg("skb_dequeue_tail", skbuffC, false, SkbDequeueTail, list,
		"Takes the queue's spinlock and removes the last skb.")
	fnSkbDequeueTailU = reg("__skb_dequeue_tail", skbuffH, true, SkbDequeueTailLocked, list,
		"Removes and returns the last skb; the caller holds the lock.")
	fnSkbUnlink = reg("skb_unlink", skbuffC, false, SkbUnlink, listSkb,
		"Takes the queue's spinlock and removes the skb from wherever it is in the queue.")
	fnSkbUnlinkU = reg("__skb_unlink", skbuffH, true, SkbUnlinkLocked, listSkb,
		"Removes the skb from the middle of the queue by relinking its neighbours; the caller holds the lock.")
	fnSkbQueueAfter = reg("__skb_queue_after", skbuffH, true, SkbQueueAfterLocked, listSkb,
		"Puts the new skb right after a given one; the caller holds the lock.")
	fnSkbQueueBefore = reg("__skb_queue_before", skbuffH, true, SkbQueueBeforeLocked, listSkb,
		"Puts the new skb right before a given one; the caller holds the lock.")
	fnSkbInsertU = reg("__skb_insert", skbuffH, true, SkbInsertLocked, listSkb,
		"Links the new skb between two neighbours and increments qlen: the primitive under every enqueue.")
	fnSkbAppend = reg("skb_append", skbuffC, false, SkbAppend, listSkb,
		"Takes the queue's spinlock and puts the new skb after a given one. Older kernels and textbooks also "+
			"have skb_insert (insert before); it was removed, and modern code uses __skb_queue_before under its own lock.")
	fnSkbQueuePurge = reg("skb_queue_purge", skbuffC, false, SkbQueuePurge, list,
		"Empties a queue, freeing every skb with the drop reason QUEUE_PURGE, as when a socket is closed with data still queued.")
	fnSkbQueueSplice = reg("skb_queue_splice", skbuffH, true, SkbQueueSplice, []string{"list", "head"},
		"Moves a whole queue to the front of another in one step, by relinking the two ends.")
	fnSkbQueueSpliceTail = reg("skb_queue_splice_tail", skbuffH, true, SkbQueueSpliceTail, []string{"list", "head"},
		"Moves a whole queue to the end of another in one step.")

	fnSkbHeadroom = reg("skb_headroom", skbuffH, true, SkbHeadroom, skb,
		"How many bytes are free in front of data (data - head): the room left for pushing headers.")
	fnSkbTailroom = reg("skb_tailroom", skbuffH, true, SkbTailroom, skb,
		"How many bytes are free after tail (end - tail), or 0 for an skb with paged data.")
	fnSkbHeadlen = reg("skb_headlen", skbuffH, true, SkbHeadlen, skb,
		"How many bytes of data are in the linear buffer (len - data_len); the rest is in page frags.")
	fnSkbCloned = reg("skb_cloned", skbuffH, true, SkbCloned, skb,
		"Whether the data is shared with a clone right now: the cloned bit is set and dataref counts more than one reference.")
	fnSkbHeaderCloned = reg("skb_header_cloned", skbuffH, true, SkbHeaderCloned, skb,
		"Whether somebody else may read this skb's headers, so they must be copied before being written. "+
			"Payload-only references (the upper half of dataref) do not count.")
	fnSkbGet = reg("skb_get", skbuffH, true, SkbGet, skb,
		"Takes one more reference to the sk_buff itself (users); kfree_skb then only frees it at the last one.")
}
