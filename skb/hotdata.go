package skb

import (
	"fmt"

	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// Hotdata is the skb part of net_hotdata: the three caches skb_init creates,
// plus the Go memory the model reuses behind them so that steady-state
// packet traffic does not allocate on the Go heap. One kernel has one.
type Hotdata struct {
	mem *slab.Allocator
	tr  *tracing.Tracer

	skbuffCache    *slab.KmemCache // skbuff_head_cache
	fcloneCache    *slab.KmemCache // skbuff_fclone_cache
	smallHeadCache *slab.KmemCache // skbuff_small_head

	spareSkbs    spares[SkBuff]
	spareFclones spares[skbFclones]
	spareData    spares[skbData]
	dead         skbData // what a freed skb points at

	liveSkbs, liveData int64
}

// SkbInit is skb_init: it creates skbuff_head_cache, skbuff_fclone_cache
// and skbuff_small_head in mem.
func SkbInit(mem *slab.Allocator) (*Hotdata, error) {
	h := &Hotdata{mem: mem, tr: mem.Tracer()}
	var err error
	if h.skbuffCache, err = mem.KmemCacheCreate("skbuff_head_cache", SizeofSkBuff, 0,
		slab.SLAB_HWCACHE_ALIGN|slab.SLAB_PANIC|slab.SLAB_NO_MERGE, false); err != nil {
		return nil, fmt.Errorf("skb_init: %w", err)
	}
	if h.fcloneCache, err = mem.KmemCacheCreate("skbuff_fclone_cache", SizeofSkbFclones, 0,
		slab.SLAB_HWCACHE_ALIGN|slab.SLAB_PANIC, false); err != nil {
		return nil, fmt.Errorf("skb_init: %w", err)
	}
	if h.smallHeadCache, err = mem.KmemCacheCreate("skbuff_small_head", SkbSmallHeadCacheSize, 0,
		slab.SLAB_HWCACHE_ALIGN|slab.SLAB_PANIC, false); err != nil {
		return nil, fmt.Errorf("skb_init: %w", err)
	}
	return h, nil
}

// Allocator returns the slab allocator the skbs come from.
func (h *Hotdata) Allocator() *slab.Allocator { return h.mem }

// SkbuffCache returns skbuff_head_cache.
func (h *Hotdata) SkbuffCache() *slab.KmemCache { return h.skbuffCache }

// FcloneCache returns skbuff_fclone_cache.
func (h *Hotdata) FcloneCache() *slab.KmemCache { return h.fcloneCache }

// SmallHeadCache returns skbuff_small_head.
func (h *Hotdata) SmallHeadCache() *slab.KmemCache { return h.smallHeadCache }

// Live returns how many sk_buff structs and data buffers are allocated.
func (h *Hotdata) Live() (skbs, buffers int64) { return h.liveSkbs, h.liveData }

// spares is a free list of Go structs kept for reuse, so that steady-state
// traffic does not allocate on the Go heap.
type spares[T any] []*T

func (l *spares[T]) get() *T {
	if n := len(*l); n > 0 {
		x := (*l)[n-1]
		*l = (*l)[:n-1]
		return x
	}
	return new(T)
}

func (l *spares[T]) put(x *T) { *l = append(*l, x) }

// retire marks s freed so that later use is caught, and points it at empty
// data so a stray read cannot see another packet's bytes.
func (h *Hotdata) retire(s *SkBuff) {
	s.freed = true
	s.shared = &h.dead
	s.head, s.data, s.tail, s.end = 0, 0, 0, 0
	s.Len, s.DataLen = 0, 0
	s.next, s.prev, s.list = nil, nil, nil
	s.Sk, s.Dev = nil, nil
	h.liveSkbs--
}

// ArgString names drop reasons and caches in trace output
// (tracing.Resolver).
func (h *Hotdata) ArgString(a tracing.Arg) (string, bool) {
	if a.Kind == tracing.ArgReason {
		return DropReason(a.Val).String(), true
	}
	return h.mem.ArgString(a)
}
