package stack

import (
	"net/netip"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

var netipBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// Rtable is struct rtable: where a route lookup says a packet goes.
type Rtable struct {
	Dev     *netdev.Device
	Type    sockets.AddrType // RTN_LOCAL, RTN_UNICAST, RTN_BROADCAST ...
	Gateway netip.Addr       // rt_gw4: the next hop, if not the destination
	Src     netip.Addr       // the preferred source address
	MTU     int
}

// localAddr reports whether a belongs to this host, and the device that
// owns it (lo owns all of 127.0.0.0/8).
func (k *Kernel) localAddr(a netip.Addr) (*netdev.Device, netip.Addr, bool) {
	for _, d := range k.devs {
		for _, p := range d.Addrs {
			if p.Addr() == a {
				return d, p.Addr(), true
			}
			if d.Flags&netdev.IFF_LOOPBACK != 0 && p.Contains(a) {
				return d, p.Addr(), true
			}
		}
	}
	return nil, netip.Addr{}, false
}

func (k *Kernel) loopback() *netdev.Device { return k.devs[0] }

// ipRouteOutput is ip_route_output_key: the route for a destination. A
// local address goes through lo with itself as the source (127.0.0.0/8
// with source 127.0.0.1); an address on a device's subnet goes straight out
// of that device; anything else goes to the first device with a peer (the
// default route of a point-to-point link); failing all that, ENETUNREACH.
func (k *Kernel) ipRouteOutput(daddr netip.Addr) (*Rtable, error) {
	k.tr.Enter1(fnIpRouteOutputKey, tracing.IPv4(uint32(sockets.Be32From(daddr))))
	rt, err := k.routeOutput(daddr)
	if err != nil {
		k.tr.Exit(fnIpRouteOutputKey, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return nil, err
	}
	k.tr.Exit(fnIpRouteOutputKey, tracing.Int(int64(rt.Dev.Ifindex)))
	return rt, nil
}

func (k *Kernel) routeOutput(daddr netip.Addr) (*Rtable, error) {
	if !daddr.Is4() {
		return nil, sockets.Errno(tracing.EAFNOSUPPORT)
	}
	if _, src, ok := k.localAddr(daddr); ok {
		lo := k.loopback()
		return &Rtable{Dev: lo, Type: sockets.RTN_LOCAL, Src: src, MTU: lo.MTU}, nil
	}
	if daddr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return nil, sockets.Errno(tracing.ENETUNREACH)
	}
	for _, d := range k.devs {
		if d.Flags&netdev.IFF_LOOPBACK != 0 || !d.Up() {
			continue
		}
		for _, p := range d.Addrs {
			if p.Contains(daddr) || d.Peer == daddr {
				return &Rtable{Dev: d, Type: sockets.RTN_UNICAST, Src: p.Addr(), MTU: d.MTU}, nil
			}
		}
	}
	for _, d := range k.devs {
		if d.Flags&netdev.IFF_LOOPBACK == 0 && d.Up() && d.Peer.IsValid() && len(d.Addrs) > 0 {
			return &Rtable{Dev: d, Type: sockets.RTN_UNICAST, Gateway: d.Peer, Src: d.Addrs[0].Addr(), MTU: d.MTU}, nil
		}
	}
	return nil, sockets.Errno(tracing.ENETUNREACH)
}

// ipRouteInput is ip_route_input_noref for a received packet: local
// delivery if the destination is ours; the model does not forward, so
// anything else is unreachable (as on a host with ip_forward = 0).
func (k *Kernel) ipRouteInput(daddr netip.Addr) sockets.AddrType {
	k.tr.Enter1(fnIpRouteInputNoref, tracing.IPv4(uint32(sockets.Be32From(daddr))))
	t := sockets.RTN_UNREACHABLE
	if _, _, ok := k.localAddr(daddr); ok {
		t = sockets.RTN_LOCAL
	} else if daddr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		t = sockets.RTN_BROADCAST
	}
	k.tr.Exit(fnIpRouteInputNoref, tracing.Int(int64(t)))
	return t
}
