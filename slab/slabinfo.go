package slab

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// CacheStats is one cache's numbers: the /proc/slabinfo columns plus the
// model's own counters.
type CacheStats struct {
	Name         string `json:"name"`
	ActiveObjs   uint64 `json:"active_objs"` // as /proc/slabinfo counts them (CPU slab objects count as active)
	NumObjs      uint64 `json:"num_objs"`
	ObjSize      uint32 `json:"objsize"`     // s->size, the <objsize> column
	ObjectSize   uint32 `json:"object_size"` // object_size, what the creator asked for
	ObjPerSlab   uint32 `json:"objperslab"`
	PagesPerSlab uint32 `json:"pagesperslab"`
	ActiveSlabs  uint64 `json:"active_slabs"` // SLUB: always equal to NumSlabs
	NumSlabs     uint64 `json:"num_slabs"`
	PartialSlabs int    `json:"nr_partial"`

	InUse          uint64 `json:"in_use"` // objects allocated right now, exactly
	Allocs         uint64 `json:"allocs"`
	Frees          uint64 `json:"frees"`
	AllocFail      uint64 `json:"alloc_fail"`
	SlabsAllocated uint64 `json:"slabs_allocated"`
	SlabsFreed     uint64 `json:"slabs_freed"`
	DoubleFree     uint64 `json:"double_free"`
	WrongCache     uint64 `json:"wrong_cache"`
	InvalidFree    uint64 `json:"invalid_free"`
	UseAfterFree   uint64 `json:"use_after_free"`
}

// Stats returns c's statistics, computed as SLUB's get_slabinfo does:
// active_objs is every object minus the free ones on the partial list.
func (c *KmemCache) Stats() CacheStats {
	var partialFree uint64
	for s := c.partial.head; s != nil; s = s.next {
		partialFree += uint64(s.objects - s.inuse)
	}
	return CacheStats{
		Name:           c.name,
		ActiveObjs:     c.nrObjs - partialFree,
		NumObjs:        c.nrObjs,
		ObjSize:        c.size,
		ObjectSize:     c.objectSize,
		ObjPerSlab:     c.objects,
		PagesPerSlab:   1 << c.order,
		ActiveSlabs:    c.nrSlabs,
		NumSlabs:       c.nrSlabs,
		PartialSlabs:   c.partial.n,
		InUse:          c.stats.inUse,
		Allocs:         c.stats.allocs,
		Frees:          c.stats.frees,
		AllocFail:      c.stats.allocFail,
		SlabsAllocated: c.stats.slabsAllocated,
		SlabsFreed:     c.stats.slabsFreed,
		DoubleFree:     c.stats.doubleFree,
		WrongCache:     c.stats.wrongCache,
		InvalidFree:    c.stats.invalid,
		UseAfterFree:   c.stats.useAfter,
	}
}

// SlabinfoHeader is the two header lines of /proc/slabinfo version 2.1.
const SlabinfoHeader = "slabinfo - version: 2.1\n" +
	"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>" +
	" : tunables <limit> <batchcount> <sharedfactor>" +
	" : slabdata <active_slabs> <num_slabs> <sharedavail>\n"

// SlabinfoLine formats one cache as cache_show (mm/slab_common.c) does.
// Under SLUB the tunables and sharedavail are always 0.
func (st CacheStats) SlabinfoLine() string {
	return fmt.Sprintf("%-17s %6d %6d %6d %4d %4d : tunables %4d %4d %4d : slabdata %6d %6d %6d\n",
		st.Name, st.ActiveObjs, st.NumObjs, st.ObjSize, st.ObjPerSlab, st.PagesPerSlab,
		0, 0, 0, st.ActiveSlabs, st.NumSlabs, 0)
}

