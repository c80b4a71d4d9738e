package stack

import (
	"fmt"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// Link-level constants.
const (
	ETH_P_IP     = 0x0800
	ETH_P_IPV6   = 0x86dd
	PACKET_HOST  = 0
	PACKET_OTHER = 3
	// rxHeadroom is NET_SKB_PAD: what a driver reserves in front of a
	// received packet (netdev_alloc_skb).
	rxHeadroom = 64
)

// AddDevice brings a device up in the kernel (register_netdevice, with its
// address). Its driver's received frames go to Receive.
func (k *Kernel) AddDevice(d *netdev.Device) error {
	_, err := control(k, "add-device", false, func(k *Kernel) (struct{}, error) {
		for _, x := range k.devs {
			if x.Name == d.Name {
				return struct{}{}, fmt.Errorf("a device named %s exists already", d.Name)
			}
		}
		if d.Ifindex == 0 {
			d.Ifindex = len(k.devs) + 1
		}
		if k.rec != nil && k.recBegin(recAddDevice, func(b []byte) []byte { return appendJSON(b, describeDevice(d)) }) {
			defer k.recEnd()
		}
		k.devs = append(k.devs, d)
		if d.TxAsync {
			k.txQueueOf(d) // the driver learns where to report before it sends anything
		}
		return struct{}{}, nil
	})
	return err
}

// Receive hands frames a driver received to the kernel (the interrupt
// and NAPI poll of a real NIC). It may be called from any goroutine; the
// frames are copied into skbs on the loop, in order.
func (k *Kernel) Receive(dev *netdev.Device, frames ...[]byte) error {
	return k.ReceiveBatch(dev, frames, nil)
}

// ReceiveBatch is Receive for a driver that recycles its buffers: done,
// if not nil, is called on the loop once every frame of the batch has
// been copied into an skb, and the buffers are the driver's again.
func (k *Kernel) ReceiveBatch(dev *netdev.Device, frames [][]byte, done func()) error {
	select {
	case k.inputs <- input{rx: &rxBatch{dev: dev, frames: frames, done: done}}:
		return nil
	case <-k.quit:
		return ErrStopped
	}
}

// rxBatch is a batch of frames from one device.
type rxBatch struct {
	dev    *netdev.Device
	frames [][]byte
	done   func()
}

// netifReceive copies one frame into an skb as a driver's napi poll does
// (netdev_alloc_skb, skb_put) and passes it up.
func (k *Kernel) netifReceive(dev *netdev.Device, frame []byte) {
	dev.Stats.RxPackets++
	dev.Stats.RxBytes += uint64(len(frame))
	s, err := skb.AllocSkb(k.skbs, uint32(len(frame)+rxHeadroom))
	if err != nil {
		dev.Stats.RxDropped++
		return
	}
	_ = skb.SkbReserve(s, rxHeadroom)
	b, _ := skb.SkbPut(s, uint32(len(frame)))
	copy(b, frame)
	// A TUN device without packet information tells IPv4 from IPv6 by the
	// version nibble, as tun_get_user does.
	proto := uint16(ETH_P_IP)
	if len(frame) > 0 && frame[0]>>4 == 6 {
		proto = ETH_P_IPV6
	}
	s.Dev, s.Protocol, s.PktType, s.Iif = dev, proto, PACKET_HOST, int32(dev.Ifindex)
	k.netifReceiveSkb(s)
}

// netifReceiveSkb is netif_receive_skb -> __netif_receive_skb_core: hand
// the packet to the protocol its type names (IPv4 only here).
func (k *Kernel) netifReceiveSkb(s *skb.SkBuff) {
	k.tr.Enter1(fnNetifReceiveSkb, tracing.Skb(uint64(s.Addr())))
	k.inSoftirq++
	skb.SkbResetNetworkHeader(s)
	// Packet taps see the packet here (ptype_all), with its network
	// header set; lo's packets were seen as they left.
	if dev, ok := s.Dev.(*netdev.Device); ok && dev.Flags&netdev.IFF_LOOPBACK == 0 {
		k.tapPacket(PacketIn, dev, s)
		k.tapFrame(PacketIn, dev, s)
	}
	if s.Protocol == ETH_P_IP {
		k.ipRcv(s)
	} else {
		// No handler for the protocol (the model has no IPv6): rx_nohandler.
		if dev, ok := s.Dev.(*netdev.Device); ok {
			dev.Stats.RxNohandler++
		}
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_UNHANDLED_PROTO)
	}
	k.inSoftirq--
	k.tr.Exit(fnNetifReceiveSkb, tracing.Arg{})
}

