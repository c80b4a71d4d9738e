package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// tcpRcvRequest is the TCP_NEW_SYN_RECV branch of tcp_v4_rcv: a segment
// for a request sock is checked by tcp_check_req on behalf of its
// listener; a valid final ACK yields the child socket, which processes the
// segment (tcp_child_process). A request whose listener has stopped
// listening is dropped, and the segment looked up again: a new listener on
// the port may take it, or it finds no sock.
func (k *Kernel) tcpRcvRequest(req *sockets.RequestSock, seg *tcpSegmentIn) {
	lsk := req.RskListener
	if lsk.SkcState != sockets.TCP_LISTEN {
		k.inetCskReqskQueueDrop(lsk, req)
		k.tcpV4RcvLookup(seg)
		return
	}
	req.SkcRefcnt++ // refcount_inc_not_zero in the lookup
	child, toListener := k.tcpCheckReq(lsk, seg, req)
	switch {
	case toListener:
		k.reqskPut(req)
		k.tcpV4DoRcv(lsk, seg)
	case child == nil:
		k.reqskPut(req)
		_ = skb.KfreeSkbReason(seg.s, skb.SKB_DROP_REASON_NOT_SPECIFIED)
	default:
		k.tcpChildProcess(lsk, child, seg)
	}
}

// tcpCheckReq is tcp_check_req (net/ipv4/tcp_minisocks.c): RFC 793's
// SYN-RECEIVED rules for a request sock. A retransmitted SYN gets the
// SYN-ACK again (at most one per tcp_invalid_ratelimit, and the SYN-ACK
// timer starts over); an ACK for the wrong sequence goes to the listener
// (which resets); out of window, or an old timestamp (PAWS), gets an ACK;
// a RST not exactly at rcv_nxt gets a challenge ACK; a RST or SYN kills
// the request; a good ACK creates the child (syn_recv_sock) and moves it
// to the accept queue (inet_csk_complete_hashdance). If the accept queue
// is full, the ACK is dropped (req->acked) unless tcp_abort_on_overflow
// asks for a reset.
func (k *Kernel) tcpCheckReq(lsk *sockets.Sock, seg *tcpSegmentIn, req *sockets.RequestSock) (child *sockets.Sock, toListener bool) {
	tr := k.tr
	tr.Enter2(fnTcpCheckReq, tracing.Sock(uint64(lsk.Addr())), tracing.Ptr(uint64(req.Addr())))
	defer func() {
		var a uint64
		if child != nil {
			a = uint64(child.Addr())
		}
		tr.Exit(fnTcpCheckReq, tracing.Sock(a))
	}()
	flg := seg.flag & (header.TCP_FLAG_SYN | header.TCP_FLAG_ACK | header.TCP_FLAG_RST)
	rst := flg&header.TCP_FLAG_RST != 0
	var rx TcpOptionsReceived
	pawsReject := false
	if len(seg.th.Options()) > 0 {
		k.tcpParseOptionsUnestab(seg.th.Options(), false, &rx)
		if rx.SawTstamp {
			// A request is as old as its SYN-ACK timeout says.
			now := k.clock.Now()
			rx.TsRecent, rx.TsRecentStamp = req.TsRecent, now-reqskTimeout(req)
			pawsReject = tcpPawsReject(&rx, rst, now)
		}
	}
	rcvNxt := req.RcvIsn + 1
	if seg.seq == req.RcvIsn && flg == header.TCP_FLAG_SYN && !pawsReject {
		// A retransmitted SYN: send the SYN-ACK again (inet_rtx_syn_ack)
		// and give the peer a full timeout to answer it.
		if !k.segOowRateLimited(&req.LastOowAckTime, seg, LINUX_MIB_TCPACKSKIPPEDSYNRECV) {
			k.inetRtxSynAck(lsk, req)
			if t := k.reqTimers[req]; t != nil && t.Pending() { // mod_timer_pending
				k.ModTimer(t, k.clock.Now()+reqskTimeout(req))
			}
		}
		return nil, false
	}
	if flg&header.TCP_FLAG_ACK != 0 && !rst && seg.ack != req.SntIsn+1 {
		return nil, true
	}
	if pawsReject || !tcpInWindow(seg.seq, seg.end, rcvNxt, rcvNxt+tcpSynackWindow(req)) {
		if !rst && !k.segOowRateLimited(&req.LastOowAckTime, seg, LINUX_MIB_TCPACKSKIPPEDSYNRECV) {
			k.tcpV4ReqskSendAck(req, seg)
		}
		if pawsReject {
			k.mib.inc(LINUX_MIB_PAWSESTABREJECTED)
		}
		return nil, false
	}
	if seg.seq == req.RcvIsn {
		flg &^= header.TCP_FLAG_SYN
	}
	if rst && seg.seq != rcvNxt {
		// tcp_reqsk_send_challenge_ack: a RST in the window but not
		// at rcv_nxt may be forged (RFC 5961).
		if !k.oowRateLimited(&req.LastOowAckTime, LINUX_MIB_TCPACKSKIPPEDCHALLENGE) {
			k.mib.inc(LINUX_MIB_TCPCHALLENGEACK)
			k.tcpV4ReqskSendAck(req, seg)
		}
		return nil, false
	}
	if flg&(header.TCP_FLAG_RST|header.TCP_FLAG_SYN) != 0 {
		k.mib.inc(TCP_MIB_ATTEMPTFAILS)
		if !rst {
			k.tcpV4SendReset(nil, seg)
		}
		if k.inetCskReqskQueueDrop(lsk, req) {
			k.mib.inc(LINUX_MIB_EMBRYONICRSTS)
		}
		return nil, false
	}
	if flg&header.TCP_FLAG_ACK == 0 {
		return nil, false
	}
	// TCP_DEFER_ACCEPT: a bare ACK does not make the connection yet; the
	// request waits for data (acked: the handshake itself is done).
	if req.NumTimeout < sockets.IcskOf(lsk).IcskAcceptQueue.RskqDeferAccept && seg.end == req.RcvIsn+1 {
		req.Acked = true
		k.mib.inc(LINUX_MIB_TCPDEFERACCEPTDROP)
		return nil, false
	}
	child = k.tcpV4SynRecvSock(lsk, seg, req)
	if child == nil {
		// listen_overflow
		if k.net.Sysctl.TcpAbortOnOverflow == 0 {
			req.Acked = true
			return nil, false
		}
		// embryonic_reset, as for a bad SYN
		k.tcpV4SendReset(nil, seg)
		if k.inetCskReqskQueueDrop(lsk, req) {
			k.mib.inc(LINUX_MIB_EMBRYONICRSTS)
		}
		return nil, false
	}
	if rx.SawTstamp && !after(seg.seq, rcvNxt) {
		tcpSk(child).RxOpt.TsRecent = rx.RcvTsval // the request's own ts_recent stays the SYN's
	}
	k.tcpSynackRttMeas(child, req)
	return k.inetCskCompleteHashdance(lsk, child, req), false
}

