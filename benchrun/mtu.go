package benchrun

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// ipMaxMTU is the largest MTU an IPv4 packet can fill (its total length
// is 16 bits); no device is asked for more.
const ipMaxMTU = 65535

// probeMaxMTU creates a TUN device in the namespace and finds the largest
// MTU it accepts by setting it (a binary search between 1500 and 65535),
// then removes it.
func probeMaxMTU(ns *nsThread) (mtu int, err error) {
	const name = "stkbmtu0"
	// /dev/net/tun makes the device in the opening thread's namespace.
	err = ns.Do(func() error {
		tun := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: name}, Mode: netlink.TUNTAP_MODE_TUN, Flags: netlink.TUNTAP_NO_PI, Queues: 1, NonPersist: true}
		if err := netlink.LinkAdd(tun); err != nil {
			return fmt.Errorf("create a TUN device to probe its MTU: %w", err)
		}
		defer func() { // closing the last fd removes a non-persistent device
			for _, f := range tun.Fds {
				f.Close()
			}
		}()
		link, err := netlink.LinkByName(name)
		if err != nil {
			return fmt.Errorf("find %s: %w", name, err)
		}
		mtu, err = largestAccepted(1500, ipMaxMTU, func(m int) bool { return netlink.LinkSetMTU(link, m) == nil })
		return err
	})
	return mtu, err
}

// largestAccepted finds the largest value in [lo, hi] that accept takes,
// assuming it takes everything up to some bound and nothing above it.
// lo itself must be accepted.
func largestAccepted(lo, hi int, accept func(int) bool) (int, error) {
	if !accept(lo) {
		return 0, fmt.Errorf("the device refuses an MTU of %d", lo)
	}
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if accept(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}
