package stack

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

func TestListenerAdapter(t *testing.T) {
	f := boot(t, Config{})
	l, err := f.p.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 128)
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr().String() != "127.0.0.1:8080" {
		t.Errorf("Addr %s", l.Addr())
	}
	if _, err := f.p.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 1); err == nil ||
		errnoOf(errors.Unwrap(errors.Unwrap(err))) != tracing.EADDRINUSE {
		t.Errorf("second listener on the port: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	// Wait until accept sleeps in the kernel, then close the listener.
	for {
		s := f.snapshot(t)
		if len(s.Processes[1].Sleeping) == 1 {
			break
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if s := f.snapshot(t); len(s.Socks) != 0 {
		t.Errorf("%d socks left after Close", len(s.Socks))
	}
	if _, err := f.p.ListenUDP(netip.MustParseAddrPort("127.0.0.1:53")); err == nil ||
		!errors.Is(err, sockets.Errno(tracing.EOPNOTSUPP)) {
		t.Errorf("UDP listener before UDP's port table exists: %v", err)
	}
}
