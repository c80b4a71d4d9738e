package scenario

import (
	"strconv"
	"strings"

	"github.com/stackscope/stackscope/stack/header"
)

// pktLexer walks a packet line.
type pktLexer struct {
	p    *parser
	line int
	col  int // column of text[0]
	text string
	pos  int
}

func (l *pktLexer) fail(format string, args ...any) *SyntaxError {
	return l.p.fail(l.line, l.col+l.pos, format, args...)
}

func (l *pktLexer) skipSpace() {
	for l.pos < len(l.text) && (l.text[l.pos] == ' ' || l.text[l.pos] == '\t') {
		l.pos++
	}
}

func (l *pktLexer) done() bool {
	l.skipSpace()
	return l.pos >= len(l.text)
}

// word reads up to a space, '<' or ','.
func (l *pktLexer) word() string {
	l.skipSpace()
	start := l.pos
	for l.pos < len(l.text) && !strings.ContainsRune(" \t<>,", rune(l.text[l.pos])) {
		l.pos++
	}
	return l.text[start:l.pos]
}

func (l *pktLexer) number(what string, bits int) (uint64, *SyntaxError) {
	l.skipSpace()
	start := l.pos
	w := l.word()
	v, err := strconv.ParseUint(w, 0, bits)
	if err != nil {
		l.pos = start
		return 0, l.fail("expected %s (a number up to %d bits), not %q", what, bits, w)
	}
	return v, nil
}

// parsePacket parses a packet line from its arrow on.
func parsePacket(p *parser, line, col int, text string) (*Packet, error) {
	l := &pktLexer{p: p, line: line, col: col, text: text}
	pkt := &Packet{Dir: Inbound}
	if text[0] == '>' {
		pkt.Dir = Outbound
	}
	l.pos = 1
	l.skipSpace()
	if l.pos < len(text) && text[l.pos] == '[' {
		// packetdrill's older form: the quoted segment of an ICMP error
		// before "icmp".
		echo, err := l.icmpEcho()
		if err != nil {
			return nil, err
		}
		at := l.pos
		if w := l.word(); w != "icmp" {
			l.pos = at
			l.skipSpace()
			return nil, l.fail("expected icmp after the quoted segment, not %q", w)
		}
		ic, err := l.icmp(echo)
		if err != nil {
			return nil, err
		}
		pkt.ICMP = ic
		if !l.done() {
			return nil, l.fail("unexpected %q at the end of the packet", l.text[l.pos:])
		}
		return pkt, nil
	}
	start := l.pos
	switch w := l.word(); w {
	case "udp":
		u, err := l.udp()
		if err != nil {
			return nil, err
		}
		pkt.UDP = u
	case "icmp":
		ic, err := l.icmp(nil)
		if err != nil {
			return nil, err
		}
		pkt.ICMP = ic
	case "":
		return nil, l.fail("expected TCP flags (S, S., ., P., F., R, ...), udp or icmp")
	default:
		l.pos = start
		t, err := l.tcp()
		if err != nil {
			return nil, err
		}
		pkt.TCP = t
	}
	if !l.done() {
		return nil, l.fail("unexpected %q at the end of the packet", l.text[l.pos:])
	}
	return pkt, nil
}

// tcpFlagLetters maps packetdrill's flag letters to header bits.
var tcpFlagLetters = map[byte]uint8{
	'F': header.TCP_FLAG_FIN, 'S': header.TCP_FLAG_SYN, 'R': header.TCP_FLAG_RST, 'P': header.TCP_FLAG_PSH,
	'.': header.TCP_FLAG_ACK, 'U': header.TCP_FLAG_URG, 'E': header.TCP_FLAG_ECE, 'W': header.TCP_FLAG_CWR,
}

