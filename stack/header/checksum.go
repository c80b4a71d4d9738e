package header

import (
	"encoding/binary"
	"net/netip"
)

// Checksum adds b to the running one's-complement sum (csum_partial).
// Start with 0; fold with Fold. Like the kernel's, it adds wide words
// (two 32-bit big-endian words per step into a 64-bit accumulator, which
// equals the sum of 16-bit words modulo 0xffff) and folds the carries
// back in at the end; the result stays below 0x10000.
func Checksum(b []byte, sum uint32) uint32 {
	acc := uint64(sum)
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint32(acc)
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
