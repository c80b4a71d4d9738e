package slab

import "testing"

// BenchmarkKmemCacheAllocFree is kmem_cache_alloc + kmem_cache_free of a
// TCP socket object in steady state.
func BenchmarkKmemCacheAllocFree(b *testing.B) {
	a := newTestAllocator(b, Config{})
	c := mustCache(b, a, "TCP", testTCPObject, socketFlags)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, err := a.KmemCacheAlloc(c)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.KmemCacheFree(c, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKmemCacheChurn keeps 1000 objects live and replaces one per
// iteration, so allocations cross slabs and the partial list.
func BenchmarkKmemCacheChurn(b *testing.B) {
	a := newTestAllocator(b, Config{})
	c := mustCache(b, a, "TCP", testTCPObject, socketFlags)
	live := make([]Addr, 1000)
	for i := range live {
		live[i] = mustAlloc(b, a, c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := (i * 7919) % len(live)
		if err := a.KmemCacheFree(c, live[j]); err != nil {
			b.Fatal(err)
		}
		p, err := a.KmemCacheAlloc(c)
		if err != nil {
			b.Fatal(err)
		}
		live[j] = p
	}
}

// BenchmarkKmallocKfree is kmalloc(100) + kfree.
func BenchmarkKmallocKfree(b *testing.B) {
	a := newTestAllocator(b, Config{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, err := a.Kmalloc(100)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Kfree(p); err != nil {
			b.Fatal(err)
		}
	}
}
