package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// run drives one fixed sequence of syscalls and returns every event.
func deterministicRun(t *testing.T, seed uint64) []tracing.Event {
	f := boot(t, Config{Seed: seed})
	p := f.p
	for i := 0; i < 5; i++ {
		fd := f.socket(t)
		_ = p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, sockets.Optval{Int: 1})
		_ = p.Bind(fd, addr("127.0.0.1:0"))
		_ = p.Listen(fd, 16)
		_, _ = p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK)
		_, _, _ = p.Accept4(fd, sockets.SOCK_NONBLOCK)
	}
	pd := p.Start(Syscall{Name: "accept4", Args: [4]int64{3}})
	_ = f.k.Sync()
	_ = p.Kill()
	_, _ = pd.Wait()
	for fd := 3; fd < 8; fd++ {
		_ = p.Close(fd)
	}
	_ = f.k.Sync()
	return append([]tracing.Event(nil), f.events...)
}

// TestSameInputsSameEvents: with the same seed and a virtual clock, two
// runs emit the same events, field for field.
func TestSameInputsSameEvents(t *testing.T) {
	a, b := deterministicRun(t, 42), deterministicRun(t, 42)
	if len(a) < 500 || len(a) != len(b) {
		t.Fatalf("%d and %d events", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("event %d differs:\n%s\n%s", i, a[i].String(), b[i].String())
		}
	}
	c := deterministicRun(t, 43)
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = a[i] == c[i]
	}
	if same {
		t.Error("another seed gave the same events; port choices should differ")
	}
}
