package skb

import (
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// SkBuffHead is struct sk_buff_head: a doubly linked queue of skbs with its
// length and a lock. The kernel's list is circular through the head; here
// the ends are nil, which nobody outside this file can tell.
//
// Naming: the kernel's double-underscore variants, which expect the caller
// to hold the lock (TCP holds the socket lock instead), carry a Locked
// suffix here: __skb_queue_tail is SkbQueueTailLocked. The plain functions
// (skb_queue_tail = SkbQueueTail) take list->lock themselves around the
// same operation; the kernel loop is single-threaded, so the lock shows
// only in traces, as a nested call, and in the Locked field.
//
// Misuse the kernel would not notice until memory was corrupt (queueing an
// skb that is on a queue, unlinking it from a queue it is not on) is
// refused with an error and the queue is left alone.
type SkBuffHead struct {
	next, prev *SkBuff
	qlen       uint32
	// Addr is the queue's kernel address (inside its socket), shown in
	// traces; 0 if the owner gave none.
	Addr slab.Addr
	// Locked is true while a locked operation holds list->lock.
	Locked bool
	tr     *tracing.Tracer
}

// SkbQueueHeadInit is skb_queue_head_init: an empty queue. tr receives its
// trace points (nil: none); addr is its kernel address for display.
func SkbQueueHeadInit(list *SkBuffHead, tr *tracing.Tracer, addr slab.Addr) {
	*list = SkBuffHead{Addr: addr, tr: tr}
}

var noTracer tracing.Tracer // never subscribed to: a tracer nobody listens to

func (l *SkBuffHead) tracer() *tracing.Tracer {
	if l.tr == nil {
		return &noTracer
	}
	return l.tr
}

func (l *SkBuffHead) arg() tracing.Arg { return tracing.List(uint64(l.Addr)) }

// SkbQueueLen is skb_queue_len.
func SkbQueueLen(list *SkBuffHead) uint32 { return list.qlen }

// SkbQueueEmpty is skb_queue_empty.
func SkbQueueEmpty(list *SkBuffHead) bool { return list.qlen == 0 }

// SkbPeek is skb_peek: the first skb without removing it, or nil.
func SkbPeek(list *SkBuffHead) *SkBuff {
	tr := list.tracer()
	tr.Enter1(fnSkbPeek, list.arg())
	s := list.next
	tr.Exit(fnSkbPeek, skbArg(s))
	return s
}

// SkbPeekTail is skb_peek_tail: the last skb without removing it, or nil.
func SkbPeekTail(list *SkBuffHead) *SkBuff {
	tr := list.tracer()
	tr.Enter1(fnSkbPeekTail, list.arg())
	s := list.prev
	tr.Exit(fnSkbPeekTail, skbArg(s))
	return s
}

// SkbPeekNext is skb_peek_next: the skb after s on list, or nil.
func SkbPeekNext(s *SkBuff, list *SkBuffHead) *SkBuff {
	if s.list != list {
		return nil
	}
	return s.next
}

// SkbQueuePrev is skb_queue_prev: the skb before s on list, or nil when
// s is the first (or not on list).
func SkbQueuePrev(s *SkBuff, list *SkBuffHead) *SkBuff {
	if s.list != list {
		return nil
	}
	return s.prev
}

// SkbQueueWalk is skb_queue_walk: call fn for each skb from head to tail
// until it returns false. fn must not change the queue.
func SkbQueueWalk(list *SkBuffHead, fn func(*SkBuff) bool) {
	for s := list.next; s != nil; s = s.next {
		if !fn(s) {
			return
		}
	}
}

// checkNew refuses an skb that is freed or already on a queue.
func checkNew(op string, list *SkBuffHead, newsk *SkBuff) *Error {
	switch {
	case newsk == nil:
		return &Error{Op: op, Msg: "no skb given", errno: -tracing.EINVAL}
	case newsk.freed:
		return errFreed(op, newsk)
	case newsk.list != nil:
		where := "another queue"
		if newsk.list == list {
			where = "this queue"
		}
		return errBug(op, "", newsk, "the skb is already on %s; unlink it first (a buffer cannot be on two lists)", where)
	}
	return nil
}

// checkMember refuses an skb that is not on list.
func checkMember(op string, list *SkBuffHead, s *SkBuff) *Error {
	if s == nil {
		return &Error{Op: op, Msg: "no skb given", errno: -tracing.EINVAL}
	}
	if s.list != list {
		return errBug(op, "", s, "the skb is not on this queue")
	}
	return nil
}

// insert is __skb_insert: link newsk between prev and next (either may be
// nil at an end).
func insert(newsk, prev, next *SkBuff, list *SkBuffHead) {
	newsk.prev, newsk.next = prev, next
	if prev != nil {
		prev.next = newsk
	} else {
		list.next = newsk
	}
	if next != nil {
		next.prev = newsk
	} else {
		list.prev = newsk
	}
	newsk.list = list
	list.qlen++
}

// unlink is __skb_unlink.
func unlink(s *SkBuff, list *SkBuffHead) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		list.next = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		list.prev = s.prev
	}
	s.next, s.prev, s.list = nil, nil, nil
	list.qlen--
}