func (l *pktLexer) tcp() (*TCPPacket, *SyntaxError) {
	t := &TCPPacket{}
	l.skipSpace()
	at := l.pos
	t.FlagsText = l.word()
	for i := 0; i < len(t.FlagsText); i++ {
		bit, ok := tcpFlagLetters[t.FlagsText[i]]
		if !ok || t.Flags&bit != 0 {
			l.pos = at + i
			return nil, l.fail("bad TCP flags %q: use S, F, R, P, ., U, E and W once each (S., P., F., R.)", t.FlagsText)
		}
		t.Flags |= bit
	}
	// seq:end(len)
	l.skipSpace()
	at = l.pos
	w := l.word()
	colon, paren := strings.IndexByte(w, ':'), strings.IndexByte(w, '(')
	if colon < 0 || paren < colon || !strings.HasSuffix(w, ")") {
		l.pos = at
		return nil, l.fail("expected the sequence numbers as start:end(length), such as 1:1001(1000)")
	}
	seq, err1 := strconv.ParseUint(w[:colon], 10, 32)
	end, err2 := strconv.ParseUint(w[colon+1:paren], 10, 32)
	n, err3 := strconv.ParseUint(w[paren+1:len(w)-1], 10, 16)
	if err1 != nil || err2 != nil || err3 != nil {
		l.pos = at
		return nil, l.fail("bad sequence numbers %q: use start:end(length) with numbers", w)
	}
	if uint32(end-seq) != uint32(n) {
		l.pos = at
		return nil, l.fail("bad sequence numbers %q: end - start is %d, not the length %d", w, uint32(end-seq), n)
	}
	t.Seq, t.End, t.Len = uint32(seq), uint32(end), int(n)
	for !l.done() {
		if l.text[l.pos] == '<' {
			if t.HasOptions {
				return nil, l.fail("the options are given twice")
			}
			if err := l.tcpOptions(t); err != nil {
				return nil, err
			}
			continue
		}
		at := l.pos
		switch w := l.word(); w {
		case "ack":
			v, err := l.number("an acknowledgement number", 32)
			if err != nil {
				return nil, err
			}
			t.Ack, t.HasAck = uint32(v), true
		case "win":
			v, err := l.number("a window", 16)
			if err != nil {
				return nil, err
			}
			t.Win, t.HasWin = uint16(v), true
		default:
			l.pos = at
			return nil, l.fail("unexpected %q: a TCP packet takes ack N, win N and <options>", w)
		}
	}
	return t, nil
}

// tcpOptions reads "<mss 1460,nop,wscale 7,sackOK,sack 1:2 3:4,TS val 1 ecr 0,eol>" or "<...>".
func (l *pktLexer) tcpOptions(t *TCPPacket) *SyntaxError {
	open := l.pos
	end := strings.IndexByte(l.text[l.pos:], '>')
	if end < 0 {
		return l.fail("unclosed '<': the options end with '>'")
	}
	body := l.text[l.pos+1 : l.pos+end]
	t.HasOptions = true
	if strings.TrimSpace(body) == "..." {
		t.AnyOptions = true
		l.pos += end + 1
		return nil
	}
	t.Options = []TCPOption{}
	off := open + 1
	for _, item := range strings.Split(body, ",") {
		f := strings.Fields(item)
		l.pos = off + len(item) - len(strings.TrimLeft(item, " \t"))
		off += len(item) + 1
		if len(f) == 0 {
			return l.fail("empty TCP option")
		}
		num := func(i int, what string, bits int) (uint32, *SyntaxError) {
			if i >= len(f) {
				return 0, l.fail("%s needs %s", f[0], what)
			}
			v, err := strconv.ParseUint(f[i], 10, bits)
			if err != nil {
				return 0, l.fail("bad %s %q in %s", what, f[i], f[0])
			}
			return uint32(v), nil
		}
		var o TCPOption
		var err *SyntaxError
		want := 1
		switch f[0] {
		case "nop":
			o.Kind = OptNOP
		case "eol":
			o.Kind = OptEOL
		case "sackOK":
			o.Kind = OptSackOK
		case "mss":
			o.Kind, want = OptMSS, 2
			o.Value, err = num(1, "a size", 16)
		case "wscale":
			o.Kind, want = OptWScale, 2
			o.Value, err = num(1, "a shift count", 8)
		case "sack":
			o.Kind, want = OptSack, len(f)
			for _, b := range f[1:] {
				s, e, ok := strings.Cut(b, ":")
				sv, err1 := strconv.ParseUint(s, 10, 32)
				ev, err2 := strconv.ParseUint(e, 10, 32)
				if !ok || err1 != nil || err2 != nil {
					return l.fail("bad SACK block %q: use start:end", b)
				}
				o.Blocks = append(o.Blocks, header.SackBlock{Start: uint32(sv), End: uint32(ev)})
			}
			if len(o.Blocks) == 0 || len(o.Blocks) > 4 {
				return l.fail("sack takes one to four blocks")
			}
		case "TS":
			o.Kind, want = OptTimestamp, 5
			if len(f) != 5 || f[1] != "val" || f[3] != "ecr" {
				return l.fail("write the timestamp option as TS val N ecr N")
			}
			if o.Val, err = num(2, "a value", 32); err == nil {
				o.Ecr, err = num(4, "an echo reply", 32)
			}
		default:
			return l.fail("unknown TCP option %q: the runner knows mss, nop, eol, wscale, sackOK, sack and TS", f[0])
		}
		if err != nil {
			return err
		}
		if len(f) != want {
			return l.fail("too many words in the option %q", strings.TrimSpace(item))
		}
		t.Options = append(t.Options, o)
	}
	l.pos = open + end + 1
	return nil
}

