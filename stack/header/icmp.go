package header

// ICMP types and codes (include/uapi/linux/icmp.h).
const (
	ICMP_ECHOREPLY     = 0
	ICMP_DEST_UNREACH  = 3
	ICMP_SOURCE_QUENCH = 4
	ICMP_REDIRECT      = 5
	ICMP_ECHO          = 8
	ICMP_TIME_EXCEEDED = 11
	ICMP_PARAMETERPROB = 12
	ICMP_NET_UNREACH   = 0
	ICMP_HOST_UNREACH  = 1
	ICMP_PROT_UNREACH  = 2
	ICMP_PORT_UNREACH  = 3
	ICMP_FRAG_NEEDED   = 4
	ICMP_SR_FAILED     = 5
	NR_ICMP_UNREACH    = 15 // the highest destination unreachable code
	ICMP_EXC_FRAGTIME  = 1  // time exceeded: fragment reassembly time exceeded
	ICMPHeaderSize     = 8
)

// ICMP is a view over an ICMP message (struct icmphdr and its data).
type ICMP []byte

// Type is icmph->type.
func (h ICMP) Type() uint8 { return h[0] }

// Code is icmph->code.
func (h ICMP) Code() uint8 { return h[1] }

// Checksum is icmph->checksum.
func (h ICMP) Checksum() uint16 { return be16(h[2:]) }

// ID is un.echo.id (echo messages).
func (h ICMP) ID() uint16 { return be16(h[4:]) }

// Seq is un.echo.sequence (echo messages).
func (h ICMP) Seq() uint16 { return be16(h[6:]) }

// MTU is un.frag.mtu (fragmentation needed).
func (h ICMP) MTU() uint16 { return be16(h[6:]) }

// ChecksumValid checks the checksum over the whole message.
func (h ICMP) ChecksumValid() bool { return Fold(Checksum(h, 0)) == 0 }

// Encode writes type, code and the rest-of-header word, then the checksum
// over the whole message (data already in place after 8 bytes).
func (h ICMP) Encode(typ, code uint8, rest uint32) {
	h[0], h[1] = typ, code
	put16(h[2:], 0)
	put32(h[4:], rest)
	put16(h[2:], Fold(Checksum(h, 0)))
}
