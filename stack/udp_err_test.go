package stack

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// TestUDPIcmpErrors: ICMP errors about a connected UDP socket's datagram,
// as __udp4_lib_err sorts them. Hard errors reach the next call: port
// unreachable as ECONNREFUSED, a parameter problem as EPROTO,
// fragmentation needed as EMSGSIZE (which also teaches the route the path
// MTU). A soft error (host unreachable) is not reported without
// IP_RECVERR: the read finds nothing (EAGAIN).
func TestUDPIcmpErrors(t *testing.T) {
	for _, c := range []struct {
		name      string
		typ, code uint8
		rest      uint32
		want      int
	}{
		{"port unreachable", header.ICMP_DEST_UNREACH, header.ICMP_PORT_UNREACH, 0, tracing.ECONNREFUSED},
		{"parameter problem", header.ICMP_PARAMETERPROB, 0, 0, tracing.EPROTO},
		{"fragmentation needed", header.ICMP_DEST_UNREACH, header.ICMP_FRAG_NEEDED, 1200, tracing.EMSGSIZE},
		{"host unreachable", header.ICMP_DEST_UNREACH, header.ICMP_HOST_UNREACH, 0, tracing.EAGAIN},
	} {
		f := boot(t, Config{})
		dev, _ := scriptDev(t, f, 1500)
		p := f.p
		fd := f.udpSocket(t)
		if err := p.Bind(fd, sockets.SockaddrIn{Family: sockets.AF_INET, Addr: stackIP, Port: 5000}); err != nil {
			t.Fatal(err)
		}
		if err := p.Connect(fd, sockets.SockaddrIn{Family: sockets.AF_INET, Addr: peerIP, Port: 9}); err != nil {
			t.Fatal(err)
		}
		// The error quotes our datagram's IP header and UDP ports.
		frame := make([]byte, header.IPv4MinSize+header.ICMPHeaderSize+header.IPv4MinSize+8)
		q := frame[header.IPv4MinSize+header.ICMPHeaderSize:]
		header.IPv4(q).Encode(header.IPv4Fields{Total: 28 + 4, TTL: 64, Protocol: header.IPPROTO_UDP, Src: stackIP, Dst: peerIP})
		binary.BigEndian.PutUint16(q[20:], 5000)
		binary.BigEndian.PutUint16(q[22:], 9)
		header.ICMP(frame[header.IPv4MinSize:]).Encode(c.typ, c.code, c.rest)
		header.IPv4(frame).Encode(header.IPv4Fields{Total: len(frame), TTL: 64, Protocol: header.IPPROTO_ICMP, Src: peerIP, Dst: stackIP})
		if err := f.k.Receive(dev, frame); err != nil {
			t.Fatal(err)
		}
		if err := f.k.Sync(); err != nil {
			t.Fatal(err)
		}
		_, _, err := p.Recvfrom(fd, 10, sockets.MSG_DONTWAIT)
		if want := sockets.Errno(c.want); !errors.Is(err, want) {
			t.Errorf("%s: recv returned %v, want %v", c.name, err, want)
		}
		if c.code == header.ICMP_FRAG_NEEDED && c.typ == header.ICMP_DEST_UNREACH {
			mtu, err := control(f.k, "route", true, func(k *Kernel) (int, error) {
				rt, err := k.routeOutput(peerIP)
				if err != nil {
					return 0, err
				}
				return rt.MTU, nil
			})
			if err != nil || mtu != 1200 {
				t.Errorf("%s: route MTU %d (%v), want 1200", c.name, mtu, err)
			}
		}
	}
}

// TestUDPIcmpErrorForNoSocket: an ICMP error quoting a datagram from a
// port no socket has is counted as an ICMP input error (Icmp InErrors),
// as __udp4_lib_err does.
func TestUDPIcmpErrorForNoSocket(t *testing.T) {
	f := boot(t, Config{})
	dev, _ := scriptDev(t, f, 1500)
	before, err := f.k.Mib(ICMP_MIB_INERRORS)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, header.IPv4MinSize+header.ICMPHeaderSize+header.IPv4MinSize+8)
	q := frame[header.IPv4MinSize+header.ICMPHeaderSize:]
	header.IPv4(q).Encode(header.IPv4Fields{Total: 28 + 4, TTL: 64, Protocol: header.IPPROTO_UDP, Src: stackIP, Dst: peerIP})
	binary.BigEndian.PutUint16(q[20:], 5999) // nobody's port
	binary.BigEndian.PutUint16(q[22:], 9)
	header.ICMP(frame[header.IPv4MinSize:]).Encode(header.ICMP_DEST_UNREACH, header.ICMP_PORT_UNREACH, 0)
	header.IPv4(frame).Encode(header.IPv4Fields{Total: len(frame), TTL: 64, Protocol: header.IPPROTO_ICMP, Src: peerIP, Dst: stackIP})
	if err := f.k.Receive(dev, frame); err != nil {
		t.Fatal(err)
	}
	if err := f.k.Sync(); err != nil {
		t.Fatal(err)
	}
	if after, err := f.k.Mib(ICMP_MIB_INERRORS); err != nil || after != before+1 {
		t.Errorf("Icmp InErrors %d -> %d (%v), want one more", before, after, err)
	}
}
