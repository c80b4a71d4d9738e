package tracing

import (
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Direction says which way a packet went through a device.
type Direction uint8

const (
	// DirectionUnknown leaves the pcapng direction flag unset.
	DirectionUnknown Direction = iota
	// Inbound is a packet the device received (netif_receive_skb).
	Inbound
	// Outbound is a packet handed to the device (dev_queue_xmit).
	Outbound
)

// String names the direction as the packet tap does ("in", "out").
func (d Direction) String() string {
	switch d {
	case Inbound:
		return "in"
	case Outbound:
		return "out"
	}
	return "unknown"
}

// PcapngPacket is one packet for a PcapngWriter. The writer is done with
// it when WritePacket returns, so Data may be reused afterwards.
type PcapngPacket struct {
	// TimeNs is the kernel clock time of the packet, in nanoseconds since
	// boot.
	TimeNs int64
	// Interface names the device; each new name becomes a pcapng
	// interface the first time it is seen.
	Interface string
	// InterfaceDescription describes the device (its kind, ifindex and
	// MTU); it is written only with the interface, when Interface is
	// first seen.
	InterfaceDescription string
	// Direction sets the enhanced packet block's direction flag.
	Direction Direction
	// Comment is the packet's comment: which kernel function handled it
	// on which device ("received by netif_receive_skb on tun0").
	Comment string
	// Data is the packet, starting with its IPv4 header: the devices the
	// model has (TUN, loopback, the script device and the in-memory wire)
	// carry no link-layer header, as a Linux TUN device without packet
	// information does not.
	Data []byte
}

// PcapngOptions tunes a PcapngWriter. The zero value is a sensible
// default.
type PcapngOptions struct {
	// Application is the section header's shb_userappl ("stackscope
	// 0.1.0"); empty means "stackscope".
	Application string
	// Comment is the section header's comment, if not empty.
	Comment string
	// Epoch is the wall-clock time of the kernel's boot: a packet's
	// timestamp is Epoch plus its TimeNs. The zero value means the Unix
	// epoch (1970-01-01 00:00:00 UTC), so that absolute times read as
	// time since boot. It is fixed, never the time of the export, so the
	// same trace always gives the same bytes.
	Epoch time.Time
}

// PcapLinkTypeRaw is LINKTYPE_RAW (101, gopacket's layers.LinkTypeRaw):
// each packet starts with its IPv4 or IPv6 header, no link-layer header.
const PcapLinkTypeRaw = int(layers.LinkTypeRaw)

// PcapngWriter writes packets as pcapng (the format Wireshark and tshark
// read natively) through gopacket's pcapgo: one section, one interface per
// device named after it, each with link type RAW (the packet starts at its
// IP header) and nanosecond timestamps, and one enhanced packet block per
// packet with its timestamp, its direction flag and a comment. The file
// is little-endian.
//
// The section header goes out with the first packet, together with that
// packet's interface; later interfaces are added as they are first seen.
// With no packet at all, Close writes a section with one interface,
// "none", and no packets: a valid capture of nothing. Close must be
// called.
type PcapngWriter struct {
	out    io.Writer
	ng     *pcapgo.NgWriter
	opt    PcapngOptions
	epoch  int64 // Unix nanoseconds of the kernel's boot
	ifaces map[string]int
	names  []string // interface names in id order
	n      int
	closed bool
	err    error
}

// NewPcapngWriter returns a writer onto w. Nothing is written until the
// first packet (or Close).
func NewPcapngWriter(w io.Writer, opt PcapngOptions) *PcapngWriter {
	if opt.Application == "" {
		opt.Application = "stackscope"
	}
	var epoch int64
	if !opt.Epoch.IsZero() {
		epoch = opt.Epoch.UnixNano()
	}
	return &PcapngWriter{out: w, opt: opt, epoch: epoch, ifaces: map[string]int{}}
}

// iface describes a device as a pcapng interface.
func iface(name, desc string) pcapgo.NgInterface {
	return pcapgo.NgInterface{Name: name, Description: desc, LinkType: layers.LinkTypeRaw, TimestampResolution: 9}
}

// start writes the section header and the first interface. Nothing about
// the host the export runs on goes in, so the output is the same
// everywhere.
func (p *PcapngWriter) start(first pcapgo.NgInterface) error {
	ng, err := pcapgo.NewNgWriterInterface(p.out, first, pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Application: p.opt.Application, Comment: p.opt.Comment}})
	if err != nil {
		return err
	}
	p.ng = ng
	return nil
}

// WritePacket writes one packet, adding its interface first if it is new.
// After an error, every call returns that error.
func (p *PcapngWriter) WritePacket(pkt PcapngPacket) error {
	if p.err != nil {
		return p.err
	}
	if p.closed {
		return fmt.Errorf("pcapng: write packet %d: the writer is closed", p.n+1)
	}
	if pkt.Interface == "" {
		return p.fail(fmt.Errorf("pcapng: packet %d has no interface name", p.n+1))
	}
	if len(pkt.Data) > 1<<30 {
		return p.fail(fmt.Errorf("pcapng: packet %d of %d bytes is too large", p.n+1, len(pkt.Data)))
	}
	id, ok := p.ifaces[pkt.Interface]
	if !ok {
		intf := iface(pkt.Interface, pkt.InterfaceDescription)
		if p.ng == nil {
			if err := p.start(intf); err != nil {
				return p.fail(fmt.Errorf("pcapng: write section header: %w", err))
			}
			id = 0
		} else {
			var err error
			if id, err = p.ng.AddInterface(intf); err != nil {
				return p.fail(fmt.Errorf("pcapng: add interface %s: %w", pkt.Interface, err))
			}
		}
		p.ifaces[pkt.Interface] = id
		p.names = append(p.names, pkt.Interface)
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.epoch+pkt.TimeNs).UTC(), CaptureLength: len(pkt.Data),
		Length: len(pkt.Data), InterfaceIndex: id}
	opts := pcapgo.NgPacketOptions{}
	if pkt.Comment != "" {
		opts.Comments = []string{pkt.Comment}
	}
	switch pkt.Direction {
	case Inbound:
		opts.Flags = &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionInbound}
	case Outbound:
		opts.Flags = &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionOutbound}
	}
	if err := p.ng.WritePacketWithOptions(ci, pkt.Data, opts); err != nil {
		return p.fail(fmt.Errorf("pcapng: write packet %d (%d bytes on %s): %w", p.n+1, len(pkt.Data), pkt.Interface, err))
	}
	p.n++
	return nil
}

// fail records the first error and returns it.
func (p *PcapngWriter) fail(err error) error {
	if p.err == nil {
		p.err = err
	}
	return p.err
}

// Packets returns how many packets have been written.
func (p *PcapngWriter) Packets() int { return p.n }

// Interfaces returns the interface names in the order they were added
// (their pcapng interface ids).
func (p *PcapngWriter) Interfaces() []string { return append([]string(nil), p.names...) }

// Close writes the section header if no packet did, and flushes. It does
// not close the underlying writer. It returns the first error of the whole
// export; calling it again returns the same.
func (p *PcapngWriter) Close() error {
	if p.closed {
		return p.err
	}
	p.closed = true
	if p.err != nil {
		return p.err
	}
	if p.ng == nil {
		if err := p.start(iface("none", "no packet crossed a device")); err != nil {
			return p.fail(fmt.Errorf("pcapng: write section header: %w", err))
		}
	}
	if err := p.ng.Flush(); err != nil {
		return p.fail(fmt.Errorf("pcapng: write: %w", err))
	}
	return nil
}
