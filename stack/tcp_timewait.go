package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// Verdicts of tcp_timewait_state_process (enum tcp_tw_status).
type tcpTwStatus uint8

const (
	TCP_TW_SUCCESS tcpTwStatus = iota // nothing to send
	TCP_TW_RST                        // answer with a RST and kill the tw
	TCP_TW_ACK                        // answer with an ACK
	TCP_TW_SYN                        // a new connection may take the four-tuple
)

// twState is what the model keeps beside a tw: its timer and the time of
// its last out-of-window ACK (tw_last_oow_ack_time).
type twState struct {
	timer      *Timer
	lastOowAck uint32 // tw_last_oow_ack_time: jiffies (0: none yet)
}

// tcpTimeWait is tcp_time_wait: the connection is over on our side, but
// its four-tuple stays reserved (60 s for TIME_WAIT; tcp_fin_timeout for an
// orphan in FIN_WAIT2 still waiting for the peer's FIN). A small
// inet_timewait_sock from tw_sock_TCP takes the full sock's place in
// ehash and in the port's bind bucket (inet_twsk_hashdance_schedule), and
// the full sock is done (tcp_done) and, once closed, freed.
func (k *Kernel) tcpTimeWait(sk *sockets.Sock, state sockets.State, timeo int64) {
	k.tr.Enter2(fnTcpTimeWait, tracing.Sock(uint64(sk.Addr())), tracing.State(uint8(state)))
	defer k.tr.Exit(fnTcpTimeWait, tracing.Arg{})
	tp := tcpSk(sk)
	// inet_twsk_alloc: none past tcp_max_tw_buckets (every tw counts,
	// FIN_WAIT2's too), or when the slab has no memory.
	var addr slab.Addr
	ok := len(k.twSocks) < k.net.Sysctl.TcpMaxTwBuckets
	if ok {
		var err error
		addr, err = k.mem.KmemCacheAlloc(k.twCache)
		ok = err == nil
	}
	if !ok {
		// The kernel logs "time wait bucket table overflow" and just
		// closes: the peer's next segment finds no socket (a RST).
		k.mib.inc(LINUX_MIB_TCPTIMEWAITOVERFLOW)
		k.tcpDone(sk)
		return
	}
	tw := sockets.NewTimewaitSockAt(addr, sk, state)
	tw.TwRcvNxt, tw.TwSndNxt = tp.RcvNxt, tp.SndNxt
	tw.TwRcvWnd = tcpReceiveWindow(tp)
	tw.TwRcvWscale = tp.RxOpt.RcvWscale
	if tp.RxOpt.TstampOk {
		tw.TwTsRecent, tw.TwTsOffset = tp.RxOpt.TsRecent, tp.TsOffset
		tw.TwTsRecentStamp = max(tp.RxOpt.TsRecentStamp, 1)
	}
	// At least 3.5 RTOs; TIME_WAIT itself is always TCP_TIMEWAIT_LEN.
	timeo = max(timeo, rtoTimes3_5(tp))
	if state == sockets.TCP_TIME_WAIT {
		timeo = TCP_TIMEWAIT_LEN
	}
	sockets.InetTwskHashdanceSchedule(k.net, k.hash, tw, sk)
	st := &twState{}
	st.timer = NewTimer("tw_timer_handler", func() { k.twTimerHandler(tw) })
	k.twSocks[tw] = st
	// __inet_twsk_schedule counts the tw when it is first scheduled: a
	// short one (4 s or less) as killed early.
	if timeo <= 4*1e9 {
		k.mib.inc(LINUX_MIB_TIMEWAITKILLED)
	} else {
		k.mib.inc(LINUX_MIB_TIMEWAITED)
	}
	k.inetTwskReschedule(tw, timeo)
	k.tcpDone(sk)
}

// inetTwskReschedule is inet_twsk_reschedule: the tw lives timeo from now.
func (k *Kernel) inetTwskReschedule(tw *sockets.InetTimewaitSock, timeo int64) {
	k.tr.Point(fnInetTwskReschedule, tracing.Ptr(uint64(tw.Addr())), tracing.Int(timeo))
	tw.TwKillAt = k.clock.Now() + timeo
	k.ModTimer(k.twSocks[tw].timer, tw.TwKillAt)
}

// twTimerHandler is tw_timer_handler -> inet_twsk_kill: the tw's time is
// up; it leaves ehash and the bind bucket, and its memory goes back to
// tw_sock_TCP.
func (k *Kernel) twTimerHandler(tw *sockets.InetTimewaitSock) {
	k.tr.Enter1(fnTwTimerHandler, tracing.Ptr(uint64(tw.Addr())))
	defer k.tr.Exit(fnTwTimerHandler, tracing.Arg{})
	k.inetTwskFree(tw)
}