// tcpSynackWindow is tcp_synack_window: the window a request sock
// offered, as its SYN-ACK's unscaled field could carry it.
func tcpSynackWindow(req *sockets.RequestSock) uint32 { return min(req.RcvWnd, 65535) }

// reqskTimeout is reqsk_timeout(req, TCP_RTO_MAX): the SYN-ACK timeout,
// doubled for each time it ran out, at most TCP_RTO_MAX.
func reqskTimeout(req *sockets.RequestSock) int64 {
	// Doubling past TCP_RTO_MAX would overflow (tcp_synack_retries goes
	// to 255); Linux shifts a 64-bit count of jiffies.
	if req.NumTimeout >= 8 {
		return TCP_RTO_MAX
	}
	return min(TCP_TIMEOUT_INIT<<req.NumTimeout, TCP_RTO_MAX)
}

// inetRtxSynAck is inet_rtx_syn_ack -> tcp_rtx_synack: the SYN-ACK again,
// counted in RetransSegs and TCPSynRetrans, and in the request's
// num_retrans.
func (k *Kernel) inetRtxSynAck(lsk *sockets.Sock, req *sockets.RequestSock) {
	k.tr.Point(fnInetRtxSynAck, tracing.Ptr(uint64(req.Addr())), tracing.Int(int64(req.NumRetrans)+1))
	k.tcpV4SendSynack(lsk, req)
	k.mib.inc(TCP_MIB_RETRANSSEGS)
	k.mib.inc(LINUX_MIB_TCPSYNRETRANS)
	req.NumRetrans++
}

