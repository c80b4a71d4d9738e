package stack

import (
	"fmt"
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// BenchmarkSyscallRoundTrip is one syscall (fcntl F_GETFL) from a process
// goroutine through the kernel loop and a task and back. Target: < 2 us.
func BenchmarkSyscallRoundTrip(b *testing.B) {
	f := bootQuiet(b)
	fd := f.socket(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.p.Fcntl(fd, sockets.F_GETFL, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSocketClose is socket() + close() of a TCP socket. Target: < 5 us.
func BenchmarkSocketClose(b *testing.B) {
	f := bootQuiet(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fd, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_STREAM, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.p.Close(fd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEhashLookup10k looks 4-tuples up in an ehash holding 10,000
// established entries (__inet_lookup_established). Target: < 100 ns.
func BenchmarkEhashLookup10k(b *testing.B) {
	for _, buckets := range []int{DefaultThashEntries, 16384} {
		b.Run(fmt.Sprintf("buckets=%d", buckets), func(b *testing.B) {
			k, err := New(Config{Seed: 1, ThashEntries: buckets})
			if err != nil {
				b.Fatal(err)
			}
			const n = 10000
			local := sockets.Be32From(addr("10.0.0.1:80").Addr)
			peers := make([]sockets.Be32, n)
			for i := range peers {
				peers[i] = sockets.Be32(0x0000000a | uint32(i+2)<<24 | uint32(i>>8)<<16)
				sc := &sockets.Sock{}
				sc.SkcRcvSaddr, sc.SkcNum = local, 80
				sc.SkcDaddr, sc.SkcDport = peers[i], sockets.Htons(uint16(30000+i%20000))
				sc.SkcState = sockets.TCP_ESTABLISHED
				sc.SkcHash = sockets.InetEhashfn(k.net, k.hash, local, 80, sc.SkcDaddr, sc.SkcDport)
				sockets.InetEhashInsertCommon(k.hash, &sc.SockCommon)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % n
				if sockets.InetLookupEstablished(k.net, k.hash, peers[j], sockets.Htons(uint16(30000+j%20000)), local, 80, 0) == nil {
					b.Fatal("not found")
				}
			}
		})
	}
}

// bootQuiet boots a kernel nobody traces, as in normal running.
func bootQuiet(b *testing.B) *fixture {
	k, err := New(Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	k.Start()
	b.Cleanup(k.Stop)
	p, err := k.NewProcess("bench")
	if err != nil {
		b.Fatal(err)
	}
	return &fixture{k: k, p: p}
}
