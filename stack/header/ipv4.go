package header

import (
	"fmt"
	"net/netip"
)

// IPv4 header constants.
const (
	IPv4MinSize   = 20
	IPv4MaxSize   = 60
	IPv4Version   = 4
	IP_DF         = 0x4000 // don't fragment
	IP_MF         = 0x2000 // more fragments
	IP_OFFSET     = 0x1fff
	IPPROTO_ICMP  = 1
	IPPROTO_TCP   = 6
	IPPROTO_UDP   = 17
	IPv4MaxPacket = 65535
)

// IPv4 is a view over an IPv4 header (struct iphdr) and what follows it.
type IPv4 []byte

// Version is iph->version.
func (h IPv4) Version() uint8 { return h[0] >> 4 }

// IHL is iph->ihl in bytes (the field counts 32-bit words).
func (h IPv4) IHL() int { return int(h[0]&0xf) * 4 }

// TOS is iph->tos.
func (h IPv4) TOS() uint8 { return h[1] }

// TotalLength is ntohs(iph->tot_len).
func (h IPv4) TotalLength() int { return int(be16(h[2:])) }

// ID is ntohs(iph->id).
func (h IPv4) ID() uint16 { return be16(h[4:]) }

// FragOff is ntohs(iph->frag_off): flags and offset in 8-byte units.
func (h IPv4) FragOff() uint16 { return be16(h[6:]) }

// FragmentOffset is the fragment's offset in bytes.
func (h IPv4) FragmentOffset() int { return int(h.FragOff()&IP_OFFSET) * 8 }

// MoreFragments reports IP_MF.
func (h IPv4) MoreFragments() bool { return h.FragOff()&IP_MF != 0 }

// DontFragment reports IP_DF.
func (h IPv4) DontFragment() bool { return h.FragOff()&IP_DF != 0 }

// TTL is iph->ttl.
func (h IPv4) TTL() uint8 { return h[8] }

// Protocol is iph->protocol.
func (h IPv4) Protocol() uint8 { return h[9] }

// Checksum is iph->check.
func (h IPv4) Checksum() uint16 { return be16(h[10:]) }

// Src is iph->saddr.
func (h IPv4) Src() netip.Addr { return addr4(h[12:]) }

// Dst is iph->daddr.
func (h IPv4) Dst() netip.Addr { return addr4(h[16:]) }

// Payload returns the bytes after the header up to the total length.
func (h IPv4) Payload() []byte { return h[h.IHL():h.TotalLength()] }

// ChecksumValid is ip_fast_csum(iph, ihl) == 0.
func (h IPv4) ChecksumValid() bool { return Fold(Checksum(h[:h.IHL()], 0)) == 0 }

// IPv4Fields are the values Encode writes.
type IPv4Fields struct {
	TOS      uint8
	Total    int
	ID       uint16
	FragOff  uint16
	TTL      uint8
	Protocol uint8
	Src, Dst netip.Addr
	Options  []byte
}

// Encode writes a header with the given fields and a correct checksum
// (ip_send_check). h must hold 20 bytes plus the options.
func (h IPv4) Encode(f IPv4Fields) {
	ihl := IPv4MinSize + len(f.Options)
	h[0] = IPv4Version<<4 | uint8(ihl/4)
	h[1] = f.TOS
	put16(h[2:], uint16(f.Total))
	put16(h[4:], f.ID)
	put16(h[6:], f.FragOff)
	h[8] = f.TTL
	h[9] = f.Protocol
	put16(h[10:], 0)
	putAddr(h[12:], f.Src)
	putAddr(h[16:], f.Dst)
	copy(h[IPv4MinSize:], f.Options)
	put16(h[10:], Fold(Checksum(h[:ihl], 0)))
}

// SetTotalLength writes tot_len (the caller refreshes the checksum).
func (h IPv4) SetTotalLength(n int) { put16(h[2:], uint16(n)) }

// SetFragOff writes frag_off.
func (h IPv4) SetFragOff(v uint16) { put16(h[6:], v) }

// SetChecksum recomputes iph->check (ip_send_check).
func (h IPv4) SetChecksum() {
	put16(h[10:], 0)
	put16(h[10:], Fold(Checksum(h[:h.IHL()], 0)))
}

func (h IPv4) String() string {
	if len(h) < IPv4MinSize {
		return "IPv4(truncated)"
	}
	return fmt.Sprintf("IPv4 %s > %s proto %d ttl %d id %d len %d", h.Src(), h.Dst(), h.Protocol(), h.TTL(), h.ID(), h.TotalLength())
}
