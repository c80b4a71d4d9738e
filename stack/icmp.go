package stack

import (
	"encoding/binary"
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
	if typ == icmpExtEcho || typ == icmpExtEchoReply {
		// PROBE (RFC 8335): its request goes to icmp_echo, which answers
		// only with icmp_echo_enable_probe (0, and not modelled), its
		// reply to ping sockets (none here): dropped, no error counted.
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_NOT_SPECIFIED)
		return
	}
	if typ > nrIcmpTypes {
		// RFC 1122 3.2.2: unknown types are discarded, counted as errors.
		k.mib.inc(ICMP_MIB_INERRORS)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_UNHANDLED_PROTO)
		return
	}
	if k.ipInputBroadcast(ipHdr(s)) || ipHdr(s).Dst().IsMulticast() {
		// RFC 1122 3.2.2.6 and 3.2.2.8: with icmp_echo_ignore_broadcasts
		// (1, the default) an echo or timestamp request to a broadcast
		// or multicast address is ignored; other types but address mask requests and
		// replies are not accepted from a broadcast at all.
		switch typ {
		case icmpAddress, icmpAddressReply:
		default:
			k.mib.inc(ICMP_MIB_INERRORS)
			_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_NOT_SPECIFIED)
			return
		}
	}
	// icmp_pointers[type].handler; the other known types are discarded.
	ok := true
	switch typ {
	case header.ICMP_ECHO:
		k.icmpEcho(s)
	case icmpTimestamp:
		ok = k.icmpTimestamp(s)
	case header.ICMP_DEST_UNREACH, header.ICMP_SOURCE_QUENCH, header.ICMP_TIME_EXCEEDED, header.ICMP_PARAMETERPROB:
		ok = k.icmpUnreach(s)
	case header.ICMP_REDIRECT:
		ok = k.icmpRedirect(s)
	}
	if !ok {
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_PKT_TOO_SMALL)
		return
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
	header.ICMP_REDIRECT:      ICMP_MIB_INREDIRECTS,
	icmpTimestamp:             ICMP_MIB_INTIMESTAMPS,
	icmpTimestampReply:        ICMP_MIB_INTIMESTAMPREPS,
	icmpAddress:               ICMP_MIB_INADDRMASKS,
	icmpAddressReply:          ICMP_MIB_INADDRMASKREPS,
}

// icmpOutCount is icmp_out_count: an ICMP message sent counts OutMsgs and
// its type's counter (ICMPMSGOUT_INC_STATS).
func (k *Kernel) icmpOutCount(typ uint8) {
	k.mib.inc(ICMP_MIB_OUTMSGS)
	switch typ {
	case header.ICMP_ECHOREPLY:
		k.mib.inc(ICMP_MIB_OUTECHOREPS)
	case header.ICMP_DEST_UNREACH:
		k.mib.inc(ICMP_MIB_OUTDESTUNREACHS)
	case header.ICMP_ECHO:
		k.mib.inc(ICMP_MIB_OUTECHOS)
	case header.ICMP_TIME_EXCEEDED:
		k.mib.inc(ICMP_MIB_OUTTIMEEXCDS)
	case icmpTimestampReply:
		k.mib.inc(ICMP_MIB_OUTTIMESTAMPREPS)
	}
}

// icmpTimestamp is icmp_timestamp: answer a timestamp request with a
// timestamp reply carrying its originate time and our receive and
// transmit times (inet_current_timestamp: milliseconds since midnight
// UT; the model has no wall clock and counts from boot, taken as
// midnight). A request without its originate time is an error.
func (k *Kernel) icmpTimestamp(s *skb.SkBuff) bool {
	k.tr.Enter1(fnIcmpTimestamp, tracing.Skb(uint64(s.Addr())))
	b := s.Bytes()
	if len(b) < header.ICMPHeaderSize+4 {
		k.mib.inc(ICMP_MIB_INERRORS)
		k.tr.Exit(fnIcmpTimestamp, tracing.Bool(false))
		return false
	}
	now := uint32(k.clock.Now() / 1e6 % (24 * 3600 * 1000))
	req := header.ICMP(b)
	const n = header.ICMPHeaderSize + 12
	r, err := skb.AllocSkb(k.skbs, uint32(skbMaxHeader+n))
	if err != nil {
		k.tr.Exit(fnIcmpTimestamp, tracing.Bool(true))
		return true
	}
	_ = skb.SkbReserve(r, skbMaxHeader)
	out, _ := skb.SkbPut(r, n)
	copy(out[header.ICMPHeaderSize:], b[header.ICMPHeaderSize:header.ICMPHeaderSize+4])
	binary.BigEndian.PutUint32(out[header.ICMPHeaderSize+4:], now)
	binary.BigEndian.PutUint32(out[header.ICMPHeaderSize+8:], now)
	header.ICMP(out).Encode(icmpTimestampReply, 0, uint32(req.ID())<<16|uint32(req.Seq()))
	skb.SkbResetTransportHeader(r)
	k.icmpReply(s, r, icmpTimestampReply)
	k.tr.Exit(fnIcmpTimestamp, tracing.Bool(true))
	return true
}

