package scenario

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/stackscope/stackscope/stack/header"
)

// connState is what the runner learns about the connection as the script
// goes: the kernel's ISN (from its SYN or SYN-ACK) and ports, and how its
// TCP timestamps map onto the script's.
type connState struct {
	localISN     uint32
	haveLocalISN bool
	localPort    uint16
	remotePort   uint16
	// tsOffset turns a script TS val of the kernel's into the live one,
	// learned from the first outbound packet with a timestamp.
	tsOffset uint32
	haveTS   bool
	ipID     uint16
}

// wire is a TCP segment the kernel sent, decoded.
type wire struct {
	at        int64 // script time
	src, dst  string
	proto     uint8
	sport     uint16
	dport     uint16
	seq, ack  uint32
	flags     uint8
	win       uint16
	opts      []byte
	payload   int
	segs      int // how many segments were coalesced into this one
	udpLen    int
	icmpType  uint8
	icmpCode  uint8
	malformed string
}

func decodeWire(p sentPacket, start int64) wire {
	w := wire{at: p.at - start, segs: 1}
	ip := header.IPv4(p.frame)
	if len(p.frame) < header.IPv4MinSize || ip.IHL() < header.IPv4MinSize || ip.TotalLength() > len(p.frame) || ip.TotalLength() < ip.IHL() {
		w.malformed = "not an IPv4 packet"
		return w
	}
	w.src, w.dst, w.proto = ip.Src().String(), ip.Dst().String(), ip.Protocol()
	pl := ip.Payload()
	switch w.proto {
	case header.IPPROTO_TCP:
		t := header.TCP(pl)
		if len(pl) < header.TCPMinSize || t.DataOffset() < header.TCPMinSize || t.DataOffset() > len(pl) {
			w.malformed = "a truncated TCP header"
			return w
		}
		w.sport, w.dport, w.seq, w.ack, w.flags, w.win = t.SrcPort(), t.DstPort(), t.Seq(), t.AckSeq(), t.Flags(), t.Window()
		w.opts = append([]byte(nil), t.Options()...)
		w.payload = len(t.Payload())
	case header.IPPROTO_UDP:
		if len(pl) >= header.UDPHeaderSize {
			w.udpLen = len(pl) - header.UDPHeaderSize
		}
	case header.IPPROTO_ICMP:
		if len(pl) >= 2 {
			w.icmpType, w.icmpCode = pl[0], pl[1]
		}
	}
	return w
}

// optionsOf renders TCP option bytes as a script writes them.
func optionsOf(b []byte) []TCPOption {
	var out []TCPOption
	for i := 0; i < len(b); {
		kind := b[i]
		if kind == header.TCPOPT_EOL {
			out = append(out, TCPOption{Kind: OptEOL})
			break
		}
		if kind == header.TCPOPT_NOP {
			out = append(out, TCPOption{Kind: OptNOP})
			i++
			continue
		}
		if i+1 >= len(b) || int(b[i+1]) < 2 || i+int(b[i+1]) > len(b) {
			break
		}
		n := int(b[i+1])
		v := b[i+2 : i+n]
		be32 := func(x []byte) uint32 { return uint32(x[0])<<24 | uint32(x[1])<<16 | uint32(x[2])<<8 | uint32(x[3]) }
		switch {
		case kind == header.TCPOPT_MSS && n == header.TCPOLEN_MSS:
			out = append(out, TCPOption{Kind: OptMSS, Value: uint32(v[0])<<8 | uint32(v[1])})
		case kind == header.TCPOPT_WINDOW && n == header.TCPOLEN_WINDOW:
			out = append(out, TCPOption{Kind: OptWScale, Value: uint32(v[0])})
		case kind == header.TCPOPT_SACK_PERM && n == header.TCPOLEN_SACK_PERM:
			out = append(out, TCPOption{Kind: OptSackOK})
		case kind == header.TCPOPT_TIMESTAMP && n == header.TCPOLEN_TIMESTAMP:
			out = append(out, TCPOption{Kind: OptTimestamp, Val: be32(v), Ecr: be32(v[4:])})
		case kind == header.TCPOPT_SACK && (n-2)%8 == 0:
			o := TCPOption{Kind: OptSack}
			for j := 0; j+8 <= len(v); j += 8 {
				o.Blocks = append(o.Blocks, header.SackBlock{Start: be32(v[j:]), End: be32(v[j+4:])})
			}
			out = append(out, o)
		}
		i += n
	}
	return out
}

