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
	// MTULocked says the path MTU is locked (ip_mtu_locked): ICMP asked
	// for less than ip_rt_min_pmtu, so packets go without DF and may be
	// fragmented (ip_dont_fragment is false).
	MTULocked bool
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
	rt, err := k.routeOutputDev(daddr)
	if err != nil || rt.Type != sockets.RTN_UNICAST {
		return rt, err
	}
	if e, ok := k.pmtuExceptions[daddr]; ok {
		if k.clock.Now() < e.expires {
			rt.MTU = min(rt.MTU, int(e.mtu))
			rt.MTULocked = e.locked
		} else {
			delete(k.pmtuExceptions, daddr)
		}
	}
	return rt, nil
}

// Path MTU (net/ipv4/route.c): what an ICMP fragmentation needed teaches
// is kept per destination as a next-hop exception (struct
// fib_nh_exception), and every route lookup for that destination sees the
// lower MTU until it expires.
const (
	ipRtMinPmtu    = 512 + 20 + 20    // ip_rt_min_pmtu: 552
	ipRtMtuExpires = int64(600 * 1e9) // ip_rt_mtu_expires: 10 minutes
)

// pmtuException is the part of a fib_nh_exception the model keeps.
type pmtuException struct {
	mtu     uint32
	expires int64 // kernel time
	locked  bool  // below ip_rt_min_pmtu: the MTU was raised to it
}

// ipRtUpdatePmtu is __ip_rt_update_pmtu (through ipv4_sk_update_pmtu):
// the path to daddr takes only mtu bytes. A value above the route's MTU
// is ignored; one below ip_rt_min_pmtu becomes that minimum, locked; the
// exception is made, or renewed once it is half expired. It reports
// whether there is a route to daddr.
func (k *Kernel) ipRtUpdatePmtu(daddr netip.Addr, mtu uint32) bool {
	k.tr.Enter2(fnIpRtUpdatePmtu, tracing.IPv4(uint32(sockets.Be32From(daddr))), tracing.Int(int64(mtu)))
	rt, err := k.routeOutput(daddr)
	if err != nil {
		k.tr.Exit(fnIpRtUpdatePmtu, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return false
	}
	defer k.tr.Exit(fnIpRtUpdatePmtu, tracing.Int(int64(rt.MTU)))
	old := uint32(rt.MTU)
	if e, ok := k.pmtuExceptions[daddr]; ok && e.locked { // ip_mtu_locked
		return true
	}
	if rt.Type != sockets.RTN_UNICAST || old < mtu {
		return true
	}
	lock := false
	if mtu < ipRtMinPmtu {
		lock = true
		mtu = min(old, ipRtMinPmtu)
	}
	now := k.clock.Now()
	if e, ok := k.pmtuExceptions[daddr]; ok && e.mtu == mtu && !lock && now < e.expires-ipRtMtuExpires/2 {
		return true
	}
	if k.pmtuExceptions == nil {
		k.pmtuExceptions = map[netip.Addr]pmtuException{}
	}
	k.pmtuExceptions[daddr] = pmtuException{mtu: mtu, expires: now + ipRtMtuExpires, locked: lock}
	return true
}

// routeOutputDev is the route lookup without path MTU exceptions.
func (k *Kernel) routeOutputDev(daddr netip.Addr) (*Rtable, error) {
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
