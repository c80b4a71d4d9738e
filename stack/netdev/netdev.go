// Package netdev models network devices (struct net_device): their names,
// addresses, MTU, flags and the statistics `ip -s link` shows. The
// loopback device exists from boot (its packet path, loopback_xmit ->
// netif_rx, is the kernel's); the drivers of the other kinds are here:
// TUN (tun.go), the in-memory wire between two kernels (wire.go), and the
// capture driver of tests (driver.go). The impairments a link can have
// (loss, delay, reorder, duplication, corruption, a rate limit) are one
// model (impair.go) that the wire and the TUN driver's optional
// impairment stage (tun_impair.go) share.
package netdev

import "net/netip"

// Device flags (include/uapi/linux/if.h).
const (
	IFF_UP       = 0x1
	IFF_LOOPBACK = 0x8
	IFF_RUNNING  = 0x40
	IFF_NOARP    = 0x80
)

// Device features (netdev_features_t, include/linux/netdev_features.h):
// the offloads a device offers. The model checksums, segments and
// reassembles everything in software, so its devices offer none of the
// offloads; they show as ethtool -k would after turning them all off.
const (
	NETIF_F_SG              uint64 = 1 << 0
	NETIF_F_IP_CSUM         uint64 = 1 << 1
	NETIF_F_HW_CSUM         uint64 = 1 << 3
	NETIF_F_HIGHDMA         uint64 = 1 << 5
	NETIF_F_FRAGLIST        uint64 = 1 << 6
	NETIF_F_VLAN_CHALLENGED uint64 = 1 << 10
	NETIF_F_GSO             uint64 = 1 << 11
	NETIF_F_GRO             uint64 = 1 << 14
	NETIF_F_TSO             uint64 = 1 << 16
	NETIF_F_RXCSUM          uint64 = 1 << 40
	NETIF_F_LOOPBACK        uint64 = 1 << 42
)

// featureNames are ethtool's names for the feature bits, in bit order.
var featureNames = []struct {
	bit  uint64
	name string
}{
	{NETIF_F_SG, "tx-scatter-gather"}, {NETIF_F_IP_CSUM, "tx-checksum-ipv4"},
	{NETIF_F_HW_CSUM, "tx-checksum-ip-generic"}, {NETIF_F_HIGHDMA, "highdma"},
	{NETIF_F_FRAGLIST, "tx-scatter-gather-fraglist"}, {NETIF_F_VLAN_CHALLENGED, "vlan-challenged"},
	{NETIF_F_GSO, "tx-generic-segmentation"}, {NETIF_F_GRO, "rx-gro"},
	{NETIF_F_TSO, "tx-tcp-segmentation"}, {NETIF_F_RXCSUM, "rx-checksum"}, {NETIF_F_LOOPBACK, "loopback"},
}

// FeatureNames lists the set feature bits by ethtool's names.
func (d *Device) FeatureNames() []string {
	out := []string{}
	for _, f := range featureNames {
		if d.Features&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

// Stats is struct rtnl_link_stats64, the part ip -s link prints.
type Stats struct {
	RxPackets, RxBytes, RxErrors, RxDropped uint64
	TxPackets, TxBytes, TxErrors, TxDropped uint64
	// RxNohandler counts packets of a protocol nobody handles (IPv6 here).
	RxNohandler uint64
}

// Device is struct net_device.
type Device struct {
	Name    string
	Ifindex int
	MTU     int
	Flags   uint32
	// Features is dev->features (NETIF_F_*).
	Features uint64
	Addrs    []netip.Prefix // in_device's ifa_list
	Stats    Stats
	// Peer is the address at the other end of a point-to-point link (TUN),
	// the next hop for everything routed through the device.
	Peer netip.Addr
	// Driver transmits frames; nil for lo, whose transmit is loopback_xmit.
	Driver Driver
	// Kind says what the device is ("loopback", "tun", "wire", "script").
	Kind string
	// TxAsync says the driver reports transmit completion later (through
	// TxCompleter) rather than when it takes a frame: the kernel keeps each
	// sent skb until then, as Linux does while a packet waits in a NIC's
	// ring or a tun device's queue.
	TxAsync bool
}

// Up reports IFF_UP.
func (d *Device) Up() bool { return d.Flags&IFF_UP != 0 }

// New returns an up point-to-point device with the given address.
func New(name, kind string, ifindex, mtu int, addr netip.Prefix, drv Driver) *Device {
	return &Device{Name: name, Kind: kind, Ifindex: ifindex, MTU: mtu, Flags: IFF_UP | IFF_RUNNING | IFF_NOARP,
		Addrs: []netip.Prefix{addr}, Driver: drv}
}

// NewLoopback returns lo: ifindex 1, MTU 65536, 127.0.0.1/8.
func NewLoopback() *Device {
	return &Device{
		Name:    "lo",
		Ifindex: 1,
		MTU:     65536,
		Flags:   IFF_UP | IFF_LOOPBACK | IFF_RUNNING,
		// lo turns packets round (loopback) and carries no VLANs; the
		// kernel's lo also offers checksum and segmentation offloads,
		// which the model does not perform.
		Features: NETIF_F_LOOPBACK | NETIF_F_VLAN_CHALLENGED,
		Kind:     "loopback",
		Addrs:    []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")},
	}
}

// FlagNames lists the set flags as ip link prints them.
func (d *Device) FlagNames() []string {
	var out []string
	if d.Flags&IFF_LOOPBACK != 0 {
		out = append(out, "LOOPBACK")
	}
	if d.Flags&IFF_UP != 0 {
		out = append(out, "UP")
	}
	if d.Flags&IFF_NOARP != 0 {
		out = append(out, "NOARP")
	}
	if d.Flags&IFF_RUNNING != 0 {
		out = append(out, "LOWER_UP")
	}
	return out
}
