package stack

import (
	"net/netip"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// llReservedSpace is LL_RESERVED_SPACE: headroom for a link header. The
// model's devices have none, but the kernel still reserves a cache line.
const llReservedSpace = 16

// ipPacket describes the IPv4 header to push.
type ipPacket struct {
	src, dst netip.Addr
	proto    uint8
	ttl      uint8
	tos      uint8
	df       bool
	// ignoreDf is skb->ignore_df: the packet may be fragmented here even
	// with DF set. Datagrams of sockets below IP_PMTUDISC_DO (UDP's
	// IP_PMTUDISC_WANT) have it (ip_sk_ignore_df).
	ignoreDf bool
	sk       *sockets.Sock // for ip_select_ident on connected sockets
	// pmtudiscDo says the sender is at IP_PMTUDISC_DO: DF stays even on
	// a route whose path MTU is locked. The per-netns socket that sends
	// TCP's RSTs and socketless ACKs (ip_send_unicast_reply) is.
	pmtudiscDo bool
	// buildAndSend says ip_build_and_send_pkt sends it (a SYN-ACK): on a
	// locked path MTU a packet of at most IPV4_MIN_MTU (68) bytes, which
	// every SYN-ACK without data is, keeps DF and ID 0; a bigger one goes
	// without DF and with a random ID.
	buildAndSend bool
	randomID     bool // the ID is get_random_u16()
}

// ipSelectIdent is ip_select_ident_segs: a connected socket's packets take
// the socket's inet_id (TCP the value before the increment, other
// protocols the value after); a DF packet that may not be fragmented gets
// 0; any other packet takes the next id of the (daddr, saddr, protocol)
// bucket (__ip_select_ident; the kernel adds a random jump after idle
// periods, the model counts by one).
func (k *Kernel) ipSelectIdent(p *ipPacket) uint16 {
	if p.randomID {
		return uint16(k.GetRandomU32())
	}
	if p.sk != nil && p.sk.SkcDaddr != 0 {
		inet := sockets.InetOf(p.sk)
		if p.sk.SkProtocol == sockets.IPPROTO_TCP {
			id := inet.InetId
			inet.InetId++
			return id
		}
		inet.InetId++ // atomic_add_return
		return inet.InetId
	}
	if p.df && !p.ignoreDf {
		return 0
	}
	h := sockets.Jhash3Words(be32(p.dst), be32(p.src), uint32(p.proto), k.hash.EhashSecret)
	k.ipIdents[h%ipIdentsSize]++
	return uint16(k.ipIdents[h%ipIdentsSize])
}

// IPV4_MIN_MTU is the smallest MTU an IPv4 link may have (RFC 791).
const IPV4_MIN_MTU = 68

// ipIdentsSize is the size of the ip_idents table of counters.
const ipIdentsSize = 2048

// ipPushHeader pushes and fills the IPv4 header in front of the data
// (what ip_build_and_send_pkt and __ip_queue_xmit do).
func (k *Kernel) ipPushHeader(s *skb.SkBuff, p *ipPacket) error {
	hdr, err := skb.SkbPush(s, header.IPv4MinSize)
	if err != nil {
		return err
	}
	skb.SkbResetNetworkHeader(s)
	var fo uint16
	if p.df {
		fo = header.IP_DF
	}
	ttl := p.ttl
	if ttl == 0 {
		ttl = uint8(k.net.Sysctl.IpDefaultTTL)
	}
	header.IPv4(hdr).Encode(header.IPv4Fields{TOS: p.tos, Total: int(s.Len), ID: k.ipSelectIdent(p),
		FragOff: fo, TTL: ttl, Protocol: p.proto, Src: p.src, Dst: p.dst})
	return nil
}

// ipLocalOut is ip_local_out -> __ip_local_out: set tot_len and the
// checksum, run the LOCAL_OUT hook, then dst_output (ip_output).
func (k *Kernel) ipLocalOut(s *skb.SkBuff) {
	k.tr.Enter1(fnIpLocalOut, tracing.Skb(uint64(s.Addr())))
	iph := ipHdr(s)
	iph.SetTotalLength(int(s.Len))
	iph.SetChecksum()
	sockets.Noop(k.tr, fnNfHookLocalOut, tracing.Skb(uint64(s.Addr())))
	k.mib.inc(IPSTATS_MIB_OUTREQUESTS)
	k.ipOutput(s)
	k.tr.Exit(fnIpLocalOut, tracing.Arg{})
}

// ipOutput is ip_output -> ip_finish_output: POST_ROUTING, then a packet
// too big for its route's MTU is fragmented (or, with DF, refused).
func (k *Kernel) ipOutput(s *skb.SkBuff) {
	k.tr.Enter1(fnIpOutput, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIpOutput, tracing.Arg{})
	s.Protocol = ETH_P_IP
	sockets.Noop(k.tr, fnNfHookPostRouting, tracing.Skb(uint64(s.Addr())))
	k.tr.Enter1(fnIpFinishOutput, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIpFinishOutput, tracing.Arg{})
	if mtu := k.ipSkbDstMtu(s); int(s.Len) > mtu {
		k.ipFragment(s, mtu)
		return
	}
	k.ipFinishOutput2(s)
}

// ipSkbDstMtu is ip_skb_dst_mtu: the MTU of the packet's route, which is
// the device's lowered by a path MTU exception for its destination (every
// socket of the model uses path MTU discovery, ip_sk_use_pmtu). The
// model's skb keeps no dst, so the exception is looked up again.
func (k *Kernel) ipSkbDstMtu(s *skb.SkBuff) int {
	dev := s.Dev.(*netdev.Device)
	mtu := dev.MTU
	if dev.Flags&netdev.IFF_LOOPBACK != 0 {
		return mtu
	}
	if e, ok := k.pmtuExceptions[ipHdr(s).Dst()]; ok && k.clock.Now() < e.expires {
		mtu = min(mtu, int(e.mtu))
	}
	return mtu
}

// ipFinishOutput2 is ip_finish_output2: on Ethernet the neighbour layer
// (ARP, the cached hardware header) would add a link header here. TUN, lo
// and the model's wire carry bare IP packets, so there is no neighbour
// step and the packet goes straight to dev_queue_xmit.
func (k *Kernel) ipFinishOutput2(s *skb.SkBuff) {
	k.tr.Enter1(fnIpFinishOutput2, tracing.Skb(uint64(s.Addr())))
	k.mib.inc(IPSTATS_MIB_OUTPKTS)
	k.devQueueXmit(s)
	k.tr.Exit(fnIpFinishOutput2, tracing.Arg{})
}

// ipSendSkb routes a locally built datagram (its transport header and data
// already in s) and sends it: the path ICMP replies and UDP take
// (ip_push_pending_frames -> ip_send_skb -> ip_local_out).
func (k *Kernel) ipSendSkb(s *skb.SkBuff, p *ipPacket) error {
	k.tr.Enter2(fnIpSendSkb, tracing.Skb(uint64(s.Addr())), tracing.IPv4(be32(p.dst)))
	rt, err := k.ipRouteOutput(p.dst)
	if err != nil {
		k.mib.inc(IPSTATS_MIB_OUTNOROUTES)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_IP_OUTNOROUTES)
		k.tr.Exit(fnIpSendSkb, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return err
	}
	if !p.src.IsValid() {
		p.src = rt.Src
	}
	s.Dev = rt.Dev
	if err := k.ipPushHeader(s, p); err != nil {
		_ = skb.KfreeSkb(s)
		k.tr.Exit(fnIpSendSkb, tracing.Errno(-tracing.ENOBUFS))
		return err
	}
	k.ipLocalOut(s)
	k.tr.Exit(fnIpSendSkb, tracing.Errno(0))
	return nil
}