// tcpSynackRttMeas is tcp_synack_rtt_meas: the time from our SYN-ACK to
// the final ACK is the child's first RTT sample, unless the SYN-ACK was
// retransmitted (which one was answered?) or came from a cookie.
func (k *Kernel) tcpSynackRttMeas(child *sockets.Sock, req *sockets.RequestSock) {
	if req.NumRetrans != 0 || req.SntSynack == 0 {
		return
	}
	tp := tcpSk(child)
	us := (k.clock.Now() - req.SntSynack) / 1000
	k.tr.Point(fnTcpSynackRttMeas, tracing.Sock(uint64(child.Addr())), tracing.Int(us))
	k.tcpUpdateRttMin(tp, uint32(us))
	k.tcpRttEstimator(tp, us)
}

// tcpInWindow is tcp_in_window: does [seq, end) overlap [s_win, e_win)?
func tcpInWindow(seq, end, sWin, eWin uint32) bool {
	if seq == sWin {
		return true
	}
	if after(end, sWin) && before(seq, eWin) {
		return true
	}
	return seq == eWin && seq == end
}

// tcpV4ReqskSendAck is tcp_v4_reqsk_send_ack: an ACK on behalf of a request
// sock (for out-of-window segments).
func (k *Kernel) tcpV4ReqskSendAck(req *sockets.RequestSock, in *tcpSegmentIn) {
	k.tr.Enter1(fnTcpV4ReqskSendAck, tracing.Ptr(uint64(req.Addr())))
	defer k.tr.Exit(fnTcpV4ReqskSendAck, tracing.Arg{})
	s, err := skb.AllocSkb(k.skbs, MaxTCPHeader)
	if err != nil {
		return
	}
	_ = skb.SkbReserve(s, MaxTCPHeader)
	seg := &tcpSegment{src: req.SkcRcvSaddr, dst: req.SkcDaddr, sport: req.SkcNum, dport: req.SkcDport.Ntohs(),
		seq: req.SntIsn + 1, ack: req.RcvIsn + 1, flags: header.TCP_FLAG_ACK, window: uint16(tcpSynackWindow(req) >> req.RcvWscale),
		tos: replyTos(in), via: viaUnicastReply}
	// tcp_v4_send_ack adds the timestamp option when there is a
	// timestamp to echo (tsecr, the request's ts_recent, non-zero).
	if req.TsRecent != 0 {
		seg.opts = (&header.OptionWriter{}).Timestamp(k.tcpClockTs()+req.TsOff, req.TsRecent).Bytes()
	}
	_ = k.tcpBuildAndSend(s, seg)
}