// devQueueXmit is dev_queue_xmit: hand the packet to its device. There is
// no qdisc in the model (a real device has pfifo_fast or fq_codel here).
func (k *Kernel) devQueueXmit(s *skb.SkBuff) {
	dev := s.Dev.(*netdev.Device)
	k.tr.Enter2(fnDevQueueXmit, tracing.Skb(uint64(s.Addr())), tracing.Int(int64(dev.Ifindex)))
	if !dev.Up() {
		dev.Stats.TxDropped++
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_NOT_SPECIFIED)
		k.tr.Exit(fnDevQueueXmit, tracing.Errno(-100)) // ENETDOWN
		return
	}
	dev.Stats.TxPackets++
	dev.Stats.TxBytes += uint64(s.Len)
	k.tapPacket(PacketOut, dev, s)
	k.tapFrame(PacketOut, dev, s)
	if dev.Driver == nil {
		k.loopbackXmit(s, dev)
	} else {
		k.tr.Enter1(fnNdoStartXmit, tracing.Skb(uint64(s.Addr())))
		frame := k.linearize(s)
		err := dev.Driver.Xmit(frame)
		if err != nil {
			dev.Stats.TxErrors++
		}
		if dev.TxAsync && err == nil {
			k.txHold(dev, s) // freed when the driver says the packet is gone
		} else {
			_ = skb.ConsumeSkb(s) // sent, or refused: either way not the driver's to report
		}
		k.tr.Exit(fnNdoStartXmit, tracing.Errno(0))
	}
	k.tr.Exit(fnDevQueueXmit, tracing.Errno(0))
	if k.inSoftirq == 0 {
		k.doSoftirq()
	}
}

// linearize returns the packet's bytes (linear part and frags) in the
// kernel's scratch buffer, valid until the next transmit.
func (k *Kernel) linearize(s *skb.SkBuff) []byte {
	if cap(k.txScratch) < int(s.Len) {
		k.txScratch = make([]byte, s.Len)
	}
	buf := k.txScratch[:s.Len]
	_ = skb.SkbCopyBits(s, 0, buf)
	return buf
}

// loopbackXmit is loopback_xmit: the packet turns round (netif_rx puts it
// on this CPU's backlog) and is received when softirqs run.
func (k *Kernel) loopbackXmit(s *skb.SkBuff, dev *netdev.Device) {
	k.tr.Enter1(fnLoopbackXmit, tracing.Skb(uint64(s.Addr())))
	skb.SkbOrphan(s)
	s.PktType, s.Iif = PACKET_HOST, int32(dev.Ifindex)
	dev.Stats.RxPackets++
	dev.Stats.RxBytes += uint64(s.Len)
	k.tr.Enter1(fnNetifRx, tracing.Skb(uint64(s.Addr())))
	_ = skb.SkbQueueTailLocked(&k.backlog, s) // enqueue_to_backlog
	k.tr.Exit(fnNetifRx, tracing.Int(0))
	k.tr.Exit(fnLoopbackXmit, tracing.Int(0))
}

// doSoftirq is do_softirq when bottom halves are enabled again: the
// NET_RX softirq (net_rx_action -> process_backlog) delivers what
// loopback queued, in the context of whoever sent it.
func (k *Kernel) doSoftirq() {
	if len(k.tsqQueue) > 0 && !k.inTasklet {
		k.tcpTaskletFunc() // TASKLET_SOFTIRQ: tcp_wfree queued a socket outside a device's completion
	}
	if skb.SkbQueueEmpty(&k.backlog) {
		return
	}
	k.tr.Enter(fnNetRxAction)
	k.tr.Enter(fnProcessBacklog)
	for s := skb.SkbDequeueLocked(&k.backlog); s != nil; s = skb.SkbDequeueLocked(&k.backlog) {
		k.netifReceiveSkb(s)
	}
	k.tr.Exit(fnProcessBacklog, tracing.Arg{})
	k.tr.Exit(fnNetRxAction, tracing.Arg{})
}