// traced runs an unlocked queue operation between its entry and exit trace
// points.
func traced(list *SkBuffHead, fn tracing.FuncID, s *SkBuff, op func() *Error) error {
	tr := list.tracer()
	tr.Enter2(fn, list.arg(), skbArg(s))
	if err := op(); err != nil {
		tr.Exit(fn, tracing.Errno(err.errno))
		return err
	}
	tr.Exit(fn, tracing.Arg{})
	return nil
}

// locked runs a locked queue operation: spin_lock_irqsave, the unlocked
// variant, spin_unlock_irqrestore.
func locked(list *SkBuffHead, fn tracing.FuncID, s *SkBuff, inner func() error) error {
	tr := list.tracer()
	tr.Enter2(fn, list.arg(), skbArg(s))
	list.Locked = true
	err := inner()
	list.Locked = false
	if err != nil {
		tr.Exit(fn, tracing.Errno(err.(*Error).errno))
		return err
	}
	tr.Exit(fn, tracing.Arg{})
	return nil
}

// SkbQueueHeadLocked is __skb_queue_head: put newsk at the front. The
// caller holds the queue's lock (for TCP: the socket lock).
func SkbQueueHeadLocked(list *SkBuffHead, newsk *SkBuff) error {
	return traced(list, fnSkbQueueHeadU, newsk, func() *Error {
		if err := checkNew("__skb_queue_head", list, newsk); err != nil {
			return err
		}
		insert(newsk, nil, list.next, list)
		return nil
	})
}

// SkbQueueTailLocked is __skb_queue_tail: put newsk at the end. The caller
// holds the queue's lock.
func SkbQueueTailLocked(list *SkBuffHead, newsk *SkBuff) error {
	return traced(list, fnSkbQueueTailU, newsk, func() *Error {
		if err := checkNew("__skb_queue_tail", list, newsk); err != nil {
			return err
		}
		insert(newsk, list.prev, nil, list)
		return nil
	})
}

// SkbQueueHead is skb_queue_head: __skb_queue_head under the queue's lock.
func SkbQueueHead(list *SkBuffHead, newsk *SkBuff) error {
	return locked(list, fnSkbQueueHead, newsk, func() error { return SkbQueueHeadLocked(list, newsk) })
}

// SkbQueueTail is skb_queue_tail: __skb_queue_tail under the queue's lock.
func SkbQueueTail(list *SkBuffHead, newsk *SkBuff) error {
	return locked(list, fnSkbQueueTail, newsk, func() error { return SkbQueueTailLocked(list, newsk) })
}

// SkbDequeueLocked is __skb_dequeue: remove and return the first skb, or
// nil. The caller holds the lock.
func SkbDequeueLocked(list *SkBuffHead) *SkBuff {
	tr := list.tracer()
	tr.Enter1(fnSkbDequeueU, list.arg())
	s := list.next
	if s != nil {
		unlink(s, list)
	}
	tr.Exit(fnSkbDequeueU, skbArg(s))
	return s
}

// SkbDequeueTailLocked is __skb_dequeue_tail: remove and return the last
// skb, or nil. The caller holds the lock.
func SkbDequeueTailLocked(list *SkBuffHead) *SkBuff {
	tr := list.tracer()
	tr.Enter1(fnSkbDequeueTailU, list.arg())
	s := list.prev
	if s != nil {
		unlink(s, list)
	}
	tr.Exit(fnSkbDequeueTailU, skbArg(s))
	return s
}

// SkbDequeue is skb_dequeue: __skb_dequeue under the lock.
func SkbDequeue(list *SkBuffHead) *SkBuff {
	tr := list.tracer()
	tr.Enter1(fnSkbDequeue, list.arg())
	list.Locked = true
	s := SkbDequeueLocked(list)
	list.Locked = false
	tr.Exit(fnSkbDequeue, skbArg(s))
	return s
}

// SkbDequeueTail is skb_dequeue_tail: __skb_dequeue_tail under the lock.
func SkbDequeueTail(list *SkBuffHead) *SkBuff {
	tr := list.tracer()
	tr.Enter1(fnSkbDequeueTail, list.arg())
	list.Locked = true
	s := SkbDequeueTailLocked(list)
	list.Locked = false
	tr.Exit(fnSkbDequeueTail, skbArg(s))
	return s
}

// SkbUnlinkLocked is __skb_unlink: take s off list. The caller holds the
// lock.
func SkbUnlinkLocked(s *SkBuff, list *SkBuffHead) error {
	return traced(list, fnSkbUnlinkU, s, func() *Error {
		if err := checkMember("__skb_unlink", list, s); err != nil {
			return err
		}
		unlink(s, list)
		return nil
	})
}

