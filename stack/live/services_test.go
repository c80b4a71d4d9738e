package live

import "testing"

// chargen writes whole cycles of the RFC 864 pattern, so that the stream
// a client reads is the pattern without a seam where one write ends and
// the next begins.
func TestChargenBlockIsWholeCycles(t *testing.T) {
	b := chargenBlock()
	if len(b) > chargenWrite || len(b) < chargenWrite-95*74 {
		t.Fatalf("block of %d bytes, want whole 7030-byte cycles up to %d", len(b), chargenWrite)
	}
	stream := append(append([]byte{}, b...), b...)
	if len(stream)%74 != 0 {
		t.Fatalf("the stream of two blocks (%d bytes) is not whole lines", len(stream))
	}
	for n := 0; n < len(stream)/74; n++ {
		line := stream[n*74 : (n+1)*74]
		for j := 0; j < 72; j++ {
			if want := byte(' ' + (n+j)%95); line[j] != want {
				t.Fatalf("line %d, column %d: %q, want %q (line %q)", n, j, line[j], want, line)
			}
		}
		if string(line[72:]) != "\r\n" {
			t.Fatalf("line %d ends %q", n, line[72:])
		}
	}
}
