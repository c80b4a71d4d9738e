package skb

import (
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// SKB_ALLOC_* flags of __alloc_skb.
const (
	SKB_ALLOC_FCLONE = 0x01
	SKB_ALLOC_RX     = 0x02
)

// AllocSkb is alloc_skb: an skb with size bytes of linear room, all of it
// tailroom. The data buffer is rounded up to its cache's object size, so
// end is usually more than size.
func AllocSkb(h *Hotdata, size uint32) (*SkBuff, error) {
	h.tr.Enter1(fnAllocSkb, tracing.Size(uint64(size)))
	s, err := h.allocSkb(size, 0)
	h.tr.Exit(fnAllocSkb, skbArg(s))
	return s, err
}

// AllocSkbFclone is alloc_skb_fclone: like alloc_skb, but the sk_buff comes
// as the first of a pair from skbuff_fclone_cache, so the first skb_clone
// of it needs no allocation. TCP allocates every data skb this way.
func AllocSkbFclone(h *Hotdata, size uint32) (*SkBuff, error) {
	h.tr.Enter1(fnAllocSkbFclone, tracing.Size(uint64(size)))
	s, err := h.allocSkb(size, SKB_ALLOC_FCLONE)
	h.tr.Exit(fnAllocSkbFclone, skbArg(s))
	return s, err
}

func skbArg(s *SkBuff) tracing.Arg {
	if s == nil {
		return tracing.Skb(0)
	}
	return tracing.Skb(uint64(s.addr))
}

// allocSkb is __alloc_skb: the sk_buff from its cache, the head from
// kmalloc_reserve, then __build_skb_around.
func (h *Hotdata) allocSkb(size uint32, flags int) (*SkBuff, error) {
	h.tr.Enter2(fnAllocSkbCore, tracing.Size(uint64(size)), tracing.Uint(uint64(flags)))
	cache := h.skbuffCache
	if flags&SKB_ALLOC_FCLONE != 0 {
		cache = h.fcloneCache
	}
	addr, err := h.mem.KmemCacheAlloc(cache)
	if err != nil {
		h.tr.Exit(fnAllocSkbCore, tracing.Skb(0))
		return nil, errNoMem("__alloc_skb", err)
	}
	d, err := h.kmallocReserve(size)
	if err != nil {
		_ = h.mem.KmemCacheFree(cache, addr) // it was just allocated: cannot fail
		h.tr.Exit(fnAllocSkbCore, tracing.Skb(0))
		return nil, err
	}
	var s *SkBuff
	if flags&SKB_ALLOC_FCLONE != 0 {
		fc := h.spareFclones.get()
		fc.addr = addr
		fc.skb1 = SkBuff{addr: addr, fc: fc}
		fc.skb2 = SkBuff{addr: addr + SizeofSkBuff, fc: fc, freed: true, shared: &h.dead}
		fc.fcloneRef = 1
		s = &fc.skb1
		s.Fclone = SKB_FCLONE_ORIG
	} else {
		s = h.spareSkbs.get()
		*s = SkBuff{addr: addr}
	}
	s.h = h
	h.liveSkbs++
	buildSkbAround(s, d)
	h.tr.Exit(fnAllocSkbCore, tracing.Skb(uint64(addr)))
	return s, nil
}

// kmallocReserve is kmalloc_reserve: a head of at least size bytes plus
// skb_shared_info, from skbuff_small_head when that is enough, else from
// kmalloc with the size rounded up to the kmalloc class.
func (h *Hotdata) kmallocReserve(size uint32) (*skbData, error) {
	h.tr.Enter1(fnKmallocReserve, tracing.Size(uint64(size)))
	objSize := uint64(SkbHeadAlign(size))
	var addr slab.Addr
	var err error
	small := objSize <= SkbSmallHeadCacheSize
	if small {
		addr, err = h.mem.KmemCacheAlloc(h.smallHeadCache)
		objSize = SkbSmallHeadCacheSize
	} else {
		objSize = slab.KmallocSizeRoundup(objSize)
		addr, err = h.mem.Kmalloc(objSize)
	}
	if err != nil {
		h.tr.Exit(fnKmallocReserve, tracing.Ptr(0))
		return nil, errNoMem("kmalloc_reserve", err)
	}
	mem, err := h.mem.Mem(addr, uint32(objSize))
	if err != nil { // the allocator just handed this out: a model bug if it fails
		h.tr.Exit(fnKmallocReserve, tracing.Ptr(0))
		return nil, errNoMem("kmalloc_reserve", err)
	}
	d := h.spareData.get()
	*d = skbData{head: addr, size: uint32(objSize), small: small, mem: mem}
	h.liveData++
	h.tr.Exit(fnKmallocReserve, tracing.Ptr(uint64(addr)))
	return d, nil
}

// AllocSkbEndOffset is the skb_end_offset an skb from alloc_skb(size)
// gets: the usable bytes of the head kmalloc_reserve would hand out (a
// skbuff_small_head object, or size rounded up to its kmalloc class).
func AllocSkbEndOffset(size uint32) uint32 {
	objSize := uint64(SkbHeadAlign(size))
	if objSize <= SkbSmallHeadCacheSize {
		objSize = SkbSmallHeadCacheSize
	} else {
		objSize = slab.KmallocSizeRoundup(objSize)
	}
	return SkbWithOverhead(uint32(objSize))
}

// buildSkbAround is __finalize_skb_around: point s at d, with the shared
// info at the very end of the allocation and dataref at one.
func buildSkbAround(s *SkBuff, d *skbData) {
	size := SkbWithOverhead(d.size)
	s.Truesize = SkbTruesize(size)
	s.users = 1
	s.shared = d
	s.head = d.head
	s.data = 0
	s.tail = 0
	s.end = size
	s.MacHeader = headerUnset
	s.TransportHeader = headerUnset
	s.NetworkHeader = 0
	d.shinfo = SkbSharedInfo{dataref: 1}
}

// KfreeSkb is kfree_skb: drop one reference to s, freeing it with the
// last, and report it as a drop (SKB_DROP_REASON_NOT_SPECIFIED). Use
// ConsumeSkb when the packet was handled normally.
func KfreeSkb(s *SkBuff) error { return KfreeSkbReason(s, SKB_DROP_REASON_NOT_SPECIFIED) }

// KfreeSkbReason is kfree_skb_reason: drop one reference; when it was the
// last, the kfree_skb tracepoint fires with the reason and the skb is freed.
// Freeing an skb that is still on a queue would leave the queue pointing
// at freed memory; the model refuses it.
func KfreeSkbReason(s *SkBuff, reason DropReason) error {
	if s == nil {
		return nil
	}
	h := s.h
	h.tr.Enter2(fnKfreeSkbReason, tracing.Skb(uint64(s.addr)), tracing.Reason(uint64(reason)))
	if s.freed {
		err := errFreed("kfree_skb_reason", s)
		h.tr.Exit(fnKfreeSkbReason, tracing.Errno(err.errno))
		return err
	}
	if s.users == 1 && s.list != nil {
		err := errQueued("kfree_skb_reason", s)
		h.tr.Exit(fnKfreeSkbReason, tracing.Errno(err.errno))
		return err
	}
	if skbUnref(s) {
		h.tr.Point(fnTraceKfreeSkb, tracing.Skb(uint64(s.addr)), tracing.Reason(uint64(reason)))
		h.kfreeSkb(s)
	}
	h.tr.Exit(fnKfreeSkbReason, tracing.Arg{})
	return nil
}

// ConsumeSkb is consume_skb: like kfree_skb, but the packet was used, not
// dropped, so the consume_skb tracepoint fires instead.
func ConsumeSkb(s *SkBuff) error {
	if s == nil {
		return nil
	}
	h := s.h
	h.tr.Enter1(fnConsumeSkb, tracing.Skb(uint64(s.addr)))
	if s.freed {
		err := errFreed("consume_skb", s)
		h.tr.Exit(fnConsumeSkb, tracing.Errno(err.errno))
		return err
	}
	if s.users == 1 && s.list != nil {
		err := errQueued("consume_skb", s)
		h.tr.Exit(fnConsumeSkb, tracing.Errno(err.errno))
		return err
	}
	if skbUnref(s) {
		h.tr.Point(fnTraceConsumeSkb, tracing.Skb(uint64(s.addr)), tracing.Arg{})
		h.kfreeSkb(s)
	}
	h.tr.Exit(fnConsumeSkb, tracing.Arg{})
	return nil
}

// SkbGet is skb_get: one more user of s (the kernel's refcount_inc).
func SkbGet(s *SkBuff) (*SkBuff, error) {
	h := s.h
	h.tr.Enter1(fnSkbGet, tracing.Skb(uint64(s.addr)))
	if s.freed {
		return nil, exitErr(h, fnSkbGet, errFreed("skb_get", s))
	}
	s.users++
	h.tr.Exit(fnSkbGet, tracing.Skb(uint64(s.addr)))
	return s, nil
}

// skbUnref is skb_unref: true when the caller held the last reference.
func skbUnref(s *SkBuff) bool {
	if s.users == 1 {
		return true
	}
	s.users--
	return false
}

// kfreeSkb is __kfree_skb: release the data reference, then the sk_buff.
func (h *Hotdata) kfreeSkb(s *SkBuff) {
	h.tr.Enter1(fnKfreeSkbCore, tracing.Skb(uint64(s.addr)))
	h.skbReleaseAll(s)
	h.kfreeSkbmem(s)
	h.tr.Exit(fnKfreeSkbCore, tracing.Arg{})
}

// skbReleaseAll is skb_release_all: the head state (destructor, dst) and
// the data.
func (h *Hotdata) skbReleaseAll(s *SkBuff) {
	h.tr.Enter1(fnSkbReleaseAll, tracing.Skb(uint64(s.addr)))
	skbReleaseHeadState(s)
	if s.head != 0 {
		h.skbReleaseData(s)
	}
	h.tr.Exit(fnSkbReleaseAll, tracing.Arg{})
}

// skbReleaseHeadState is skb_release_head_state: the destructor runs (and
// is cleared, so it runs once).
func skbReleaseHeadState(s *SkBuff) {
	if d := s.Destructor; d != nil {
		s.Destructor = nil
		d(s)
	}
}

// SkbOrphan is skb_orphan: the skb stops belonging to its socket; the
// destructor gives back what it held (a packet turning round on lo, or
// leaving through a device that keeps it).
func SkbOrphan(s *SkBuff) {
	skbReleaseHeadState(s)
	s.Sk = nil
}

// skbDataUnref is skb_data_unref: drop this skb's reference to the data;
// true when it was the last one and the data must be freed. An skb that
// was never cloned owns its data outright.
func skbDataUnref(s *SkBuff) bool {
	if !s.Cloned {
		return true
	}
	bias := uint32(1)
	if s.Nohdr {
		bias = 1<<SKB_DATAREF_SHIFT + 1
	}
	si := &s.shared.shinfo
	if si.dataref == bias {
		return true
	}
	si.dataref -= bias
	return si.dataref == 0
}

// skbReleaseData is skb_release_data: drop the data reference and, with
// the last one, the page frags, the frag list and the head.
func (h *Hotdata) skbReleaseData(s *SkBuff) {
	h.tr.Enter1(fnSkbReleaseData, tracing.Skb(uint64(s.addr)))
	if skbDataUnref(s) {
		si := &s.shared.shinfo
		for i := 0; i < int(si.NrFrags); i++ {
			_ = h.mem.PutPage(si.Frags[i].Page) // frags hold a page reference: cannot fail
		}
		for fl := si.FragList; fl != nil; {
			next := fl.next
			fl.next = nil
			_ = KfreeSkb(fl)
			fl = next
		}
		h.skbFreeHead(s.shared)
	}
	h.tr.Exit(fnSkbReleaseData, tracing.Arg{})
}

// skbFreeHead is skb_free_head: the head goes back to skbuff_small_head or
// to kmalloc.
func (h *Hotdata) skbFreeHead(d *skbData) {
	h.tr.Enter1(fnSkbFreeHead, tracing.Ptr(uint64(d.head)))
	if d.small {
		_ = h.mem.KmemCacheFree(h.smallHeadCache, d.head)
	} else {
		_ = h.mem.Kfree(d.head)
	}
	*d = skbData{}
	h.spareData.put(d)
	h.liveData--
	h.tr.Exit(fnSkbFreeHead, tracing.Arg{})
}

// kfreeSkbmem is kfree_skbmem: the sk_buff itself goes back to its cache.
// An fclone pair goes back only when neither of its two skbs is in use.
func (h *Hotdata) kfreeSkbmem(s *SkBuff) {
	h.tr.Enter1(fnKfreeSkbmem, tracing.Skb(uint64(s.addr)))
	switch s.Fclone {
	case SKB_FCLONE_UNAVAILABLE:
		_ = h.mem.KmemCacheFree(h.skbuffCache, s.addr)
		h.retire(s)
		h.spareSkbs.put(s)
	default:
		fc := s.fc
		h.retire(s)
		fc.fcloneRef--
		if fc.fcloneRef == 0 {
			_ = h.mem.KmemCacheFree(h.fcloneCache, fc.addr)
			h.spareFclones.put(fc)
		}
	}
	h.tr.Exit(fnKfreeSkbmem, tracing.Arg{})
}
