package header

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Checksum adds b to the running one's-complement sum (csum_partial).
// Start with 0; fold with Fold. Like the kernel's x86-64 csum_partial it
// adds 64-bit words with the carry (four per step), reading them in the
// machine's byte order: the one's-complement sum does not depend on byte
// order (RFC 1071, 2.B), so the 16-bit result is swapped once at the end.
// The result stays below 0x10000.
func Checksum(b []byte, sum uint32) uint32 {
	var acc, c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) > 0 {
		// The tail starts at an even offset, so its bytes keep their
		// places in 16-bit words when padded with zeros.
		var t [8]byte
		copy(t[:], b)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(t[:]), c)
	}
	acc, c = bits.Add64(acc, 0, c) // the end-around carry
	acc += c
	acc = acc&0xffffffff + acc>>32
	acc = acc&0xffff + acc>>16
	acc = acc&0xffff + acc>>16
	acc = acc&0xffff + acc>>16
	total := uint64(bits.ReverseBytes16(uint16(acc))) + uint64(sum)
	for total>>16 != 0 {
		total = total&0xffff + total>>16
	}
	return uint32(total)
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
