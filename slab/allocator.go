package slab

import (
	"fmt"

	"github.com/stackscope/stackscope/tracing"
)

// DefaultCPUs is the number of CPUs SLUB's geometry assumes unless told
// otherwise. It changes how many objects a slab aims for (calculate_order).
const DefaultCPUs = 2

// Config sets up an Allocator.
type Config struct {
	// CPUs is num_present_cpus() for calculate_order; 0 means DefaultCPUs.
	CPUs int
	// Tracer receives the allocator's trace points; nil means nobody listens.
	Tracer *tracing.Tracer
	// PageLimit caps the pages the page allocator hands out, to model
	// memory pressure; 0 means no limit.
	PageLimit uint64
}

// Allocator is one kernel's memory: its page allocator and slab caches.
// Like the rest of the kernel it is used from the kernel loop only.
type Allocator struct {
	cpus    int
	tr      *tracing.Tracer
	pages   pageAllocator
	caches  []*KmemCache // creation order; ids index it
	kmalloc [kmallocClasses]*KmemCache
	large   struct{ allocs, frees, pages uint64 }
}

// New boots an allocator: it sets up the page allocator and creates the
// kmalloc caches, as create_kmalloc_caches does.
func New(cfg Config) (*Allocator, error) {
	a := &Allocator{cpus: cfg.CPUs, tr: cfg.Tracer}
	if a.cpus <= 0 {
		a.cpus = DefaultCPUs
	}
	if a.tr == nil {
		a.tr = tracing.NewTracer(nil)
	}
	a.pages.init(cfg.PageLimit)
	if err := a.createKmallocCaches(); err != nil {
		return nil, err
	}
	return a, nil
}

// CPUs returns the CPU count the geometry was computed for.
func (a *Allocator) CPUs() int { return a.cpus }

// Tracer returns the tracer the allocator reports to.
func (a *Allocator) Tracer() *tracing.Tracer { return a.tr }

// KmemCacheCreate is kmem_cache_create: it makes a cache of objects of size
// bytes aligned to align (0: the default), with SLUB's geometry. ctor says
// whether the cache has a constructor (which moves SLUB's free pointer out
// of the object); the model does not run constructors.
func (a *Allocator) KmemCacheCreate(name string, size, align uint32, flags Flags, ctor bool) (*KmemCache, error) {
	a.tr.Enter3(fnKmemCacheCreate, tracing.Size(uint64(size)), tracing.Size(uint64(align)), tracing.Uint(uint64(flags)))
	c, err := a.kmemCacheCreate(name, size, align, flags, ctor)
	if err != nil {
		a.tr.Exit(fnKmemCacheCreate, tracing.Errno(-tracing.EINVAL))
		return nil, err
	}
	a.tr.Exit(fnKmemCacheCreate, tracing.Cache(uint64(c.id)))
	return c, nil
}

func (a *Allocator) kmemCacheCreate(name string, size, align uint32, flags Flags, ctor bool) (*KmemCache, error) {
	bad := func(msg string) error {
		return &Error{Op: "kmem_cache_create", Kind: ErrBadArgument, Cache: name, Size: uint64(size), Msg: msg}
	}
	if name == "" {
		return nil, bad("a cache needs a name")
	}
	if size == 0 || size > KmallocMaxSize {
		return nil, bad(fmt.Sprintf("object size %d is outside 1..%d", size, KmallocMaxSize))
	}
	if align&(align-1) != 0 {
		return nil, bad(fmt.Sprintf("alignment %d is not a power of two", align))
	}
	c := &KmemCache{
		id:         CacheID(len(a.caches)),
		name:       name,
		objectSize: size,
		flags:      flags,
		ctor:       ctor,
	}
	c.align = calculateAlignment(flags, align, size)
	if err := c.calculateSizes(a.cpus); err != nil {
		return nil, bad(err.Error())
	}
	a.caches = append(a.caches, c)
	return c, nil
}

// KmemCacheDestroy is kmem_cache_destroy: it releases an empty cache. A
// cache with objects still allocated is left alone and reported, as the
// kernel's "Objects remaining on __kmem_cache_shutdown()" does.
func (a *Allocator) KmemCacheDestroy(c *KmemCache) error {
	a.tr.Enter1(fnKmemCacheDestroy, tracing.Cache(uint64(c.id)))
	if c.stats.inUse != 0 {
		a.tr.Exit(fnKmemCacheDestroy, tracing.Errno(-tracing.EBUSY))
		return &Error{Op: "kmem_cache_destroy", Kind: ErrCacheBusy, Cache: c.name,
			Msg: fmt.Sprintf("%d objects remaining", c.stats.inUse)}
	}
	a.kmemCacheShrink(c)
	c.destroyed = true
	a.tr.Exit(fnKmemCacheDestroy, tracing.Arg{})
	return nil
}

// Caches returns the live caches in /proc/slabinfo order: newest first, as
// list_add puts each new cache at the head of slab_caches.
func (a *Allocator) Caches() []*KmemCache {
	out := make([]*KmemCache, 0, len(a.caches))
	for i := len(a.caches) - 1; i >= 0; i-- {
		if !a.caches[i].destroyed {
			out = append(out, a.caches[i])
		}
	}
	return out
}

// CacheByName returns the live cache with the given name (the newest if
// several share it).
func (a *Allocator) CacheByName(name string) (*KmemCache, bool) {
	for i := len(a.caches) - 1; i >= 0; i-- {
		if c := a.caches[i]; !c.destroyed && c.name == name {
			return c, true
		}
	}
	return nil, false
}

// CacheByID returns the cache with the given id.
func (a *Allocator) CacheByID(id CacheID) (*KmemCache, bool) {
	if int(id) >= len(a.caches) {
		return nil, false
	}
	return a.caches[id], true
}

// ArgString names caches in trace output (tracing.Resolver).
func (a *Allocator) ArgString(arg tracing.Arg) (string, bool) {
	if arg.Kind != tracing.ArgCache {
		return "", false
	}
	c, ok := a.CacheByID(CacheID(arg.Val))
	if !ok {
		return "", false
	}
	return c.name, true
}

// PagesInUse returns how many page frames are allocated.
func (a *Allocator) PagesInUse() uint64 { return a.pages.inUse }
