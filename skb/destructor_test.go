package skb

import "testing"

// TestDestructorRunsOnceAtTheLastFree checks skb->destructor: it runs when
// the last reference goes (not before), once, and a clone of an owned
// skb belongs to nobody; skb_orphan runs it early.
func TestDestructorRunsOnceAtTheLastFree(t *testing.T) {
	f := newFixture(t)
	var ran []*SkBuff
	d := func(s *SkBuff) { ran = append(ran, s) }

	s, err := AllocSkbFclone(f.h, 100)
	if err != nil {
		t.Fatal(err)
	}
	s.Sk, s.Destructor = "owner", d
	c, err := SkbClone(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Destructor != nil || c.Sk != nil {
		t.Errorf("the clone inherited the owner: sk %v, destructor set %v", c.Sk, c.Destructor != nil)
	}
	c.Destructor = d
	if _, err := SkbGet(c); err != nil {
		t.Fatal(err)
	}
	if err := ConsumeSkb(c); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 0 {
		t.Fatalf("the destructor ran while a reference remained: %d runs", len(ran))
	}
	if err := ConsumeSkb(c); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 1 || ran[0] != c {
		t.Fatalf("after the last free of the clone: %d runs, want 1 on the clone", len(ran))
	}
	SkbOrphan(s)
	if len(ran) != 2 || ran[1] != s || s.Sk != nil || s.Destructor != nil {
		t.Fatalf("skb_orphan: %d runs, sk %v, destructor set %v", len(ran), s.Sk, s.Destructor != nil)
	}
	if err := KfreeSkb(s); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 {
		t.Errorf("the destructor ran again after skb_orphan: %d runs", len(ran))
	}
}
