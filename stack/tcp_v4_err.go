package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// ICMP errors about segments TCP sent (net/ipv4/tcp_ipv4.c). An ICMP
// error quotes the IP header and the first 8 bytes of the segment that
// caused it: the ports find the connection and the sequence number says
// whether the segment is still in flight (a forged error must guess it).

// tcpV4Err is tcp_v4_err: an ICMP error about a segment of ours. Before
// the connection exists (SYN_SENT, SYN_RECV) it ends the attempt with the
// error; on an established connection it is only remembered as sk_err_soft,
// to be reported instead of ETIMEDOUT if the connection times out (RFC
// 1122 4.2.3.9: routes come back). Fragmentation needed lowers the path
// MTU and resends what no longer fits (tcp_v4_mtu_reduced); a host or
// network unreachable for the oldest segment in an RTO backoff undoes one
// doubling (tcp_ld_RTO_revert, RFC 6069).
func (k *Kernel) tcpV4Err(typ, code uint8, info uint16, quoted header.IPv4) {
	k.tr.Enter3(fnTcpV4Err, tracing.Int(int64(typ)), tracing.Int(int64(code)), tracing.Int(int64(info)))
	defer k.tr.Exit(fnTcpV4Err, tracing.Arg{})
	th := header.TCP(quoted[quoted.IHL():])
	// The quoted segment went from us to the peer: its destination is
	// the connection's remote end.
	sc := sockets.InetLookupEstablished(k.net, k.hash, sockets.Be32From(quoted.Dst()), sockets.Htons(th.DstPort()),
		sockets.Be32From(quoted.Src()), th.SrcPort(), 0)
	if sc == nil {
		k.mib.inc(ICMP_MIB_INERRORS)
		return
	}
	seq := th.Seq()
	var sk *sockets.Sock
	switch o := sc.Owner().(type) {
	case *sockets.InetTimewaitSock:
		return
	case *sockets.RequestSock:
		k.tcpReqErr(o, seq, typ == header.ICMP_PARAMETERPROB || typ == header.ICMP_TIME_EXCEEDED ||
			(typ == header.ICMP_DEST_UNREACH && (code == header.ICMP_NET_UNREACH || code == header.ICMP_HOST_UNREACH)))
		return
	default:
		sk = sockOf(sc)
	}
	owned := sk.SkLock.Owned
	if owned && !(typ == header.ICMP_DEST_UNREACH && code == header.ICMP_FRAG_NEEDED) {
		k.mib.inc(LINUX_MIB_LOCKDROPPEDICMPS)
	}
	if sk.SkcState == sockets.TCP_CLOSE {
		return
	}
	tp := tcpSk(sk)
	if sk.SkcState != sockets.TCP_LISTEN && !between(seq, tp.SndUna, tp.SndNxt) {
		k.mib.inc(LINUX_MIB_OUTOFWINDOWICMPS)
		return
	}
	var err int32
	switch typ {
	case header.ICMP_REDIRECT, header.ICMP_SOURCE_QUENCH:
		// Redirects change a route the model does not keep per socket;
		// source quench is ignored, as RFC 6633 asks.
		return
	case header.ICMP_PARAMETERPROB:
		err = tracing.EPROTO
	case header.ICMP_DEST_UNREACH:
		if code > header.NR_ICMP_UNREACH {
			return
		}
		if code == header.ICMP_FRAG_NEEDED { // path MTU discovery (RFC 1191)
			if sk.SkcState == sockets.TCP_LISTEN {
				return
			}
			tp.mtuInfo = uint32(info)
			if !owned {
				k.tcpV4MtuReduced(sk)
			} else {
				tp.tsqFlags |= TCP_MTU_REDUCED_DEFERRED
			}
			return
		}
		e, _ := icmpErrConvert(typ, code)
		err = int32(e)
		if code == header.ICMP_NET_UNREACH || code == header.ICMP_HOST_UNREACH {
			k.tcpLdRtoRevert(sk, seq)
		}
	case header.ICMP_TIME_EXCEEDED:
		err = tracing.EHOSTUNREACH
	default:
		return
	}
	switch sk.SkcState {
	case sockets.TCP_SYN_SENT, sockets.TCP_SYN_RECV:
		// The connection attempt fails with the error (a simultaneous
		// open's too).
		if !owned {
			k.tcpDoneWithError(sk, err)
		} else {
			sk.SkErrSoft = err
		}
		return
	}
	// An established connection keeps trying: the error is reported only
	// if it times out (the model has no IP_RECVERR, which would report it
	// at once).
	sk.SkErrSoft = err
}

// between is between(): seq1 <= seq2 <= seq3 in sequence space.
func between(seq1, seq2, seq3 uint32) bool { return seq3-seq2 >= seq1-seq2 }

