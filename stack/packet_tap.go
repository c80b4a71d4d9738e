package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/stack/netdev"
)

// Packet directions for a PacketTap.
const (
	PacketIn  = "in"  // received from a device's driver (netif_receive_skb)
	PacketOut = "out" // handed to a device (dev_queue_xmit)
)

// PacketRecord is one packet a device carried, as a packet socket on the
// device would see it (the tap of dev_queue_xmit_nit and
// __netif_receive_skb_core), with the sk_buff as it was at that moment
// (its bytes up to 128 past data: the headers and the payload's start).
type PacketRecord struct {
	TimeNs int64   `json:"time_ns"`
	Dir    string  `json:"dir"`
	Dev    string  `json:"dev"`
	Skb    SkbSnap `json:"skb"`
}

// PacketTap receives every packet a device sends or receives. It runs on
// the kernel loop and must not block.
type PacketTap func(PacketRecord)

// SetPacketTap installs (or, with nil, removes) the packet tap. Loopback
// traffic is seen once, as it leaves through lo.
func (k *Kernel) SetPacketTap(tap PacketTap) error {
	_, err := control(k, "packet-tap", true, func(k *Kernel) (struct{}, error) {
		k.packetTap = tap
		return struct{}{}, nil
	})
	return err
}

// SetPacketTapLocked is SetPacketTap for code already on the kernel loop
// (inside Do or DoPaused).
func (k *Kernel) SetPacketTapLocked(tap PacketTap) { k.packetTap = tap }

// tapPacket hands a packet to the tap, if one is installed.
func (k *Kernel) tapPacket(dir string, dev *netdev.Device, s *skb.SkBuff) {
	if k.packetTap == nil {
		return
	}
	k.packetTap(PacketRecord{TimeNs: k.clock.Now(), Dir: dir, Dev: dev.Name, Skb: k.skbSnap(s, s.DataOffset()+tapBytes)})
}
