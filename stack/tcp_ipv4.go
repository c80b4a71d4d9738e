package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// secureTCPSeq is secure_tcp_seq: a keyed hash of the 4-tuple plus a clock
// ticking every 64 ns, so ISNs are unguessable yet grow with time (RFC
// 6528). The kernel uses siphash; the model uses jhash with its own secret.
func (k *Kernel) secureTCPSeq(saddr, daddr sockets.Be32, sport, dport uint16) uint32 {
	h := sockets.Jhash3Words(uint32(saddr), uint32(daddr), uint32(sport)<<16|uint32(dport), k.isnSecret)
	isn := h + uint32(k.clock.Now()>>6)
	k.tr.Point(fnSecureTCPSeq, tracing.IPv4(uint32(daddr)), tracing.Uint(uint64(isn)))
	return isn
}

// secureTCPTsOff is secure_tcp_ts_off: a per-connection offset for
// timestamps, so they reveal nothing about uptime.
func (k *Kernel) secureTCPTsOff(saddr, daddr sockets.Be32) uint32 {
	return sockets.Jhash3Words(uint32(saddr), uint32(daddr), 0, k.isnSecret^0x5bd1e995)
}

// tcpSegmentIn is a received segment with its parsed header.
type tcpSegmentIn struct {
	s          *skb.SkBuff
	th         header.TCP
	iph        header.IPv4
	seq        uint32
	end        uint32 // end_seq: seq + data + SYN + FIN
	ack        uint32
	flag       uint8
	opts       header.TCPOptions // parsed once, by options()
	optsParsed bool
	// csumPending: the checksum is still to be verified
	// (tcp_checksum_complete), as for a segment longer than CHECKSUM_BREAK.
	csumPending bool
}

// CHECKSUM_BREAK: a received segment of at most this many bytes has its
// checksum verified on arrival (skb_checksum_init); a longer one only
// once a socket is about to use it, for a device that leaves checksums to
// the stack (CHECKSUM_NONE, as TUN does).
const CHECKSUM_BREAK = 76

// tcpChecksumComplete is tcp_checksum_complete at the places 6.12 calls
// it: a segment whose checksum is still to be verified is verified now;
// a bad one is counted (CsumErrors, InErrs) and dropped, and the caller
// stops.
func (k *Kernel) tcpChecksumComplete(seg *tcpSegmentIn) bool {
	if !seg.csumPending {
		return true
	}
	seg.csumPending = false
	if seg.th.ChecksumValid(seg.iph.Src(), seg.iph.Dst()) {
		return true
	}
	k.mib.inc(TCP_MIB_CSUMERRORS)
	k.ipDrop(seg.s, TCP_MIB_INERRS, skb.SKB_DROP_REASON_TCP_CSUM)
	return false
}

// options parses the segment's TCP options on first use (tcp_validate_incoming
// wants the timestamp, tcp_ack the SACK blocks of the same segment).
func (g *tcpSegmentIn) options() *header.TCPOptions {
	if !g.optsParsed {
		g.opts, g.optsParsed = header.ParseTCPOptions(g.th.Options()), true
	}
	return &g.opts
}

func (g *tcpSegmentIn) has(f uint8) bool { return g.flag&f != 0 }