// SkbUnlink is skb_unlink: __skb_unlink under the lock.
func SkbUnlink(s *SkBuff, list *SkBuffHead) error {
	return locked(list, fnSkbUnlink, s, func() error { return SkbUnlinkLocked(s, list) })
}

// SkbQueueAfterLocked is __skb_queue_after: put newsk right after prev, which is
// on list. The caller holds the lock.
func SkbQueueAfterLocked(list *SkBuffHead, prev, newsk *SkBuff) error {
	return traced(list, fnSkbQueueAfter, newsk, func() *Error {
		if err := checkMember("__skb_queue_after", list, prev); err != nil {
			return err
		}
		if err := checkNew("__skb_queue_after", list, newsk); err != nil {
			return err
		}
		insert(newsk, prev, prev.next, list)
		return nil
	})
}

// SkbQueueBeforeLocked is __skb_queue_before: put newsk right before next, which
// is on list. The caller holds the lock.
func SkbQueueBeforeLocked(list *SkBuffHead, next, newsk *SkBuff) error {
	return traced(list, fnSkbQueueBefore, newsk, func() *Error {
		if err := checkMember("__skb_queue_before", list, next); err != nil {
			return err
		}
		if err := checkNew("__skb_queue_before", list, newsk); err != nil {
			return err
		}
		insert(newsk, next.prev, next, list)
		return nil
	})
}

// SkbInsertLocked is __skb_insert: link newsk between prev and next, which must
// be neighbours on list (nil stands for the list's end on either side).
// The caller holds the lock.
func SkbInsertLocked(newsk, prev, next *SkBuff, list *SkBuffHead) error {
	return traced(list, fnSkbInsertU, newsk, func() *Error {
		if err := checkNew("__skb_insert", list, newsk); err != nil {
			return err
		}
		okPrev := (prev == nil && list.next == next) || (prev != nil && prev.list == list && prev.next == next)
		okNext := next == nil || (next.list == list && next.prev == prev)
		if !okPrev || !okNext {
			return errBug("__skb_insert", "", newsk, "prev and next are not neighbours on this queue")
		}
		insert(newsk, prev, next, list)
		return nil
	})
}

// SkbAppend is skb_append: __skb_queue_after under the lock. It replaced
// skb_insert, which older kernels (and older textbooks) have; modern
// kernels removed the locked skb_insert.
func SkbAppend(old, newsk *SkBuff, list *SkBuffHead) error {
	return locked(list, fnSkbAppend, newsk, func() error { return SkbQueueAfterLocked(list, old, newsk) })
}

// SkbQueuePurge is skb_queue_purge: dequeue every skb and free it with
// SKB_DROP_REASON_QUEUE_PURGE. It returns the first error of a free, if
// any, after emptying the queue.
func SkbQueuePurge(list *SkBuffHead) error {
	tr := list.tracer()
	tr.Enter1(fnSkbQueuePurge, list.arg())
	var first error
	for s := SkbDequeue(list); s != nil; s = SkbDequeue(list) {
		if err := KfreeSkbReason(s, SKB_DROP_REASON_QUEUE_PURGE); err != nil && first == nil {
			first = err
		}
	}
	tr.Exit(fnSkbQueuePurge, tracing.Arg{})
	return first
}

// splice moves all of list into head between prev and next.
func splice(list, head *SkBuffHead, prev, next *SkBuff) {
	for s := list.next; s != nil; s = s.next {
		s.list = head
	}
	first, last := list.next, list.prev
	first.prev = prev
	last.next = next
	if prev != nil {
		prev.next = first
	} else {
		head.next = first
	}
	if next != nil {
		next.prev = last
	} else {
		head.prev = last
	}
	head.qlen += list.qlen
	list.next, list.prev, list.qlen = nil, nil, 0
}

// SkbQueueSplice is skb_queue_splice: move every skb of list to the front
// of head. The kernel leaves list's own pointers stale (callers that reuse
// it call skb_queue_splice_init); the model always leaves list empty.
func SkbQueueSplice(list, head *SkBuffHead) {
	tr := head.tracer()
	tr.Enter2(fnSkbQueueSplice, list.arg(), head.arg())
	if list != head && list.qlen > 0 {
		splice(list, head, nil, head.next)
	}
	tr.Exit(fnSkbQueueSplice, tracing.Arg{})
}

// SkbQueueSpliceTail is skb_queue_splice_tail: move every skb of list to
// the end of head, leaving list empty.
func SkbQueueSpliceTail(list, head *SkBuffHead) {
	tr := head.tracer()
	tr.Enter2(fnSkbQueueSpliceTail, list.arg(), head.arg())
	if list != head && list.qlen > 0 {
		splice(list, head, head.prev, nil)
	}
	tr.Exit(fnSkbQueueSpliceTail, tracing.Arg{})
}

// List returns the queue the skb is on, or nil.
func (s *SkBuff) List() *SkBuffHead { return s.list }
