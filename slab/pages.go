package slab

import (
	"fmt"

	"github.com/stackscope/stackscope/tracing"
)

// allocPages takes a block from the page allocator, with its trace point.
func (a *Allocator) allocPages(order uint8, kind pageKind) (uint64, bool) {
	a.tr.Enter1(fnAllocPages, tracing.Int(int64(order)))
	pfn, ok := a.pages.alloc(order, kind)
	var addr Addr
	if ok {
		addr = pfnToAddr(pfn)
	}
	a.tr.Exit(fnAllocPages, tracing.Page(uint64(addr)))
	return pfn, ok
}

// freePages gives a block back to the page allocator, with its trace point.
func (a *Allocator) freePages(pfn uint64) {
	a.tr.Enter1(fnFreePages, tracing.Page(uint64(pfnToAddr(pfn))))
	a.pages.release(pfn)
	a.tr.Exit(fnFreePages, tracing.Arg{})
}

// AllocPages is alloc_pages: a block of 2^order page frames with a
// reference count of one, returned as its kernel address (page_address).
// skb page frags live in such blocks.
func (a *Allocator) AllocPages(order uint8) (Addr, error) {
	if order > MaxPageOrder {
		return 0, &Error{Op: "alloc_pages", Kind: ErrBadArgument, Size: uint64(PageSize) << order,
			Msg: fmt.Sprintf("order %d is above MAX_PAGE_ORDER (%d)", order, MaxPageOrder)}
	}
	pfn, ok := a.allocPages(order, pagePlain)
	if !ok {
		return 0, &Error{Op: "alloc_pages", Kind: ErrNoMemory, Cache: "pages", Size: uint64(PageSize) << order}
	}
	return pfnToAddr(pfn), nil
}

// plainHead finds the head page of the alloc_pages block holding addr.
func (a *Allocator) plainHead(op string, addr Addr) (*page, uint64, *Error) {
	pg, pfn := a.pages.addrToPage(addr)
	switch {
	case pg == nil:
		return nil, 0, a.report(op, nil, nil, addr, ErrNotObject, "the address is not in any page the allocator handed out")
	case pg.kind == pageFree:
		return nil, 0, a.report(op, nil, nil, addr, ErrUseAfterFree, "")
	case pg.kind != pagePlain:
		return nil, 0, a.report(op, nil, nil, addr, ErrNotObject, "it is in a "+pg.kind.String()+" page, not one from alloc_pages")
	}
	h, hpfn := a.pages.headOf(pfn)
	return h, hpfn, nil
}

// GetPage is get_page: one more reference to the block holding addr.
func (a *Allocator) GetPage(addr Addr) error {
	a.tr.Enter1(fnGetPage, tracing.Page(uint64(addr)))
	h, _, err := a.plainHead("get_page", addr)
	if err != nil {
		a.tr.Exit(fnGetPage, tracing.Errno(err.Errno()))
		return err
	}
	h.ref++
	a.tr.Exit(fnGetPage, tracing.Arg{})
	return nil
}

// PutPage is put_page: one reference fewer; the last one frees the block.
func (a *Allocator) PutPage(addr Addr) error {
	a.tr.Enter1(fnPutPage, tracing.Page(uint64(addr)))
	h, hpfn, err := a.plainHead("put_page", addr)
	if err != nil {
		a.tr.Exit(fnPutPage, tracing.Errno(err.Errno()))
		return err
	}
	h.ref--
	if h.ref == 0 {
		a.freePages(hpfn)
	}
	a.tr.Exit(fnPutPage, tracing.Arg{})
	return nil
}

// PageRef is page_ref_count of the block holding addr (0 if it is not an
// allocated alloc_pages block).
func (a *Allocator) PageRef(addr Addr) int {
	pg, pfn := a.pages.addrToPage(addr)
	if pg == nil || pg.kind != pagePlain {
		return 0
	}
	h, _ := a.pages.headOf(pfn)
	return int(h.ref)
}
