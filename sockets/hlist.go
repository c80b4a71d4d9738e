package sockets

// hnode is the link of an intrusive hlist (struct hlist_node): the element
// carries its own links, so adding and removing are O(1) and an element
// knows the chain it is on.
type hnode[T any] struct {
	next, prev *T
	on         bool
}

// hlist is struct hlist_head: a singly headed, doubly linked chain. New
// entries go at the head (hlist_add_head), which is why the newest socket
// is found first in a bucket.
type hlist[T any] struct {
	first *T
	n     int
}

func (l *hlist[T]) addHead(x *T, node func(*T) *hnode[T]) {
	nx := node(x)
	nx.prev, nx.next, nx.on = nil, l.first, true
	if l.first != nil {
		node(l.first).prev = x
	}
	l.first = x
	l.n++
}

func (l *hlist[T]) del(x *T, node func(*T) *hnode[T]) {
	nx := node(x)
	if !nx.on {
		return
	}
	if nx.prev != nil {
		node(nx.prev).next = nx.next
	} else {
		l.first = nx.next
	}
	if nx.next != nil {
		node(nx.next).prev = nx.prev
	}
	nx.prev, nx.next, nx.on = nil, nil, false
	l.n--
}

// each calls fn for each entry from the head until fn returns false.
func (l *hlist[T]) each(node func(*T) *hnode[T], fn func(*T) bool) {
	for x := l.first; x != nil; {
		next := node(x).next
		if !fn(x) {
			return
		}
		x = next
	}
}

// replace puts x where old is on the chain and takes old off it
// (hlist_replace_rcu): x keeps old's place, ahead of the entries behind it.
func (l *hlist[T]) replace(old, x *T, node func(*T) *hnode[T]) {
	no, nx := node(old), node(x)
	if !no.on {
		l.addHead(x, node)
		return
	}
	nx.prev, nx.next, nx.on = no.prev, no.next, true
	if no.prev != nil {
		node(no.prev).next = x
	} else {
		l.first = x
	}
	if no.next != nil {
		node(no.next).prev = x
	}
	no.prev, no.next, no.on = nil, nil, false
}