// tcpV4Rcv is tcp_v4_rcv: validate the segment, find its socket in ehash
// or lhash2 (__inet_lookup_skb), and hand it on: to the listener for a
// request sock (tcp_check_req), to a TIME_WAIT sock, or to tcp_v4_do_rcv
// (or sk_backlog, if a process owns the socket). No socket: RST.
func (k *Kernel) tcpV4Rcv(s *skb.SkBuff) {
	tr := k.tr
	tr.Enter1(fnTcpV4Rcv, tracing.Skb(uint64(s.Addr())))
	defer tr.Exit(fnTcpV4Rcv, tracing.Arg{})
	k.mib.inc(TCP_MIB_INSEGS)
	b := s.Bytes()
	iph := ipHdr(s)
	if len(b) < header.TCPMinSize {
		// pskb_may_pull fails: discard_it, counted nowhere but InSegs.
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_PKT_TOO_SMALL)
		return
	}
	th := header.TCP(b)
	if th.DataOffset() < header.TCPMinSize {
		k.ipDrop(s, TCP_MIB_INERRS, skb.SKB_DROP_REASON_PKT_TOO_SMALL) // bad_packet
		return
	}
	if th.DataOffset() > len(b) {
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_PKT_TOO_SMALL) // discard_it
		return
	}
	if len(b) <= CHECKSUM_BREAK && !th.ChecksumValid(iph.Src(), iph.Dst()) {
		k.mib.inc(TCP_MIB_CSUMERRORS)
		k.ipDrop(s, TCP_MIB_INERRS, skb.SKB_DROP_REASON_TCP_CSUM)
		return
	}
	seg := &tcpSegmentIn{s: s, th: th, iph: iph, seq: th.Seq(), ack: th.AckSeq(), flag: th.Flags(),
		csumPending: len(b) > CHECKSUM_BREAK}
	dlen := uint32(len(b) - th.DataOffset())
	seg.end = seg.seq + dlen
	if seg.has(header.TCP_FLAG_SYN) {
		seg.end++
	}
	if seg.has(header.TCP_FLAG_FIN) {
		seg.end++
	}
	setCbSeq(s, seg.seq)
	setCbEndSeq(s, seg.end)
	setCbFlags(s, seg.flag)
	k.tcpV4RcvLookup(seg)
}

// tcpV4RcvLookup is tcp_v4_rcv from its lookup label on: find the sock the
// segment belongs to and hand it over, or answer for no sock.
func (k *Kernel) tcpV4RcvLookup(seg *tcpSegmentIn) {
	iph, th := seg.iph, seg.th
	saddr, daddr := sockets.Be32From(iph.Src()), sockets.Be32From(iph.Dst())
	sc := k.inetLookupSkb(saddr, sockets.Htons(th.SrcPort()), daddr, th.DstPort(), int32(seg.s.Iif))
	if sc == nil {
		k.tcpNoSocket(seg)
		return
	}
	switch o := sc.Owner().(type) {
	case *sockets.RequestSock:
		if k.tcpChecksumComplete(seg) {
			k.tcpRcvRequest(o, seg)
		}
	case *sockets.InetTimewaitSock:
		if k.tcpChecksumComplete(seg) {
			k.tcpV4RcvTimewait(o, seg)
		}
	default:
		sk := sockOf(sc)
		if sk.SkcState == sockets.TCP_LISTEN {
			k.tcpV4DoRcv(sk, seg)
			return
		}
		if sk.SkcState != sockets.TCP_TIME_WAIT {
			tcpSegsIn(tcpSk(sk), seg)
		}
		if sk.SkLock.Owned {
			k.tcpAddBacklog(sk, seg)
			return
		}
		// The lookup's reference: the sock outlives tcp_done in here.
		sockets.SockHold(sk)
		k.tcpV4DoRcv(sk, seg)
		sockets.SockPut(sk)
	}
}

// tcpSegsIn is tcp_segs_in: count a segment that reached a full sock
// (tcpi_segs_in), and a second time if it carries data
// (tcpi_data_segs_in).
func tcpSegsIn(tp *TcpSock, seg *tcpSegmentIn) {
	tp.SegsIn++
	if len(seg.th) > seg.th.DataOffset() {
		tp.DataSegsIn++
	}
}

// inetLookupSkb is __inet_lookup_skb: ehash first (established, request
// and timewait socks), then the listeners of lhash2.
func (k *Kernel) inetLookupSkb(saddr sockets.Be32, sport sockets.Be16, daddr sockets.Be32, hnum uint16, dif int32) *sockets.SockCommon {
	k.tr.Enter2(fnInetLookupSkb, tracing.IPv4(uint32(daddr)), tracing.Int(int64(hnum)))
	sc := sockets.InetLookupEstablished(k.net, k.hash, saddr, sport, daddr, hnum, dif)
	if sc == nil {
		if l := sockets.InetLookupListener(k.net, k.hash, daddr, hnum, dif); l != nil {
			sc = &l.SockCommon
		}
	}
	var a uint64
	if sc != nil {
		a = uint64(sc.Addr())
	}
	k.tr.Exit(fnInetLookupSkb, tracing.Sock(a))
	return sc
}

