package slab

// slab is struct slab: 2^order page frames cut into objects.
type slab struct {
	cache    *KmemCache
	pfn      uint64 // first page frame
	base     Addr   // address of object 0
	objects  uint32
	inuse    uint32
	freelist []uint16 // free object indices; the last is handed out next
	used     []uint64 // bitmap of allocated objects
	onList   bool     // on the node's partial list
	prev     *slab
	next     *slab
}

// reset prepares s to describe a fresh slab at pfn with every object free,
// reusing its Go memory when it has enough.
func (s *slab) reset(c *KmemCache, pfn uint64) {
	s.cache = c
	s.pfn = pfn
	s.base = pfnToAddr(pfn)
	s.objects = c.objects
	s.inuse = 0
	s.onList = false
	s.prev, s.next = nil, nil
	n := int(c.objects)
	if cap(s.freelist) < n {
		s.freelist = make([]uint16, n)
	}
	s.freelist = s.freelist[:n]
	// A fresh slab hands out its objects in address order: index 0 first.
	for i := 0; i < n; i++ {
		s.freelist[i] = uint16(n - 1 - i)
	}
	words := (n + 63) / 64
	if cap(s.used) < words {
		s.used = make([]uint64, words)
	}
	s.used = s.used[:words]
	clear(s.used)
}

func (s *slab) isUsed(idx uint32) bool { return s.used[idx/64]&(1<<(idx%64)) != 0 }

// slabList is a list_head of slabs (kmem_cache_node.partial).
type slabList struct {
	head, tail *slab
	n          int
}

func (l *slabList) pushHead(s *slab) {
	s.prev, s.next = nil, l.head
	if l.head != nil {
		l.head.prev = s
	} else {
		l.tail = s
	}
	l.head = s
	s.onList = true
	l.n++
}

func (l *slabList) pushTail(s *slab) {
	s.prev, s.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = s
	} else {
		l.head = s
	}
	l.tail = s
	s.onList = true
	l.n++
}

func (l *slabList) remove(s *slab) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		l.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		l.tail = s.prev
	}
	s.prev, s.next = nil, nil
	s.onList = false
	l.n--
}

// spliceHead moves every slab of other to the front of l, keeping their
// order (list_splice).
func (l *slabList) spliceHead(other *slabList) {
	if other.head == nil {
		return
	}
	other.tail.next = l.head
	if l.head != nil {
		l.head.prev = other.tail
	} else {
		l.tail = other.tail
	}
	l.head = other.head
	l.n += other.n
	*other = slabList{}
}
