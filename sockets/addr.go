package sockets

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Be32 is a __be32: an IPv4 address as the kernel keeps it, in network byte
// order, read as a native (little-endian, x86) integer. The hash functions
// mix these raw values, so 127.0.0.1 hashes as 0x0100007f.
type Be32 uint32

// Be16 is a __be16: a port in network byte order read as a native integer.
type Be16 uint16

// Be32From converts an IPv4 address.
func Be32From(a netip.Addr) Be32 {
	if !a.Is4() {
		return 0 // not an IPv4 address (the callers refuse it with EAFNOSUPPORT)
	}
	b := a.As4()
	return Be32(binary.LittleEndian.Uint32(b[:]))
}

// Addr converts back to an address.
func (a Be32) Addr() netip.Addr {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(a))
	return netip.AddrFrom4(b)
}

func (a Be32) String() string { return a.Addr().String() }

// Htons is htons on x86: host to network byte order.
func Htons(p uint16) Be16 { return Be16(p<<8 | p>>8) }

// Ntohs is ntohs.
func (p Be16) Ntohs() uint16 { return uint16(p)<<8 | uint16(p)>>8 }

// INADDR_ANY is 0.0.0.0.
const INADDR_ANY Be32 = 0

// SockaddrIn is struct sockaddr_in in host terms.
type SockaddrIn struct {
	Family uint16
	Addr   netip.Addr
	Port   uint16
}

func (s SockaddrIn) String() string {
	if !s.Addr.IsValid() {
		return fmt.Sprintf("0.0.0.0:%d", s.Port)
	}
	return netip.AddrPortFrom(s.Addr, s.Port).String()
}