// tcpReqErr is tcp_req_err: an ICMP error about a SYN-ACK a request sock
// sent. With the right sequence number (the request's ISN) a fatal error
// removes the request silently: accept() has nothing to report it to.
func (k *Kernel) tcpReqErr(req *sockets.RequestSock, seq uint32, abort bool) {
	k.tr.Enter2(fnTcpReqErr, tracing.Ptr(uint64(req.Addr())), tracing.Bool(abort))
	defer k.tr.Exit(fnTcpReqErr, tracing.Arg{})
	if seq != req.SntIsn {
		k.mib.inc(LINUX_MIB_OUTOFWINDOWICMPS)
		return
	}
	if abort {
		k.inetCskReqskQueueDrop(req.RskListener, req)
		k.tcpListendrop(req.RskListener)
	}
}

// tcpLdRtoRevert is tcp_ld_RTO_revert (TCP-LD, RFC 6069): a host or
// network unreachable about the oldest unacknowledged segment, during an
// RTO backoff, says the path is down, not congested: one doubling of the
// RTO is undone, and the retransmission goes when the shorter RTO says
// (at once, if that time has passed).
func (k *Kernel) tcpLdRtoRevert(sk *sockets.Sock, seq uint32) {
	tp := tcpSk(sk)
	if sk.SkLock.Owned || seq != tp.SndUna || tp.IcskRetransmits == 0 || tp.IcskBackoff == 0 {
		return
	}
	head := skb.SkbPeek(&tp.rtxQueue) // tcp_rtx_queue_head
	if head == nil {
		return
	}
	k.tr.Enter1(fnTcpLdRtoRevert, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpLdRtoRevert, tracing.Arg{})
	tp.IcskBackoff--
	rto := TCP_TIMEOUT_INIT
	if tp.Srtt != 0 {
		// __tcp_set_rto: usecs_to_jiffies rounds up to whole jiffies.
		rto = roundUpToJiffy((int64(tp.Srtt>>3) + int64(tp.Rttvar)) * 1000)
	}
	tp.IcskRto = min(rto<<tp.IcskBackoff, TCP_RTO_MAX) // inet_csk_rto_backoff
	// What is left of it, counting the time since the head was sent in
	// whole jiffies (rounded up), as icsk_rto is.
	remaining := tp.IcskRto - roundUpToJiffy((k.clock.Now()-cbMstampOf(head))/1000*1000)
	if remaining > 0 {
		k.inetCskResetXmitTimer(sk, ICSK_TIME_RETRANS, remaining)
	} else {
		k.tcpRetransmitTimer(sk)
	}
}

// tcpV4MtuReduced is tcp_v4_mtu_reduced: an ICMP fragmentation needed
// said the path takes only mtu_info bytes. The route to the peer learns
// the lower path MTU (for ip_rt_mtu_expires, 10 minutes), and if the
// connection's MSS was sized for more, it shrinks (tcp_sync_mss) and
// every segment in flight that no longer fits is resent at once in
// pieces that do (tcp_simple_retransmit): the "fast" path MTU discovery,
// with no wait for the RTO.
func (k *Kernel) tcpV4MtuReduced(sk *sockets.Sock) {
	if sk.SkcState == sockets.TCP_LISTEN || sk.SkcState == sockets.TCP_CLOSE {
		return
	}
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpV4MtuReduced, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(tp.mtuInfo)))
	defer k.tr.Exit(fnTcpV4MtuReduced, tracing.Arg{})
	mtu := tp.mtuInfo
	rt, ok := k.inetCskUpdatePmtu(sk, mtu)
	if !ok {
		return
	}
	dmtu := uint32(rt.MTU)
	// Something is about to go wrong: remember a soft error in case the
	// connection cannot recover. Every socket is IP_PMTUDISC_WANT, so DF
	// is set (ip_dont_fragment) unless the route's MTU is locked.
	if mtu < dmtu && !rt.MTULocked {
		sk.SkErrSoft = tracing.EMSGSIZE
	}
	if tp.IcskPmtuCookie > dmtu {
		k.tcpSyncMss(sk, dmtu)
		k.tcpSimpleRetransmit(sk)
	}
}

// inetCskUpdatePmtu is inet_csk_update_pmtu: tell the route to the
// socket's peer that the path MTU is mtu (__ip_rt_update_pmtu), and
// return the route after that.
func (k *Kernel) inetCskUpdatePmtu(sk *sockets.Sock, mtu uint32) (*Rtable, bool) {
	k.tr.Point(fnInetCskUpdatePmtu, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(mtu)))
	daddr := sk.SkcDaddr.Addr()
	if !k.ipRtUpdatePmtu(daddr, mtu) {
		return nil, false
	}
	rt, err := k.routeOutput(daddr)
	if err != nil {
		return nil, false
	}
	return rt, true
}
