package stack

import (
	"net/netip"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
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
	// Dst is fl4->daddr after the lookup: the destination, except that
	// 0.0.0.0 becomes 127.0.0.1 (ip_route_output_key_hash_rcu).
	Dst netip.Addr
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

// routeOutputDev is the route lookup without path MTU exceptions, in
// fib_lookup's order: the local table first (a subnet's broadcast address
// is an RTN_BROADCAST route there, lo's 127.255.255.255 included, more
// specific than lo's 127.0.0.0/8), then the subnets and the default route.
// Through the default route __mkroute_output makes 255.255.255.255
// RTN_BROADCAST, a multicast group RTN_MULTICAST, and refuses the rest of
// 0.0.0.0/8 (EINVAL).
func (k *Kernel) routeOutputDev(daddr netip.Addr) (*Rtable, error) {
	if !daddr.Is4() {
		return nil, sockets.Errno(tracing.EAFNOSUPPORT)
	}
	if daddr.IsUnspecified() {
		// ip_route_output_key_hash_rcu: "to 0.0.0.0" is to this host,
		// over lo (a caller with a source address routes to it instead:
		// routeDaddr).
		lo := k.loopback()
		self := netip.AddrFrom4([4]byte{127, 0, 0, 1})
		return &Rtable{Dev: lo, Type: sockets.RTN_LOCAL, Src: self, Dst: self, MTU: lo.MTU}, nil
	}
	rt, err := k.routeOutputTable(daddr)
	if rt != nil {
		rt.Dst = daddr
	}
	return rt, err
}

// routeDaddr is the destination a socket with source address saddr routes
// to: daddr, or for 0.0.0.0 saddr itself (ip_route_output_key_hash_rcu
// sets fl4->daddr = fl4->saddr).
func routeDaddr(daddr netip.Addr, saddr sockets.Be32) netip.Addr {
	if daddr.IsUnspecified() && saddr != 0 {
		return saddr.Addr()
	}
	return daddr
}

// routeOutputTable is the fib_lookup part of routeOutputDev.
func (k *Kernel) routeOutputTable(daddr netip.Addr) (*Rtable, error) {
	if d, src, ok := k.fibBroadcastDev(daddr); ok {
		return &Rtable{Dev: d, Type: sockets.RTN_BROADCAST, Src: src, MTU: d.MTU}, nil
	}
	if _, src, ok := k.localAddr(daddr); ok {
		lo := k.loopback()
		return &Rtable{Dev: lo, Type: sockets.RTN_LOCAL, Src: src, MTU: lo.MTU}, nil
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
			rt := &Rtable{Dev: d, Type: sockets.RTN_UNICAST, Gateway: d.Peer, Src: d.Addrs[0].Addr(), MTU: d.MTU}
			switch {
			case daddr == netipBroadcast: // no gateway for a broadcast
				rt.Type, rt.Gateway = sockets.RTN_BROADCAST, netip.Addr{}
			case daddr.IsMulticast():
				rt.Type = sockets.RTN_MULTICAST
			case daddr.As4()[0] == 0: // ipv4_is_zeronet
				return nil, sockets.Errno(tracing.EINVAL)
			}
			return rt, nil
		}
	}
	return nil, sockets.Errno(tracing.ENETUNREACH)
}