// inetTwskDeschedulePut is inet_twsk_deschedule_put: kill the tw before
// its time (a RST, or a new SYN taking the four-tuple).
func (k *Kernel) inetTwskDeschedulePut(tw *sockets.InetTimewaitSock) {
	k.tr.Point(fnInetTwskDeschedulePut, tracing.Ptr(uint64(tw.Addr())), tracing.Arg{})
	if st := k.twSocks[tw]; st != nil {
		k.DelTimer(st.timer)
	}
	k.inetTwskFree(tw)
}

func (k *Kernel) inetTwskFree(tw *sockets.InetTimewaitSock) {
	sockets.InetTwskKill(k.net, k.hash, tw)
	delete(k.twSocks, tw)
	_ = k.mem.KmemCacheFree(k.twCache, tw.Addr())
}

// tcpTimewaitStateProcess is tcp_timewait_state_process: what a segment
// for a tw means. In FIN_WAIT2 (an orphan waiting for the peer): the FIN
// moves it to TIME_WAIT and is acknowledged, new data is answered with a
// RST. In TIME_WAIT: a retransmitted FIN or any other stray segment is
// acknowledged again (and restarts the 60 s), a RST kills it (unless
// tcp_rfc1337 is set), and a SYN with a higher sequence number may reuse the four-tuple.
// A segment whose timestamp is older than the last one accepted is
// rejected (PAWS), and acknowledged.
func (k *Kernel) tcpTimewaitStateProcess(tw *sockets.InetTimewaitSock, seg *tcpSegmentIn) (tcpTwStatus, uint32) {
	k.tr.Enter2(fnTcpTimewaitStateProcess, tracing.Ptr(uint64(tw.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	status, isn := k.tcpTimewaitVerdict(tw, seg)
	k.tr.Exit(fnTcpTimewaitStateProcess, tracing.Int(int64(status)))
	return status, isn
}

func (k *Kernel) tcpTimewaitVerdict(tw *sockets.InetTimewaitSock, seg *tcpSegmentIn) (tcpTwStatus, uint32) {
	rcvNxt := tw.TwRcvNxt
	rst, syn, ack, fin := seg.has(header.TCP_FLAG_RST), seg.has(header.TCP_FLAG_SYN), seg.has(header.TCP_FLAG_ACK), seg.has(header.TCP_FLAG_FIN)
	var rx TcpOptionsReceived
	pawsReject := false
	if tw.TwTsRecentStamp != 0 {
		k.tcpParseOptionsUnestab(seg.th.Options(), false, &rx)
		if rx.SawTstamp {
			rx.TsRecent, rx.TsRecentStamp = tw.TwTsRecent, tw.TwTsRecentStamp
			pawsReject = tcpPawsReject(&rx, rst, k.clock.Now())
		}
	}
	if tw.TwSubstate == sockets.TCP_FIN_WAIT2 {
		switch {
		case pawsReject || !tcpInWindow(seg.seq, seg.end, rcvNxt, rcvNxt+tw.TwRcvWnd):
			return k.tcpTimewaitCheckOowRateLimit(tw, seg, LINUX_MIB_TCPACKSKIPPEDFINWAIT2), 0
		case rst:
			k.inetTwskDeschedulePut(tw)
			return TCP_TW_SUCCESS, 0
		case syn && !before(seg.seq, rcvNxt):
			return TCP_TW_RST, 0
		case !ack || !after(seg.end, rcvNxt) || seg.end == seg.seq:
			return TCP_TW_SUCCESS, 0
		case !fin || seg.end != rcvNxt+1:
			return TCP_TW_RST, 0
		}
		// The FIN: now truly TIME_WAIT.
		tw.TwSubstate = sockets.TCP_TIME_WAIT
		tw.TwRcvNxt = seg.end
		if rx.SawTstamp {
			tw.TwTsRecent, tw.TwTsRecentStamp = rx.RcvTsval, max(k.clock.Now(), 1)
		}
		k.inetTwskReschedule(tw, TCP_TIMEWAIT_LEN)
		return TCP_TW_ACK, 0
	}
	if !pawsReject && seg.seq == rcvNxt && (seg.seq == seg.end || rst) {
		switch {
		case rst && k.net.Sysctl.TcpRfc1337 == 0: // the RST ends TIME_WAIT
			k.inetTwskDeschedulePut(tw)
			return TCP_TW_SUCCESS, 0
		case !rst:
			k.inetTwskReschedule(tw, TCP_TIMEWAIT_LEN)
		}
		if rx.SawTstamp {
			tw.TwTsRecent, tw.TwTsRecentStamp = rx.RcvTsval, max(k.clock.Now(), 1)
		}
		return TCP_TW_SUCCESS, 0
	}
	if syn && !rst && !ack && !pawsReject && (after(seg.seq, rcvNxt) ||
		(rx.SawTstamp && int32(tw.TwTsRecent-rx.RcvTsval) < 0)) {
		isn := tw.TwSndNxt + 65535 + 2
		if isn == 0 {
			isn++
		}
		return TCP_TW_SYN, isn
	}
	if pawsReject {
		k.mib.inc(LINUX_MIB_PAWSESTABREJECTED)
	}
	if !rst {
		if pawsReject || ack {
			k.inetTwskReschedule(tw, TCP_TIMEWAIT_LEN)
		}
		return k.tcpTimewaitCheckOowRateLimit(tw, seg, LINUX_MIB_TCPACKSKIPPEDTIMEWAIT), 0
	}
	return TCP_TW_SUCCESS, 0
}

// tcpPawsReject is tcp_paws_reject: the segment's timestamp is older than
// the last one the connection accepted, and neither has the connection
// been idle past TCP_PAWS_WRAP nor is it a RST arriving more than
// TCP_PAWS_MSL (60 s) after that timestamp (a RST then is let through).
func tcpPawsReject(rx *TcpOptionsReceived, rst bool, now int64) bool {
	if tcpPawsCheck(rx, 0, now) {
		return false
	}
	return !rst || now/1e9 < rx.TsRecentStamp/1e9+tcpPawsMsl/1e9 // whole seconds
}

// tcpPawsMsl is TCP_PAWS_MSL: 60 s.
const tcpPawsMsl = int64(60e9)

// tcpTimewaitCheckOowRateLimit is tcp_timewait_check_oow_rate_limit: ACK
// the segment, unless it is one of a run of ACK-only (or SYN) segments
// arriving faster than tcp_invalid_ratelimit allows; segments with data
// or a FIN are always acknowledged (tcp_oow_rate_limited). m counts what
// is skipped (TCPACKSkippedTimeWait, or TCPACKSkippedFinWait2).
func (k *Kernel) tcpTimewaitCheckOowRateLimit(tw *sockets.InetTimewaitSock, seg *tcpSegmentIn, m Mib) tcpTwStatus {
	limited := k.segOowRateLimited(&k.twSocks[tw].lastOowAck, seg, m)
	k.tr.Point(fnTcpTwOowRateLimit, tracing.Ptr(uint64(tw.Addr())), tracing.Bool(!limited))
	if limited {
		return TCP_TW_SUCCESS
	}
	return TCP_TW_ACK
}

// tcpV4TimewaitAck is tcp_v4_timewait_ack: an ACK on behalf of a tw, from
// the sequence numbers and window it kept.
func (k *Kernel) tcpV4TimewaitAck(tw *sockets.InetTimewaitSock) {
	k.tr.Enter1(fnTcpV4TimewaitAck, tracing.Ptr(uint64(tw.Addr())))
	defer k.tr.Exit(fnTcpV4TimewaitAck, tracing.Arg{})
	s, err := skb.AllocSkb(k.skbs, MaxTCPHeader)
	if err != nil {
		return
	}
	_ = skb.SkbReserve(s, MaxTCPHeader)
	seg := &tcpSegment{src: tw.SkcRcvSaddr, dst: tw.SkcDaddr, sport: tw.SkcNum, dport: tw.SkcDport.Ntohs(),
		seq: tw.TwSndNxt, ack: tw.TwRcvNxt, flags: header.TCP_FLAG_ACK, window: uint16(min(tw.TwRcvWnd>>tw.TwRcvWscale, 65535)), via: viaUnicastReply}
	// tcp_v4_send_ack adds the timestamp option when there is a timestamp
	// to echo (tsecr, the tw's ts_recent, non-zero).
	if tw.TwTsRecent != 0 {
		seg.opts = (&header.OptionWriter{}).Timestamp(k.tcpClockTs()+tw.TwTsOffset, tw.TwTsRecent).Bytes()
	}
	_ = k.tcpBuildAndSend(s, seg)
}

// tcpV4RcvTimewait is the do_time_wait part of tcp_v4_rcv: act on the
// verdict of tcp_timewait_state_process. A SYN allowed to reuse the
// four-tuple goes to the listener, if there is one, with the ISN the tw
// chose (tcp_tw_isn).
func (k *Kernel) tcpV4RcvTimewait(tw *sockets.InetTimewaitSock, seg *tcpSegmentIn) {
	status, isn := k.tcpTimewaitStateProcess(tw, seg)
	switch status {
	case TCP_TW_SYN:
		saddr := sockets.Be32From(seg.iph.Dst())
		if l := sockets.InetLookupListener(k.net, k.hash, saddr, seg.th.DstPort(), int32(seg.s.Iif)); l != nil {
			k.inetTwskDeschedulePut(tw)
			k.tcpTwIsn = isn
			k.tcpV4DoRcv(l, seg)
			k.tcpTwIsn = 0
			return
		}
		k.tcpV4TimewaitAck(tw)
	case TCP_TW_ACK:
		k.tcpV4TimewaitAck(tw)
	case TCP_TW_RST:
		k.tcpV4SendReset(nil, seg)
		k.inetTwskDeschedulePut(tw)
		_ = skb.KfreeSkbReason(seg.s, skb.SKB_DROP_REASON_NOT_SPECIFIED)
		return
	}
	_ = skb.ConsumeSkb(seg.s)
}
