package header

import (
	"fmt"
	"net/netip"
	"strings"
)

// TCP header constants (include/uapi/linux/tcp.h, include/net/tcp.h).
const (
	TCPMinSize = 20
	TCPMaxSize = 60

	TCP_FLAG_FIN = 0x01
	TCP_FLAG_SYN = 0x02
	TCP_FLAG_RST = 0x04
	TCP_FLAG_PSH = 0x08
	TCP_FLAG_ACK = 0x10
	TCP_FLAG_URG = 0x20
	TCP_FLAG_ECE = 0x40
	TCP_FLAG_CWR = 0x80

	TCPOPT_EOL       = 0
	TCPOPT_NOP       = 1
	TCPOPT_MSS       = 2
	TCPOPT_WINDOW    = 3
	TCPOPT_SACK_PERM = 4
	TCPOPT_SACK      = 5
	TCPOPT_TIMESTAMP = 8

	TCPOLEN_MSS           = 4
	TCPOLEN_WINDOW        = 3
	TCPOLEN_SACK_PERM     = 2
	TCPOLEN_TIMESTAMP     = 10
	TCPOLEN_SACK_BASE     = 2
	TCPOLEN_SACK_PERBLOCK = 8
	TCP_MAX_WSCALE        = 14
)

// TCP is a view over a TCP segment (struct tcphdr, options, data).
type TCP []byte

// SrcPort is ntohs(th->source).
func (h TCP) SrcPort() uint16 { return be16(h[0:]) }

// DstPort is ntohs(th->dest).
func (h TCP) DstPort() uint16 { return be16(h[2:]) }

// Seq is ntohl(th->seq).
func (h TCP) Seq() uint32 { return be32(h[4:]) }

// AckSeq is ntohl(th->ack_seq).
func (h TCP) AckSeq() uint32 { return be32(h[8:]) }

// DataOffset is th->doff in bytes.
func (h TCP) DataOffset() int { return int(h[12]>>4) * 4 }

// Flags is the flag byte (CWR ECE URG ACK PSH RST SYN FIN).
func (h TCP) Flags() uint8 { return h[13] }

// Window is ntohs(th->window), before window scaling.
func (h TCP) Window() uint16 { return be16(h[14:]) }

// Checksum is th->check.
func (h TCP) Checksum() uint16 { return be16(h[16:]) }

// UrgPtr is ntohs(th->urg_ptr).
func (h TCP) UrgPtr() uint16 { return be16(h[18:]) }

// Options returns the option bytes.
func (h TCP) Options() []byte { return h[TCPMinSize:h.DataOffset()] }

// Payload returns the data after the header.
func (h TCP) Payload() []byte { return h[h.DataOffset():] }

// ChecksumValid checks the checksum over the segment and pseudo-header.
func (h TCP) ChecksumValid(src, dst netip.Addr) bool {
	return Fold(Checksum(h, PseudoHeaderSum(src, dst, IPPROTO_TCP, len(h)))) == 0
}

// TCPFields are the values Encode writes.
type TCPFields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16
	UrgPtr           uint16
	Options          []byte // already padded to a multiple of 4
}

// Encode writes the header (payload already in place after it) and the
// checksum over the whole segment (tcp_v4_send_check).
func (h TCP) Encode(f TCPFields, src, dst netip.Addr) {
	doff := TCPMinSize + len(f.Options)
	put16(h[0:], f.SrcPort)
	put16(h[2:], f.DstPort)
	put32(h[4:], f.Seq)
	put32(h[8:], f.Ack)
	h[12] = uint8(doff/4) << 4
	h[13] = f.Flags
	put16(h[14:], f.Window)
	put16(h[16:], 0)
	put16(h[18:], f.UrgPtr)
	copy(h[TCPMinSize:], f.Options)
	put16(h[16:], Fold(Checksum(h, PseudoHeaderSum(src, dst, IPPROTO_TCP, len(h)))))
}