// relOptions makes a packet's options script-relative: SACK blocks count
// from the ISN of the side whose data they cover.
func relOptions(opts []TCPOption, isn uint32) []TCPOption {
	out := make([]TCPOption, len(opts))
	for i, o := range opts {
		if o.Kind == OptSack {
			bl := make([]header.SackBlock, len(o.Blocks))
			for j, b := range o.Blocks {
				bl[j] = header.SackBlock{Start: b.Start - isn, End: b.End - isn}
			}
			o.Blocks = bl
		}
		out[i] = o
	}
	return out
}

// render prints a packet the kernel sent as a script line would read,
// with sequence numbers relative to the ISNs once they are known.
func (c *connState) render(p sentPacket) string {
	return c.renderWire(decodeWire(p, 0))
}

func (c *connState) renderWire(w wire) string {
	if w.malformed != "" {
		return w.malformed
	}
	switch w.proto {
	case header.IPPROTO_UDP:
		return fmt.Sprintf("udp (%d)", w.udpLen)
	case header.IPPROTO_ICMP:
		return fmt.Sprintf("icmp type %d code %d", w.icmpType, w.icmpCode)
	case header.IPPROTO_TCP:
	default:
		return fmt.Sprintf("IP protocol %d", w.proto)
	}
	seq := w.seq - c.localISN
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d:%d(%d)", flagLetters(w.flags), seq, seq+uint32(w.payload), w.payload)
	if w.flags&header.TCP_FLAG_ACK != 0 {
		fmt.Fprintf(&b, " ack %d", w.ack-RemoteISN)
	}
	fmt.Fprintf(&b, " win %d", w.win)
	if len(w.opts) > 0 {
		b.WriteString(" " + OptionsString(c.scriptTS(relOptions(optionsOf(w.opts), RemoteISN))))
	}
	return b.String()
}

// scriptTS maps live TS vals back to the script's.
func (c *connState) scriptTS(opts []TCPOption) []TCPOption {
	if !c.haveTS {
		return opts
	}
	for i := range opts {
		if opts[i].Kind == OptTimestamp {
			opts[i].Val -= c.tsOffset
		}
	}
	return opts
}

