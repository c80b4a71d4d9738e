package sockets

import "math/bits"

// jhashInitval is JHASH_INITVAL (include/linux/jhash.h).
const jhashInitval = 0xdeadbeef

func rol32(x uint32, n int) uint32 { return bits.RotateLeft32(x, n) }

// jhashFinal is __jhash_final: the final mixing of three words into c.
func jhashFinal(a, b, c uint32) uint32 {
	c ^= b
	c -= rol32(b, 14)
	a ^= c
	a -= rol32(c, 11)
	b ^= a
	b -= rol32(a, 25)
	c ^= b
	c -= rol32(b, 16)
	a ^= c
	a -= rol32(c, 4)
	b ^= a
	b -= rol32(a, 14)
	c ^= b
	c -= rol32(b, 24)
	return c
}

// jhashNwords is __jhash_nwords.
func jhashNwords(a, b, c, initval uint32) uint32 {
	return jhashFinal(a+initval, b+initval, c+initval)
}

// Jhash3Words is jhash_3words: Bob Jenkins' hash of three 32-bit words, the
// hash behind inet_ehashfn.
func Jhash3Words(a, b, c, initval uint32) uint32 {
	return jhashNwords(a, b, c, initval+jhashInitval+(3<<2))
}

// Jhash1Word is jhash_1word, behind ipv4_portaddr_hash.
func Jhash1Word(a, initval uint32) uint32 {
	return jhashNwords(a, 0, 0, initval+jhashInitval+(1<<2))
}
