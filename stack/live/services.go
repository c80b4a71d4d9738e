package live

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// service is a built-in server running as a process of the model kernel.
type service struct {
	name string
	stop func()
}

// Services lists the built-in services: name, transport, port, what it does.
var Services = []struct {
	Name, Proto string
	Port        uint16
	Doc         string
}{
	{"echo", "udp", 7, "echoes every datagram back (RFC 862)"},
	{"discard", "udp", 9, "reads datagrams and throws them away (RFC 863)"},
}

func (s *Session) startServices(which []string) error {
	for _, svc := range Services {
		if which != nil && !slices.Contains(which, svc.Name) {
			continue
		}
		p, err := s.K.NewProcess(svc.Name + "-" + svc.Proto)
		if err != nil {
			return err
		}
		pc, err := p.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), svc.Port))
		if err != nil {
			return fmt.Errorf("%s/%s: %w", svc.Name, svc.Proto, err)
		}
		echo := svc.Name == "echo"
		s.services = append(s.services, service{name: svc.Name, stop: func() { _ = pc.Close() }})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			serveUDP(pc, echo)
		}()
	}
	return nil
}

// serveUDP is the service's main loop: read, and echo back if asked.
func serveUDP(pc net.PacketConn, echo bool) {
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if echo {
			if _, err := pc.WriteTo(buf[:n], from); err != nil {
				return
			}
		}
	}
}
