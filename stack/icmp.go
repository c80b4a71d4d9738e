package stack

import (
	"net/netip"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// ICMP constants not in the header package.
const (
	icmpExcFragtime    = 1  // ICMP_EXC_FRAGTIME
	icmpTimestamp      = 13 // ICMP_TIMESTAMP
	icmpTimestampReply = 14 // ICMP_TIMESTAMPREPLY
	icmpAddress        = 17 // ICMP_ADDRESS
	icmpAddressReply   = 18 // ICMP_ADDRESSREPLY
	nrIcmpTypes        = 18 // NR_ICMP_TYPES: the highest type icmp_rcv knows
	// icmpRatemask is net.ipv4.icmp_ratemask (0x1818): destination
	// unreachable, source quench, time exceeded and parameter problem are
	// rate limited; echo replies are not.
	icmpRatemask = 0x1818
	// icmpRatelimitNs is net.ipv4.icmp_ratelimit: one limited message per
	// second per destination, with a burst of XRLIM_BURST_FACTOR (6).
	icmpRatelimitNs  = int64(1e9)
	xrlimBurstFactor = 6
	// icmp_msgs_per_sec and icmp_msgs_burst: the global token bucket.
	icmpMsgsPerSec = 1000
	icmpMsgsBurst  = 50
	// icmpMaxLen: an ICMP error carries as much of the packet as fits in
	// 576 bytes (the IPv4 minimum MTU), or in the route's MTU if less.
	icmpMaxLen = 576
)

// icmpRatelimit holds the two limiters of icmp_global_allow and
// icmpv4_xrlim_allow.
type icmpRatelimit struct {
	globalCredit int64  // net->ipv4.icmp_global_credit, 0 at boot
	globalStamp  uint32 // net->ipv4.icmp_global_stamp, in jiffies, 0 at boot
	peers        map[netip.Addr]*inetPeer
}

// inetPeer is struct inet_peer's rate-limit part, in jiffies.
type inetPeer struct {
	rateTokens uint64
	rateLast   uint64
}

// icmpv4MaskAllow is icmpv4_mask_allow: types beyond NR_ICMP_TYPES,
// "fragmentation needed" (path MTU discovery must not be limited) and the
// types icmp_ratemask leaves out are not rate limited.
func icmpv4MaskAllow(typ, code uint8) bool {
	if typ > nrIcmpTypes {
		return true
	}
	if typ == header.ICMP_DEST_UNREACH && code == header.ICMP_FRAG_NEEDED {
		return true
	}
	return icmpRatemask&(1<<typ) == 0
}

// icmpv4GlobalAllow is icmpv4_global_allow: may an error of this type go
// as far as the global token bucket is concerned? The second result is
// apply_ratelimit: the type is limited, so the per-host limit applies
// and a sent message consumes global credit.
func (k *Kernel) icmpv4GlobalAllow(typ, code uint8) (bool, bool) {
	if icmpv4MaskAllow(typ, code) {
		return true, false
	}
	if k.icmpGlobalAllow() {
		return true, true
	}
	k.mib.inc(ICMP_MIB_RATELIMITGLOBAL)
	return false, false
}

// icmpGlobalAllow is icmp_global_allow: any credit left allows; with none,
// the bucket is refilled at icmp_msgs_per_sec (up to icmp_msgs_burst) for
// the time since the last refill, at most a second, once at least HZ/50
// has passed. Sending takes the credit (icmpGlobalConsume).
func (k *Kernel) icmpGlobalAllow() bool {
	rl := &k.icmpRl
	if rl.globalCredit > 0 {
		return true
	}
	now := k.jiffies32()
	delta := min(now-rl.globalStamp, HZ)
	if delta < HZ/50 {
		return false
	}
	incr := int64(icmpMsgsPerSec) * int64(delta) / HZ
	if incr == 0 {
		return false
	}
	rl.globalStamp = now
	rl.globalCredit = min(rl.globalCredit+incr, icmpMsgsBurst)
	return true
}

// icmpGlobalConsume is icmp_global_consume: a message sent takes 0, 1 or 2
// credits at random (the credit may go negative).
func (k *Kernel) icmpGlobalConsume() {
	k.icmpRl.globalCredit -= int64(k.GetRandomU32Below(3))
}

// icmpv4XrlimAllow is icmpv4_xrlim_allow: a limited type to a peer other
// than through lo passes the per-host token bucket (inet_peer_xrlim_allow:
// icmp_ratelimit per message, a burst of XRLIM_BURST_FACTOR); a message
// that may go consumes global credit.
func (k *Kernel) icmpv4XrlimAllow(rt *Rtable, dst netip.Addr, applyRatelimit bool) bool {
	if !applyRatelimit {
		return true
	}
	if rt.Dev == nil || rt.Dev.Flags&netdev.IFF_LOOPBACK == 0 {
		rl := &k.icmpRl
		if rl.peers == nil {
			rl.peers = map[netip.Addr]*inetPeer{}
		}
		now := k.jiffies64()
		p := rl.peers[dst]
		if p == nil { // inet_getpeer: a new peer's tokens start full
			p = &inetPeer{rateLast: now - 60*HZ}
			rl.peers[dst] = p
		}
		timeout := uint64(icmpRatelimitNs / NsecPerJiffy)
		token := min(p.rateTokens+now-p.rateLast, xrlimBurstFactor*timeout)
		p.rateLast = now
		ok := token >= timeout
		if ok {
			token -= timeout
		}
		p.rateTokens = token
		if !ok {
			k.mib.inc(ICMP_MIB_RATELIMITHOST)
			return false
		}
	}
	k.icmpGlobalConsume()
	return true
}

// icmpRcv is icmp_rcv: check the checksum, count the message, and act on
// its type. Echo requests are answered; errors are passed to the protocol
// of the packet they quote.
func (k *Kernel) icmpRcv(s *skb.SkBuff) {
	k.tr.Enter1(fnIcmpRcv, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIcmpRcv, tracing.Arg{})
	k.mib.inc(ICMP_MIB_INMSGS)
	b := s.Bytes()
	if len(b) < header.ICMPHeaderSize {
		k.mib.inc(ICMP_MIB_INERRORS)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_PKT_TOO_SMALL)
		return
	}
	ic := header.ICMP(b)
	if !ic.ChecksumValid() {
		k.mib.inc(ICMP_MIB_CSUMERRORS)
		k.mib.inc(ICMP_MIB_INERRORS)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_ICMP_CSUM)
		return
	}
	typ := ic.Type()
	if int(typ) < len(icmpInMibs) && icmpInMibs[typ] != 0 { // ICMPMSGIN_INC_STATS
		k.mib.inc(icmpInMibs[typ])
	}
	if k.ipInputBroadcast(ipHdr(s)) {
		// RFC 1122 3.2.2.6 and 3.2.2.8: with icmp_echo_ignore_broadcasts
		// (1, the default) an echo or timestamp request to a broadcast
		// is ignored; other types but address mask requests and
		// replies are not accepted from a broadcast at all.
		switch typ {
		case icmpAddress, icmpAddressReply:
		default:
			k.mib.inc(ICMP_MIB_INERRORS)
			_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_NOT_SPECIFIED)
			return
		}
	}
	switch typ {
	case header.ICMP_ECHO:
		k.icmpEcho(s)
	case header.ICMP_DEST_UNREACH, header.ICMP_SOURCE_QUENCH, header.ICMP_TIME_EXCEEDED, header.ICMP_PARAMETERPROB:
		k.icmpUnreach(s)
	}
	_ = skb.ConsumeSkb(s)
}