// tcpV4SynRecvSock is tcp_v4_syn_recv_sock: the accept queue has room, so
// the listener is cloned into a full TCP socket in SYN_RECV
// (tcp_create_openreq_child), which inherits the port (__inet_inherit_port)
// and replaces the request sock in ehash (inet_ehash_nolisten).
func (k *Kernel) tcpV4SynRecvSock(lsk *sockets.Sock, seg *tcpSegmentIn, req *sockets.RequestSock) *sockets.Sock {
	tr := k.tr
	tr.Enter2(fnTcpV4SynRecvSock, tracing.Sock(uint64(lsk.Addr())), tracing.Ptr(uint64(req.Addr())))
	if sockets.SkAcceptqIsFull(lsk) {
		k.mib.inc(LINUX_MIB_LISTENOVERFLOWS)
		k.tcpListendrop(lsk)
		tr.Exit(fnTcpV4SynRecvSock, tracing.Sock(0))
		return nil
	}
	newsk := k.tcpCreateOpenreqChild(lsk, req, seg)
	if newsk == nil {
		k.tcpListendrop(lsk)
		tr.Exit(fnTcpV4SynRecvSock, tracing.Sock(0))
		return nil
	}
	inet := sockets.InetOf(newsk)
	inet.InetId = uint16(k.GetRandomU32())
	// inet_csk_route_child_sock, and tcp_sync_mss records the path MTU.
	if rt, err := k.ipRouteOutput(newsk.SkcDaddr.Addr()); err == nil {
		k.tcpSyncMss(newsk, uint32(rt.MTU))
	}
	if err := k.inetInheritPort(lsk, newsk); err != nil {
		// put_and_exit: inet_csk_prepare_forced_close marks the child
		// dead, and tcp_done frees it; the connection is dropped.
		sockets.SockOrphan(newsk)
		newsk.SkcNum = 0
		k.tcpDone(newsk)
		k.tcpListendrop(lsk)
		tr.Exit(fnTcpV4SynRecvSock, tracing.Sock(0))
		return nil
	}
	// inet_ehash_nolisten(newsk, req): the child takes the request's place
	// on its ehash chain (a SYN cookie's request sock was never in ehash:
	// the child goes at the head).
	newsk.SkcHash = req.SkcHash
	if req.Hashed() {
		sockets.ReplaceCommon(&req.SockCommon, &newsk.SockCommon)
		req.SkcRefcnt-- // the ehash reference moves to the child
	} else {
		sockets.InetEhashInsertCommon(k.hash, &newsk.SockCommon)
	}
	tr.Exit(fnTcpV4SynRecvSock, tracing.Sock(uint64(newsk.Addr())))
	return newsk
}

// inetInheritPort is __inet_inherit_port: the child joins the listener's
// port. A listener bound to 0.0.0.0 hands the child its bind bucket, but
// the child's bhash2 bucket is that of its own local address (found, or
// made here). Fails only when that bucket cannot be allocated.
func (k *Kernel) inetInheritPort(lsk, child *sockets.Sock) error {
	k.tr.Point(fnInetInheritPort, tracing.Sock(uint64(child.Addr())), tracing.Int(int64(lsk.SkcNum)))
	icsk := sockets.IcskOf(lsk)
	tb, tb2 := icsk.IcskBindHash, icsk.IcskBind2Hash
	if tb == nil || tb2 == nil {
		return sockets.Errno(tracing.ENOENT)
	}
	port := lsk.SkcNum
	if tb2.RcvSaddr != child.SkcRcvSaddr { // inet_bind2_bucket_addr_match
		head2 := &k.hash.Bhash2[k.hash.Bhash2Index(k.net, child.SkcRcvSaddr, port)]
		if tb2 = sockets.InetBind2BucketFind(head2, port, tb.L3mdev, child); tb2 == nil {
			var err error
			if tb2, err = sockets.InetBind2BucketCreate(k.net, k.hash, head2, tb, child); err != nil {
				return err
			}
		}
	}
	sockets.InetBindHash(k.net, child, tb, tb2, port)
	return nil
}