// WriteSlabinfo writes what `cat /proc/slabinfo` would print.
func (a *Allocator) WriteSlabinfo(w io.Writer) error {
	var b strings.Builder
	b.WriteString(SlabinfoHeader)
	for _, c := range a.Caches() {
		b.WriteString(c.Stats().SlabinfoLine())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// SlabtopSort names the column a slabtop listing is sorted by, as slabtop's
// --sort letters do.
type SlabtopSort byte

const (
	SortObjs      SlabtopSort = 'o' // number of objects (slabtop's default)
	SortActive    SlabtopSort = 'a' // active objects
	SortCacheSize SlabtopSort = 'c' // cache size
	SortName      SlabtopSort = 'n' // name
	SortSlabs     SlabtopSort = 's' // number of slabs
	SortObjSize   SlabtopSort = 'S' // object size
	SortUse       SlabtopSort = 'u' // cache utilisation
)

// ParseSlabtopSort accepts slabtop's sort letters.
func ParseSlabtopSort(s string) (SlabtopSort, error) {
	if len(s) == 1 {
		switch k := SlabtopSort(s[0]); k {
		case SortObjs, SortActive, SortCacheSize, SortName, SortSlabs, SortObjSize, SortUse:
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown sort %q: use one of o (objects), a (active), c (cache size), n (name), s (slabs), S (object size), u (use)", s)
}

func kib(bytes uint64) float64 { return float64(bytes) / 1024 }

func pct(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * part / whole
}

// WriteSlabtop writes a slabtop-style summary and table, sorted by the
// given column (ties broken by name, so the output is deterministic).
func (a *Allocator) WriteSlabtop(w io.Writer, by SlabtopSort) error {
	caches := a.Caches()
	stats := make([]CacheStats, len(caches))
	var objs, active, slabs, activeCaches uint64
	var size, activeSize float64
	minObj, maxObj := ^uint32(0), uint32(0)
	for i, c := range caches {
		st := c.Stats()
		stats[i] = st
		objs += st.NumObjs
		active += st.ActiveObjs
		slabs += st.NumSlabs
		if st.ActiveObjs > 0 {
			activeCaches++
		}
		size += float64(st.NumSlabs * uint64(st.PagesPerSlab) * PageSize)
		activeSize += float64(st.ActiveObjs * uint64(st.ObjSize))
		minObj = min(minObj, st.ObjSize)
		maxObj = max(maxObj, st.ObjSize)
	}
	if len(stats) == 0 {
		minObj = 0
	}
	avgObj := 0.0
	if active > 0 {
		avgObj = activeSize / float64(active)
	}
	key := func(st CacheStats) float64 {
		switch by {
		case SortActive:
			return float64(st.ActiveObjs)
		case SortCacheSize:
			return float64(st.NumSlabs * uint64(st.PagesPerSlab))
		case SortSlabs:
			return float64(st.NumSlabs)
		case SortObjSize:
			return float64(st.ObjSize)
		case SortUse:
			return pct(float64(st.ActiveObjs), float64(st.NumObjs))
		}
		return float64(st.NumObjs)
	}
	slices.SortStableFunc(stats, func(x, y CacheStats) int {
		if by == SortName {
			return strings.Compare(x.Name, y.Name)
		}
		if c := cmp.Compare(key(y), key(x)); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})

	var b strings.Builder
	fmt.Fprintf(&b, " Active / Total Objects (%% used)    : %d / %d (%.1f%%)\n", active, objs, pct(float64(active), float64(objs)))
	fmt.Fprintf(&b, " Active / Total Slabs (%% used)      : %d / %d (%.1f%%)\n", slabs, slabs, pct(float64(slabs), float64(slabs)))
	fmt.Fprintf(&b, " Active / Total Caches (%% used)     : %d / %d (%.1f%%)\n", activeCaches, len(stats), pct(float64(activeCaches), float64(len(stats))))
	fmt.Fprintf(&b, " Active / Total Size (%% used)       : %.2fK / %.2fK (%.1f%%)\n", kib(uint64(activeSize)), size/1024, pct(activeSize, size))
	fmt.Fprintf(&b, " Minimum / Average / Maximum Object : %.2fK / %.2fK / %.2fK\n\n", kib(uint64(minObj)), avgObj/1024, kib(uint64(maxObj)))
	b.WriteString("  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME\n")
	for _, st := range stats {
		cacheSize := st.NumSlabs * uint64(st.PagesPerSlab) * PageSize / 1024
		fmt.Fprintf(&b, "%6d %6d %3.0f%% %7.2fK %6d %8d %9dK %s\n",
			st.NumObjs, st.ActiveObjs, pct(float64(st.ActiveObjs), float64(st.NumObjs)),
			kib(uint64(st.ObjSize)), st.NumSlabs, st.ObjPerSlab, cacheSize, st.Name)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
