package stack

import (
	"encoding/binary"
	"math/bits"
)

// sipKey is siphash_key_t: 128 bits of key as two 64-bit words.
type sipKey [2]uint64

// sipRound is one SipRound of the add-rotate-xor permutation.
func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

// siphash is siphash() (lib/siphash.c): SipHash-2-4 (Aumasson and
// Bernstein) of data under key, two rounds per 8-byte word and four to
// finish. The input is read as little-endian words, as on x86.
func siphash(data []byte, key sipKey) uint64 {
	v0 := key[0] ^ 0x736f6d6570736575
	v1 := key[1] ^ 0x646f72616e646f6d
	v2 := key[0] ^ 0x6c7967656e657261
	v3 := key[1] ^ 0x7465646279746573
	n := len(data)
	compress := func(m uint64) {
		v3 ^= m
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= m
	}
	for len(data) >= 8 {
		compress(binary.LittleEndian.Uint64(data))
		data = data[8:]
	}
	// The last word: the leftover bytes, with the length in the top byte.
	last := uint64(n) << 56
	for i, c := range data {
		last |= uint64(c) << (8 * i)
	}
	compress(last)
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

// siphash4u32 is siphash_4u32 (include/linux/siphash.h): the hash of four
// 32-bit words laid out in memory one after the other (16 bytes).
func siphash4u32(a, b, c, d uint32, key sipKey) uint64 {
	var buf [16]byte
	binary.LittleEndian.PutUint32(buf[0:], a)
	binary.LittleEndian.PutUint32(buf[4:], b)
	binary.LittleEndian.PutUint32(buf[8:], c)
	binary.LittleEndian.PutUint32(buf[12:], d)
	return siphash(buf[:], key)
}
