package stack

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// TestIPv6AddressesAreRefused: an IPv6 address given to bind or connect
// through the Go API is refused with EAFNOSUPPORT, as Linux refuses one
// on an AF_INET socket, for TCP and UDP. The previous build panicked in
// the kernel loop (netip's As4 on an IPv6 address) before any check.
func TestIPv6AddressesAreRefused(t *testing.T) {
	f := boot(t, Config{})
	v6 := sockets.SockaddrIn{Family: sockets.AF_INET6, Addr: netip.MustParseAddr("::1"), Port: 80}
	want := sockets.Errno(tracing.EAFNOSUPPORT)
	tcp := f.socket(t)
	if err := f.p.Bind(tcp, v6); !errors.Is(err, want) {
		t.Errorf("bind: %v, want EAFNOSUPPORT", err)
	}
	if err := f.p.Connect(tcp, v6); !errors.Is(err, want) {
		t.Errorf("connect: %v, want EAFNOSUPPORT", err)
	}
	udp, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, sockets.IPPROTO_UDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Connect(udp, v6); !errors.Is(err, want) {
		t.Errorf("UDP connect: %v, want EAFNOSUPPORT", err)
	}
}
