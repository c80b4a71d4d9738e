package header

import (
	"encoding/binary"
	"net/netip"
)

// Checksum adds b to the running one's-complement sum (csum_partial).
// Start with 0; fold with Fold.
func Checksum(b []byte, sum uint32) uint32 {
	n := len(b)
	for i := 0; i+1 < n; i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if n%2 == 1 {
		sum += uint32(b[n-1]) << 8
	}
	return sum
}

// Fold folds a running sum to 16 bits and complements it (csum_fold).
func Fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// PseudoHeaderSum is the sum of the IPv4 pseudo-header that TCP and UDP
// checksums cover (csum_tcpudp_nofold): addresses, protocol, length.
func PseudoHeaderSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	s, d := src.As4(), dst.As4()
	sum := Checksum(s[:], 0)
	sum = Checksum(d[:], sum)
	sum += uint32(proto)
	sum += uint32(length)
	return sum
}

func be16(b []byte) uint16      { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32      { return binary.BigEndian.Uint32(b) }
func put16(b []byte, v uint16)  { binary.BigEndian.PutUint16(b, v) }
func put32(b []byte, v uint32)  { binary.BigEndian.PutUint32(b, v) }
func addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b[:4])) }
func putAddr(b []byte, a netip.Addr) {
	v := a.As4()
	copy(b, v[:])
}