// tcpCreateOpenreqChild is tcp_create_openreq_child -> inet_csk_clone_lock
// -> sk_clone_lock: a new "TCP" object copied from the listener, then set
// up from the request sock: SYN_RECV, the sequence numbers of both sides,
// the negotiated options and windows.
func (k *Kernel) tcpCreateOpenreqChild(lsk *sockets.Sock, req *sockets.RequestSock, seg *tcpSegmentIn) *sockets.Sock {
	tr := k.tr
	tr.Enter2(fnTcpCreateOpenreqChild, tracing.Sock(uint64(lsk.Addr())), tracing.Ptr(uint64(req.Addr())))
	newsk, err := k.skCloneLock(lsk)
	if err != nil {
		tr.Exit(fnTcpCreateOpenreqChild, tracing.Sock(0))
		return nil
	}
	newsk.SkcState = sockets.TCP_SYN_RECV
	newsk.SkcDaddr = req.SkcDaddr
	newsk.SkcDport = req.SkcDport
	newsk.SkcRcvSaddr = req.SkcRcvSaddr
	newsk.SkcNum = req.SkcNum
	inet := sockets.InetOf(newsk)
	inet.InetSaddr = req.SkcRcvSaddr
	inet.InetSport = sockets.Htons(req.SkcNum)
	tp := tcpSk(newsk)
	ltp := tcpSk(lsk)
	tp.RcvIsn, tp.SndIsn = req.RcvIsn, req.SntIsn
	tp.RcvWup, tp.CopiedSeq, tp.RcvNxt = req.RcvIsn+1, req.RcvIsn+1, req.RcvIsn+1
	tp.SndUna, tp.SndNxt, tp.SndUp, tp.WriteSeq = req.SntIsn+1, req.SntIsn+1, req.SntIsn+1, req.SntIsn+1
	tp.PushedSeq = tp.WriteSeq
	tp.SndWl1 = req.RcvIsn
	tp.RxOpt = TcpOptionsReceived{TstampOk: req.TstampOk, SackOk: req.SackOk, WscaleOk: req.WscaleOk,
		MssClamp: req.Mss, TsRecent: req.TsRecent, TsRecentStamp: k.clock.Now()}
	if req.WscaleOk {
		tp.RxOpt.SndWscale, tp.RxOpt.RcvWscale = req.SndWscale, req.RcvWscale
	}
	tp.SndWnd = uint32(seg.th.Window()) << tp.RxOpt.SndWscale
	tp.MaxWindow = tp.SndWnd
	tp.WindowClamp = req.WindowClamp
	tp.RcvSsthresh = req.RcvWnd
	tp.RcvWnd = req.RcvWnd
	tp.TsOffset = req.TsOff
	tp.AdvMss = req.AdvMss
	tp.RcvMss = uint32(min(req.AdvMss, req.Mss))
	tp.MssCache = uint32(min(req.AdvMss, req.Mss))
	if req.TstampOk {
		tp.MssCache -= TCPOLEN_TSTAMP_ALIGNED
	}
	tp.setTcpHeaderLen(req.TstampOk)
	tp.IcskPmtuCookie = 0 // tcp_v4_syn_recv_sock syncs it with the route
	tp.IcskRto = TCP_TIMEOUT_INIT
	tp.SndCwnd = TCP_INIT_CWND
	tp.SndSsthresh = TCP_INFINITE_SSTHRESH
	tp.TotalRetrans = uint32(req.NumRetrans)
	if req.NumTimeout != 0 {
		// The SYN-ACK timed out: an RTO recovery, whose undo the
		// final ACK's timestamp may prove (tcp_try_undo_spurious_syn).
		tp.TotalRto = uint16(req.NumTimeout)
		tp.undoMarker = req.SntIsn
		tp.retransStamp, tp.retransStampSet = req.SntSynack, true
		tp.TotalRtoTime = uint32(k.clock.Now()/1e6) - uint32(req.SntSynack/1e6) // tcp_clock_ms less the ms stamp
		tp.TotalRtoRecoveries = 1
	}
	tp.SegsIn = 1 // the SYN
	tp.ack.Lrcvtime, tp.Lsndtime = k.clock.Now(), k.clock.Now()
	tp.Nonagle = ltp.Nonagle
	tcpCaOpenreqChild(tp, ltp)
	k.tcpInitCongestionControl(tp)
	tp.KeepaliveTime, tp.KeepaliveIntvl, tp.KeepaliveProbes = ltp.KeepaliveTime, ltp.KeepaliveIntvl, ltp.KeepaliveProbes
	tp.IcskRtoMin = ltp.IcskRtoMin // inet_csk_clone_lock copies icsk
	if newsk.SockFlagSet(sockets.SOCK_KEEPOPEN) {
		k.tcpResetKeepaliveTimer(newsk, k.keepaliveTimeWhen(tp))
	}
	tp.RxOpt.UserMss = ltp.RxOpt.UserMss
	k.mib.inc(TCP_MIB_PASSIVEOPENS)
	tr.Exit(fnTcpCreateOpenreqChild, tracing.Sock(uint64(newsk.Addr())))
	return newsk
}

