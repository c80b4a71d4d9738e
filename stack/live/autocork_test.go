package live

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// TestAutocorkOverTun: a process of the stack writes 2000 10-byte chunks
// with TCP_NODELAY to a reader on the host. The model's device frees a
// sent packet only when the host has taken it (a NIC's TX completion,
// virtio-net's with the host as its backend), so while one waits the next
// small writes are held back and leave together (TCPAutoCorking): fewer
// segments than writes, every byte in order.
func TestAutocorkOverTun(t *testing.T) {
	if testing.Short() {
		t.Skip("live TUN test: not in -short mode")
	}
	s, ns := startInNetns(t)
	const writes, chunk = 2000, 10
	ln := hostListen(t, ns)
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
	}()
	p, err := s.K.NewProcess("writer")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := p.DialTCP(netip.MustParseAddrPort(fmt.Sprintf("10.77.0.1:%d", port)))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Setsockopt(c.Fd(), sockets.IPPROTO_TCP, sockets.TCP_NODELAY, sockets.Optval{Int: 1}); err != nil {
		t.Fatal(err)
	}
	corkedBefore, _ := s.K.Mib(stack.LINUX_MIB_TCPAUTOCORKING)
	segsBefore, _ := s.K.Mib(stack.TCP_MIB_OUTSEGS)
	var want []byte
	for i := 0; i < writes; i++ {
		b := []byte(fmt.Sprintf("%09d\n", i))
		want = append(want, b...)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Close()
	var b []byte
	select {
	case b = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the host's reader got no EOF in 20 s")
	}
	if string(b) != string(want) {
		t.Fatalf("the host read %d bytes, want %d in order", len(b), len(want))
	}
	corked, _ := s.K.Mib(stack.LINUX_MIB_TCPAUTOCORKING)
	segs, _ := s.K.Mib(stack.TCP_MIB_OUTSEGS)
	t.Logf("%d writes of %d bytes: %d segments out (ACKs and FIN included), TCPAutoCorking %d", writes, chunk, segs-segsBefore, corked-corkedBefore)
	if corked == corkedBefore {
		t.Errorf("no write was autocorked in %d small writes", writes)
	}
	if segs-segsBefore >= writes {
		t.Errorf("%d segments for %d writes: nothing was joined", segs-segsBefore, writes)
	}
}
