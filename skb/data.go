package skb

import (
	"github.com/stackscope/stackscope/tracing"
)

// SkbReserve is skb_reserve: move data and tail forward by n on an empty
// skb, making headroom for headers pushed later. The kernel does not check;
// the model refuses to move tail past end (what skb_put would call
// skb_over_panic).
func SkbReserve(s *SkBuff, n uint32) error {
	h := s.h
	h.tr.Enter2(fnSkbReserve, tracing.Skb(uint64(s.addr)), tracing.Int(int64(n)))
	if s.freed {
		return exitErr(h, fnSkbReserve, errFreed("skb_reserve", s))
	}
	if uint64(s.tail)+uint64(n) > uint64(s.end) {
		return exitErr(h, fnSkbReserve, overPanic(s, "skb_reserve", n))
	}
	s.data += n
	s.tail += n
	h.tr.Exit(fnSkbReserve, tracing.Arg{})
	return nil
}

// SkbPut is skb_put: extend the data at the tail by n bytes and return them
// for the caller to fill. Putting past end is skb_over_panic; putting into a
// nonlinear skb is a BUG (SKB_LINEAR_ASSERT).
func SkbPut(s *SkBuff, n uint32) ([]byte, error) {
	h := s.h
	h.tr.Enter2(fnSkbPut, tracing.Skb(uint64(s.addr)), tracing.Int(int64(n)))
	if s.freed {
		return nil, exitErr(h, fnSkbPut, errFreed("skb_put", s))
	}
	if SkbIsNonlinear(s) {
		return nil, exitErr(h, fnSkbPut, errBug("skb_put", "SKB_LINEAR_ASSERT", s,
			"the skb has %d bytes in frags; only a linear skb can grow at the tail", s.DataLen))
	}
	if uint64(s.tail)+uint64(n) > uint64(s.end) {
		return nil, exitErr(h, fnSkbPut, overPanic(s, "skb_put", n))
	}
	old := s.tail
	s.tail += n
	s.Len += n
	h.tr.Exit(fnSkbPut, tracing.Ptr(uint64(s.head)+uint64(old)))
	return s.shared.mem[old:s.tail:s.tail], nil
}

// SkbPush is skb_push: extend the data at the front by n bytes (a header
// being added) and return them. Pushing before head is skb_under_panic.
func SkbPush(s *SkBuff, n uint32) ([]byte, error) {
	h := s.h
	h.tr.Enter2(fnSkbPush, tracing.Skb(uint64(s.addr)), tracing.Int(int64(n)))
	if s.freed {
		return nil, exitErr(h, fnSkbPush, errFreed("skb_push", s))
	}
	if n > s.data {
		h.tr.Point(fnSkbUnderPanic, tracing.Skb(uint64(s.addr)), tracing.Int(int64(n)))
		return nil, exitErr(h, fnSkbPush, errBug("skb_push", "skb_under_panic", s,
			"push %d would move data from head+%d to before head (len %d, head %s, data %s, tail %#x, end %#x)",
			n, s.data, s.Len, s.head, s.Data(), s.tail, s.end))
	}
	s.data -= n
	s.Len += n
	h.tr.Exit(fnSkbPush, tracing.Ptr(uint64(s.Data())))
	return s.shared.mem[s.data : s.data+n : s.data+n], nil
}

// SkbPull is skb_pull: remove n bytes from the front (a header consumed)
// and return the new data. The kernel returns NULL when n is more than len;
// pulling into the paged part is a BUG in __skb_pull. Both are errors here.
func SkbPull(s *SkBuff, n uint32) ([]byte, error) {
	h := s.h
	h.tr.Enter2(fnSkbPull, tracing.Skb(uint64(s.addr)), tracing.Int(int64(n)))
	if s.freed {
		return nil, exitErr(h, fnSkbPull, errFreed("skb_pull", s))
	}
	if n > s.Len {
		return nil, exitErr(h, fnSkbPull, errBug("skb_pull", "", s,
			"pull %d is more than len %d (data head+%d, tail head+%d); the kernel returns NULL",
			n, s.Len, s.data, s.tail))
	}
	if n > SkbHeadlen(s) {
		return nil, exitErr(h, fnSkbPull, errBug("skb_pull", "BUG in __skb_pull", s,
			"pull %d reaches into paged data: only %d bytes are linear (len %d, data_len %d); use pskb_pull",
			n, SkbHeadlen(s), s.Len, s.DataLen))
	}
	s.data += n
	s.Len -= n
	h.tr.Exit(fnSkbPull, tracing.Ptr(uint64(s.Data())))
	return s.Bytes(), nil
}

