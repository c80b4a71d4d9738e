package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/stack/netdev"
)

// FrameRecord is a whole frame a device received or sent, for exports
// (pcapng): unlike the packet tap, which copies the headers for the
// inspector, it carries every byte.
type FrameRecord struct {
	TimeNs int64
	Dir    string // PacketIn or PacketOut
	Dev    *netdev.Device
	// Func is the kernel function that handled it: netif_receive_skb for
	// a frame received, dev_queue_xmit for one sent.
	Func string
	// Frame is valid only during the call.
	Frame []byte
}

// FrameTap receives every frame; it runs on the kernel loop and must not
// block.
type FrameTap func(FrameRecord)

// tapFrame hands a packet's bytes to the frame tap, if one is installed.
func (k *Kernel) tapFrame(dir string, dev *netdev.Device, s *skb.SkBuff) {
	if k.frameTap == nil {
		return
	}
	fn := "netif_receive_skb"
	if dir == PacketOut {
		fn = "dev_queue_xmit"
	}
	if cap(k.tapScratch) < int(s.Len) {
		k.tapScratch = make([]byte, s.Len)
	}
	buf := k.tapScratch[:s.Len]
	if err := skb.CopyBitsUntraced(s, 0, buf); err != nil {
		return // a freed or broken skb: the trace says so; nothing to capture
	}
	k.frameTap(FrameRecord{TimeNs: k.clock.Now(), Dir: dir, Dev: dev, Func: fn, Frame: buf})
}
