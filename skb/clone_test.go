package skb

import (
	"bytes"
	"fmt"
	"testing"
)

func TestCloneOfAnFcloneUsesItsSibling(t *testing.T) {
	f := newFixture(t)
	orig := f.allocFclone(t, 1000)
	if orig.Fclone != SKB_FCLONE_ORIG {
		t.Fatalf("fclone %d", orig.Fclone)
	}
	c1, err := SkbClone(orig)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Addr() != orig.Addr()+SizeofSkBuff || c1.Fclone != SKB_FCLONE_CLONE {
		t.Errorf("first clone at %s (fclone %d), want the sibling at %s", c1.Addr(), c1.Fclone, orig.Addr()+SizeofSkBuff)
	}
	if f.h.SkbuffCache().Stats().InUse != 0 {
		t.Error("the first clone of an fclone took an skbuff_head_cache object")
	}
	c2, err := SkbClone(orig)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Fclone != SKB_FCLONE_UNAVAILABLE || f.h.SkbuffCache().Stats().InUse != 1 {
		t.Errorf("second clone: fclone %d, head cache in use %d", c2.Fclone, f.h.SkbuffCache().Stats().InUse)
	}
	if d := orig.Shinfo().Dataref(); d != 3 {
		t.Errorf("dataref %d with three skbs on the data, want 3", d)
	}
	for _, s := range []*SkBuff{orig, c1, c2} {
		if !s.Cloned || !SkbCloned(s) || s.Head() != orig.Head() || s.Shinfo() != orig.Shinfo() {
			t.Errorf("skb %s: cloned %v, head %s", s.Addr(), s.Cloned, s.Head())
		}
	}
	// Freeing the sibling makes it available again.
	mustFree(t, c1)
	if f.h.FcloneCache().Stats().InUse != 1 || orig.Shinfo().Dataref() != 2 {
		t.Errorf("after freeing the sibling: fclone objects %d, dataref %d", f.h.FcloneCache().Stats().InUse, orig.Shinfo().Dataref())
	}
	c3, err := SkbClone(orig)
	if err != nil {
		t.Fatal(err)
	}
	if c3.Addr() != orig.Addr()+SizeofSkBuff {
		t.Errorf("clone after the sibling was freed at %s, want the sibling again", c3.Addr())
	}
	for _, s := range []*SkBuff{orig, c2, c3} {
		mustFree(t, s)
	}
	f.checkAllFreed(t)
}

// TestEveryFreeOrderReleasesEverything frees an fclone original, its
// sibling clone, a clone of the clone and a private copy in every order.
func TestEveryFreeOrderReleasesEverything(t *testing.T) {
	perms := permutations(4)
	for _, order := range perms {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			f := newFixture(t)
			orig := f.allocFclone(t, 300)
			p, _ := SkbPut(orig, 300)
			fill(p, 7)
			clone, err := SkbClone(orig)
			if err != nil {
				t.Fatal(err)
			}
			cloneOfClone, err := SkbClone(clone)
			if err != nil {
				t.Fatal(err)
			}
			copied, err := SkbCopy(clone)
			if err != nil {
				t.Fatal(err)
			}
			skbs := []*SkBuff{orig, clone, cloneOfClone, copied}
			for i, idx := range order {
				mustFree(t, skbs[idx])
				// Until the last sharer goes, the data must still be readable.
				for _, other := range order[i+1:] {
					if s := skbs[other]; !bytes.Equal(s.Bytes(), p) {
						t.Fatalf("after freeing %d, skb %d reads different data", idx, other)
					}
				}
			}
			f.checkAllFreed(t)
		})
	}
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func TestCopyOfACloneIsPrivate(t *testing.T) {
	f := newFixture(t)
	orig := f.alloc(t, 500)
	_ = SkbReserve(orig, 40)
	p, _ := SkbPut(orig, 100)
	fill(p, 1)
	orig.NetworkHeader = 40
	orig.Cb[0] = 0xaa
	clone, _ := SkbClone(orig)
	cp, err := SkbCopy(clone)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Cloned || SkbCloned(cp) || cp.Shinfo().Dataref() != 1 || cp.Head() == orig.Head() {
		t.Errorf("copy shares: cloned %v dataref %d", cp.Cloned, cp.Shinfo().Dataref())
	}
	if orig.Shinfo().Dataref() != 2 {
		t.Errorf("copying changed the original's dataref to %d", orig.Shinfo().Dataref())
	}
	if SkbHeadroom(cp) != 40 || !bytes.Equal(cp.Bytes(), p) || cp.NetworkHeader != 40 || cp.Cb[0] != 0xaa {
		t.Errorf("copy: headroom %d, header %d, cb %x", SkbHeadroom(cp), cp.NetworkHeader, cp.Cb[0])
	}
	cp.Bytes()[0] = 0xff
	if p[0] == 0xff {
		t.Error("writing the copy changed the original")
	}
	for _, s := range []*SkBuff{orig, clone, cp} {
		mustFree(t, s)
	}
	f.checkAllFreed(t)
}

func TestSkbCopyMakesNonlinearDataLinear(t *testing.T) {
	f := newFixture(t)
	s := nonlinear(t, f)
	cp, err := SkbCopy(s)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]byte, s.Len)
	if err := SkbCopyBits(s, 0, all); err != nil {
		t.Fatal(err)
	}
	if cp.DataLen != 0 || cp.Len != 160 || !bytes.Equal(cp.Bytes(), all) {
		t.Errorf("copy: len %d data_len %d", cp.Len, cp.DataLen)
	}
	mustFree(t, s)
	mustFree(t, cp)
	f.checkAllFreed(t)
}