// ipRouteInput is ip_route_input_noref for a packet received on dev. A
// packet looped back through lo keeps the route its sender looked up
// (skb_valid_dst), so it is only typed; any other goes through
// ip_route_input_slow. An error is a martian or a multicast group the
// host has not joined: ip_rcv_finish_core drops it without a counter.
func (k *Kernel) ipRouteInput(saddr, daddr netip.Addr, dev *netdev.Device) (sockets.AddrType, error) {
	k.tr.Enter1(fnIpRouteInputNoref, tracing.IPv4(uint32(sockets.Be32From(daddr))))
	var t sockets.AddrType
	var err error
	switch {
	case dev != nil && dev.Flags&netdev.IFF_LOOPBACK != 0:
		t = sockets.RTN_UNREACHABLE
		if _, _, ok := k.localAddr(daddr); ok {
			t = sockets.RTN_LOCAL
		}
	case daddr.IsMulticast():
		// ip_route_input_rcu: ip_check_mc_rcu finds no group joined.
		err = sockets.Errno(tracing.EINVAL)
	default:
		t, err = k.ipRouteInputSlow(saddr, daddr)
	}
	if err != nil {
		k.tr.Exit(fnIpRouteInputNoref, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return t, err
	}
	k.tr.Exit(fnIpRouteInputNoref, tracing.Int(int64(t)))
	return t, nil
}

// ipRouteInputSlow is ip_route_input_slow on a host that does not
// forward: a multicast, limited broadcast, 0.0.0.0 or (with
// route_localnet off) 127/8 source is a martian, as is a 0.0.0.0 or 127/8
// destination; the limited broadcast, 0.0.0.0 from 0.0.0.0 and the
// subnet broadcasts are RTN_BROADCAST; our own addresses RTN_LOCAL; the
// rest unreachable (ip_error counts it). Broadcast and local input also
// pass fib_validate_source.
func (k *Kernel) ipRouteInputSlow(saddr, daddr netip.Addr) (sockets.AddrType, error) {
	martian := sockets.Errno(tracing.EINVAL)
	zero := netip.AddrFrom4([4]byte{})
	if saddr.IsMulticast() || saddr == netipBroadcast {
		return sockets.RTN_UNSPEC, martian // martian_source
	}
	brd := daddr == netipBroadcast || (saddr == zero && daddr == zero)
	if !brd {
		if saddr == zero {
			return sockets.RTN_UNSPEC, martian // martian_source
		}
		if daddr == zero || daddr.IsLoopback() {
			return sockets.RTN_UNSPEC, martian // martian_destination
		}
		if saddr.IsLoopback() {
			return sockets.RTN_UNSPEC, martian // martian_source
		}
		brd = k.fibBroadcast(daddr)
	}
	if brd { // brd_input
		if saddr != zero && !k.fibValidateSource(saddr) {
			return sockets.RTN_UNSPEC, martian
		}
		return sockets.RTN_BROADCAST, nil
	}
	if _, _, ok := k.localAddr(daddr); ok {
		if !k.fibValidateSource(saddr) {
			return sockets.RTN_UNSPEC, martian
		}
		return sockets.RTN_LOCAL, nil
	}
	return sockets.RTN_UNREACHABLE, nil
}

// fibValidateSource is fib_validate_source with rp_filter and
// accept_local off (the defaults): a packet from outside whose source is
// one of our own addresses (a LAND attack, or a reflection) is refused.
func (k *Kernel) fibValidateSource(saddr netip.Addr) bool {
	return !k.inetLookupIfaddr(saddr)
}

// inetLookupIfaddr is inet_lookup_ifaddr_rcu: is a an address configured
// on one of the devices (exactly, not merely inside lo's 127/8)?
func (k *Kernel) inetLookupIfaddr(a netip.Addr) bool {
	for _, d := range k.devs {
		for _, p := range d.Addrs {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// fibBroadcast reports whether a is the network broadcast address of an
// address on an up device: fib_add_ifaddr adds prefix|~mask as an
// RTN_BROADCAST route for every prefix shorter than /31.
func (k *Kernel) fibBroadcast(a netip.Addr) bool {
	_, _, ok := k.fibBroadcastDev(a)
	return ok
}

// fibBroadcastDev finds the RTN_BROADCAST route fib_add_ifaddr added for
// a: the device and its address (the route's prefsrc).
func (k *Kernel) fibBroadcastDev(a netip.Addr) (*netdev.Device, netip.Addr, bool) {
	if !a.Is4() {
		return nil, netip.Addr{}, false
	}
	for _, d := range k.devs {
		if !d.Up() {
			continue
		}
		for _, p := range d.Addrs {
			if b, ok := subnetBroadcast(p); ok && b == a {
				return d, p.Addr(), true
			}
		}
	}
	return nil, netip.Addr{}, false
}

// subnetBroadcast is prefix|~mask of an IPv4 address's prefix, if
// fib_add_ifaddr would add it: a nonzero prefix shorter than /31.
func subnetBroadcast(p netip.Prefix) (netip.Addr, bool) {
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return netip.Addr{}, false
	}
	b := p.Masked().Addr().As4()
	if b == [4]byte{} {
		return netip.Addr{}, false
	}
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// ipInputBroadcast says whether a received packet's input route is
// RTCF_BROADCAST: what icmp_rcv, __icmp_send and __udp4_lib_rcv test on
// skb_rtable(skb). The model's skb keeps no route, so the test is made
// again from the addresses.
func (k *Kernel) ipInputBroadcast(iph header.IPv4) bool {
	zero := netip.AddrFrom4([4]byte{})
	d := iph.Dst()
	return d == netipBroadcast || (d == zero && iph.Src() == zero) || k.fibBroadcast(d)
}