// FlagString renders flags as tcpdump does: "S", "S.", "F.", "R", "P.".
func FlagString(f uint8) string {
	var b strings.Builder
	for _, x := range []struct {
		bit uint8
		c   byte
	}{{TCP_FLAG_SYN, 'S'}, {TCP_FLAG_FIN, 'F'}, {TCP_FLAG_RST, 'R'}, {TCP_FLAG_PSH, 'P'}, {TCP_FLAG_URG, 'U'}, {TCP_FLAG_ECE, 'E'}, {TCP_FLAG_CWR, 'W'}} {
		if f&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	if f&TCP_FLAG_ACK != 0 {
		b.WriteByte('.')
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// SackBlock is one SACK block [Start, End).
type SackBlock struct{ Start, End uint32 }

// TCPOptions is what tcp_parse_options finds (struct tcp_options_received
// before the connection's context decides what to use).
type TCPOptions struct {
	MSS       uint16
	HasMSS    bool
	WScale    uint8
	HasWScale bool
	SackOK    bool
	HasTS     bool
	TSval     uint32
	TSecr     uint32
	Sacks     []SackBlock
	// Malformed is set when parsing stopped at an option whose length
	// was impossible (below 2, past the end, or wrong for its kind); as in
	// the kernel, whatever came before it still counts.
	Malformed bool
}

// ParseTCPOptions walks the option bytes as tcp_parse_options does.
func ParseTCPOptions(opts []byte) TCPOptions {
	var o TCPOptions
	for i := 0; i < len(opts); {
		kind := opts[i]
		switch kind {
		case TCPOPT_EOL:
			return o
		case TCPOPT_NOP:
			i++
			continue
		}
		if len(opts)-i < 2 {
			o.Malformed = true
			return o
		}
		size := int(opts[i+1])
		if size < 2 || size > len(opts)-i {
			o.Malformed = true
			return o
		}
		v := opts[i+2 : i+size]
		switch kind {
		case TCPOPT_MSS:
			if size == TCPOLEN_MSS {
				if m := be16(v); m != 0 { // an MSS of 0 is ignored (tcp_parse_options)
					o.MSS, o.HasMSS = m, true
				}
			} else {
				o.Malformed = true
			}
		case TCPOPT_WINDOW:
			if size == TCPOLEN_WINDOW {
				o.WScale, o.HasWScale = min(v[0], TCP_MAX_WSCALE), true
			} else {
				o.Malformed = true
			}
		case TCPOPT_SACK_PERM:
			if size == TCPOLEN_SACK_PERM {
				o.SackOK = true
			} else {
				o.Malformed = true
			}
		case TCPOPT_TIMESTAMP:
			if size == TCPOLEN_TIMESTAMP {
				o.HasTS, o.TSval, o.TSecr = true, be32(v), be32(v[4:])
			} else {
				o.Malformed = true
			}
		case TCPOPT_SACK:
			if size >= TCPOLEN_SACK_BASE+TCPOLEN_SACK_PERBLOCK && (size-TCPOLEN_SACK_BASE)%TCPOLEN_SACK_PERBLOCK == 0 {
				o.Sacks = o.Sacks[:0] // of two SACK options the last counts (TCP_SKB_CB(skb)->sacked)
				for j := 0; j+8 <= len(v); j += 8 {
					o.Sacks = append(o.Sacks, SackBlock{be32(v[j:]), be32(v[j+4:])})
				}
			} else {
				o.Malformed = true
			}
		}
		i += size
	}
	return o
}

// OptionWriter builds TCP options the way tcp_options_write lays them
// out, NOP-padded to 32-bit words.
type OptionWriter struct{ b []byte }

// MSS adds the MSS option.
func (w *OptionWriter) MSS(mss uint16) *OptionWriter {
	w.b = append(w.b, TCPOPT_MSS, TCPOLEN_MSS, byte(mss>>8), byte(mss))
	return w
}

// SackPermTimestamp adds SACK-permitted and timestamps together as Linux
// does on a SYN: kind 4 len 2, kind 8 len 10 (no NOPs needed).
func (w *OptionWriter) SackPermTimestamp(tsval, tsecr uint32) *OptionWriter {
	w.b = append(w.b, TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM, TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP)
	w.b = append(w.b, byte(tsval>>24), byte(tsval>>16), byte(tsval>>8), byte(tsval),
		byte(tsecr>>24), byte(tsecr>>16), byte(tsecr>>8), byte(tsecr))
	return w
}

// Timestamp adds NOP, NOP, timestamps.
func (w *OptionWriter) Timestamp(tsval, tsecr uint32) *OptionWriter {
	w.b = append(w.b, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP)
	w.b = append(w.b, byte(tsval>>24), byte(tsval>>16), byte(tsval>>8), byte(tsval),
		byte(tsecr>>24), byte(tsecr>>16), byte(tsecr>>8), byte(tsecr))
	return w
}

// SackPerm adds NOP, NOP, SACK-permitted (used without timestamps).
func (w *OptionWriter) SackPerm() *OptionWriter {
	w.b = append(w.b, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM)
	return w
}

// WScale adds NOP, window scale.
func (w *OptionWriter) WScale(shift uint8) *OptionWriter {
	w.b = append(w.b, TCPOPT_NOP, TCPOPT_WINDOW, TCPOLEN_WINDOW, shift)
	return w
}

// Sack adds NOP, NOP, SACK blocks.
func (w *OptionWriter) Sack(blocks []SackBlock) *OptionWriter {
	w.b = append(w.b, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, byte(TCPOLEN_SACK_BASE+TCPOLEN_SACK_PERBLOCK*len(blocks)))
	for _, s := range blocks {
		w.b = append(w.b, byte(s.Start>>24), byte(s.Start>>16), byte(s.Start>>8), byte(s.Start),
			byte(s.End>>24), byte(s.End>>16), byte(s.End>>8), byte(s.End))
	}
	return w
}

// Bytes returns the options, padded with NOPs... to a multiple of four
// (with EOL-free padding, as Linux never needs it).
func (w *OptionWriter) Bytes() []byte {
	for len(w.b)%4 != 0 {
		w.b = append(w.b, TCPOPT_NOP)
	}
	return w.b
}

func (h TCP) String() string {
	if len(h) < TCPMinSize {
		return "TCP(truncated)"
	}
	return fmt.Sprintf("TCP %d > %d [%s] seq %d ack %d win %d len %d", h.SrcPort(), h.DstPort(), FlagString(h.Flags()),
		h.Seq(), h.AckSeq(), h.Window(), len(h)-h.DataOffset())
}
