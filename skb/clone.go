package skb

import (
	"github.com/stackscope/stackscope/tracing"
)

// SkbClone is skb_clone: a second sk_buff for the same data. The data is
// not copied: dataref goes up by one and both skbs are marked cloned. An
// fclone original whose sibling is free gets the sibling; otherwise the new
// sk_buff comes from skbuff_head_cache.
func SkbClone(s *SkBuff) (*SkBuff, error) {
	h := s.h
	h.tr.Enter1(fnSkbClone, tracing.Skb(uint64(s.addr)))
	if s.freed {
		return nil, exitErr(h, fnSkbClone, errFreed("skb_clone", s))
	}
	var n *SkBuff
	if s.Fclone == SKB_FCLONE_ORIG && s.fc.fcloneRef == 1 {
		n = &s.fc.skb2
		s.fc.fcloneRef = 2
		*n = SkBuff{addr: s.fc.addr + SizeofSkBuff, fc: s.fc, Fclone: SKB_FCLONE_CLONE}
	} else {
		addr, err := h.mem.KmemCacheAlloc(h.skbuffCache)
		if err != nil {
			h.tr.Exit(fnSkbClone, tracing.Skb(0))
			return nil, errNoMem("skb_clone", err)
		}
		n = h.spareSkbs.get()
		*n = SkBuff{addr: addr, Fclone: SKB_FCLONE_UNAVAILABLE}
	}
	n.h = h
	h.liveSkbs++
	skbCloneInto(n, s)
	h.tr.Exit(fnSkbClone, tracing.Skb(uint64(n.addr)))
	return n, nil
}

// SkbFcloneBusy is skb_fclone_busy: s is the first of an fclone pair
// whose clone, sent for sk, is still alive (waiting in a device).
func SkbFcloneBusy(s *SkBuff, sk any) bool {
	return s.Fclone == SKB_FCLONE_ORIG && s.fc != nil && s.fc.fcloneRef > 1 && !s.fc.skb2.freed && s.fc.skb2.Sk == sk
}

// skbCloneInto is __skb_clone: n takes s's header fields and a reference
// to its data.
func skbCloneInto(n, s *SkBuff) {
	copySkbHeader(n, s)
	n.Len = s.Len
	n.DataLen = s.DataLen
	if s.Nohdr {
		n.HdrLen = uint16(SkbHeadroom(s))
	} else {
		n.HdrLen = s.HdrLen
	}
	n.Cloned = true
	n.Nohdr = false
	n.tail = s.tail
	n.end = s.end
	n.head = s.head
	n.data = s.data
	n.Truesize = s.Truesize
	n.PagedHeadEnd = s.PagedHeadEnd
	n.shared = s.shared
	n.users = 1
	s.shared.shinfo.dataref++
	s.Cloned = true
}

// copySkbHeader is __copy_skb_header: the control buffer, the device, the
// protocol and the header marks (the kernel also copies dst, timestamps and
// more, which the model does not have yet). The owning socket is not
// copied.
func copySkbHeader(n, s *SkBuff) {
	n.Cb = s.Cb
	n.Dev = s.Dev
	n.Protocol = s.Protocol
	n.PktType = s.PktType
	n.Iif = s.Iif
	n.MacHeader = s.MacHeader
	n.NetworkHeader = s.NetworkHeader
	n.TransportHeader = s.TransportHeader
}

// skbCopyHeader is skb_copy_header: __copy_skb_header plus the GSO fields of
// the shared info.
func skbCopyHeader(n, s *SkBuff) {
	copySkbHeader(n, s)
	ns, os := &n.shared.shinfo, &s.shared.shinfo
	ns.GsoSize = os.GsoSize
	ns.GsoSegs = os.GsoSegs
	ns.GsoType = os.GsoType
}

// SkbCopy is skb_copy: a private, fully linear copy of s, headroom, header
// marks and all, with its own data buffer. Frags and the frag list are
// copied into the linear part.
func SkbCopy(s *SkBuff) (*SkBuff, error) {
	h := s.h
	h.tr.Enter1(fnSkbCopy, tracing.Skb(uint64(s.addr)))
	if s.freed {
		return nil, exitErr(h, fnSkbCopy, errFreed("skb_copy", s))
	}
	n, err := h.skbCopy(s)
	h.tr.Exit(fnSkbCopy, skbArg(n))
	return n, err
}

