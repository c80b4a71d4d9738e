package skb

import (
	"fmt"
	"testing"

	"github.com/stackscope/stackscope/slab"
)

// fuzzMachine applies skb and queue operations chosen by fuzz input and
// checks the model's invariants after every one.
type fuzzMachine struct {
	t     *testing.T
	f     *fixture
	live  []*SkBuff // every skb not yet freed
	refs  map[*SkBuff]int
	q     [2]SkBuffHead
	in    []byte
	steps []string
}

func (m *fuzzMachine) byte() byte {
	if len(m.in) == 0 {
		return 0
	}
	b := m.in[0]
	m.in = m.in[1:]
	return b
}

func (m *fuzzMachine) u16() uint32 { return uint32(m.byte())<<8 | uint32(m.byte()) }

// pick returns a live skb chosen by the input, or nil.
func (m *fuzzMachine) pick() *SkBuff {
	if len(m.live) == 0 {
		return nil
	}
	return m.live[int(m.byte())%len(m.live)]
}

func (m *fuzzMachine) add(s *SkBuff, err error) {
	if err == nil && s != nil {
		m.live = append(m.live, s)
		m.refs[s] = 1
	}
}

// forget drops skbs that the last operation freed.
func (m *fuzzMachine) forget() {
	out := m.live[:0]
	for _, s := range m.live {
		if s.Freed() {
			delete(m.refs, s)
		} else {
			out = append(out, s)
		}
	}
	m.live = out
}

func (m *fuzzMachine) unref(s *SkBuff, free func(*SkBuff) error) {
	if err := free(s); err == nil {
		m.refs[s]--
	}
}

func (m *fuzzMachine) step() {
	op := m.byte() % 26
	s := m.pick()
	m.steps = append(m.steps, fmt.Sprintf("op %d on %v", op, s != nil))
	if s == nil && op > 1 && op < 22 {
		op = 0
	}
	n := m.u16() % 5000
	switch op {
	case 0:
		m.add(AllocSkb(m.f.h, n))
	case 1:
		m.add(AllocSkbFclone(m.f.h, n))
	case 2:
		_ = SkbReserve(s, n)
	case 3:
		if b, err := SkbPut(s, n); err == nil {
			fill(b, byte(n))
		}
	case 4:
		_, _ = SkbPush(s, n%300)
	case 5:
		_, _ = SkbPull(s, n%300)
	case 6:
		_ = SkbTrim(s, n)
	case 7:
		m.add(SkbClone(s))
	case 8:
		m.add(SkbCopy(s))
	case 9:
		m.add(PskbCopy(s))
	case 10:
		_ = PskbExpandHead(s, n%512, uint32(m.byte())*4)
	case 11:
		m.unref(s, KfreeSkb)
	case 12:
		m.unref(s, ConsumeSkb)
	case 13:
		if _, err := SkbGet(s); err == nil {
			m.refs[s]++
		}
	case 14:
		_ = SkbHeaderRelease(s)
	case 15:
		pg, err := m.f.mem.AllocPages(0)
		if err != nil {
			return
		}
		off := n % 4096
		size := uint32(m.byte()) % (4096 - off + 1)
		if err := SkbAddRxFrag(s, int(s.Shinfo().NrFrags), pg, off, size, 4096); err != nil {
			_ = m.f.mem.PutPage(pg)
		}
	case 16:
		_ = SkbQueueTail(&m.q[n%2], s)
	case 17:
		_ = SkbQueueHeadLocked(&m.q[n%2], s)
	case 18:
		_ = SkbUnlink(s, &m.q[n%2])
	case 19:
		if q := s.List(); q != nil {
			if other := m.pick(); other != nil {
				_ = SkbAppend(s, other, q)
			}
		}
	case 20:
		if q := s.List(); q != nil {
			if other := m.pick(); other != nil {
				_ = SkbQueueBeforeLocked(q, s, other)
			}
		}
	case 21:
		if u, err := SkbUnshare(s); err == nil && u != s {
			m.refs[s]-- // skb_unshare consumed one reference to s
			m.forget()
			m.add(u, nil)
		}
	case 22:
		SkbDequeue(&m.q[n%2])
	case 23:
		SkbDequeueTail(&m.q[n%2])
	case 24:
		SkbQueueSplice(&m.q[n%2], &m.q[1-n%2])
	case 25:
		// Purge frees skbs with one user; the others lose one reference.
		for x := SkbPeek(&m.q[n%2]); x != nil; x = SkbPeekNext(x, &m.q[n%2]) {
			m.refs[x]--
		}
		_ = SkbQueuePurge(&m.q[n%2])
	}
	m.forget()
}