// tcpNoSocket answers a segment nobody wants: RST (tcp_v4_send_reset)
// unless it is a RST itself.
func (k *Kernel) tcpNoSocket(seg *tcpSegmentIn) {
	if !k.tcpChecksumComplete(seg) {
		return
	}
	if !seg.has(header.TCP_FLAG_RST) {
		k.tcpV4SendReset(nil, seg)
	}
	_ = skb.KfreeSkbReason(seg.s, skb.SKB_DROP_REASON_NO_SOCKET)
}

// tcpAddBacklog is tcp_add_backlog: a process owns the socket, so the
// segment waits on sk_backlog until release_sock.
func (k *Kernel) tcpAddBacklog(sk *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter2(fnTcpAddBacklog, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	if !k.tcpChecksumComplete(seg) {
		k.tr.Exit(fnTcpAddBacklog, tracing.Bool(true))
		return
	}
	// Twice the receive buffer (backlog and receive queue can each
	// reach it), half the send buffer, and 64 KB of headroom; full when
	// the backlog and the receive queue together pass it
	// (sk_rcvqueues_full).
	limit := min(2*int64(sk.SkRcvbuf)+int64(sk.SkSndbuf)/2+64*1024, 1<<32-1)
	if int64(sk.SkBacklog.Len)+int64(sk.SkRmemAlloc) > limit {
		k.mib.inc(LINUX_MIB_TCPBACKLOGDROP)
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_SOCKET_BACKLOG)
		k.tr.Exit(fnTcpAddBacklog, tracing.Bool(true))
		return
	}
	s := seg.s
	s.Sk = sk
	if sk.SkBacklog.Tail == nil {
		sk.SkBacklog.Head = s
	} else {
		k.backlogNext[sk.SkBacklog.Tail] = s
	}
	sk.SkBacklog.Tail = s
	sk.SkBacklog.Len += int(s.Truesize)
	k.tr.Exit(fnTcpAddBacklog, tracing.Bool(false))
}

// tcpBacklogRcv replays sk_backlog (release_sock -> __release_sock ->
// sk_backlog_rcv = tcp_v4_do_rcv).
func (k *Kernel) tcpBacklogRcv(sk *sockets.Sock, s *skb.SkBuff) int {
	for s != nil {
		next := k.backlogNext[s]
		delete(k.backlogNext, s)
		seg := k.resegment(s)
		k.tcpV4DoRcv(sk, seg)
		s = next
	}
	return 0
}

// resegment rebuilds the parsed view of a queued segment.
func (k *Kernel) resegment(s *skb.SkBuff) *tcpSegmentIn {
	th := header.TCP(s.HeadBytes()[s.TransportHeader:])
	th = th[:int(s.TailOffset())-int(s.TransportHeader)]
	return &tcpSegmentIn{s: s, th: th, iph: ipHdr(s), seq: cbSeqOf(s), end: cbEndSeqOf(s), ack: th.AckSeq(), flag: cbFlagsOf(s)}
}

