package ui

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/header"
)

// pkt is one packet's headers, read with stack/header from the bytes at
// skb->data (the devices carry raw IPv4: no link-layer header). Lengths
// come from the headers; the bytes may stop earlier (the record copies at
// most the skb's linear part, cut at 2048 bytes).
type pkt struct {
	ip       bool // a whole IPv4 header was there
	version  uint8
	src, dst netip.Addr
	proto    uint8
	totLen   int // iph->tot_len (or the bytes there, without an IPv4 header)
	frag     bool
	l4       []byte // the transport bytes available
	l4Len    int    // the transport length by the IP header
	tcp      header.TCP
	udp      header.UDP
	icmp     header.ICMP
	payLen   int    // TCP or UDP payload length by the headers
	payload  []byte // the payload bytes available
	truncL4  bool   // the transport header was cut short
	srcPort  uint16 // TCP and UDP
	dstPort  uint16
	hasPorts bool
}

// decodePkt reads a packet record's headers.
func decodePkt(r *stack.PacketRecord) pkt {
	var p pkt
	b := r.Skb.Bytes
	if int(r.Skb.Data) > len(b) {
		return p
	}
	b = b[r.Skb.Data:]
	p.totLen = int(r.Skb.Len)
	if len(b) == 0 {
		return p
	}
	p.version = b[0] >> 4
	ip := header.IPv4(b)
	if p.version != 4 || len(b) < header.IPv4MinSize || ip.IHL() < header.IPv4MinSize || len(b) < ip.IHL() {
		return p
	}
	p.ip = true
	p.src, p.dst, p.proto, p.totLen = ip.Src(), ip.Dst(), ip.Protocol(), ip.TotalLength()
	p.frag = ip.FragmentOffset() > 0
	p.l4Len = max(p.totLen-ip.IHL(), 0)
	p.l4 = b[ip.IHL():min(len(b), max(p.totLen, ip.IHL()))]
	if p.frag {
		return p
	}
	switch p.proto {
	case header.IPPROTO_TCP:
		t := header.TCP(p.l4)
		if len(t) < header.TCPMinSize || t.DataOffset() < header.TCPMinSize || len(t) < t.DataOffset() {
			p.truncL4 = true
			break
		}
		p.tcp = t
		p.srcPort, p.dstPort, p.hasPorts = t.SrcPort(), t.DstPort(), true
		p.payLen = max(p.l4Len-t.DataOffset(), 0)
		p.payload = t.Payload()
	case header.IPPROTO_UDP:
		u := header.UDP(p.l4)
		if len(u) < header.UDPHeaderSize {
			p.truncL4 = true
			break
		}
		p.udp = u
		p.srcPort, p.dstPort, p.hasPorts = u.SrcPort(), u.DstPort(), true
		p.payLen = max(u.Length()-header.UDPHeaderSize, 0)
		p.payload = u[header.UDPHeaderSize:min(len(u), max(u.Length(), header.UDPHeaderSize))]
	case header.IPPROTO_ICMP:
		if len(p.l4) < header.ICMPHeaderSize {
			p.truncL4 = true
			break
		}
		p.icmp = header.ICMP(p.l4)
	}
	return p
}

// srcAP and dstAP are the endpoints of a TCP or UDP packet.
func (p *pkt) srcAP() netip.AddrPort { return netip.AddrPortFrom(p.src, p.srcPort) }
func (p *pkt) dstAP() netip.AddrPort { return netip.AddrPortFrom(p.dst, p.dstPort) }

// connKey names a conversation whichever way a packet goes: the smaller
// endpoint first, as tcpdump's tcp_seq_hash keys it.
type connKey struct{ a, b netip.AddrPort }

// connKeyOf returns the key of a packet from src to dst and whether the
// packet goes from b to a (tcpdump's "rev").
func connKeyOf(src, dst netip.AddrPort) (connKey, bool) {
	if src.Compare(dst) > 0 {
		return connKey{dst, src}, true
	}
	return connKey{src, dst}, false
}