// icmpInMibs are the per-type input counters the model keeps
// (icmpmsg_statistics, printed as Icmp In* by /proc/net/snmp), by type.
var icmpInMibs = [...]Mib{
	header.ICMP_ECHOREPLY:     ICMP_MIB_INECHOREPS,
	header.ICMP_DEST_UNREACH:  ICMP_MIB_INDESTUNREACHS,
	header.ICMP_SOURCE_QUENCH: ICMP_MIB_INSRCQUENCHS,
	header.ICMP_ECHO:          ICMP_MIB_INECHOS,
	header.ICMP_TIME_EXCEEDED: ICMP_MIB_INTIMEEXCDS,
	header.ICMP_PARAMETERPROB: ICMP_MIB_INPARMPROBS,
}

// icmpEcho is icmp_echo -> icmp_reply: answer with the same identifier,
// sequence number and data, from the address the request was sent to.
func (k *Kernel) icmpEcho(s *skb.SkBuff) {
	k.tr.Enter1(fnIcmpEcho, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIcmpEcho, tracing.Arg{})
	iph := ipHdr(s)
	req := header.ICMP(s.Bytes())
	r, err := skb.AllocSkb(k.skbs, uint32(skbMaxHeader+len(req)))
	if err != nil {
		return
	}
	_ = skb.SkbReserve(r, skbMaxHeader)
	b, _ := skb.SkbPut(r, uint32(len(req)))
	copy(b, req)
	header.ICMP(b).Encode(header.ICMP_ECHOREPLY, 0, uint32(req.ID())<<16|uint32(req.Seq()))
	skb.SkbResetTransportHeader(r)
	k.mib.inc(ICMP_MIB_OUTMSGS)
	k.mib.inc(ICMP_MIB_OUTECHOREPS)
	_ = k.ipSendSkb(r, &ipPacket{src: iph.Dst(), dst: iph.Src(), proto: header.IPPROTO_ICMP, tos: iph.TOS()})
}

// skbMaxHeader is MAX_HEADER + the IP header: headroom for locally built
// packets.
const skbMaxHeader = 128

