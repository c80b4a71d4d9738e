package slab

import (
	"strings"
	"testing"
)

// Object sizes for the socket caches: the model's structs are not the
// kernel's, so these are chosen so that SLUB's own arithmetic (word
// alignment, the free pointer behind RCU objects, cache-line alignment)
// lands on the slot sizes of the reference 6.x machine (KERNEL.md §11).
const (
	testTCPObject    = 2304 // -> 2368 in slabinfo
	testReqObject    = 296  // -> 320
	testTwsockObject = 240  // -> 256
)

const socketFlags = SLAB_HWCACHE_ALIGN | SLAB_TYPESAFE_BY_RCU | SLAB_ACCOUNT

func newTestAllocator(t testing.TB, cfg Config) *Allocator {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// TestSlubGeometryOnTwoCPUs pins the vectors: object size ->
// objects per slab and pages per slab, as a 2-CPU 6.x machine shows them.
func TestSlubGeometryOnTwoCPUs(t *testing.T) {
	a := newTestAllocator(t, Config{})
	tests := []struct {
		name        string
		object      uint32
		flags       Flags
		wantSize    uint32
		wantObjs    uint32
		wantPages   uint32
		fromKmalloc bool
	}{
		{name: "TCP", object: testTCPObject, flags: socketFlags, wantSize: 2368, wantObjs: 13, wantPages: 8},
		{name: "request_sock_TCP", object: testReqObject, flags: socketFlags, wantSize: 320, wantObjs: 12, wantPages: 1},
		{name: "tw_sock_TCP", object: testTwsockObject, flags: socketFlags, wantSize: 256, wantObjs: 16, wantPages: 1},
		{name: "kmalloc-8k", wantSize: 8192, wantObjs: 4, wantPages: 8, fromKmalloc: true},
		{name: "kmalloc-1k", wantSize: 1024, wantObjs: 16, wantPages: 4, fromKmalloc: true},
		{name: "kmalloc-512", wantSize: 512, wantObjs: 16, wantPages: 2, fromKmalloc: true},
		{name: "kmalloc-192", wantSize: 192, wantObjs: 21, wantPages: 1, fromKmalloc: true},
		{name: "kmalloc-96", wantSize: 96, wantObjs: 42, wantPages: 1, fromKmalloc: true},
		{name: "kmalloc-8", wantSize: 8, wantObjs: 512, wantPages: 1, fromKmalloc: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *KmemCache
			if tt.fromKmalloc {
				var ok bool
				if c, ok = a.CacheByName(tt.name); !ok {
					t.Fatalf("no cache %s after boot", tt.name)
				}
			} else {
				var err error
				if c, err = a.KmemCacheCreate(tt.name, tt.object, 0, tt.flags, false); err != nil {
					t.Fatal(err)
				}
			}
			if c.Size() != tt.wantSize || c.ObjectsPerSlab() != tt.wantObjs || c.PagesPerSlab() != tt.wantPages {
				t.Errorf("%s: size %d, %d objects per %d-page slab; want %d, %d per %d",
					tt.name, c.Size(), c.ObjectsPerSlab(), c.PagesPerSlab(), tt.wantSize, tt.wantObjs, tt.wantPages)
			}
		})
	}
}

// TestCalculateOrderDependsOnCPUCount: SLUB aims for 4*(fls(cpus)+1)
// objects per slab, so more CPUs mean bigger slabs.
func TestCalculateOrderDependsOnCPUCount(t *testing.T) {
	tests := []struct {
		cpus      int
		size      uint32
		wantOrder uint8
	}{
		{1, 1024, 1},  // min_objects 8: 8 KiB
		{2, 1024, 2},  // min_objects 12: 16 KiB
		{8, 1024, 3},  // min_objects 20: 32 KiB
		{64, 1024, 3}, // capped by slub_max_order
		{2, 2368, 3},
		{2, 8, 0},
		{2, 4096, 3},
		{2, 64 << 10, 4}, // larger than slub_max_order allows: get_order(size)
	}
	for _, tt := range tests {
		got, err := calculateOrder(tt.size, tt.cpus)
		if err != nil {
			t.Fatalf("calculateOrder(%d, %d): %v", tt.size, tt.cpus, err)
		}
		if got != tt.wantOrder {
			t.Errorf("calculateOrder(%d bytes, %d CPUs) = %d, want %d", tt.size, tt.cpus, got, tt.wantOrder)
		}
	}
}

// TestFreePointerPlacement: RCU and constructor caches keep the free
// pointer behind the object (which grows the slot); others in the middle.
func TestFreePointerPlacement(t *testing.T) {
	a := newTestAllocator(t, Config{})
	plain, err := a.KmemCacheCreate("plain", 100, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	rcu, err := a.KmemCacheCreate("rcu", 100, 0, SLAB_TYPESAFE_BY_RCU, false)
	if err != nil {
		t.Fatal(err)
	}
	ctor, err := a.KmemCacheCreate("ctor", 100, 0, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Size() != 104 || plain.FreePointerOffset() != 48 {
		t.Errorf("plain: size %d offset %d, want 104 and 48", plain.Size(), plain.FreePointerOffset())
	}
	for _, c := range []*KmemCache{rcu, ctor} {
		if c.Size() != 112 || c.FreePointerOffset() != 104 {
			t.Errorf("%s: size %d offset %d, want 112 and 104", c.Name(), c.Size(), c.FreePointerOffset())
		}
	}
}

// TestHWCacheAlignHalvesForSmallObjects follows calculate_alignment: a
// cache-line aligned cache of 20-byte objects aligns to 32, not 64.
func TestHWCacheAlignHalvesForSmallObjects(t *testing.T) {
	a := newTestAllocator(t, Config{})
	for _, tt := range []struct{ size, align uint32 }{{20, 32}, {16, 16}, {33, 64}, {232, 64}} {
		c, err := a.KmemCacheCreate("x", tt.size, 0, SLAB_HWCACHE_ALIGN, false)
		if err != nil {
			t.Fatal(err)
		}
		if c.Align() != tt.align {
			t.Errorf("size %d: align %d, want %d", tt.size, c.Align(), tt.align)
		}
	}
}

// TestSlabinfoLineMatchesARealMachine compares with a line read from
// /proc/slabinfo on a 2-CPU 6.x machine with 26 TCP sockets.
func TestSlabinfoLineMatchesARealMachine(t *testing.T) {
	const real = "TCP                   26     26   2368   13    8 : tunables    0    0    0 : slabdata      2      2      0\n"
	a := newTestAllocator(t, Config{})
	c, err := a.KmemCacheCreate("TCP", testTCPObject, 0, socketFlags, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 26; i++ {
		if _, err := a.KmemCacheAlloc(c); err != nil {
			t.Fatal(err)
		}
	}
	got := c.Stats().SlabinfoLine()
	if got != real {
		t.Errorf("slabinfo line\n got %q\nwant %q", got, real)
	}
	var b strings.Builder
	if err := a.WriteSlabinfo(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "slabinfo - version: 2.1" || !strings.HasPrefix(lines[1], "# name            <active_objs>") {
		t.Errorf("header: %q / %q", lines[0], lines[1])
	}
	// The newest cache comes first, the first kmalloc cache created last.
	if lines[2]+"\n" != real || !strings.HasPrefix(lines[len(lines)-2], "kmalloc-96 ") {
		t.Errorf("order: first %q, last %q", lines[2], lines[len(lines)-2])
	}
}