// flagLetters renders flags as packetdrill does: S, F, R, P in that order,
// then E, W, U, then "." for ACK.
func flagLetters(f uint8) string {
	var b strings.Builder
	for _, x := range []struct {
		bit uint8
		c   byte
	}{{header.TCP_FLAG_SYN, 'S'}, {header.TCP_FLAG_FIN, 'F'}, {header.TCP_FLAG_RST, 'R'}, {header.TCP_FLAG_PSH, 'P'},
		{header.TCP_FLAG_ECE, 'E'}, {header.TCP_FLAG_CWR, 'W'}, {header.TCP_FLAG_URG, 'U'}, {header.TCP_FLAG_ACK, '.'}} {
		if f&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// injectPacket builds an inbound line's packet and hands it to the kernel
// as the script device's received frame.
func (r *Runner) injectPacket(ev *Event) error {
	pkt := ev.Packet
	if pkt.ICMP != nil {
		return r.injectICMP(ev)
	}
	if pkt.TCP == nil {
		return r.fail(ev, "unsupported: the runner injects TCP and ICMP packets only, not %s", pktKind(pkt))
	}
	t := pkt.TCP
	if t.AnyOptions {
		return r.fail(ev, "an inbound packet cannot have <...> options: write the options the peer sends")
	}
	c := &r.conn
	if t.HasAck && t.Flags&header.TCP_FLAG_ACK != 0 && !c.haveLocalISN {
		return r.fail(ev, "the inbound packet acknowledges data of the kernel's, but the kernel has sent no SYN or SYN-ACK yet, so its ISN is unknown")
	}
	opts, err := r.encodeOptions(ev, t.Options)
	if err != nil {
		return err
	}
	ack := uint32(0)
	if t.HasAck {
		ack = t.Ack + c.localISN
	}
	win := uint16(65535)
	if t.HasWin {
		win = t.Win
	}
	tcpLen := header.TCPMinSize + len(opts) + t.Len
	frame := make([]byte, header.IPv4MinSize+tcpLen)
	copy(frame[header.IPv4MinSize+header.TCPMinSize+len(opts):], pattern(t.Len))
	header.TCP(frame[header.IPv4MinSize:]).Encode(header.TCPFields{SrcPort: c.remotePort, DstPort: c.localPort,
		Seq: t.Seq + RemoteISN, Ack: ack, Flags: t.Flags, Window: win, Options: opts}, RemoteAddr, LocalAddr)
	c.ipID++
	header.IPv4(frame).Encode(header.IPv4Fields{Total: len(frame), ID: c.ipID, FragOff: header.IP_DF, TTL: 64,
		Protocol: header.IPPROTO_TCP, Src: RemoteAddr, Dst: LocalAddr})
	if err := r.k.Receive(r.dev, frame); err != nil {
		return err
	}
	return r.k.Sync()
}

// injectICMP builds an inbound ICMP error from the peer about a segment
// of the kernel's connection: an IPv4 header and the first 8 bytes of the
// TCP header (ports and sequence number), which is what the kernel reads
// (RFC 792 asks no more of a router).
func (r *Runner) injectICMP(ev *Event) error {
	ic := ev.Packet.ICMP
	c := &r.conn
	if ic.Echo == nil {
		return r.fail(ev, "an inbound ICMP line needs the segment it quotes, such as [1:1461(1460)]")
	}
	if !c.haveLocalISN {
		return r.fail(ev, "the inbound ICMP quotes a segment of the kernel's, but the kernel has sent no SYN or SYN-ACK yet, so its ISN is unknown")
	}
	typ, code := ic.TypeNum, ic.CodeNum
	const quoteTCP = 8
	frame := make([]byte, header.IPv4MinSize+header.ICMPHeaderSize+header.IPv4MinSize+quoteTCP)
	quoted := frame[header.IPv4MinSize+header.ICMPHeaderSize:]
	header.IPv4(quoted).Encode(header.IPv4Fields{Total: header.IPv4MinSize + header.TCPMinSize + ic.Echo.Len,
		FragOff: header.IP_DF, TTL: 64, Protocol: header.IPPROTO_TCP, Src: LocalAddr, Dst: RemoteAddr})
	th := quoted[header.IPv4MinSize:]
	binary.BigEndian.PutUint16(th[0:], c.localPort)
	binary.BigEndian.PutUint16(th[2:], c.remotePort)
	binary.BigEndian.PutUint32(th[4:], ic.Echo.Seq+c.localISN)
	header.ICMP(frame[header.IPv4MinSize:]).Encode(typ, code, uint32(ic.MTU))
	c.ipID++
	header.IPv4(frame).Encode(header.IPv4Fields{Total: len(frame), ID: c.ipID, TTL: 64,
		Protocol: header.IPPROTO_ICMP, Src: RemoteAddr, Dst: LocalAddr})
	if err := r.k.Receive(r.dev, frame); err != nil {
		return err
	}
	return r.k.Sync()
}

func pktKind(p *Packet) string {
	switch {
	case p.UDP != nil:
		return "UDP"
	case p.ICMP != nil:
		return "ICMP"
	}
	return "TCP"
}

// encodeOptions writes a script's options on the wire: SACK blocks move
// into the kernel's sequence space, a TS ecr into its timestamp clock;
// the options are padded with EOL to a multiple of four bytes.
func (r *Runner) encodeOptions(ev *Event, opts []TCPOption) ([]byte, error) {
	var b []byte
	put32 := func(v uint32) { b = append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v)) }
	for _, o := range opts {
		switch o.Kind {
		case OptNOP:
			b = append(b, header.TCPOPT_NOP)
		case OptEOL:
			b = append(b, header.TCPOPT_EOL)
		case OptMSS:
			b = append(b, header.TCPOPT_MSS, header.TCPOLEN_MSS, byte(o.Value>>8), byte(o.Value))
		case OptWScale:
			b = append(b, header.TCPOPT_WINDOW, header.TCPOLEN_WINDOW, byte(o.Value))
		case OptSackOK:
			b = append(b, header.TCPOPT_SACK_PERM, header.TCPOLEN_SACK_PERM)
		case OptSack:
			b = append(b, header.TCPOPT_SACK, byte(2+8*len(o.Blocks)))
			for _, bl := range o.Blocks {
				put32(bl.Start + r.conn.localISN)
				put32(bl.End + r.conn.localISN)
			}
		case OptTimestamp:
			b = append(b, header.TCPOPT_TIMESTAMP, header.TCPOLEN_TIMESTAMP)
			put32(o.Val)
			ecr := o.Ecr
			if ecr != 0 && r.conn.haveTS {
				ecr += r.conn.tsOffset
			}
			put32(ecr)
		}
	}
	for len(b)%4 != 0 {
		b = append(b, header.TCPOPT_EOL)
	}
	if len(b) > header.TCPMaxSize-header.TCPMinSize {
		return nil, r.fail(ev, "the options take %d bytes; TCP has room for 40", len(b))
	}
	return b, nil
}