// icmpUnreach is icmp_unreach: hand an error (destination unreachable,
// time exceeded, parameter problem, source quench) to the protocol of the
// quoted packet (udp_err, tcp_v4_err), which reports it on the socket.
// Only fragmentation needed carries information: the next hop's MTU.
func (k *Kernel) icmpUnreach(s *skb.SkBuff) {
	k.tr.Enter1(fnIcmpUnreach, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIcmpUnreach, tracing.Arg{})
	b := s.Bytes()
	if len(b) < header.ICMPHeaderSize+header.IPv4MinSize {
		return
	}
	ic := header.ICMP(b)
	inner := header.IPv4(b[header.ICMPHeaderSize:])
	if inner.IHL() < header.IPv4MinSize || len(inner) < inner.IHL()+8 {
		return
	}
	var info uint16
	switch ic.Type() {
	case header.ICMP_DEST_UNREACH:
		if ic.Code()&15 == header.ICMP_FRAG_NEEDED {
			info = ic.MTU()
		} else if ic.Code() > header.NR_ICMP_UNREACH {
			return
		}
	case header.ICMP_TIME_EXCEEDED:
		if ic.Code() == header.ICMP_EXC_FRAGTIME {
			return // our fragments timed out at the other end: nothing for a socket
		}
	}
	if h := k.icmpErrHandlers[inner.Protocol()]; h != nil {
		h(ic.Type(), ic.Code(), info, inner)
	}
}

// icmpSend is __icmp_send: report an error about skbIn to its sender,
// unless the rules forbid it (never about an ICMP error, a fragment other
// than the first, or a broadcast) or the rate limit says no.
func (k *Kernel) icmpSend(skbIn *skb.SkBuff, typ, code uint8, info uint32) {
	k.tr.Enter3(fnIcmpSend, tracing.Skb(uint64(skbIn.Addr())), tracing.Int(int64(typ)), tracing.Int(int64(code)))
	defer k.tr.Exit(fnIcmpSend, tracing.Arg{})
	iph := ipHdr(skbIn)
	if len(iph) < header.IPv4MinSize || iph.FragmentOffset() != 0 {
		return
	}
	dst := iph.Src()
	// No errors about a packet whose input route is broadcast or
	// multicast (RTCF_BROADCAST, RTCF_MULTICAST).
	if !dst.IsValid() || dst.IsUnspecified() || dst.IsMulticast() || iph.Dst().IsMulticast() || k.ipInputBroadcast(iph) {
		return
	}
	if iph.Protocol() == header.IPPROTO_ICMP && len(iph) >= iph.IHL()+1 {
		switch iph[iph.IHL()] {
		case header.ICMP_ECHO, header.ICMP_ECHOREPLY, 13, 14, 15, 16, 17, 18:
		default:
			return // never answer an error with an error
		}
	}
	// The global limit does not apply to errors about packets that came
	// in through lo, nor, then, the per-host one.
	applyRatelimit := false
	if in, ok := skbIn.Dev.(*netdev.Device); !ok || in.Flags&netdev.IFF_LOOPBACK == 0 {
		var ok bool
		if ok, applyRatelimit = k.icmpv4GlobalAllow(typ, code); !ok {
			return
		}
	}
	rt, err := k.ipRouteOutput(dst)
	if err != nil {
		return
	}
	if !k.icmpv4XrlimAllow(rt, dst, applyRatelimit) {
		return
	}
	// The room left in min(route MTU, 576) after the two headers; a route
	// too small for even a quoted IP header gets nothing.
	room := min(rt.MTU, icmpMaxLen) - header.IPv4MinSize - header.ICMPHeaderSize
	if room <= header.IPv4MinSize {
		return
	}
	quote := min(int(skbIn.Len)+int(skbIn.DataOffset())-int(skbIn.NetworkHeader), iph.TotalLength(), room)
	r, err := skb.AllocSkb(k.skbs, uint32(skbMaxHeader+header.ICMPHeaderSize+quote))
	if err != nil {
		return
	}
	_ = skb.SkbReserve(r, skbMaxHeader)
	b, _ := skb.SkbPut(r, uint32(header.ICMPHeaderSize+quote))
	copy(b[header.ICMPHeaderSize:], skbIn.HeadBytes()[skbIn.NetworkHeader:int(skbIn.NetworkHeader)+quote])
	header.ICMP(b).Encode(typ, code, info)
	skb.SkbResetTransportHeader(r)
	k.mib.inc(ICMP_MIB_OUTMSGS)
	if typ == header.ICMP_DEST_UNREACH {
		k.mib.inc(ICMP_MIB_OUTDESTUNREACHS)
	}
	// The source is the address the offending packet was sent to when it
	// is ours, else the outgoing route's (inet_select_addr).
	src := rt.Src
	if _, _, ok := k.localAddr(iph.Dst()); ok {
		src = iph.Dst()
	}
	_ = k.ipSendSkb(r, &ipPacket{src: src, dst: dst, proto: header.IPPROTO_ICMP, tos: iph.TOS()&0x1e | 0xc0})
}