func (h *Hotdata) skbCopy(s *SkBuff) (*SkBuff, error) {
	headerlen := SkbHeadroom(s)
	n, err := h.allocSkb(s.end+s.DataLen, 0)
	if err != nil {
		return nil, err
	}
	// On a fresh skb of this size these cannot fail.
	_ = SkbReserve(n, headerlen)
	_, _ = SkbPut(n, s.Len)
	if err := h.skbCopyBits(s, -int(headerlen), n.shared.mem[:headerlen+s.Len], true); err != nil {
		_ = KfreeSkb(n)
		return nil, err
	}
	skbCopyHeader(n, s)
	return n, nil
}

// PskbCopy is pskb_copy: a copy with a private linear part (so its headers
// can be changed) that shares s's page frags and frag list.
func PskbCopy(s *SkBuff) (*SkBuff, error) {
	h := s.h
	h.tr.Enter1(fnPskbCopy, tracing.Skb(uint64(s.addr)))
	if s.freed {
		return nil, exitErr(h, fnPskbCopy, errFreed("pskb_copy", s))
	}
	n, err := h.pskbCopyFclone(s, SkbHeadroom(s), false)
	h.tr.Exit(fnPskbCopy, skbArg(n))
	return n, err
}

// pskbCopyFclone is __pskb_copy_fclone.
func (h *Hotdata) pskbCopyFclone(s *SkBuff, headroom uint32, fclone bool) (*SkBuff, error) {
	flags := 0
	if fclone {
		flags = SKB_ALLOC_FCLONE
	}
	n, err := h.allocSkb(SkbHeadlen(s)+headroom, flags)
	if err != nil {
		return nil, err
	}
	_ = SkbReserve(n, headroom)
	_, _ = SkbPut(n, SkbHeadlen(s))
	copy(n.Bytes(), s.Bytes())
	n.Truesize += s.DataLen
	if s.PagedHeadEnd != 0 {
		// The kernel's copy gets a head of headroom bytes only and shares
		// the payload's frags: it costs that head plus the payload. (The
		// model's paged skbs that get copied are TCP's queued ones, which
		// hold no headers: all their bytes are payload.)
		n.PagedHeadEnd = AllocSkbEndOffset(headroom)
		n.Truesize = SkbTruesize(n.PagedHeadEnd) + s.Len
	}
	n.DataLen = s.DataLen
	n.Len = s.Len
	si, ni := &s.shared.shinfo, &n.shared.shinfo
	for i := 0; i < int(si.NrFrags); i++ {
		ni.Frags[i] = si.Frags[i]
		_ = h.mem.GetPage(si.Frags[i].Page) // skb_frag_ref: the frag's page is live
	}
	ni.NrFrags = si.NrFrags
	if si.FragList != nil {
		ni.FragList = si.FragList
		skbCloneFraglist(n)
	}
	skbCopyHeader(n, s)
	return n, nil
}

// skbCloneFraglist is skb_clone_fraglist: one more user of each skb on the
// frag list.
func skbCloneFraglist(s *SkBuff) {
	for fl := s.shared.shinfo.FragList; fl != nil; fl = fl.next {
		fl.users++
	}
}

// SkbUnshare is skb_unshare: if s's data is shared, replace s by a private
// copy (skb_copy) and release s; otherwise return s itself. On failure s is
// freed, as in the kernel, and nil is returned with the error.
func SkbUnshare(s *SkBuff) (*SkBuff, error) {
	h := s.h
	h.tr.Enter1(fnSkbUnshare, tracing.Skb(uint64(s.addr)))
	if s.freed {
		return nil, exitErr(h, fnSkbUnshare, errFreed("skb_unshare", s))
	}
	if !SkbCloned(s) {
		h.tr.Exit(fnSkbUnshare, tracing.Skb(uint64(s.addr)))
		return s, nil
	}
	if s.users == 1 && s.list != nil {
		return nil, exitErr(h, fnSkbUnshare, errQueued("skb_unshare", s))
	}
	n, err := SkbCopy(s)
	if err != nil {
		_ = KfreeSkb(s)
		h.tr.Exit(fnSkbUnshare, tracing.Skb(0))
		return nil, err
	}
	_ = ConsumeSkb(s)
	h.tr.Exit(fnSkbUnshare, tracing.Skb(uint64(n.addr)))
	return n, nil
}

