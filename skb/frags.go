package skb

import (
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

func pageAddr(off uint32) slab.Addr { return slab.Addr(off) }

// SkbAddRxFrag is skb_add_rx_frag: attach n bytes at offset off of the page
// block page as frag i, and account for them in len, data_len and truesize
// (truesize grows by the part of the page the frag pins, given as
// truesize). The skb takes over the caller's page reference.
func SkbAddRxFrag(s *SkBuff, i int, page slab.Addr, off, n, truesize uint32) error {
	h := s.h
	h.tr.Enter3(fnSkbAddRxFrag, tracing.Skb(uint64(s.addr)), tracing.Page(uint64(page)), tracing.Int(int64(n)))
	if s.freed {
		return exitErr(h, fnSkbAddRxFrag, errFreed("skb_add_rx_frag", s))
	}
	si := &s.shared.shinfo
	if i != int(si.NrFrags) || i >= MaxSkbFrags {
		return exitErr(h, fnSkbAddRxFrag, errBug("skb_add_rx_frag", "", s,
			"frag index %d: the skb has %d frags and room for %d; frags are added in order", i, si.NrFrags, MaxSkbFrags))
	}
	if SkbCloned(s) {
		return exitErr(h, fnSkbAddRxFrag, errBug("skb_add_rx_frag", "", s,
			"the shared info is shared with a clone; unshare the skb first"))
	}
	if _, err := h.mem.Mem(page+pageAddr(off), n); err != nil {
		return exitErr(h, fnSkbAddRxFrag, &Error{Op: "skb_add_rx_frag", Skb: s.addr, errno: -tracing.EFAULT, Msg: err.Error()})
	}
	si.Frags[i] = SkbFrag{Page: page, Offset: off, Len: n}
	si.NrFrags = uint8(i + 1)
	s.Len += n
	s.DataLen += n
	s.Truesize += truesize
	h.tr.Exit(fnSkbAddRxFrag, tracing.Arg{})
	return nil
}

// FragBytes returns the bytes of frag i.
func (s *SkBuff) FragBytes(i int) ([]byte, error) {
	si := &s.shared.shinfo
	if i < 0 || i >= int(si.NrFrags) {
		return nil, errBug("skb_frag_address", "", s, "no frag %d (the skb has %d)", i, si.NrFrags)
	}
	f := &si.Frags[i]
	return s.h.mem.Mem(f.Page+pageAddr(f.Offset), f.Len)
}
