package skb

import "github.com/stackscope/stackscope/tracing"

var fnSkbTryCoalesce, fnKfreeSkbPartial tracing.FuncID

func init() {
	fnSkbTryCoalesce = reg("skb_try_coalesce", skbuffC, false, SkbTryCoalesce, []string{"to", "from"},
		"Tries to append from's data to to, so that a receive queue holds fewer, fuller skbs. When to's buffer "+
			"has room after its tail, the bytes are copied there and the socket is charged nothing more; "+
			"otherwise from's pages would have to move into to's frags, which needs heads that are page "+
			"fragments. A cloned to (another user reads it) is never written.")
	fnKfreeSkbPartial = reg("kfree_skb_partial", skbuffC, false, KfreeSkbPartial, []string{"skb"},
		"Frees an skb whose data was merged into another, without counting it as a drop.")
}

// SkbTryCoalesce is skb_try_coalesce: append from's data to to if to can
// take it, reporting whether it did and how much more truesize to now
// stands for. The model has the first of the kernel's three ways: a to
// whose buffer has room after its tail gets the bytes copied there, for
// no extra truesize. The other two move from's head or page frags into
// to's frags. A TUN skb's head is kmalloc'd, as tun_get_user's is
// (skb_head_is_locked), and its data is in the head, so they never apply
// to it; a TCP data skb (loopback's), whose payload the kernel keeps in
// page frags (PagedHeadEnd), has no tailroom in the kernel and would move
// its frags, which the model does not do: it is not merged. A from with no
// data (a bare FIN) always fits, as in the kernel, where 0 bytes fit any
// tailroom.
func SkbTryCoalesce(to, from *SkBuff) (bool, uint32) {
	h := to.h
	h.tr.Enter2(fnSkbTryCoalesce, tracing.Skb(uint64(to.addr)), tracing.Skb(uint64(from.addr)))
	if SkbCloned(to) || (from.Len > 0 && (to.PagedHeadEnd != 0 || from.Len > SkbTailroom(to))) {
		h.tr.Exit(fnSkbTryCoalesce, tracing.Bool(false))
		return false, 0
	}
	if from.Len > 0 {
		b, err := SkbPut(to, from.Len)
		if err != nil || h.skbCopyBits(from, 0, b, false) != nil {
			h.tr.Exit(fnSkbTryCoalesce, tracing.Bool(false))
			return false, 0
		}
	}
	h.tr.Exit(fnSkbTryCoalesce, tracing.Bool(true))
	return true, 0
}

// KfreeSkbPartial is kfree_skb_partial: free an skb whose data another
// skb took over, with no drop reported. The kernel frees only the sk_buff
// when the other skb stole its head; SkbTryCoalesce never does, so the
// whole skb goes (__kfree_skb).
func KfreeSkbPartial(s *SkBuff) error {
	if s == nil {
		return nil
	}
	h := s.h
	h.tr.Enter1(fnKfreeSkbPartial, tracing.Skb(uint64(s.addr)))
	if s.freed {
		err := errFreed("kfree_skb_partial", s)
		h.tr.Exit(fnKfreeSkbPartial, tracing.Errno(err.errno))
		return err
	}
	if s.list != nil {
		err := errQueued("kfree_skb_partial", s)
		h.tr.Exit(fnKfreeSkbPartial, tracing.Errno(err.errno))
		return err
	}
	if skbUnref(s) {
		h.kfreeSkb(s)
	}
	h.tr.Exit(fnKfreeSkbPartial, tracing.Arg{})
	return nil
}