// tcpV4DoRcv is tcp_v4_do_rcv: ESTABLISHED goes to tcp_rcv_established;
// everything else to the state machine, tcp_rcv_state_process. If that
// says the segment deserves a reset, send one.
func (k *Kernel) tcpV4DoRcv(sk *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter2(fnTcpV4DoRcv, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer k.tr.Exit(fnTcpV4DoRcv, tracing.Arg{})
	// tcp_rcv_established verifies a long segment's checksum before it
	// uses anything but the header; the other states, here.
	if !k.tcpChecksumComplete(seg) {
		return
	}
	if sk.SkcState == sockets.TCP_ESTABLISHED {
		k.tcpRcvEstablished(sk, seg)
		return
	}
	if sk.SkcState == sockets.TCP_LISTEN {
		nsk := k.tcpV4CookieCheck(sk, seg)
		if nsk == nil {
			return
		}
		if nsk != sk {
			k.tcpChildProcess(sk, nsk, seg)
			return
		}
	}
	if reason := k.tcpRcvStateProcess(sk, seg); reason != skb.SKB_NOT_DROPPED_YET {
		k.tcpV4SendReset(sk, seg)
		_ = skb.KfreeSkbReason(seg.s, reason)
	}
}

// tcpV4SendReset is tcp_v4_send_reset: a RST answering seg, built without
// a socket (ip_send_unicast_reply): ACK-less with seq = the segment's ack
// if it had one, else seq 0 with an ACK of everything it occupied.
func (k *Kernel) tcpV4SendReset(sk *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter1(fnTcpV4SendReset, tracing.Skb(uint64(seg.s.Addr())))
	defer k.tr.Exit(fnTcpV4SendReset, tracing.Arg{})
	if seg.has(header.TCP_FLAG_RST) {
		return
	}
	if _, _, ok := k.localAddr(seg.iph.Dst()); !ok {
		return // never reset on behalf of an address that is not ours
	}
	out := &tcpSegment{src: sockets.Be32From(seg.iph.Dst()), dst: sockets.Be32From(seg.iph.Src()),
		sport: seg.th.DstPort(), dport: seg.th.SrcPort(), flags: header.TCP_FLAG_RST, tos: replyTos(seg), via: viaUnicastReply}
	if seg.has(header.TCP_FLAG_ACK) {
		out.seq = seg.ack
	} else {
		out.flags |= header.TCP_FLAG_ACK
		out.ack = seg.end
	}
	s, err := skb.AllocSkb(k.skbs, MaxTCPHeader)
	if err != nil {
		return
	}
	_ = skb.SkbReserve(s, MaxTCPHeader)
	_ = k.tcpBuildAndSend(s, out)
}

// tcpV4ConnRequest is tcp_v4_conn_request: drop SYNs to broadcast or
// multicast, then tcp_conn_request.
func (k *Kernel) tcpV4ConnRequest(sk *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter2(fnTcpV4ConnRequest, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer k.tr.Exit(fnTcpV4ConnRequest, tracing.Arg{})
	// Never answer a SYN sent to a broadcast or multicast address.
	if seg.iph.Dst().IsMulticast() || k.ipInputBroadcast(seg.iph) {
		k.tcpListendrop(sk)
		return
	}
	k.tcpConnRequest(sk, seg)
}

// tcpConnRequest is tcp_conn_request (net/ipv4/tcp_input.c): a SYN for a
// listener. Full SYN queue (or tcp_syncookies=2): tcp_syn_flood_action
// decides between a SYN cookie and a drop; full accept queue: drop
// (ListenOverflows). Otherwise a request sock from request_sock_TCP goes
// into ehash as NEW_SYN_RECV with its retransmit timer, and the SYN-ACK
// goes out. A cookie's request sock only builds the SYN-ACK and is freed.
func (k *Kernel) tcpConnRequest(sk *sockets.Sock, seg *tcpSegmentIn) {
	tr := k.tr
	tr.Enter2(fnTcpConnRequest, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer tr.Exit(fnTcpConnRequest, tracing.Arg{})
	drop := func() { k.tcpListendrop(sk) }
	wantCookie := false
	// A SYN that takes over a TIME_WAIT four-tuple (tcp_tw_isn) skips the
	// SYN queue's limits and the cookie decision.
	if k.tcpTwIsn == 0 && (k.net.Sysctl.TcpSyncookies == 2 || sockets.InetCskReqskQueueIsFull(sk)) {
		if wantCookie = k.tcpSynFloodAction(sk); !wantCookie {
			drop()
			return
		}
	}
	if sockets.SkAcceptqIsFull(sk) {
		k.mib.inc(LINUX_MIB_LISTENOVERFLOWS)
		drop()
		return
	}
	req, err := k.inetReqskAlloc(sk)
	if err != nil {
		drop()
		return
	}
	var rx TcpOptionsReceived
	rx.MssClamp = 536
	rx.UserMss = tcpSk(sk).RxOpt.UserMss // TCP_MAXSEG on the listener caps the peer's MSS
	o := k.tcpParseOptionsUnestab(seg.th.Options(), true, &rx)
	_ = o
	if wantCookie && (!rx.SawTstamp || k.net.Sysctl.TcpTimestamps == 0) {
		tcpClearOptions(&rx) // without a timestamp, a cookie cannot carry options
	}
	req.Syncookie = wantCookie
	// tcp_openreq_init
	req.RcvIsn = seg.seq
	req.Mss = rx.MssClamp
	req.TstampOk = rx.SawTstamp && k.net.Sysctl.TcpTimestamps != 0
	req.SackOk = rx.SackOk && k.net.Sysctl.TcpSack != 0
	req.WscaleOk = rx.WscaleOk && k.net.Sysctl.TcpWindowScaling != 0
	req.SndWscale = rx.SndWscale
	req.TsRecent = rx.RcvTsval
	req.SkcRcvSaddr = sockets.Be32From(seg.iph.Dst())
	req.SkcDaddr = sockets.Be32From(seg.iph.Src())
	req.SkcNum = seg.th.DstPort()
	req.SkcDport = sockets.Htons(seg.th.SrcPort())
	req.SkcBoundDevIf = sk.SkcBoundDevIf
	rt, err := k.ipRouteOutput(seg.iph.Src())
	if err != nil {
		k.reqskFreeNow(req)
		drop()
		return
	}
	if req.TstampOk {
		req.TsOff = k.secureTCPTsOff(req.SkcRcvSaddr, req.SkcDaddr)
	}
	if maxSyn := k.net.Sysctl.TcpMaxSynBacklog; !wantCookie && k.tcpTwIsn == 0 && k.net.Sysctl.TcpSyncookies == 0 &&
		maxSyn-int(sockets.IcskOf(sk).IcskAcceptQueue.Qlen) < maxSyn>>2 {
		// Without syncookies, the last quarter of tcp_max_syn_backlog
		// is kept for peers proven alive (none are: the model keeps no
		// TCP metrics), so this SYN is dropped.
		k.reqskFreeNow(req)
		drop()
		return
	}
	if wantCookie {
		req.SntIsn = k.cookieInitSequence(sk, seg, &req.Mss)
	} else if k.tcpTwIsn != 0 {
		req.SntIsn = k.tcpTwIsn // a SYN that reuses a TIME_WAIT four-tuple
	} else {
		req.SntIsn = k.secureTCPSeq(req.SkcRcvSaddr, req.SkcDaddr, req.SkcNum, seg.th.SrcPort())
	}
	// tcp_openreq_init_rwin
	advmss := tcpMssClamp(tcpSk(sk), min(rt.Dev.MTU-40, 65535-40)) // ipv4_default_advmss
	req.AdvMss = uint16(advmss)
	tsLen := 0
	if req.TstampOk {
		tsLen = TCPOLEN_TSTAMP_ALIGNED
	}
	clamp := tcpRcvbufLockedClamp(sk, tcpSk(sk).WindowClamp)
	req.RcvWnd, req.RcvWscale = k.tcpSelectInitialWindow(tcpFullSpace(sk), advmss-tsLen, &clamp, req.WscaleOk)
	req.WindowClamp = clamp
	if !wantCookie {
		req.Timeout = TCP_TIMEOUT_INIT
		k.inetCskReqskQueueHashAdd(sk, req)
	}
	k.tcpV4SendSynack(sk, req)
	if wantCookie {
		k.reqskFreeNow(req) // reqsk_free: nothing of the SYN is kept but the cookie
		return
	}
	k.reqskPut(req)
}

// inetReqskAlloc is inet_reqsk_alloc: a request sock from request_sock_TCP
// in state NEW_SYN_RECV, pointing at its listener.
func (k *Kernel) inetReqskAlloc(lsk *sockets.Sock) (*sockets.RequestSock, error) {
	k.tr.Enter1(fnInetReqskAlloc, tracing.Sock(uint64(lsk.Addr())))
	addr, err := k.mem.KmemCacheAlloc(k.reqCache)
	if err != nil {
		k.tr.Exit(fnInetReqskAlloc, tracing.Ptr(0))
		return nil, err
	}
	req := sockets.NewRequestSockAt(addr, lsk)
	k.tr.Exit(fnInetReqskAlloc, tracing.Ptr(uint64(addr)))
	return req, nil
}

// reqskFreeNow frees a request sock that was never hashed.
func (k *Kernel) reqskFreeNow(req *sockets.RequestSock) {
	req.SkcRefcnt = 1
	k.reqskPut(req)
}

// inetCskReqskQueueHashAdd is inet_csk_reqsk_queue_hash_add ->
// reqsk_queue_hash_req: the request sock goes into ehash (so the final ACK
// finds it), its SYN-ACK retransmit timer starts, and the SYN queue grows.
func (k *Kernel) inetCskReqskQueueHashAdd(lsk *sockets.Sock, req *sockets.RequestSock) {
	k.tr.Enter2(fnInetCskReqskQueueHashAdd, tracing.Sock(uint64(lsk.Addr())), tracing.Ptr(uint64(req.Addr())))
	req.SkcHash = sockets.InetEhashfn(k.net, k.hash, req.SkcRcvSaddr, req.SkcNum, req.SkcDaddr, req.SkcDport)
	sockets.InetEhashInsertCommon(k.hash, &req.SockCommon)
	req.SkcRefcnt = 3 // ehash, timer, and the caller's
	t := NewTimer("reqsk_timer_handler", func() { k.reqskTimerHandler(req) })
	k.reqTimers[req] = t
	k.ModTimer(t, k.clock.Now()+req.Timeout)
	q := &sockets.IcskOf(lsk).IcskAcceptQueue
	q.Qlen++
	q.Young++
	k.tr.Exit(fnInetCskReqskQueueHashAdd, tracing.Int(int64(q.Qlen)))
}

// tcpV4SendSynack is tcp_v4_send_synack -> tcp_make_synack: the SYN-ACK
// for a request sock, from its own ISN, with the options the SYN offered.
func (k *Kernel) tcpV4SendSynack(lsk *sockets.Sock, req *sockets.RequestSock) {
	k.tr.Enter1(fnTcpV4SendSynack, tracing.Ptr(uint64(req.Addr())))
	defer k.tr.Exit(fnTcpV4SendSynack, tracing.Arg{})
	s, err := skb.AllocSkb(k.skbs, MaxTCPHeader)
	if err != nil {
		return
	}
	_ = skb.SkbReserve(s, MaxTCPHeader)
	mss := req.AdvMss // our MSS (tcp_mss_clamp of the route's advmss), not the peer's
	tsval := k.tcpClockTs() + req.TsOff
	if req.Syncookie && req.TstampOk {
		tsval = uint32(k.cookieInitTimestamp(req)) + req.TsOff
	}
	opts := tcpSynOptions(mss, req.SackOk, req.TstampOk, req.WscaleOk, tsval, req.TsRecent, req.RcvWscale)
	seg := &tcpSegment{src: req.SkcRcvSaddr, dst: req.SkcDaddr, sport: req.SkcNum, dport: req.SkcDport.Ntohs(),
		seq: req.SntIsn, ack: req.RcvIsn + 1, flags: header.TCP_FLAG_SYN | header.TCP_FLAG_ACK,
		window: uint16(min(req.RcvWnd, 65535)), opts: opts, via: viaBuildAndSend}
	if !req.Syncookie && req.SntSynack == 0 {
		// The first SYN-ACK's time (0 means none: a cookie; a virtual
		// clock starts at 0).
		req.SntSynack = max(k.clock.Now(), 1)
	}
	_ = k.tcpBuildAndSend(s, seg)
}

// reqskTimerHandler is reqsk_timer_handler: no final ACK yet, so the
// SYN-ACK goes again, with the timeout doubling, up to the listener's
// TCP_SYNCNT or else tcp_synack_retries times; then the request sock is
// dropped from ehash and the SYN queue. While more than half the queue
// (of max(8, backlog)) is waiting, old requests get fewer retries (down to
// 2), keeping room for young ones.
func (k *Kernel) reqskTimerHandler(req *sockets.RequestSock) {
	k.tr.Enter1(fnReqskTimerHandler, tracing.Ptr(uint64(req.Addr())))
	defer k.tr.Exit(fnReqskTimerHandler, tracing.Arg{})
	lsk := req.RskListener
	q := &sockets.IcskOf(lsk).IcskAcceptQueue
	drop := lsk.SkcState != sockets.TCP_LISTEN
	resend := true
	if !drop {
		maxRetries := int(tcpSk(lsk).SynCnt)
		if maxRetries == 0 {
			maxRetries = k.net.Sysctl.TcpSynackRetries
		}
		qlen := int(q.Qlen)
		if qlen<<1 > max(8, int(lsk.SkMaxAckBacklog)) {
			young := int(q.Young) << 1
			for maxRetries > 2 && qlen >= young {
				maxRetries--
				young <<= 1
			}
		}
		k.mib.inc(LINUX_MIB_TCPTIMEOUTS) // tcp_syn_ack_timeout
		expire, r := synAckRecalc(req, maxRetries, q.RskqDeferAccept)
		drop, resend = expire, r
	}
	if drop {
		delete(k.reqTimers, req) // we are the timer: __inet_csk_reqsk_queue_drop(from_timer)
		if req.Hashed() {
			sockets.UnhashCommon(&req.SockCommon)
			reqskQueueRemoved(q, req)
			req.SkcRefcnt--
		}
		k.reqskPut(req) // the timer's reference
		return
	}
	if resend {
		k.inetRtxSynAck(lsk, req)
	}
	if req.NumTimeout == 0 && q.Young > 0 {
		q.Young-- // the request is no longer young
	}
	req.NumTimeout++
	k.ModTimer(k.reqTimers[req], k.clock.Now()+reqskTimeout(req))
}

// synAckRecalc is syn_ack_recalc: whether a request's SYN-ACK timeout ends
// it (after maxRetries timeouts) and whether the SYN-ACK goes again. With
// TCP_DEFER_ACCEPT (defer timeouts), a request whose handshake is done
// (acked) waits quietly for data, and lives until the deferring is over;
// in its last timeout the SYN-ACK goes again, as a last chance to get
// data or an ACK that makes the connection.
func synAckRecalc(req *sockets.RequestSock, maxRetries int, deferAccept uint8) (expire, resend bool) {
	n := int(req.NumTimeout)
	if deferAccept == 0 {
		return n >= maxRetries, true
	}
	expire = n >= maxRetries && (!req.Acked || n >= int(deferAccept))
	resend = !req.Acked || n >= int(deferAccept)-1
	return expire, resend
}

// inetCskReqskQueueDrop is inet_csk_reqsk_queue_drop: stop the request
// sock's timer and, if it is still in ehash, unlink it and count it out of
// the SYN queue (reqsk_queue_removed). It reports whether it unlinked.
func (k *Kernel) inetCskReqskQueueDrop(lsk *sockets.Sock, req *sockets.RequestSock) bool {
	k.tr.Enter1(fnInetCskReqskQueueDrop, tracing.Ptr(uint64(req.Addr())))
	if t := k.reqTimers[req]; t != nil && k.DelTimer(t) {
		req.SkcRefcnt-- // the timer's reference
	}
	delete(k.reqTimers, req)
	unlinked := req.Hashed()
	if unlinked {
		sockets.UnhashCommon(&req.SockCommon)
		reqskQueueRemoved(&sockets.IcskOf(lsk).IcskAcceptQueue, req)
		req.SkcRefcnt-- // the ehash reference
	}
	k.tr.Exit(fnInetCskReqskQueueDrop, tracing.Bool(unlinked))
	return unlinked
}

// reqskQueueRemoved is reqsk_queue_removed: one request fewer in the SYN
// queue (and one fewer young one if it never timed out).
func reqskQueueRemoved(q *sockets.RequestSockQueue, req *sockets.RequestSock) {
	if req.NumTimeout == 0 && q.Young > 0 {
		q.Young--
	}
	q.Qlen--
}

// replyTos is the TOS of a reply sent without a socket
// (ip_send_unicast_reply): the received segment's, less its ECN bits.
func replyTos(seg *tcpSegmentIn) uint8 { return seg.iph.TOS() &^ INET_ECN_MASK }

// INET_ECN_MASK is the two ECN bits of the TOS byte.
const INET_ECN_MASK = 3
