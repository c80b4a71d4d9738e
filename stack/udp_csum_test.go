package stack

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// A UDP datagram longer than CHECKSUM_BREAK (76 bytes) arriving on a
// device that leaves checksums to the stack (a TUN device; the script
// device stands for one) is queued unverified (udp4_csum_init), and its
// checksum is verified when it is read (udp_recvmsg's csum_copy_err), or
// by udp_poll for a blocking reader (first_packet_length). The previous
// build verified every datagram on arrival.

// udpOnScriptDev boots a kernel with the script device and a UDP socket
// bound to 192.0.2.2:53 on it.
func udpOnScriptDev(t *testing.T) (*fixture, int, *netdev.Device) {
	t.Helper()
	f := boot(t, Config{})
	dev, _ := scriptDev(t, f, 1500)
	fd := f.udpSocket(t)
	if err := f.p.Bind(fd, addr("192.0.2.2:53")); err != nil {
		t.Fatal(err)
	}
	return f, fd, dev
}

// badDatagram delivers a datagram with payload n bytes long and a broken
// checksum to 192.0.2.2:53, and a good one after it if good is set.
func badDatagram(t *testing.T, f *fixture, dev *netdev.Device, n int, good bool) {
	t.Helper()
	ip := v4(peerIP, stackIP, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 4000, DstPort: 53}
	_ = u.SetNetworkLayerForChecksum(ip)
	bad := buildPacket(t, ip, u, gopacket.Payload(make([]byte, n)))
	bad[len(bad)-1] ^= 0xff
	_ = f.k.Receive(dev, bad)
	if good {
		ip2 := v4(peerIP, stackIP, layers.IPProtocolUDP)
		u2 := &layers.UDP{SrcPort: 4000, DstPort: 53}
		_ = u2.SetNetworkLayerForChecksum(ip2)
		_ = f.k.Receive(dev, buildPacket(t, ip2, u2, gopacket.Payload([]byte("fine"))))
	}
	_ = f.k.Sync()
}

// TestUDPBadChecksumLongDatagramPollsReadable: on an O_NONBLOCK socket
// poll says POLLIN for the unverified datagram (udp_poll checks only for
// a blocking file); the error is counted when recv meets it, which then
// says EAGAIN, there being nothing else.
func TestUDPBadChecksumLongDatagramPollsReadable(t *testing.T) {
	f, fd, dev := udpOnScriptDev(t)
	p := f.p
	if _, err := p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	badDatagram(t, f, dev, 100, false)
	if got := pollNow(t, p, fd, sockets.POLLIN); got != sockets.POLLIN {
		t.Errorf("a 108-byte datagram with a bad checksum on an O_NONBLOCK socket: revents %s, 6.12 gives POLLIN",
			sockets.PollString(uint32(got)))
	}
	if n := f.mib(t, UDP_MIB_CSUMERRORS); n != 0 {
		t.Errorf("InCsumErrors %d before any read; 6.12 counts it when recv meets it", n)
	}
	if _, _, err := p.Recvfrom(fd, 200, 0); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("recv of the bad datagram: %v, want EAGAIN", err)
	}
	if n := f.mib(t, UDP_MIB_CSUMERRORS); n != 1 {
		t.Errorf("InCsumErrors %d after the read, want 1", n)
	}
	if n := f.mib(t, UDP_MIB_INERRORS); n != 1 {
		t.Errorf("InErrors %d after the read, want 1", n)
	}
}

// TestUDPBadChecksumSkippedByRecv: recv drops the bad datagram at the
// head and returns the good one behind it.
func TestUDPBadChecksumSkippedByRecv(t *testing.T) {
	f, fd, dev := udpOnScriptDev(t)
	p := f.p
	badDatagram(t, f, dev, 100, true)
	got, _, err := p.Recvfrom(fd, 200, 0)
	if err != nil || string(got) != "fine" {
		t.Errorf("recv: %q, %v; want the good datagram behind the bad one", got, err)
	}
	if c := f.mib(t, UDP_MIB_CSUMERRORS); c != 1 {
		t.Errorf("InCsumErrors %d, want 1", c)
	}
}

// TestUDPBadChecksumNotReadableWhenBlocking: for a blocking file udp_poll
// verifies the head (first_packet_length): the bad datagram is dropped
// and counted, and with nothing else queued there is no POLLIN.
func TestUDPBadChecksumNotReadableWhenBlocking(t *testing.T) {
	f, fd, dev := udpOnScriptDev(t)
	p := f.p
	badDatagram(t, f, dev, 100, false)
	if got := pollNow(t, p, fd, sockets.POLLIN); got != 0 {
		t.Errorf("poll on a blocking socket with only a bad datagram queued: revents %s, want none",
			sockets.PollString(uint32(got)))
	}
	if n := f.mib(t, UDP_MIB_CSUMERRORS); n != 1 {
		t.Errorf("InCsumErrors %d after the poll, want 1", n)
	}
}