// seqBase is what tcpdump remembers of a TCP conversation to print
// relative sequence numbers: the a->b side's initial seq and the b->a
// side's (as ack - 1 of the first segment seen).
type seqBase struct{ seq, ack uint32 }

// tcpdumpFlags is tcp_flag_values in tcpdump's order: "S", "S.", "P.",
// "F.", "R.", "." for a bare ACK, "none" for no flags.
func tcpdumpFlags(f uint8) string {
	var b strings.Builder
	for _, x := range []struct {
		bit uint8
		c   byte
	}{{header.TCP_FLAG_FIN, 'F'}, {header.TCP_FLAG_SYN, 'S'}, {header.TCP_FLAG_RST, 'R'}, {header.TCP_FLAG_PSH, 'P'},
		{header.TCP_FLAG_ACK, '.'}, {header.TCP_FLAG_URG, 'U'}, {header.TCP_FLAG_ECE, 'E'}, {header.TCP_FLAG_CWR, 'W'}} {
		if f&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// tcpOption is one option as it appears in the header, in order.
type tcpOption struct {
	kind uint8
	val  []byte // the bytes after kind and length
	bad  bool   // a length that cannot be right: the walk stops here
}

// tcpOptionsInOrder walks the option bytes as tcpdump prints them (nop
// and eol included), stopping at a malformed length.
func tcpOptionsInOrder(b []byte) []tcpOption {
	var out []tcpOption
	for i := 0; i < len(b); {
		k := b[i]
		if k == header.TCPOPT_EOL || k == header.TCPOPT_NOP {
			out = append(out, tcpOption{kind: k})
			i++
			if k == header.TCPOPT_EOL {
				return out
			}
			continue
		}
		if i+2 > len(b) || b[i+1] < 2 || i+int(b[i+1]) > len(b) {
			return append(out, tcpOption{kind: k, bad: true})
		}
		n := int(b[i+1])
		out = append(out, tcpOption{kind: k, val: b[i+2 : i+n]})
		i += n
	}
	return out
}

// be32 reads a big-endian word.
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// optionText renders one option. full is tcpdump's text ("TS val 1 ecr
// 0"); otherwise the ladder's short one ("TS"). sackBase is subtracted
// from SACK block edges (relative numbering).
func (o tcpOption) text(full bool, sackBase uint32) string {
	if o.bad {
		return fmt.Sprintf("opt-%d [bad length]", o.kind)
	}
	switch o.kind {
	case header.TCPOPT_EOL:
		return "eol"
	case header.TCPOPT_NOP:
		return "nop"
	case header.TCPOPT_MSS:
		if len(o.val) == 2 {
			return fmt.Sprintf("mss %d", uint16(o.val[0])<<8|uint16(o.val[1]))
		}
	case header.TCPOPT_WINDOW:
		if len(o.val) == 1 {
			return fmt.Sprintf("wscale %d", o.val[0])
		}
	case header.TCPOPT_SACK_PERM:
		if len(o.val) == 0 {
			return "sackOK"
		}
	case header.TCPOPT_TIMESTAMP:
		if len(o.val) == 8 {
			if !full {
				return "TS"
			}
			return fmt.Sprintf("TS val %d ecr %d", be32(o.val), be32(o.val[4:]))
		}
	case header.TCPOPT_SACK:
		if len(o.val)%8 == 0 {
			var b strings.Builder
			if full {
				fmt.Fprintf(&b, "sack %d ", len(o.val)/8)
			} else {
				b.WriteString("sack ")
			}
			for i := 0; i+8 <= len(o.val); i += 8 {
				fmt.Fprintf(&b, "{%d:%d}", be32(o.val[i:])-sackBase, be32(o.val[i+4:])-sackBase)
			}
			return b.String()
		}
	default:
		return fmt.Sprintf("unknown-%d", o.kind)
	}
	return fmt.Sprintf("%s [bad length %d]", optName(o.kind), len(o.val)+2)
}

func optName(k uint8) string {
	switch k {
	case header.TCPOPT_MSS:
		return "mss"
	case header.TCPOPT_WINDOW:
		return "wscale"
	case header.TCPOPT_SACK_PERM:
		return "sackOK"
	case header.TCPOPT_TIMESTAMP:
		return "TS"
	case header.TCPOPT_SACK:
		return "sack"
	}
	return fmt.Sprintf("opt-%d", k)
}

// tcpdumpLine renders a packet as tcpdump -n does (without the time).
// For TCP it renders both the relative line (tcpdump's default, with its
// per-conversation state in seqs) and the absolute one (-S).
func tcpdumpLine(p *pkt, seqs map[connKey]seqBase) (rel, abs string) {
	if !p.ip {
		if p.version == 6 {
			s := fmt.Sprintf("IP6 (not decoded: the model has no IPv6), length %d", p.totLen)
			return s, s
		}
		s := fmt.Sprintf("unknown packet, length %d", p.totLen)
		return s, s
	}
	var s string
	switch {
	case p.frag:
		s = fmt.Sprintf("IP %s > %s: ip-proto-%d", p.src, p.dst, p.proto)
	case p.truncL4:
		s = fmt.Sprintf("IP %s > %s: [|%s]", p.src, p.dst, protoName(p.proto))
	case p.tcp != nil:
		return tcpdumpTCP(p, seqs)
	case p.udp != nil:
		s = fmt.Sprintf("IP %s.%d > %s.%d: UDP, length %d", p.src, p.srcPort, p.dst, p.dstPort, p.payLen)
	case p.icmp != nil:
		s = fmt.Sprintf("IP %s > %s: ICMP %s, length %d", p.src, p.dst, icmpText(p.icmp), p.l4Len)
	default:
		s = fmt.Sprintf("IP %s > %s: ip-proto-%d %d", p.src, p.dst, p.proto, p.l4Len)
	}
	return s, s
}

func protoName(proto uint8) string {
	switch proto {
	case header.IPPROTO_TCP:
		return "tcp"
	case header.IPPROTO_UDP:
		return "udp"
	case header.IPPROTO_ICMP:
		return "icmp"
	}
	return fmt.Sprintf("ip-proto-%d", proto)
}

// tcpdumpTCP renders a TCP segment both ways. Like tcpdump, the first
// segment of a conversation and every SYN print absolute numbers and set
// the conversation's bases; later segments print seq and ack relative to
// them.
func tcpdumpTCP(p *pkt, seqs map[connKey]seqBase) (rel, abs string) {
	t := p.tcp
	seq, ack := t.Seq(), t.AckSeq()
	k, rev := connKeyOf(p.srcAP(), p.dstAP())
	base, seen := seqs[k]
	rseq, rack := seq, ack
	if !seen || t.Flags()&header.TCP_FLAG_SYN != 0 {
		if rev {
			base = seqBase{seq: ack - 1, ack: seq}
		} else {
			base = seqBase{seq: seq, ack: ack - 1}
		}
		seqs[k] = base
	} else if rev {
		rseq, rack = seq-base.ack, ack-base.seq
	} else {
		rseq, rack = seq-base.seq, ack-base.ack
	}
	// SACK blocks acknowledge the other direction: relative as ack is.
	sackBase := base.ack
	if rev {
		sackBase = base.seq
	}
	return tcpdumpTCPText(p, rseq, rack, sackBase), tcpdumpTCPText(p, seq, ack, 0)
}

// tcpdumpTCPText is tcp_print's line for given seq and ack values.
func tcpdumpTCPText(p *pkt, seq, ack, sackBase uint32) string {
	t := p.tcp
	f := t.Flags()
	var b strings.Builder
	fmt.Fprintf(&b, "IP %s.%d > %s.%d: Flags [%s]", p.src, p.srcPort, p.dst, p.dstPort, tcpdumpFlags(f))
	if p.payLen > 0 || f&(header.TCP_FLAG_SYN|header.TCP_FLAG_FIN|header.TCP_FLAG_RST) != 0 {
		fmt.Fprintf(&b, ", seq %d", seq)
		if p.payLen > 0 {
			fmt.Fprintf(&b, ":%d", seq+uint32(p.payLen))
		}
	}
	if f&header.TCP_FLAG_ACK != 0 {
		fmt.Fprintf(&b, ", ack %d", ack)
	}
	fmt.Fprintf(&b, ", win %d", t.Window())
	if f&header.TCP_FLAG_URG != 0 {
		fmt.Fprintf(&b, ", urg %d", t.UrgPtr())
	}
	if opts := tcpOptionsInOrder(t.Options()); len(opts) > 0 {
		b.WriteString(", options [")
		for i, o := range opts {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(o.text(true, sackBase))
		}
		b.WriteByte(']')
	}
	fmt.Fprintf(&b, ", length %d", p.payLen)
	return b.String()
}

// icmpText is what tcpdump prints after "ICMP ".
func icmpText(h header.ICMP) string {
	switch h.Type() {
	case header.ICMP_ECHO:
		return fmt.Sprintf("echo request, id %d, seq %d", h.ID(), h.Seq())
	case header.ICMP_ECHOREPLY:
		return fmt.Sprintf("echo reply, id %d, seq %d", h.ID(), h.Seq())
	case header.ICMP_DEST_UNREACH:
		return icmpUnreach(h)
	case header.ICMP_TIME_EXCEEDED:
		if h.Code() == 1 {
			return "ip reassembly time exceeded"
		}
		return "time exceeded in-transit"
	}
	return fmt.Sprintf("type-#%d", h.Type())
}

// icmpUnreach names what was unreachable from the quoted header, as
// tcpdump does.
func icmpUnreach(h header.ICMP) string {
	in := header.IPv4(h[header.ICMPHeaderSize:])
	if len(in) < header.IPv4MinSize || in.Version() != 4 || len(in) < in.IHL() {
		return fmt.Sprintf("unreachable, code %d", h.Code())
	}
	dst := in.Dst()
	switch h.Code() {
	case header.ICMP_NET_UNREACH:
		return fmt.Sprintf("net %s unreachable", dst)
	case header.ICMP_HOST_UNREACH:
		return fmt.Sprintf("host %s unreachable", dst)
	case header.ICMP_PROT_UNREACH:
		return fmt.Sprintf("%s protocol %d unreachable", dst, in.Protocol())
	case header.ICMP_PORT_UNREACH:
		l4 := in[in.IHL():]
		if len(l4) >= 4 {
			return fmt.Sprintf("%s %s port %d unreachable", dst, protoName(in.Protocol()), uint16(l4[2])<<8|uint16(l4[3]))
		}
		return fmt.Sprintf("%s port unreachable", dst)
	case header.ICMP_FRAG_NEEDED:
		return fmt.Sprintf("%s unreachable - need to frag (mtu %d)", dst, h.MTU())
	}
	return fmt.Sprintf("%s unreachable, code %d", dst, h.Code())
}

// payloadText is the start of a payload as text, quoted, when it is
// printable (ASCII, with \r \n \t escaped); "" when it is not or there is
// none.
func payloadText(b []byte, max int) string {
	var s strings.Builder
	for i, c := range b {
		if i == max {
			s.WriteString("…")
			break
		}
		switch {
		case c == '\r':
			s.WriteString(`\r`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			if i == 0 {
				return ""
			}
			s.WriteString("…")
			return `"` + s.String() + `"`
		}
	}
	if s.Len() == 0 {
		return ""
	}
	return `"` + s.String() + `"`
}

// fmtSecs renders nanoseconds as seconds with microseconds, as tcpdump's
// timestamps: "12.345678".
func fmtSecs(ns int64) string {
	sign := ""
	if ns < 0 {
		sign, ns = "-", -ns
	}
	us := ns / 1000
	return fmt.Sprintf("%s%d.%06d", sign, us/1e6, us%1e6)
}
