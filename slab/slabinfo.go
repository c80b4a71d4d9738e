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

// SlabtopTotals are the sums slabtop's first lines show.
type SlabtopTotals struct {
	Objs, Active, Slabs  uint64
	Caches, ActiveCaches int
	Size, ActiveSize     float64 // bytes: the slabs' pages, the active objects
	MinObj, MaxObj       uint32
	AvgObj               float64 // bytes, over the active objects
}

// SumSlabtop adds up stats as slabtop does for its summary.
func SumSlabtop(stats []CacheStats) SlabtopTotals {
	t := SlabtopTotals{Caches: len(stats), MinObj: ^uint32(0)}
	for _, st := range stats {
		t.Objs += st.NumObjs
		t.Active += st.ActiveObjs
		t.Slabs += st.NumSlabs
		if st.ActiveObjs > 0 {
			t.ActiveCaches++
		}
		t.Size += float64(st.CacheSize())
		t.ActiveSize += float64(st.ActiveObjs * uint64(st.ObjSize))
		t.MinObj = min(t.MinObj, st.ObjSize)
		t.MaxObj = max(t.MaxObj, st.ObjSize)
	}
	if len(stats) == 0 {
		t.MinObj = 0
	}
	if t.Active > 0 {
		t.AvgObj = t.ActiveSize / float64(t.Active)
	}
	return t
}

// Lines are slabtop's five summary lines (without newlines).
func (t SlabtopTotals) Lines() []string {
	return []string{
		fmt.Sprintf(" Active / Total Objects (%% used)    : %d / %d (%.1f%%)", t.Active, t.Objs, pct(float64(t.Active), float64(t.Objs))),
		fmt.Sprintf(" Active / Total Slabs (%% used)      : %d / %d (%.1f%%)", t.Slabs, t.Slabs, pct(float64(t.Slabs), float64(t.Slabs))),
		fmt.Sprintf(" Active / Total Caches (%% used)     : %d / %d (%.1f%%)", t.ActiveCaches, t.Caches, pct(float64(t.ActiveCaches), float64(t.Caches))),
		fmt.Sprintf(" Active / Total Size (%% used)       : %.2fK / %.2fK (%.1f%%)", kib(uint64(t.ActiveSize)), t.Size/1024, pct(t.ActiveSize, t.Size)),
		fmt.Sprintf(" Minimum / Average / Maximum Object : %.2fK / %.2fK / %.2fK", kib(uint64(t.MinObj)), t.AvgObj/1024, kib(uint64(t.MaxObj))),
	}
}

// CacheSize is the bytes of the cache's slabs (slabtop's CACHE SIZE).
func (st CacheStats) CacheSize() uint64 {
	return st.NumSlabs * uint64(st.PagesPerSlab) * PageSize
}

// Use is the percentage of objects active (slabtop's USE).
func (st CacheStats) Use() float64 { return pct(float64(st.ActiveObjs), float64(st.NumObjs)) }

// SlabtopColumns are slabtop's column headers, in its order; NAME is last.
var SlabtopColumns = []string{"OBJS", "ACTIVE", "USE", "OBJ SIZE", "SLABS", "OBJ/SLAB", "CACHE SIZE", "NAME"}

// slabtopWidths are the columns' widths (NAME is not padded).
var slabtopWidths = []int{6, 6, 4, 8, 6, 8, 10, 0}

// SlabtopHeaderCells are the headers right-aligned to their columns'
// widths, as slabtop prints them; joined with spaces they are its header.
func SlabtopHeaderCells() []string {
	out := make([]string, len(SlabtopColumns))
	for i, h := range SlabtopColumns {
		out[i] = fmt.Sprintf("%*s", slabtopWidths[i], h)
	}
	return out
}

// SlabtopCells are st's cells under SlabtopColumns, each as wide as its
// header cell; joined with spaces they are slabtop's line.
func (st CacheStats) SlabtopCells() []string {
	return []string{
		fmt.Sprintf("%6d", st.NumObjs),
		fmt.Sprintf("%6d", st.ActiveObjs),
		fmt.Sprintf("%3.0f%%", st.Use()),
		fmt.Sprintf("%7.2fK", kib(uint64(st.ObjSize))),
		fmt.Sprintf("%6d", st.NumSlabs),
		fmt.Sprintf("%8d", st.ObjPerSlab),
		fmt.Sprintf("%9dK", st.CacheSize()/1024),
		st.Name,
	}
}

// SortSlabtop sorts stats by a slabtop column (descending, the name
// breaking ties; by name ascending), so listings are deterministic.
func SortSlabtop(stats []CacheStats, by SlabtopSort) {
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
			return st.Use()
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
}

// WriteSlabtop writes a slabtop-style summary and table, sorted by the
// given column (ties broken by name, so the output is deterministic).
func (a *Allocator) WriteSlabtop(w io.Writer, by SlabtopSort) error {
	caches := a.Caches()
	stats := make([]CacheStats, len(caches))
	for i, c := range caches {
		stats[i] = c.Stats()
	}
	SortSlabtop(stats, by)
	var b strings.Builder
	for _, l := range SumSlabtop(stats).Lines() {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n" + strings.Join(SlabtopHeaderCells(), " ") + "\n")
	for _, st := range stats {
		b.WriteString(strings.Join(st.SlabtopCells(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