// udp reads "(N)" after "udp".
func (l *pktLexer) udp() (*UDPPacket, *SyntaxError) {
	l.skipSpace()
	at := l.pos
	w := l.word()
	if !strings.HasPrefix(w, "(") || !strings.HasSuffix(w, ")") {
		l.pos = at
		return nil, l.fail("expected the payload length of the datagram, such as udp (100)")
	}
	n, err := strconv.ParseUint(w[1:len(w)-1], 10, 16)
	if err != nil || n > 65507 {
		l.pos = at
		return nil, l.fail("bad UDP length %q: use 0 to 65507", w)
	}
	return &UDPPacket{Len: int(n)}, nil
}

// icmpTypeNames are the ICMP types a script may name (packetdrill's
// table), in type order; "type_N" names any other.
var icmpTypeNames = []struct {
	name string
	typ  uint8
}{
	{"echo_reply", 0}, {"unreachable", 3}, {"source_quench", 4}, {"redirect", 5}, {"echo_request", 8},
	{"time_exceeded", 11}, {"parameter_problem", 12}, {"timestamp_request", 13}, {"timestamp_reply", 14},
	{"information_request", 15}, {"information_reply", 16}, {"address_mask_request", 17},
	{"address_mask_reply", 18},
}

// icmpCodeNames are the codes a script may name, per type: a name's index
// is its code. Destination unreachable has packetdrill's sixteen; the two
// time exceeded names are stackscope's own. "code_N" names any code.
var icmpCodeNames = map[uint8][]string{
	3: {"net_unreachable", "host_unreachable", "protocol_unreachable", "port_unreachable", "frag_needed",
		"source_route_failed", "net_unknown", "host_unknown", "source_host_isolated", "net_prohibited",
		"host_prohibited", "net_unreachable_for_tos", "host_unreachable_for_tos", "packet_filtered",
		"precedence_violation", "precedence_cutoff"},
	11: {"ttl_exceeded", "frag_reassembly_time_exceeded"},
}

// icmpNumber reads "prefix_N" (type_3, code_4) as N, a byte.
func icmpNumber(w, prefix string) (uint8, bool) {
	if !strings.HasPrefix(w, prefix) {
		return 0, false
	}
	v, err := strconv.ParseUint(w[len(prefix):], 10, 8)
	return uint8(v), err == nil
}

