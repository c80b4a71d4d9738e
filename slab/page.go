package slab

import (
	"fmt"
	"strconv"
)

// Page geometry of x86-64.
const (
	PageShift = 12
	PageSize  = 1 << PageShift
	// PageOffset is the start of the kernel's direct map of physical memory
	// on x86-64 with 4-level paging: page frame N is at PageOffset + N*4096.
	PageOffset = 0xffff888000000000
	// MaxPageOrder is MAX_PAGE_ORDER: the largest block the page allocator
	// hands out is 2^10 pages (4 MiB).
	MaxPageOrder = 10
	// firstPFN is where the model's page allocator starts handing out
	// frames (64 MiB into physical memory), so addresses look like a booted
	// machine's, e.g. 0xffff888004000000.
	firstPFN = 0x4000
)

// Addr is a kernel virtual address in the direct map.
type Addr uint64

// String formats the address as the kernel's %px would.
func (a Addr) String() string {
	var b [18]byte // "0x" and 16 hex digits: one allocation, for the string
	b[0], b[1] = '0', 'x'
	return string(strconv.AppendUint(b[:2], uint64(a), 16))
}

// ZeroSizePtr is ZERO_SIZE_PTR, what kmalloc(0) returns: not NULL, but not
// memory either. kfree accepts it and does nothing.
const ZeroSizePtr Addr = 16

// pageKind says what a page frame is used for.
type pageKind uint8

const (
	pageFree  pageKind = iota
	pageSlab           // part of a slab
	pageLarge          // part of a kmalloc_large allocation
	pagePlain          // part of an alloc_pages block (skb page frags)
)

// page is the model's struct page. The head page of a block holds the
// block's order, reference count and backing memory; tail pages point back
// to it.
type page struct {
	kind  pageKind
	order uint8
	head  uint32 // distance back to the head page (0 on the head page)
	ref   int32
	slab  *slab
	mem   []byte // backing memory of the whole block, head page only
}

// pageAllocator hands out naturally aligned blocks of 2^order page frames.
// Freed blocks are kept per order and reused last-in first-out; blocks are
// not merged with their buddies (a simplification the UI states).
type pageAllocator struct {
	next  uint64 // next never-used frame
	free  [MaxPageOrder + 1][]uint64
	pages []page // indexed by pfn - firstPFN
	inUse uint64 // pages handed out
	limit uint64 // 0: no limit
}

func (p *pageAllocator) init(limit uint64) {
	p.next = firstPFN
	p.limit = limit
}

func pfnToAddr(pfn uint64) Addr { return Addr(PageOffset + pfn<<PageShift) }

// addrToPage returns the page frame holding addr, or nil if addr is not a
// frame the allocator ever handed out.
func (p *pageAllocator) addrToPage(a Addr) (*page, uint64) {
	if uint64(a) < PageOffset {
		return nil, 0
	}
	pfn := (uint64(a) - PageOffset) >> PageShift
	if pfn < firstPFN || pfn-firstPFN >= uint64(len(p.pages)) {
		return nil, 0
	}
	return &p.pages[pfn-firstPFN], pfn
}

// headOf returns the head page of the block containing pfn.
func (p *pageAllocator) headOf(pfn uint64) (*page, uint64) {
	pg := &p.pages[pfn-firstPFN]
	h := pfn - uint64(pg.head)
	return &p.pages[h-firstPFN], h
}

// alloc returns the first frame of a new block of 2^order frames, or false
// when the memory limit would be exceeded.
func (p *pageAllocator) alloc(order uint8, kind pageKind) (uint64, bool) {
	n := uint64(1) << order
	if p.limit != 0 && p.inUse+n > p.limit {
		return 0, false
	}
	var pfn uint64
	if l := len(p.free[order]); l > 0 {
		pfn = p.free[order][l-1]
		p.free[order] = p.free[order][:l-1]
	} else {
		// Align the bump pointer; the frames skipped become free blocks
		// of lower orders so they are not lost.
		for p.next&(n-1) != 0 {
			o := uint8(0)
			for p.next&(uint64(2)<<o-1) == 0 && uint64(2)<<o <= n/2 {
				o++
			}
			p.growTo(p.next + uint64(1)<<o)
			p.free[o] = append(p.free[o], p.next)
			p.next += uint64(1) << o
		}
		pfn = p.next
		p.next += n
		p.growTo(p.next)
	}
	for i := uint64(0); i < n; i++ {
		pg := &p.pages[pfn+i-firstPFN]
		pg.kind = kind
		pg.head = uint32(i)
		pg.slab = nil
	}
	h := &p.pages[pfn-firstPFN]
	h.order = order
	h.ref = 1
	p.inUse += n
	return pfn, true
}

func (p *pageAllocator) growTo(end uint64) {
	for uint64(len(p.pages)) < end-firstPFN {
		p.pages = append(p.pages, page{})
	}
}

// release returns a block to the free lists. Its memory stays with the head
// frame for the next user of the block.
func (p *pageAllocator) release(pfn uint64) {
	h := &p.pages[pfn-firstPFN]
	n := uint64(1) << h.order
	for i := uint64(0); i < n; i++ {
		pg := &p.pages[pfn+i-firstPFN]
		pg.kind = pageFree
		pg.slab = nil
	}
	h.ref = 0
	p.free[h.order] = append(p.free[h.order], pfn)
	p.inUse -= n
}

// memOf returns the backing memory of the block whose head frame is pfn,
// allocating it on first use.
func (p *pageAllocator) memOf(pfn uint64) []byte {
	h := &p.pages[pfn-firstPFN]
	if h.mem == nil {
		h.mem = make([]byte, PageSize<<h.order)
	}
	return h.mem
}

// getOrder returns get_order(size): the smallest order whose block holds
// size bytes.
func getOrder(size uint64) uint8 {
	order := uint8(0)
	for uint64(PageSize)<<order < size {
		order++
	}
	return order
}

func (k pageKind) String() string {
	switch k {
	case pageFree:
		return "free"
	case pageSlab:
		return "slab"
	case pageLarge:
		return "kmalloc_large"
	case pagePlain:
		return "pages"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}