// icmpRedirect is icmp_redirect: a redirect must quote at least an IP
// header; it goes to the quoted protocol's error handler, which the model's
// UDP and TCP ignore (the model keeps no redirected routes).
func (k *Kernel) icmpRedirect(s *skb.SkBuff) bool {
	if len(s.Bytes()) < header.ICMPHeaderSize+header.IPv4MinSize {
		k.mib.inc(ICMP_MIB_INERRORS)
		return false
	}
	ic := header.ICMP(s.Bytes())
	k.icmpSocketDeliver(s, ic.Type(), ic.Code(), 0)
	return true
}

// icmpSocketDeliver is icmp_socket_deliver: the quoted header and 8 bytes
// of its transport header must be there (else InErrors); then the quoted
// protocol's error handler (udp_err, tcp_v4_err) hears of it.
func (k *Kernel) icmpSocketDeliver(s *skb.SkBuff, typ, code uint8, info uint16) {
	inner := header.IPv4(s.Bytes()[header.ICMPHeaderSize:])
	if len(inner) < inner.IHL()+8 || inner.Protocol() == ipprotoRaw {
		k.mib.inc(ICMP_MIB_INERRORS)
		return
	}
	if h := k.icmpErrHandlers[inner.Protocol()]; h != nil {
		h(typ, code, info, inner)
	}
}

// ipprotoRaw is IPPROTO_RAW: raw sockets of this protocol hear no errors.
const ipprotoRaw = 255

// icmpEcho is icmp_echo -> icmp_reply: answer with the same identifier,
// sequence number and data, from the address the request was sent to.
func (k *Kernel) icmpEcho(s *skb.SkBuff) {
	k.tr.Enter1(fnIcmpEcho, tracing.Skb(uint64(s.Addr())))
	defer k.tr.Exit(fnIcmpEcho, tracing.Arg{})
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
	k.icmpReply(s, r, header.ICMP_ECHOREPLY)
}

// icmpReply is icmp_reply -> icmp_push_reply: send the reply r to a request
// s, from the address the request was sent to, with its TOS.
func (k *Kernel) icmpReply(s, r *skb.SkBuff, typ uint8) {
	iph := ipHdr(s)
	k.icmpOutCount(typ)
	_ = k.ipSendSkb(r, &ipPacket{src: iph.Dst(), dst: iph.Src(), proto: header.IPPROTO_ICMP, tos: iph.TOS()})
}

// skbMaxHeader is MAX_HEADER + the IP header: headroom for locally built
// packets.
const skbMaxHeader = 128

// icmpUnreach is icmp_unreach: hand an error (destination unreachable,
// time exceeded, parameter problem, source quench) to the protocol of the
// quoted packet (udp_err, tcp_v4_err), which reports it on the socket.
// Only fragmentation needed carries information: the next hop's MTU. An
// error too short to quote an IP header, or with a mangled one, is counted
// (InErrors) and dropped: it reports false.
func (k *Kernel) icmpUnreach(s *skb.SkBuff) bool {
	k.tr.Enter1(fnIcmpUnreach, tracing.Skb(uint64(s.Addr())))
	ok := k.icmpUnreachOne(s)
	k.tr.Exit(fnIcmpUnreach, tracing.Bool(ok))
	return ok
}

func (k *Kernel) icmpUnreachOne(s *skb.SkBuff) bool {
	b := s.Bytes()
	if len(b) < header.ICMPHeaderSize+header.IPv4MinSize {
		k.mib.inc(ICMP_MIB_INERRORS)
		return false
	}
	ic := header.ICMP(b)
	inner := header.IPv4(b[header.ICMPHeaderSize:])
	if inner.IHL() < header.IPv4MinSize {
		k.mib.inc(ICMP_MIB_INERRORS)
		return false
	}
	var info uint16
	switch ic.Type() {
	case header.ICMP_DEST_UNREACH:
		if ic.Code()&15 == header.ICMP_FRAG_NEEDED {
			info = ic.MTU()
		}
		if ic.Code() > header.NR_ICMP_UNREACH {
			return true
		}
	case header.ICMP_TIME_EXCEEDED:
		if ic.Code() == header.ICMP_EXC_FRAGTIME {
			return true // our fragments timed out at the other end: nothing for a socket
		}
	}
	k.icmpSocketDeliver(s, ic.Type(), ic.Code(), info)
	return true
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
	k.icmpOutCount(typ)
	// The source is the address the offending packet was sent to when it
	// is ours, else the outgoing route's (inet_select_addr).
	src := rt.Src
	if _, _, ok := k.localAddr(iph.Dst()); ok {
		src = iph.Dst()
	}
	_ = k.ipSendSkb(r, &ipPacket{src: src, dst: dst, proto: header.IPPROTO_ICMP, tos: iph.TOS()&0x1e | 0xc0})
}

var fnIcmpTimestamp tracing.FuncID

func init() {
	fnIcmpTimestamp = reg("icmp_timestamp", icmpC, (*Kernel).icmpTimestamp, []string{"skb"},
		"Answers an ICMP timestamp request with a timestamp reply: the request's originate time, and our receive "+
			"and transmit times in milliseconds since midnight UT.")
}

// ICMP_EXT_ECHO and ICMP_EXT_ECHOREPLY: RFC 8335's PROBE, past
// NR_ICMP_TYPES.
const (
	icmpExtEcho      = 42
	icmpExtEchoReply = 43
)