// expectPacket finds the next packet the kernel sends and compares it with
// an outbound line: the time, then each field.
func (r *Runner) expectPacket(ev *Event, start, end int64) error {
	tol := r.toleranceFor(start)
	anyTime := ev.Time.Kind == TimeAny
	limit := end + tol
	if anyTime {
		limit = maxScriptTime * 1e9
	}
	if err := r.advanceUntil(limit, func() bool { return len(r.drv.pending()) > 0 }); err != nil {
		return err
	}
	sent := r.drv.pending()
	if len(sent) == 0 && !anyTime {
		// Late or missing: let the kernel's timers run a while longer to
		// tell which.
		if err := r.advanceUntil(limit+lateHorizon, func() bool { return len(r.drv.pending()) > 0 }); err != nil {
			return err
		}
		sent = r.drv.pending()
	}
	if len(sent) == 0 {
		return &RunError{File: r.s.File, Line: ev.Line,
			Msg:    fmt.Sprintf("error handling packet: expected outbound packet at %s sec, but the kernel sent none (waited until %s sec)", stamp(start), stamp(r.mustNow())),
			Detail: []string{"script packet:  " + stamp(start) + " " + packetText(ev)}}
	}
	w := decodeWire(sent[0], r.start)
	used := 1
	if ev.Packet.TCP != nil && w.proto == header.IPPROTO_TCP {
		w, used = coalesce(w, sent, r.start, ev.Packet.TCP.Len)
	}
	if err := r.matchPacket(ev, w); err != nil {
		return err
	}
	if !anyTime && (w.at < start-tol || w.at > end+tol) {
		want := "at " + stamp(start) + " sec"
		if ev.Time.Range {
			want = "in time range " + stamp(start) + "~" + stamp(end) + " sec"
		}
		return &RunError{File: r.s.File, Line: ev.Line,
			Msg:    fmt.Sprintf("error handling packet: timing error: expected outbound packet %s but happened at %s sec; tolerance %s sec", want, stamp(w.at), stamp(tol)),
			Detail: []string{"script packet:  " + stamp(start) + " " + packetText(ev), "actual packet:  " + stamp(w.at) + " " + r.conn.renderWire(w)}}
	}
	r.drv.take(used)
	if used > 1 {
		r.printf("  matched %s %s (%d segments sent back to back, taken as one TSO segment)\n", stamp(w.at), r.conn.renderWire(w), used)
	} else {
		r.printf("  matched %s %s\n", stamp(w.at), r.conn.renderWire(w))
	}
	// The next relative time counts from when the packet went out.
	now, err := r.Now()
	if err != nil {
		return err
	}
	if w.at > now {
		return r.advance(w.at)
	}
	return nil
}

