package header

import "net/netip"

// UDPHeaderSize is sizeof(struct udphdr).
const UDPHeaderSize = 8

// UDP is a view over a UDP datagram (struct udphdr and its data).
type UDP []byte

// SrcPort is ntohs(uh->source).
func (h UDP) SrcPort() uint16 { return be16(h[0:]) }

// DstPort is ntohs(uh->dest).
func (h UDP) DstPort() uint16 { return be16(h[2:]) }

// Length is ntohs(uh->len).
func (h UDP) Length() int { return int(be16(h[4:])) }

// Checksum is uh->check (0: none).
func (h UDP) Checksum() uint16 { return be16(h[6:]) }

// ChecksumValid checks the checksum with the pseudo-header; a zero
// checksum means the sender computed none, which IPv4 allows.
func (h UDP) ChecksumValid(src, dst netip.Addr) bool {
	if h.Checksum() == 0 {
		return true
	}
	return Fold(Checksum(h[:h.Length()], PseudoHeaderSum(src, dst, IPPROTO_UDP, h.Length()))) == 0
}

// Encode writes the header for a datagram of len(h) bytes with the
// payload already in place, and its checksum (0 is sent as 0xffff).
func (h UDP) Encode(sport, dport uint16, src, dst netip.Addr) {
	put16(h[0:], sport)
	put16(h[2:], dport)
	put16(h[4:], uint16(len(h)))
	put16(h[6:], 0)
	c := Fold(Checksum(h, PseudoHeaderSum(src, dst, IPPROTO_UDP, len(h))))
	if c == 0 {
		c = 0xffff
	}
	put16(h[6:], c)
}