// check verifies the invariants of every live skb, every shared buffer,
// both queues, the page references and the slab counts.
func (m *fuzzMachine) check() {
	t := m.t
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %v: "+format, append([]any{m.steps}, args...)...)
	}
	sharers := map[*skbData]int{}
	pageRefs := map[slab.Addr]int{}
	fcloneSkbs := map[*skbFclones]bool{}
	headSkbs := 0
	for _, s := range m.live {
		if !(s.data <= s.tail && s.tail <= s.end) {
			fail("skb %s: data %d tail %d end %d", s.addr, s.data, s.tail, s.end)
		}
		if s.Len != SkbHeadlen(s)+s.DataLen || SkbHeadlen(s) != s.tail-s.data {
			fail("skb %s: len %d headlen %d data_len %d", s.addr, s.Len, SkbHeadlen(s), s.DataLen)
		}
		if int(s.users) != m.refs[s] {
			fail("skb %s: users %d, the test holds %d", s.addr, s.users, m.refs[s])
		}
		var frags uint32
		si := s.Shinfo()
		for i := 0; i < int(si.NrFrags); i++ {
			frags += si.Frags[i].Len
		}
		if frags != s.DataLen {
			fail("skb %s: frags hold %d bytes, data_len %d", s.addr, frags, s.DataLen)
		}
		if _, err := m.f.mem.Mem(s.Head(), s.end); err != nil {
			fail("skb %s: head not readable: %v", s.addr, err)
		}
		if !sharersSeen(sharers, s.shared) {
			for i := 0; i < int(si.NrFrags); i++ {
				pageRefs[si.Frags[i].Page]++
			}
		}
		sharers[s.shared]++
		if s.fc != nil {
			fcloneSkbs[s.fc] = true
		} else {
			headSkbs++
		}
	}
	for d, n := range sharers {
		ref := d.shinfo.dataref
		if int(ref&SKB_DATAREF_MASK) != n || ref>>SKB_DATAREF_SHIFT > ref&SKB_DATAREF_MASK {
			fail("buffer %s: dataref %#x with %d skbs on it", d.head, ref, n)
		}
	}
	for pg, n := range pageRefs {
		if got := m.f.mem.PageRef(pg); got != n {
			fail("page %s: %d references, %d buffers use it", pg, got, n)
		}
	}
	if _, bufs := m.f.h.Live(); bufs != int64(len(sharers)) {
		fail("%d data buffers live, %d in use", bufs, len(sharers))
	}
	if got := m.f.h.SkbuffCache().Stats().InUse; got != uint64(headSkbs) {
		fail("skbuff_head_cache: %d in use, %d skbs", got, headSkbs)
	}
	if got := m.f.h.FcloneCache().Stats().InUse; got != uint64(len(fcloneSkbs)) {
		fail("skbuff_fclone_cache: %d in use, %d pairs", got, len(fcloneSkbs))
	}
	queued := 0
	for i := range m.q {
		q := &m.q[i]
		var prev *SkBuff
		var n uint32
		for s := q.next; s != nil; s = s.next {
			if s.prev != prev || s.list != q || s.Freed() {
				fail("queue %d broken at %s", i, s.addr)
			}
			prev, n = s, n+1
		}
		if q.prev != prev || q.qlen != n || q.Locked {
			fail("queue %d: tail or qlen %d (walked %d) or lock wrong", i, q.qlen, n)
		}
		queued += int(n)
	}
	onList := 0
	for _, s := range m.live {
		if s.list != nil {
			onList++
		}
	}
	if onList != queued {
		fail("%d skbs think they are queued, the queues hold %d", onList, queued)
	}
}

func sharersSeen(m map[*skbData]int, d *skbData) bool { _, ok := m[d]; return ok }

// finish frees everything and checks that every cache is back to zero.
func (m *fuzzMachine) finish() {
	for i := range m.q {
		for x := SkbPeek(&m.q[i]); x != nil; x = SkbPeekNext(x, &m.q[i]) {
			m.refs[x]--
		}
		if err := SkbQueuePurge(&m.q[i]); err != nil {
			m.t.Fatal(err)
		}
	}
	m.forget()
	for _, s := range append([]*SkBuff(nil), m.live...) {
		for m.refs[s] > 0 {
			if err := KfreeSkb(s); err != nil {
				m.t.Fatal(err)
			}
			m.refs[s]--
		}
	}
	m.forget()
	m.f.checkAllFreed(m.t)
}

// FuzzSkbOperations applies random sequences of skb and queue operations
// and checks the invariants after each; at the end everything is freed and
// every cache must be back to zero.
func FuzzSkbOperations(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 2, 0, 0, 64, 3, 0, 0, 100, 4, 0, 0, 20, 7, 0, 8, 1, 11, 0})
	f.Add([]byte{1, 5, 200, 7, 0, 7, 0, 7, 1, 8, 2, 9, 0, 11, 1, 11, 2, 12, 0})
	f.Add([]byte{0, 1, 0, 15, 0, 0, 100, 50, 15, 0, 1, 0, 80, 9, 0, 10, 0, 0, 32, 4, 21, 0})
	f.Add([]byte{0, 0, 10, 0, 0, 10, 16, 0, 0, 0, 16, 1, 0, 0, 17, 0, 0, 1, 19, 0, 0, 24, 0, 0, 0, 25, 1, 0, 1})
	f.Add([]byte{1, 0, 0, 14, 0, 7, 0, 13, 1, 11, 1, 10, 0, 0, 10, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			in = in[:4096]
		}
		m := &fuzzMachine{t: t, f: newFixture(t), refs: map[*SkBuff]int{}, in: in}
		SkbQueueHeadInit(&m.q[0], m.f.tr, 0)
		SkbQueueHeadInit(&m.q[1], m.f.tr, 0)
		for len(m.in) > 0 {
			m.step()
			m.check()
		}
		m.finish()
	})
}