func TestPskbCopySharesTheFrags(t *testing.T) {
	f := newFixture(t)
	s := nonlinear(t, f)
	pg := s.Shinfo().Frags[0].Page
	cp, err := PskbCopy(s)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Head() == s.Head() || cp.Len != s.Len || cp.DataLen != s.DataLen || cp.Shinfo().NrFrags != 2 {
		t.Errorf("pskb_copy: len %d data_len %d frags %d", cp.Len, cp.DataLen, cp.Shinfo().NrFrags)
	}
	if f.mem.PageRef(pg) != 2 || cp.Shinfo().Frags[0].Page != pg {
		t.Errorf("frag page ref %d, want 2 (shared)", f.mem.PageRef(pg))
	}
	mustFree(t, s)
	if f.mem.PageRef(pg) != 1 {
		t.Errorf("after freeing the original the page ref is %d", f.mem.PageRef(pg))
	}
	b, _ := cp.FragBytes(0)
	if b[0] != 10 {
		t.Errorf("the copy's frag reads %d", b[0])
	}
	mustFree(t, cp)
	f.checkAllFreed(t)
}

func TestHeaderReleaseLetsClonesWriteHeaders(t *testing.T) {
	f := newFixture(t)
	s := f.allocFclone(t, 100)
	if SkbHeaderCloned(s) {
		t.Error("a fresh skb has cloned headers")
	}
	plain, _ := SkbClone(s)
	if !SkbHeaderCloned(plain) || !SkbHeaderCloned(s) {
		t.Error("after a plain clone the headers are not shared")
	}
	mustFree(t, plain)
	mustFree(t, s)

	s = f.allocFclone(t, 100)
	if err := SkbHeaderRelease(s); err != nil {
		t.Fatal(err)
	}
	if d := s.Shinfo().Dataref(); d != 1+1<<16 {
		t.Errorf("dataref after __skb_header_release: %#x", d)
	}
	c, _ := SkbClone(s)
	if SkbHeaderCloned(c) {
		t.Error("the clone of a header-released skb may not write its headers")
	}
	if !SkbCloned(c) {
		t.Error("the data is shared, skb_cloned must say so")
	}
	if d := s.Shinfo().Dataref(); d != 2+1<<16 {
		t.Errorf("dataref %#x, want 0x10002", d)
	}
	mustFree(t, c)
	if d := s.Shinfo().Dataref(); d != 1+1<<16 {
		t.Errorf("dataref after the clone went: %#x", d)
	}
	mustFree(t, s)
	f.checkAllFreed(t)
}

func TestPskbExpandHead(t *testing.T) {
	f := newFixture(t)
	s := f.alloc(t, 100)
	_ = SkbReserve(s, 16)
	p, _ := SkbPut(s, 50)
	fill(p, 3)
	want := append([]byte(nil), p...)
	SkbResetNetworkHeader(s) // 16
	oldHead := s.Head()
	if err := PskbExpandHead(s, 64, 1000); err != nil {
		t.Fatal(err)
	}
	if s.Head() == oldHead || SkbHeadroom(s) != 80 || s.TailOffset() != 130 || !bytes.Equal(s.Bytes(), want) {
		t.Errorf("after expand: headroom %d tail %d", SkbHeadroom(s), s.TailOffset())
	}
	if s.NetworkHeader != 80 || SkbMacHeaderWasSet(s) {
		t.Errorf("network header %d, mac set %v", s.NetworkHeader, SkbMacHeaderWasSet(s))
	}
	if s.EndOffset() < 16+50+64+1000 {
		t.Errorf("end %d too small", s.EndOffset())
	}

	// A shared skb (two users) may not move its head.
	_, _ = SkbGet(s)
	if err := PskbExpandHead(s, 8, 0); !isBug(err, "BUG_ON(skb_shared(skb))") {
		t.Errorf("expanding a shared skb: %v", err)
	}
	mustFree(t, s)

	// A cloned skb gets a private head; the clone keeps the old one.
	c, _ := SkbClone(s)
	head := s.Head()
	if err := PskbExpandHead(s, 32, 0); err != nil {
		t.Fatal(err)
	}
	if s.Cloned || c.Head() != head || s.Head() == head || c.Shinfo().Dataref() != 1 || s.Shinfo().Dataref() != 1 {
		t.Errorf("expand of a clone: cloned %v, clone head moved %v, datarefs %d %d",
			s.Cloned, c.Head() != head, c.Shinfo().Dataref(), s.Shinfo().Dataref())
	}
	if !bytes.Equal(c.Bytes(), want) || !bytes.Equal(s.Bytes(), want) {
		t.Error("data lost")
	}
	mustFree(t, c)
	mustFree(t, s)
	f.checkAllFreed(t)
}

func TestSkbUnshare(t *testing.T) {
	f := newFixture(t)
	s := f.alloc(t, 100)
	if got, err := SkbUnshare(s); got != s || err != nil {
		t.Errorf("unshare of a private skb: %v %v", got, err)
	}
	c, _ := SkbClone(s)
	u, err := SkbUnshare(c)
	if err != nil {
		t.Fatal(err)
	}
	if u == c || u.Cloned || !c.Freed() || s.Shinfo().Dataref() != 1 || SkbCloned(s) {
		t.Errorf("unshare of a clone: new %v, old freed %v, dataref %d", u != c, c.Freed(), s.Shinfo().Dataref())
	}
	mustFree(t, u)
	mustFree(t, s)
	f.checkAllFreed(t)
}