// lateHorizon is how long past an outbound line's time the runner waits
// to tell a late packet from a missing one.
const lateHorizon = 120e9

func (r *Runner) mustNow() int64 {
	now, _ := r.Now()
	return now
}

func packetText(ev *Event) string {
	t := ev.Text
	if i := strings.IndexAny(t, "<>"); i >= 0 {
		return strings.TrimSpace(t[i+1:])
	}
	return t
}

// coalesce joins back-to-back segments sent at the same moment into one,
// as if the kernel had sent one TSO segment and the device had cut it up:
// only while the script expects more payload than the first segment
// carries. The stack has no TSO; Linux hands packetdrill's tun device the
// unsegmented packet. A joined packet carries PSH, as every GSO packet
// Linux sends does (__tcp_transmit_skb forces it when tcp_skb_pcount > 1,
// to flush GRO at the receiver).
func coalesce(w wire, sent []sentPacket, start int64, want int) (wire, int) {
	used := 1
	for w.payload < want && used < len(sent) {
		n := decodeWire(sent[used], start)
		if n.proto != header.IPPROTO_TCP || n.at != w.at || n.seq != w.seq+uint32(w.payload) || n.ack != w.ack ||
			n.sport != w.sport || n.dport != w.dport || w.flags&(header.TCP_FLAG_FIN|header.TCP_FLAG_SYN|header.TCP_FLAG_RST) != 0 ||
			n.flags&(header.TCP_FLAG_SYN|header.TCP_FLAG_RST) != 0 || n.payload == 0 || w.payload+n.payload > want {
			break
		}
		w.payload += n.payload
		w.flags |= n.flags
		w.segs++
		used++
	}
	if w.segs > 1 {
		w.flags |= header.TCP_FLAG_PSH
	}
	return w, used
}

