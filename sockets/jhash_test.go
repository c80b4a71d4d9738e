package sockets

import (
	"net/netip"
	"testing"
)

// The expected values were computed by compiling the Linux 6.12 header
// include/linux/jhash.h with gcc and calling jhash_3words and jhash_1word
// on these inputs.
func TestJhashMatchesTheKernel(t *testing.T) {
	for _, v := range [][5]uint32{
		{0x0100007f, 0x0100007f, 0x1f90901f, 0x00000000, 0x39524a2a},
		{0x0100007f, 0x00000000, 0x00000000, 0x12345678, 0x74516fb2},
		{0x00000001, 0x00000002, 0x00000003, 0x00000004, 0x8103143f},
		{0xffffffff, 0x80000000, 0x7fffffff, 0xdeadbeef, 0xf1c92d62},
		{0x0a000002, 0x0a000001, 0x80e85000, 0x9e3779b9, 0xdb75620c},
	} {
		if got := Jhash3Words(v[0], v[1], v[2], v[3]); got != v[4] {
			t.Errorf("jhash_3words(%#x, %#x, %#x, %#x) = %#x, the kernel gives %#x", v[0], v[1], v[2], v[3], got, v[4])
		}
	}
	for _, v := range [][3]uint32{
		{0x0100007f, 0x00000000, 0x66cb9b0e},
		{0x0100007f, 0x12345678, 0x5ec61144},
		{0x00000001, 0x00000004, 0x5543253f},
		{0xffffffff, 0xdeadbeef, 0xc5f9410e},
		{0x0a000002, 0x9e3779b9, 0x4989241a},
	} {
		if got := Jhash1Word(v[0], v[1]); got != v[2] {
			t.Errorf("jhash_1word(%#x, %#x) = %#x, the kernel gives %#x", v[0], v[1], got, v[2])
		}
	}
}

func TestAddressesAreKeptInNetworkOrder(t *testing.T) {
	a := Be32From(netip.MustParseAddr("127.0.0.1"))
	if a != 0x0100007f || a.String() != "127.0.0.1" {
		t.Errorf("127.0.0.1 as __be32 = %#x (%s)", uint32(a), a)
	}
	if p := Htons(8080); p != 0x901f || p.Ntohs() != 8080 {
		t.Errorf("htons(8080) = %#x", uint16(p))
	}
}

// TestHashFunctionsFollowTheKernelFormulas composes the hash functions
// from jhash as include/net/inet_sock.h, include/net/ip.h and
// include/net/inet_hashtables.h write them.
func TestHashFunctionsFollowTheKernelFormulas(t *testing.T) {
	net := &Net{HashMix: 0x1234}
	h := &InetHashinfo{EhashMask: 255, BhashSize: 256, Lhash2Mask: 255, EhashSecret: 0xabcdef}
	laddr, faddr := Be32(0x0100007f), Be32(0x0200007f)
	got := InetEhashfn(net, h, laddr, 8080, faddr, Htons(40000))
	want := Jhash3Words(0x0100007f, 0x0200007f, 8080<<16|uint32(Htons(40000)), 0xabcdef+0x1234)
	if got != want {
		t.Errorf("inet_ehashfn = %#x, want %#x", got, want)
	}
	if got := InetBhashfn(net, 8080, 256); got != (8080+0x1234)&255 {
		t.Errorf("inet_bhashfn = %d", got)
	}
	if got := Ipv4PortaddrHash(net, laddr, 8080); got != Jhash1Word(0x0100007f, 0x1234)^8080 {
		t.Errorf("ipv4_portaddr_hash = %#x", got)
	}
}
