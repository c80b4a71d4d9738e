package stack

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

type fixture struct {
	k      *Kernel
	p      *Process
	events []tracing.Event
}

func boot(t testing.TB, cfg Config) *fixture {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{k: k}
	k.Tracer().Subscribe(func(ev *tracing.Event) { f.events = append(f.events, *ev) })
	k.Start()
	t.Cleanup(k.Stop)
	if f.p, err = k.NewProcess("test"); err != nil {
		t.Fatal(err)
	}
	return f
}

// entries returns the kernel function names entered since mark, in order.
func (f *fixture) entries(mark int) []string {
	var out []string
	for _, ev := range f.events[mark:] {
		if ev.Kind == tracing.Entry {
			out = append(out, ev.Func.Name())
		}
	}
	return out
}

// mark returns a position in the event list (read after a syscall
// returned, so the loop has finished writing).
func (f *fixture) mark() int { return len(f.events) }

func addr(s string) sockets.SockaddrIn {
	ap := netip.MustParseAddrPort(s)
	return sockets.SockaddrIn{Family: sockets.AF_INET, Addr: ap.Addr(), Port: ap.Port()}
}

// listenOn makes a TCP socket listening on a (backlog 8) and returns it.
func (f *fixture) listenOn(t testing.TB, a sockets.SockaddrIn) int {
	t.Helper()
	lfd := f.socket(t)
	if err := f.p.Bind(lfd, a); err != nil {
		t.Fatalf("bind %v: %v", a, err)
	}
	if err := f.p.Listen(lfd, 8); err != nil {
		t.Fatalf("listen: %v", err)
	}
	return lfd
}

func (f *fixture) socket(t testing.TB) int {
	t.Helper()
	fd, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_STREAM, sockets.IPPROTO_TCP)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// inOrder reports whether want appears in got as a subsequence.
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// only keeps the names in keep, in order.
func only(got []string, keep ...string) []string {
	var out []string
	for _, g := range got {
		if slices.Contains(keep, g) {
			out = append(out, g)
		}
	}
	return out
}

func errnoOf(err error) sockets.Errno { return sockets.ErrnoOf(err) }

// cacheInUse returns every cache's objects in use, by name.
func (f *fixture) cacheInUse(t testing.TB) map[string]uint64 {
	t.Helper()
	r, err := f.k.Do("caches", func(k *Kernel) any {
		m := map[string]uint64{}
		for _, c := range k.mem.Caches() {
			m[c.Name()] = c.Stats().InUse
		}
		return m
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.(map[string]uint64)
}

func (f *fixture) snapshot(t testing.TB) *Snapshot {
	t.Helper()
	s, err := f.k.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