// SkbTrim is skb_trim: cut a linear skb down to n bytes; a longer n does
// nothing. Trimming a nonlinear skb is a kernel WARN and is refused.
func SkbTrim(s *SkBuff, n uint32) error {
	h := s.h
	h.tr.Enter2(fnSkbTrim, tracing.Skb(uint64(s.addr)), tracing.Int(int64(n)))
	if s.freed {
		return exitErr(h, fnSkbTrim, errFreed("skb_trim", s))
	}
	if s.Len > n {
		if SkbIsNonlinear(s) {
			return exitErr(h, fnSkbTrim, errBug("skb_trim", "WARN in __skb_trim", s,
				"the skb has %d bytes in frags; use pskb_trim", s.DataLen))
		}
		s.Len = n
		s.tail = s.data + n
	}
	h.tr.Exit(fnSkbTrim, tracing.Arg{})
	return nil
}

// overPanic reports skb_over_panic for growing the tail by n.
func overPanic(s *SkBuff, op string, n uint32) *Error {
	s.h.tr.Point(fnSkbOverPanic, tracing.Skb(uint64(s.addr)), tracing.Int(int64(n)))
	return errBug(op, "skb_over_panic", s,
		"%d more bytes would move tail from head+%d past end head+%d (len %d, head %s, data %s)",
		n, s.tail, s.end, s.Len, s.head, s.Data())
}

func exitErr(h *Hotdata, fn tracing.FuncID, err *Error) *Error {
	h.tr.Exit(fn, tracing.Errno(err.errno))
	return err
}

// SkbCopyBits is skb_copy_bits: copy n bytes starting at offset (relative
// to data; negative reaches into the headroom) into to, walking the linear
// part, the page frags and the frag list. It fails with -EFAULT if the
// range runs past the end of the data.
func SkbCopyBits(s *SkBuff, offset int, to []byte) error {
	h := s.h
	h.tr.Enter3(fnSkbCopyBits, tracing.Skb(uint64(s.addr)), tracing.Int(int64(offset)), tracing.Int(int64(len(to))))
	if s.freed {
		return exitErr(h, fnSkbCopyBits, errFreed("skb_copy_bits", s))
	}
	if err := h.skbCopyBits(s, offset, to, true); err != nil {
		return exitErr(h, fnSkbCopyBits, err)
	}
	h.tr.Exit(fnSkbCopyBits, tracing.Errno(0))
	return nil
}

// CopyBitsUntraced copies what skb_copy_bits copies, for observers (a
// packet capture): it reports no trace event, so that looking at a packet
// does not change the kernel's event stream (DESIGN.md principle 3).
func CopyBitsUntraced(s *SkBuff, offset int, to []byte) error {
	if s.freed {
		return errFreed("skb_copy_bits", s)
	}
	if err := s.h.skbCopyBits(s, offset, to, false); err != nil {
		return err
	}
	return nil
}

// skbCopyBits copies; traced says whether the helpers it calls report
// their events (not for observers).
func (h *Hotdata) skbCopyBits(s *SkBuff, offset int, to []byte, traced bool) *Error {
	n := len(to)
	if offset > int(s.Len)-n || -offset > int(s.data) {
		return &Error{Op: "skb_copy_bits", Skb: s.addr, errno: -tracing.EFAULT,
			Msg: "range outside the skb's data"}
	}
	// The linear part.
	start := int(s.Len - s.DataLen)
	if traced {
		start = int(SkbHeadlen(s))
	}
	if c := start - offset; c > 0 {
		c = min(c, n)
		base := int(s.data) + offset
		copy(to[:c], s.shared.mem[base:base+c])
		to, offset, n = to[c:], offset+c, n-c
		if n == 0 {
			return nil
		}
	}
	// The page frags.
	si := &s.shared.shinfo
	for i := 0; i < int(si.NrFrags); i++ {
		f := &si.Frags[i]
		end := start + int(f.Len)
		if c := end - offset; c > 0 {
			c = min(c, n)
			page, err := h.mem.Mem(f.Page+pageAddr(f.Offset)+pageAddr(uint32(offset-start)), uint32(c))
			if err != nil {
				return &Error{Op: "skb_copy_bits", Skb: s.addr, errno: -tracing.EFAULT, Msg: err.Error()}
			}
			copy(to[:c], page)
			to, offset, n = to[c:], offset+c, n-c
			if n == 0 {
				return nil
			}
		}
		start = end
	}
	// The frag list.
	for fl := si.FragList; fl != nil; fl = fl.next {
		end := start + int(fl.Len)
		if c := end - offset; c > 0 {
			c = min(c, n)
			if err := h.skbCopyBits(fl, offset-start, to[:c], traced); err != nil {
				return err
			}
			to, offset, n = to[c:], offset+c, n-c
			if n == 0 {
				return nil
			}
		}
		start = end
	}
	if n > 0 {
		return &Error{Op: "skb_copy_bits", Skb: s.addr, errno: -tracing.EFAULT, Msg: "data ran out before the range did"}
	}
	return nil
}
