package header

import (
	"math/rand/v2"
	"testing"
)

// naiveChecksum is RFC 1071's definition, word by word.
func naiveChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// TestChecksumMatchesRFC1071: the wide-word sum gives RFC 1071's result
// for every length up to 2 kB and for buffers of all 0xff and all 0
// bytes, also when chained over two even-sized pieces.
func TestChecksumMatchesRFC1071(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 2048; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := Fold(Checksum(b, 0)), naiveChecksum(b); got != want {
			t.Fatalf("length %d: %#04x, want %#04x", n, got, want)
		}
		if n >= 2 {
			cut := n / 2 &^ 1
			if got, want := Fold(Checksum(b[cut:], Checksum(b[:cut], 0))), naiveChecksum(b); got != want {
				t.Fatalf("length %d chained at %d: %#04x, want %#04x", n, cut, got, want)
			}
		}
	}
	for _, v := range []byte{0, 0xff} {
		b := make([]byte, 65536)
		for i := range b {
			b[i] = v
		}
		if got, want := Fold(Checksum(b, 0)), naiveChecksum(b); got != want {
			t.Errorf("64 kB of %#x: %#04x, want %#04x", v, got, want)
		}
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := make([]byte, 1500)
	b.SetBytes(1500)
	for b.Loop() {
		_ = Checksum(buf, 0)
	}
}
