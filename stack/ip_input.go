package stack

import (
	"net/netip"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// ipHdr is ip_hdr(skb): the IPv4 header at the network header mark.
func ipHdr(s *skb.SkBuff) header.IPv4 { return header.IPv4(s.HeadBytes()[s.NetworkHeader:]) }

func be32(a netip.Addr) uint32 { return uint32(sockets.Be32From(a)) }

// ipDrop frees a packet a protocol (IP, UDP, TCP) refused and counts it
// under mib: the SNMP counter and the drop reason together.
func (k *Kernel) ipDrop(s *skb.SkBuff, mib Mib, reason skb.DropReason) {
	k.mib.inc(mib)
	_ = skb.KfreeSkbReason(s, reason)
}

// ipRcv is ip_rcv -> ip_rcv_core: the sanity checks every received IPv4
// packet passes (RFC 1122 3.2.1.1 and the header checksum), then the
// PRE_ROUTING hook and ip_rcv_finish. TTL is not checked here: it only
// matters when forwarding, and a host that does not forward delivers a
// packet with TTL 0 addressed to it.
func (k *Kernel) ipRcv(s *skb.SkBuff) {
	k.tr.Enter1(fnIpRcv, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIpRcv, tracing.Arg{})
	k.tr.Enter1(fnIpRcvCore, tracing.Skb(uint64(s.Addr())))
	ok := k.ipRcvCore(s)
	k.tr.Exit(fnIpRcvCore, tracing.Bool(ok))
	if !ok {
		return
	}
	sockets.Noop(k.tr, fnNfHookPreRouting, tracing.Skb(uint64(s.Addr())))
	k.ipRcvFinish(s)
}

// ipRcvCore validates the header; on failure the packet is dropped under
// the kernel's counter and reason.
func (k *Kernel) ipRcvCore(s *skb.SkBuff) bool {
	k.mib.inc(IPSTATS_MIB_INRECEIVES)
	if s.PktType == PACKET_OTHER {
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_OTHERHOST)
		return false
	}
	if s.Len < header.IPv4MinSize {
		k.ipDrop(s, IPSTATS_MIB_INHDRERRORS, skb.SKB_DROP_REASON_IP_INHDR)
		return false
	}
	iph := header.IPv4(s.Bytes())
	if iph.IHL() < header.IPv4MinSize || iph.Version() != header.IPv4Version || int(s.Len) < iph.IHL() {
		k.ipDrop(s, IPSTATS_MIB_INHDRERRORS, skb.SKB_DROP_REASON_IP_INHDR)
		return false
	}
	if !iph.ChecksumValid() {
		k.mib.inc(IPSTATS_MIB_CSUMERRORS)
		k.ipDrop(s, IPSTATS_MIB_INHDRERRORS, skb.SKB_DROP_REASON_IP_CSUM)
		return false
	}
	n := iph.TotalLength()
	if int(s.Len) < n {
		k.ipDrop(s, IPSTATS_MIB_INTRUNCATEDPKTS, skb.SKB_DROP_REASON_PKT_TOO_SMALL)
		return false
	}
	if n < iph.IHL() {
		k.ipDrop(s, IPSTATS_MIB_INHDRERRORS, skb.SKB_DROP_REASON_IP_INHDR)
		return false
	}
	// pskb_trim_rcsum: drop link-layer padding beyond tot_len.
	_ = skb.SkbTrim(s, uint32(n))
	s.TransportHeader = s.NetworkHeader + uint16(iph.IHL())
	return true
}

// ipRcvFinish is ip_rcv_finish -> ip_rcv_finish_core: look the route up
// (ip_route_input_noref) and go on to local delivery (counting broadcasts,
// InBcastPkts), or drop.
func (k *Kernel) ipRcvFinish(s *skb.SkBuff) {
	k.tr.Enter1(fnIpRcvFinish, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIpRcvFinish, tracing.Arg{})
	iph := ipHdr(s)
	dev, _ := s.Dev.(*netdev.Device)
	t, err := k.ipRouteInput(iph.Src(), iph.Dst(), dev)
	if err != nil {
		// drop_error: a martian goes without a counter.
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_NOT_SPECIFIED)
		return
	}
	switch t {
	case sockets.RTN_BROADCAST:
		k.mib.inc(IPSTATS_MIB_INBCASTPKTS)
		k.ipLocalDeliver(s)
	case sockets.RTN_LOCAL:
		k.ipLocalDeliver(s)
	default:
		// Not ours, and the host does not forward: ip_error counts it.
		k.ipDrop(s, IPSTATS_MIB_INADDRERRORS, skb.SKB_DROP_REASON_IP_INADDRERRORS)
	}
}

// ipLocalDeliver is ip_local_deliver: reassemble fragments (ip_defrag),
// then the LOCAL_IN hook and ip_local_deliver_finish.
func (k *Kernel) ipLocalDeliver(s *skb.SkBuff) {
	k.tr.Enter1(fnIpLocalDeliver, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIpLocalDeliver, tracing.Arg{})
	iph := ipHdr(s)
	if iph.MoreFragments() || iph.FragmentOffset() != 0 {
		if s = k.ipDefrag(s); s == nil {
			return
		}
	}
	sockets.Noop(k.tr, fnNfHookLocalIn, tracing.Skb(uint64(s.Addr())))
	k.ipLocalDeliverFinish(s)
}

// ipLocalDeliverFinish is ip_local_deliver_finish: pull the IP header off
// and hand the packet to its protocol (ip_protocol_deliver_rcu).
func (k *Kernel) ipLocalDeliverFinish(s *skb.SkBuff) {
	k.tr.Enter1(fnIpLocalDeliverFinish, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIpLocalDeliverFinish, tracing.Arg{})
	iph := ipHdr(s)
	_, _ = skb.SkbPull(s, uint32(iph.IHL()))
	k.tr.Enter2(fnIpProtocolDeliverRcu, tracing.Skb(uint64(s.Addr())), tracing.Int(int64(iph.Protocol())))
	defer k.tr.Exit(fnIpProtocolDeliverRcu, tracing.Arg{})
	k.mib.inc(IPSTATS_MIB_INDELIVERS)
	switch iph.Protocol() {
	case header.IPPROTO_ICMP:
		k.icmpRcv(s)
	default:
		if !k.deliverToProtocol(s, iph.Protocol()) {
			// No handler: tell the sender, count it, drop it.
			k.mib.dec(IPSTATS_MIB_INDELIVERS)
			k.mib.inc(IPSTATS_MIB_INUNKNOWNPROTOS)
			k.icmpSend(s, header.ICMP_DEST_UNREACH, header.ICMP_PROT_UNREACH, 0)
			_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_IP_NOPROTO)
		}
	}
}

// deliverToProtocol calls the handler registered for proto (inet_protos[]):
// UDP and TCP once they are registered.
func (k *Kernel) deliverToProtocol(s *skb.SkBuff, proto uint8) bool {
	h := k.inetProtos[proto]
	if h == nil {
		return false
	}
	h(s)
	return true
}
