package header

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	srcIP = netip.MustParseAddr("10.0.0.1")
	dstIP = netip.MustParseAddr("10.0.0.2")
)

// serialize builds the same packet with gopacket, checksums computed by
// gopacket: an independent encoder to compare against.
func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTCPSegmentMatchesGopacket(t *testing.T) {
	payload := []byte("hello, kernel")
	opts := (&OptionWriter{}).MSS(1460).SackPermTimestamp(100, 0).WScale(7).Bytes()
	pkt := make([]byte, IPv4MinSize+TCPMinSize+len(opts)+len(payload))
	tcp := TCP(pkt[IPv4MinSize:])
	copy(tcp[TCPMinSize+len(opts):], payload)
	tcp.Encode(TCPFields{SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 0, Flags: TCP_FLAG_SYN, Window: 64240, Options: opts}, srcIP, dstIP)
	IPv4(pkt).Encode(IPv4Fields{Total: len(pkt), ID: 7, FragOff: IP_DF, TTL: 64, Protocol: IPPROTO_TCP, Src: srcIP, Dst: dstIP})

	ip := &layers.IPv4{Version: 4, IHL: 5, Id: 7, Flags: layers.IPv4DontFragment, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: net.IP(srcIP.AsSlice()), DstIP: net.IP(dstIP.AsSlice())}
	tl := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1000, SYN: true, Window: 64240, Options: []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 100, 0, 0, 0, 0}},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
	}}
	_ = tl.SetNetworkLayerForChecksum(ip)
	want := serialize(t, ip, tl, gopacket.Payload(payload))
	if !bytes.Equal(pkt, want) {
		t.Fatalf("our segment\n%x\ngopacket's\n%x", pkt, want)
	}
	h := IPv4(pkt)
	if !h.ChecksumValid() || h.Src() != srcIP || h.Protocol() != IPPROTO_TCP || !h.DontFragment() {
		t.Errorf("IPv4 view: %s", h)
	}
	seg := TCP(h.Payload())
	if !seg.ChecksumValid(srcIP, dstIP) || string(seg.Payload()) != string(payload) || seg.Flags() != TCP_FLAG_SYN {
		t.Errorf("TCP view: %s", seg)
	}
	o := ParseTCPOptions(seg.Options())
	if !o.HasMSS || o.MSS != 1460 || !o.SackOK || !o.HasTS || o.TSval != 100 || !o.HasWScale || o.WScale != 7 || o.Malformed {
		t.Errorf("options %+v", o)
	}
	seg[len(seg)-1] ^= 1
	if seg.ChecksumValid(srcIP, dstIP) {
		t.Error("a corrupted segment passes its checksum")
	}
}

func TestUDPAndICMPMatchGopacket(t *testing.T) {
	payload := []byte("ping")
	u := make(UDP, UDPHeaderSize+len(payload))
	copy(u[UDPHeaderSize:], payload)
	u.Encode(5353, 7, srcIP, dstIP)
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP(srcIP.AsSlice()), DstIP: net.IP(dstIP.AsSlice())}
	ul := &layers.UDP{SrcPort: 5353, DstPort: 7}
	_ = ul.SetNetworkLayerForChecksum(ip)
	want := serialize(t, ip, ul, gopacket.Payload(payload))[IPv4MinSize:]
	if !bytes.Equal(u, want) || !u.ChecksumValid(srcIP, dstIP) {
		t.Errorf("UDP\n%x\n%x", []byte(u), want)
	}
	ic := make(ICMP, ICMPHeaderSize+len(payload))
	copy(ic[ICMPHeaderSize:], payload)
	ic.Encode(ICMP_ECHO, 0, uint32(0x1234)<<16|9)
	il := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 0x1234, Seq: 9}
	want = serialize(t, il, gopacket.Payload(payload))
	if !bytes.Equal(ic, want) || !ic.ChecksumValid() || ic.ID() != 0x1234 || ic.Seq() != 9 {
		t.Errorf("ICMP\n%x\n%x", []byte(ic), want)
	}
}

// TestMalformedOptionsStopParsing follows tcp_parse_options: a length below
// 2 or past the end ends parsing; what came before still counts.
func TestMalformedOptionsStopParsing(t *testing.T) {
	tests := []struct {
		name      string
		opts      []byte
		malformed bool
		mss       bool
	}{
		{"eol ends", []byte{TCPOPT_MSS, 4, 5, 0xb4, TCPOPT_EOL, 99, 1}, false, true},
		{"zero length", []byte{TCPOPT_MSS, 4, 5, 0xb4, TCPOPT_WINDOW, 0, 7}, true, true},
		{"past the end", []byte{TCPOPT_WINDOW, 9, 7}, true, false},
		{"lonely kind", []byte{TCPOPT_NOP, TCPOPT_MSS}, true, false},
		{"wrong mss length", []byte{TCPOPT_MSS, 3, 5}, true, false},
		{"unknown kind skipped", []byte{30, 4, 0, 0, TCPOPT_MSS, 4, 2, 0}, false, true},
		{"sack blocks", []byte{TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, 10, 0, 0, 0, 1, 0, 0, 0, 9}, false, false},
		{"sack bad size", []byte{TCPOPT_SACK, 6, 0, 0, 0, 1}, true, false},
	}
	for _, tt := range tests {
		o := ParseTCPOptions(tt.opts)
		if o.Malformed != tt.malformed || o.HasMSS != tt.mss {
			t.Errorf("%s: %+v", tt.name, o)
		}
	}
	if o := ParseTCPOptions([]byte{TCPOPT_WINDOW, 3, 20}); o.WScale != TCP_MAX_WSCALE {
		t.Errorf("window scale 20 is clamped to 14, got %d", o.WScale)
	}
	if o := ParseTCPOptions([]byte{1, 1, TCPOPT_SACK, 10, 0, 0, 0, 1, 0, 0, 0, 9}); len(o.Sacks) != 1 || o.Sacks[0] != (SackBlock{1, 9}) {
		t.Errorf("sack %+v", o.Sacks)
	}
}

func FuzzParseTCPOptions(f *testing.F) {
	f.Add([]byte{2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		o := ParseTCPOptions(b)
		if o.HasWScale && o.WScale > TCP_MAX_WSCALE {
			t.Fatal("window scale above 14")
		}
	})
}