// matchPacket compares an outbound line with the packet the kernel sent,
// field by field, in packetdrill's words.
func (r *Runner) matchPacket(ev *Event, w wire) error {
	c := &r.conn
	mismatch := func(field string, want, got uint64) error {
		return &RunError{File: r.s.File, Line: ev.Line,
			Msg:    fmt.Sprintf("error handling packet: live packet field %s: expected: %d (%#x) vs actual: %d (%#x)", field, want, want, got, got),
			Detail: []string{"script packet:  " + packetText(ev), "actual packet:  " + stamp(w.at) + " " + c.renderWire(w)}}
	}
	if w.malformed != "" {
		return r.fail(ev, "error handling packet: the kernel sent %s", w.malformed)
	}
	pkt := ev.Packet
	switch {
	case pkt.UDP != nil:
		if w.proto != header.IPPROTO_UDP {
			return mismatch("ipv4_protocol", header.IPPROTO_UDP, uint64(w.proto))
		}
		if w.udpLen != pkt.UDP.Len {
			return mismatch("udp_payload_length", uint64(pkt.UDP.Len), uint64(w.udpLen))
		}
		return nil
	case pkt.ICMP != nil:
		if w.proto != header.IPPROTO_ICMP {
			return mismatch("ipv4_protocol", header.IPPROTO_ICMP, uint64(w.proto))
		}
		if w.icmpType != pkt.ICMP.TypeNum {
			return mismatch("icmp_type", uint64(pkt.ICMP.TypeNum), uint64(w.icmpType))
		}
		if w.icmpCode != pkt.ICMP.CodeNum {
			return mismatch("icmp_code", uint64(pkt.ICMP.CodeNum), uint64(w.icmpCode))
		}
		return nil
	}
	if w.proto != header.IPPROTO_TCP {
		return mismatch("ipv4_protocol", header.IPPROTO_TCP, uint64(w.proto))
	}
	t := pkt.TCP
	if w.dst != RemoteAddr.String() {
		return r.fail(ev, "error handling packet: the kernel sent a packet to %s, not to the script's peer %s", w.dst, RemoteAddr)
	}
	// The kernel's SYN or SYN-ACK sets its ISN and, for an active open, the
	// ports.
	if w.flags&header.TCP_FLAG_SYN != 0 && t.Flags&header.TCP_FLAG_SYN != 0 {
		c.localISN, c.haveLocalISN = w.seq-t.Seq, true
		if w.flags&header.TCP_FLAG_ACK == 0 {
			c.localPort, c.remotePort = w.sport, w.dport
		}
	}
	for _, f := range []struct {
		name string
		bit  uint8
	}{{"tcp_syn", header.TCP_FLAG_SYN}, {"tcp_fin", header.TCP_FLAG_FIN}, {"tcp_rst", header.TCP_FLAG_RST},
		{"tcp_psh", header.TCP_FLAG_PSH}, {"tcp_ack", header.TCP_FLAG_ACK}, {"tcp_urg", header.TCP_FLAG_URG},
		{"tcp_ece", header.TCP_FLAG_ECE}, {"tcp_cwr", header.TCP_FLAG_CWR}} {
		want, got := t.Flags&f.bit != 0, w.flags&f.bit != 0
		if want != got {
			return mismatch(f.name, b2u(want), b2u(got))
		}
	}
	if w.sport != c.localPort {
		return mismatch("tcp_src_port", uint64(c.localPort), uint64(w.sport))
	}
	if w.dport != c.remotePort {
		return mismatch("tcp_dst_port", uint64(c.remotePort), uint64(w.dport))
	}
	if got := w.seq - c.localISN; got != t.Seq {
		return mismatch("tcp_seq", uint64(t.Seq), uint64(got))
	}
	if t.HasAck {
		if got := w.ack - RemoteISN; got != t.Ack {
			return mismatch("tcp_ack_seq", uint64(t.Ack), uint64(got))
		}
	}
	if w.payload != t.Len {
		return mismatch("tcp_payload_length", uint64(t.Len), uint64(w.payload))
	}
	if t.HasWin && w.win != t.Win {
		return mismatch("tcp_window", uint64(t.Win), uint64(w.win))
	}
	return r.matchOptions(ev, w, mismatch)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// matchOptions compares TCP options: none written means none sent; <...>
// means any. A TS val is not compared (packetdrill's default,
// --tcp_ts_tick_usecs=0), but the first one sets how later ones map.
func (r *Runner) matchOptions(ev *Event, w wire, mismatch func(string, uint64, uint64) error) error {
	t := ev.Packet.TCP
	got := optionsOf(w.opts)
	for _, o := range got {
		if o.Kind == OptTimestamp && !r.conn.haveTS {
			for _, e := range t.Options {
				if e.Kind == OptTimestamp {
					r.conn.tsOffset, r.conn.haveTS = o.Val-e.Val, true
				}
			}
		}
	}
	if t.AnyOptions {
		return nil
	}
	rel := r.conn.scriptTS(relOptions(got, RemoteISN))
	same := len(rel) == len(t.Options)
	for i := 0; same && i < len(rel); i++ {
		a, e := rel[i], t.Options[i]
		switch {
		case a.Kind != e.Kind:
			same = false
		case a.Kind == OptTimestamp:
			same = a.Ecr == e.Ecr
		case a.Kind == OptSack:
			same = fmt.Sprint(a.Blocks) == fmt.Sprint(e.Blocks)
		default:
			same = a.Value == e.Value
		}
	}
	if !same {
		want := OptionsString(t.Options)
		if len(t.Options) == 0 {
			want = "none"
		}
		have := OptionsString(rel)
		if len(rel) == 0 {
			have = "none"
		}
		return &RunError{File: r.s.File, Line: ev.Line,
			Msg:    fmt.Sprintf("error handling packet: live packet field tcp_options: expected: %s vs actual: %s", want, have),
			Detail: []string{"script packet:  " + packetText(ev), "actual packet:  " + stamp(w.at) + " " + r.conn.renderWire(w)}}
	}
	return nil
}
