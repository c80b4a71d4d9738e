package stack

import (
	"encoding/binary"
	"testing"
)

// TestSiphashReferenceVector: SipHash-2-4 with key 00..0f over the bytes
// 00..0e is a129ca6149be45e5 (the SipHash paper, appendix A).
func TestSiphashReferenceVector(t *testing.T) {
	key := sipKey{0x0706050403020100, 0x0f0e0d0c0b0a0908}
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	if got := siphash(msg, key); got != 0xa129ca6149be45e5 {
		t.Errorf("siphash = %#x", got)
	}
	// siphash_4u32 is the hash of the four words' 16 bytes.
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(i)
	}
	w := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	if siphash4u32(w(0), w(1), w(2), w(3), key) != siphash(b, key) {
		t.Error("siphash_4u32 differs from siphash of its 16 bytes")
	}
}