// icmp reads "TYPE [CODE] [mtu N] [[start:end(len)]]" after "icmp". The
// quoted segment may also come before "icmp" (packetdrill's older form);
// then echo is it, already read.
func (l *pktLexer) icmp(echo *ICMPEcho) (*ICMPPacket, *SyntaxError) {
	l.skipSpace()
	at := l.pos
	ic := &ICMPPacket{Type: l.word(), Echo: echo}
	known := false
	for _, t := range icmpTypeNames {
		if t.name == ic.Type {
			ic.TypeNum, known = t.typ, true
		}
	}
	if !known {
		if ic.TypeNum, known = icmpNumber(ic.Type, "type_"); !known {
			l.pos = at
			var names []string
			for _, t := range icmpTypeNames {
				names = append(names, t.name)
			}
			return nil, l.fail("unknown ICMP type %q: use %s, or type_N", ic.Type, strings.Join(names, ", "))
		}
	}
	if !l.done() && l.text[l.pos] != '[' && !strings.HasPrefix(l.text[l.pos:], "mtu") {
		at = l.pos
		ic.Code = l.word()
		code, ok := icmpNumber(ic.Code, "code_")
		if !ok {
			for i, name := range icmpCodeNames[ic.TypeNum] {
				if name == ic.Code {
					code, ok = uint8(i), true
				}
			}
		}
		if !ok {
			l.pos = at
			if names := icmpCodeNames[ic.TypeNum]; len(names) > 0 {
				return nil, l.fail("unknown code %q for ICMP %s: use %s, or code_N", ic.Code, ic.Type, strings.Join(names, ", "))
			}
			return nil, l.fail("unknown code %q for ICMP %s: use code_N", ic.Code, ic.Type)
		}
		ic.CodeNum = code
	}
	if !l.done() && strings.HasPrefix(l.text[l.pos:], "mtu") {
		at = l.pos
		l.word()
		if ic.TypeNum != 3 || ic.CodeNum != 4 {
			l.pos = at
			return nil, l.fail("an MTU belongs only to ICMP unreachable frag_needed")
		}
		v, err := l.number("an MTU", 16)
		if err != nil {
			return nil, err
		}
		ic.MTU = int(v)
	}
	if !l.done() && l.text[l.pos] == '[' {
		if ic.Echo != nil {
			return nil, l.fail("the quoted segment is given twice")
		}
		e, err := l.icmpEcho()
		if err != nil {
			return nil, err
		}
		ic.Echo = e
	}
	return ic, nil
}

// icmpEcho reads the quoted segment "[start:end(len)]" of an ICMP error.
func (l *pktLexer) icmpEcho() (*ICMPEcho, *SyntaxError) {
	l.skipSpace()
	at := l.pos
	end := strings.IndexByte(l.text[l.pos:], ']')
	if end < 0 {
		return nil, l.fail("the quoted segment has no closing ]")
	}
	inner := strings.TrimSpace(l.text[l.pos+1 : l.pos+end])
	if strings.HasPrefix(inner, "udp") {
		return nil, l.fail("unsupported: an ICMP error quoting a UDP datagram (%q); the runner quotes TCP segments", inner)
	}
	colon, paren := strings.IndexByte(inner, ':'), strings.IndexByte(inner, '(')
	if colon < 0 || paren < colon || !strings.HasSuffix(inner, ")") {
		return nil, l.fail("expected the quoted segment as [start:end(length)], such as [1:1461(1460)]")
	}
	seq, err1 := strconv.ParseUint(inner[:colon], 10, 32)
	endSeq, err2 := strconv.ParseUint(inner[colon+1:paren], 10, 32)
	n, err3 := strconv.ParseUint(inner[paren+1:len(inner)-1], 10, 16)
	if err1 != nil || err2 != nil || err3 != nil || uint32(endSeq-seq) != uint32(n) {
		l.pos = at
		return nil, l.fail("bad quoted segment %q: use [start:end(length)] with end - start = length", inner)
	}
	l.pos += end + 1
	return &ICMPEcho{Seq: uint32(seq), End: uint32(endSeq), Len: int(n)}, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