// PskbExpandHead is pskb_expand_head: move the linear data to a new, larger
// head with nhead more bytes of headroom and ntail more of tailroom. The
// skb must not be shared (skb_shared); if its data is cloned, the old head
// stays with the other skbs and this one gets a private head.
func PskbExpandHead(s *SkBuff, nhead, ntail uint32) error {
	h := s.h
	h.tr.Enter3(fnPskbExpandHead, tracing.Skb(uint64(s.addr)), tracing.Int(int64(nhead)), tracing.Int(int64(ntail)))
	if s.freed {
		return exitErr(h, fnPskbExpandHead, errFreed("pskb_expand_head", s))
	}
	if SkbShared(s) {
		return exitErr(h, fnPskbExpandHead, errBug("pskb_expand_head", "BUG_ON(skb_shared(skb))", s,
			"the skb has %d users; only its sole user may move its head", s.users))
	}
	osize := s.end
	d, err := h.kmallocReserve(osize + nhead + ntail)
	if err != nil {
		h.tr.Exit(fnPskbExpandHead, tracing.Errno(-tracing.ENOMEM))
		return err
	}
	size := SkbWithOverhead(d.size)
	copy(d.mem[nhead:], s.shared.mem[:s.tail])
	old := s.shared
	d.shinfo = old.shinfo // the frags and frag list move with it
	if SkbCloned(s) {
		// The other users keep the old head: take our own references to
		// what the shared info points at, then drop ours on the old data.
		for i := 0; i < int(d.shinfo.NrFrags); i++ {
			_ = h.mem.GetPage(d.shinfo.Frags[i].Page)
		}
		if d.shinfo.FragList != nil {
			skbCloneFraglist(s)
		}
		h.skbReleaseData(s)
	} else {
		h.skbFreeHead(old)
	}
	s.shared = d
	s.head = d.head
	s.data += nhead
	s.end = size
	s.tail += nhead
	skbHeadersOffsetUpdate(s, nhead)
	s.Cloned = false
	s.HdrLen = 0
	s.Nohdr = false
	d.shinfo.dataref = 1
	// Only an skb no socket owns grows its truesize: an owner's destructor
	// must give back exactly what was charged. A paged skb's larger head
	// stands for frags the caller charges as it fills them.
	if s.Sk == nil && s.PagedHeadEnd == 0 {
		s.Truesize += size - osize
	}
	h.tr.Exit(fnPskbExpandHead, tracing.Errno(0))
	return nil
}

// skbHeadersOffsetUpdate is skb_headers_offset_update: header marks are
// offsets from head, so they move with the data. Like the kernel, it adds
// to transport_header even when unset (u16 arithmetic).
func skbHeadersOffsetUpdate(s *SkBuff, off uint32) {
	s.TransportHeader += uint16(off)
	s.NetworkHeader += uint16(off)
	if SkbMacHeaderWasSet(s) {
		s.MacHeader += uint16(off)
	}
}

// SkbHeaderRelease is __skb_header_release: the creator (TCP) says it will
// only ever touch the payload of this skb, so clones may write headers.
// dataref becomes one full reference plus one payload-only reference.
func SkbHeaderRelease(s *SkBuff) error {
	h := s.h
	h.tr.Enter1(fnSkbHeaderRelease, tracing.Skb(uint64(s.addr)))
	if s.freed {
		return exitErr(h, fnSkbHeaderRelease, errFreed("__skb_header_release", s))
	}
	if s.Cloned {
		return exitErr(h, fnSkbHeaderRelease, errBug("__skb_header_release", "", s,
			"the skb is already cloned; the header must be released before the first clone"))
	}
	s.Nohdr = true
	s.shared.shinfo.dataref = 1 + 1<<SKB_DATAREF_SHIFT
	h.tr.Exit(fnSkbHeaderRelease, tracing.Arg{})
	return nil
}
