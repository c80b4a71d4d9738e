package slab

import (
	"fmt"

	"github.com/stackscope/stackscope/tracing"
)

// ErrorKind classifies what went wrong.
type ErrorKind uint8

const (
	// ErrNoMemory: the page allocator had no pages left (the kernel would
	// return NULL; callers see -ENOMEM).
	ErrNoMemory ErrorKind = iota + 1
	// ErrDoubleFree: the object was already free.
	ErrDoubleFree
	// ErrWrongCache: the object belongs to another cache.
	ErrWrongCache
	// ErrNotObject: the address is not the start of a slab object.
	ErrNotObject
	// ErrUseAfterFree: the object (or its whole slab) has been freed.
	ErrUseAfterFree
	// ErrBadArgument: a size or flag the kernel would refuse.
	ErrBadArgument
	// ErrCacheBusy: kmem_cache_destroy with objects still allocated.
	ErrCacheBusy
)

func (k ErrorKind) String() string {
	switch k {
	case ErrNoMemory:
		return "out of memory"
	case ErrDoubleFree:
		return "double free"
	case ErrWrongCache:
		return "wrong cache"
	case ErrNotObject:
		return "not a slab object"
	case ErrUseAfterFree:
		return "use after free"
	case ErrBadArgument:
		return "invalid argument"
	case ErrCacheBusy:
		return "cache busy"
	}
	return fmt.Sprintf("error(%d)", uint8(k))
}

// Error is what the model reports where the kernel would return NULL or
// BUG. The allocator counts it and keeps going; nothing is corrupted.
type Error struct {
	Op    string // kernel function, e.g. "kmem_cache_free"
	Kind  ErrorKind
	Cache string // the cache the caller named, if any
	Owner string // the cache the object really belongs to (ErrWrongCache)
	Addr  Addr
	Size  uint64 // the size asked for (ErrNoMemory, ErrBadArgument)
	Msg   string // extra detail
}

func (e *Error) Error() string {
	switch e.Kind {
	case ErrNoMemory:
		return fmt.Sprintf("%s(%s, %d bytes): out of memory: the page allocator's limit is reached", e.Op, e.Cache, e.Size)
	case ErrDoubleFree:
		return fmt.Sprintf("%s(%s): double free of object %s: it is already free", e.Op, e.Cache, e.Addr)
	case ErrWrongCache:
		return fmt.Sprintf("%s(%s): object %s belongs to cache %s, not %s", e.Op, e.Cache, e.Addr, e.Owner, e.Cache)
	case ErrNotObject:
		return fmt.Sprintf("%s(%s): %s is not the start of a slab object: %s", e.Op, e.Cache, e.Addr, e.Msg)
	case ErrUseAfterFree:
		return fmt.Sprintf("%s(%s): use after free of object %s", e.Op, e.Cache, e.Addr)
	case ErrCacheBusy:
		return fmt.Sprintf("%s(%s): %s", e.Op, e.Cache, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Op, e.Msg)
}

// Errno returns the negative errno a kernel caller would see.
func (e *Error) Errno() int64 {
	switch e.Kind {
	case ErrNoMemory:
		return -tracing.ENOMEM
	case ErrCacheBusy:
		return -tracing.EBUSY
	case ErrUseAfterFree, ErrNotObject:
		return -tracing.EFAULT
	}
	return -tracing.EINVAL
}