// skCloneLock is sk_clone_lock: a new object from the listener's slab
// with the listener's settings (buffers, options, flags), fresh queues,
// one reference, not yet owned by any struct socket.
func (k *Kernel) skCloneLock(lsk *sockets.Sock) (*sockets.Sock, error) {
	k.tr.Enter1(fnSkCloneLock, tracing.Sock(uint64(lsk.Addr())))
	newsk, err := sockets.SkAlloc(k.net, int(lsk.SkcFamily), lsk.SkcProt, false)
	if err != nil {
		k.tr.Exit(fnSkCloneLock, tracing.Sock(0))
		return nil, err
	}
	sockets.SockInitData(k.net, nil, newsk)
	k.tcpInitSock(newsk)
	newsk.SkType, newsk.SkProtocol = lsk.SkType, lsk.SkProtocol
	newsk.SkRcvbuf, newsk.SkSndbuf = lsk.SkRcvbuf, lsk.SkSndbuf
	newsk.SkUserlocks = lsk.SkUserlocks &^ sockets.SOCK_BINDPORT_LOCK
	newsk.SkFlags = lsk.SkFlags &^ (1 << sockets.SOCK_RCU_FREE)
	newsk.SkcReuse = lsk.SkcReuse
	newsk.SkcBoundDevIf = lsk.SkcBoundDevIf
	newsk.SkLingertime = lsk.SkLingertime
	newsk.SkBacklogRcv = lsk.SkBacklogRcv
	newsk.SkReleaseCb = lsk.SkReleaseCb
	sockets.InetOf(newsk).UcTtl = -1
	sockets.IcskOf(newsk).IcskAfOps = &ipv4Specific
	k.tr.Exit(fnSkCloneLock, tracing.Sock(uint64(newsk.Addr())))
	return newsk, nil
}

// inetCskCompleteHashdance is inet_csk_complete_hashdance: the request
// leaves the SYN queue and, with its child, joins the accept queue
// (inet_csk_reqsk_queue_add).
func (k *Kernel) inetCskCompleteHashdance(lsk, child *sockets.Sock, req *sockets.RequestSock) *sockets.Sock {
	k.tr.Enter2(fnInetCskCompleteHashdance, tracing.Sock(uint64(lsk.Addr())), tracing.Sock(uint64(child.Addr())))
	defer k.tr.Exit(fnInetCskCompleteHashdance, tracing.Sock(uint64(child.Addr())))
	k.inetCskReqskQueueDrop(lsk, req)
	reqskQueueRemoved(&sockets.IcskOf(lsk).IcskAcceptQueue, req)
	k.inetCskReqskQueueAdd(lsk, req, child)
	return child
}

// inetCskReqskQueueAdd is inet_csk_reqsk_queue_add: append to the accept
// queue and count it in sk_ack_backlog.
func (k *Kernel) inetCskReqskQueueAdd(lsk *sockets.Sock, req *sockets.RequestSock, child *sockets.Sock) {
	k.tr.Enter2(fnInetCskReqskQueueAdd, tracing.Sock(uint64(lsk.Addr())), tracing.Ptr(uint64(req.Addr())))
	q := &sockets.IcskOf(lsk).IcskAcceptQueue
	req.Sk = child
	req.DlNext = nil
	if q.RskqAcceptHead == nil {
		q.RskqAcceptHead = req
	} else {
		q.RskqAcceptTail.DlNext = req
	}
	q.RskqAcceptTail = req
	sockets.SkAcceptqAdded(lsk)
	k.tr.Exit(fnInetCskReqskQueueAdd, tracing.Int(int64(lsk.SkAckBacklog)))
}

// tcpChildProcess is tcp_child_process: the child handles the final ACK
// (SYN_RECV -> ESTABLISHED in tcp_rcv_state_process) and the listener's
// sk_data_ready wakes accept().
func (k *Kernel) tcpChildProcess(parent, child *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter2(fnTcpChildProcess, tracing.Sock(uint64(parent.Addr())), tracing.Sock(uint64(child.Addr())))
	defer k.tr.Exit(fnTcpChildProcess, tracing.Arg{})
	state := child.SkcState
	tcpSegsIn(tcpSk(child), seg)
	if reason := k.tcpRcvStateProcess(child, seg); reason != skb.SKB_NOT_DROPPED_YET {
		k.tcpV4SendReset(child, seg)
		_ = skb.KfreeSkbReason(seg.s, reason)
	}
	if state == sockets.TCP_SYN_RECV && child.SkcState != state {
		parent.SkDataReady(parent)
	}
}
