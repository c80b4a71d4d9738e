package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// TCP output constants (include/net/tcp.h).
const (
	TCPOLEN_TSTAMP_ALIGNED = 12
	// TCPOLEN_SACK_BASE_ALIGNED is two NOPs, kind and length before the
	// SACK blocks, TCPOLEN_SACK_PERBLOCK a block.
	TCPOLEN_SACK_BASE_ALIGNED = 4
	TCPOLEN_SACK_PERBLOCK     = 8
	tcpRmemToWinScale         = 8
	tcpDefaultScalingRatio    = 1 << (tcpRmemToWinScale - 1)
	maxTCPWindow              = 32767
	tcpMaxWscale              = 14
	tcpTsHz                   = 1000
)

// tcpClockTs is tcp_time_stamp_ts without the offset: milliseconds
// (TCP_TS_HZ is 1000 in 6.x).
func (k *Kernel) tcpClockTs() uint32 { return uint32(k.clock.Now() / (1e9 / tcpTsHz)) }

// tcpWinFromSpace is tcp_win_from_space: the part of a buffer that can be
// offered as window (half, with the initial scaling ratio of 6.x).
func tcpWinFromSpace(space int) int {
	if space <= 0 {
		return 0
	}
	return space * tcpDefaultScalingRatio >> tcpRmemToWinScale
}

// tcpFullSpace is tcp_full_space.
func tcpFullSpace(sk *sockets.Sock) int { return tcpWinFromSpace(int(sk.SkRcvbuf)) }

// tcpSpace is tcp_space: the window the free receive buffer allows, what
// waits in the backlog counted as used.
func tcpSpace(sk *sockets.Sock) int {
	return tcpWinFromSpace(int(sk.SkRcvbuf) - sk.SkBacklog.Len - int(sk.SkRmemAlloc))
}

// tcpSelectInitialWindow is tcp_select_initial_window: the first window we
// offer (a multiple of the MSS; the SYN's unscaled field carries at most
// 65535 of it, the rest is offered once scaling is on) and the window
// scale, chosen for the largest buffer the socket could grow to
// (tcp_rmem[2]).
func (k *Kernel) tcpSelectInitialWindow(space, mss int, windowClamp *uint32, wscaleOk bool) (rcvWnd uint32, rcvWscale uint8) {
	defer func() {
		k.tr.Point(fnTcpSelectInitialWindow, tracing.Uint(uint64(rcvWnd)), tracing.Uint(uint64(rcvWscale)))
	}()
	if *windowClamp == 0 {
		*windowClamp = 65535 << tcpMaxWscale
	}
	space = min(space, int(*windowClamp))
	if space > mss {
		space = space / mss * mss
	}
	rcvWnd = uint32(space) // a SYN's window field shows at most 65535 of it
	if k.net.Sysctl.TcpWorkaroundSignedWindows != 0 {
		// Offer no more than 32767 at first, in case the peer reads the
		// window field as signed.
		rcvWnd = min(rcvWnd, MAX_TCP_WINDOW)
	}
	if wscaleOk {
		sp := max(space, k.net.Sysctl.TcpRmem[2], k.net.Sysctl.RmemMax)
		sp = min(sp, int(*windowClamp))
		ws := ilog2(uint32(sp)) - 15
		rcvWscale = uint8(min(max(ws, 0), tcpMaxWscale))
	}
	*windowClamp = min(uint32(65535)<<rcvWscale, *windowClamp)
	return rcvWnd, rcvWscale
}

func ilog2(v uint32) int {
	n := -1
	for v != 0 {
		v >>= 1
		n++
	}
	return n
}

// tcpSelectWindow is tcp_select_window: the window field of a segment,
// never shrinking what was offered, scaled down by our window scale.
// Offering a zero window, and opening one, are counted.
func (k *Kernel) tcpSelectWindow(tp *TcpSock) uint16 {
	if tp.ack.Pending&ICSK_ACK_NOMEM != 0 {
		// The last in-order segment was refused for lack of memory: the
		// window is 0 until the reader makes room.
		tp.RcvWnd = 0
		tp.RcvWup = tp.RcvNxt
		return 0
	}
	sk := &tp.Sock
	oldWin := tp.RcvWnd
	cur := int64(max(int32(tp.RcvWup+tp.RcvWnd-tp.RcvNxt), 0)) // tcp_receive_window, across the wrap
	newWin := uint32(k.tcpSelectWindowCore(tp, sk))
	if int64(newWin) < cur && (k.net.Sysctl.TcpShrinkWindow == 0 || tp.RxOpt.RcvWscale == 0) {
		// Never shrink what was offered, even when a zero window is
		// what the buffer asks for (unless tcp_shrink_window allows it).
		if newWin == 0 {
			k.mib.inc(LINUX_MIB_TCPWANTZEROWINDOWADV)
		}
		newWin = alignUp(uint32(cur), 1<<tp.RxOpt.RcvWscale)
	}
	tp.RcvWnd = newWin
	tp.RcvWup = tp.RcvNxt
	if tp.RxOpt.RcvWscale == 0 && k.net.Sysctl.TcpWorkaroundSignedWindows != 0 {
		newWin = min(newWin, MAX_TCP_WINDOW)
	} else {
		newWin = min(newWin, 65535<<tp.RxOpt.RcvWscale)
	}
	newWin >>= tp.RxOpt.RcvWscale
	if newWin == 0 {
		if oldWin != 0 {
			k.mib.inc(LINUX_MIB_TCPTOZEROWINDOWADV)
		}
	} else if oldWin == 0 {
		k.mib.inc(LINUX_MIB_TCPFROMZEROWINDOWADV)
	}
	return uint16(newWin)
}

func alignUp(x, a uint32) uint32 { return (x + a - 1) &^ (a - 1) }

// tcpShrinkableWindow is __tcp_select_window's shrink_window_allowed
// path (tcp_shrink_window on, window scaling in use): the window is the
// free space, rounded down to the scale, so it follows the buffer down as
// well as up; 0 once less than half the buffer is free and what is free
// is under a sixteenth of it, an MSS or one unit of the scale.
func tcpShrinkableWindow(tp *TcpSock, free, allowed, full, mss int) int {
	unit := 1 << tp.RxOpt.RcvWscale
	free = free &^ (unit - 1)
	if free < full>>1 {
		tp.ack.Quick = 0
		if free < allowed>>4 || free < mss || free < unit {
			return 0
		}
	}
	if free > int(tp.RcvSsthresh) {
		free = int(alignUp(tp.RcvSsthresh, uint32(unit)))
	}
	return free
}

// tcpSelectWindowCore is __tcp_select_window (without memory pressure):
// what free buffer space allows, capped by rcv_ssthresh, rounded up to the
// window scale's granularity. With less than half the buffer free it
// also ends quick-ack mode, as the kernel's does.
func (k *Kernel) tcpSelectWindowCore(tp *TcpSock, sk *sockets.Sock) int {
	free := tcpSpace(sk)
	allowed := tcpFullSpace(sk)
	full := min(int(tp.WindowClamp), allowed)
	mss := int(tp.RcvMss)
	if mss > full {
		mss = full
		if mss <= 0 {
			return 0
		}
	}
	if k.net.Sysctl.TcpShrinkWindow != 0 && tp.RxOpt.RcvWscale != 0 {
		return tcpShrinkableWindow(tp, free, allowed, full, mss)
	}
	if free < full>>1 {
		// Less than half the buffer free: the reader is slow, so no
		// more quick ACKs (they would only advertise a shrinking window).
		tp.ack.Quick = 0
		free = free &^ (1<<tp.RxOpt.RcvWscale - 1)
		if free < allowed>>4 || free < mss {
			return 0
		}
	}
	if free > int(tp.RcvSsthresh) {
		free = int(tp.RcvSsthresh)
	}
	if tp.RxOpt.RcvWscale != 0 {
		return int(alignUp(uint32(free), 1<<tp.RxOpt.RcvWscale))
	}
	w := int(tp.RcvWnd)
	if w <= free-mss || w > free {
		w = free / mss * mss
	} else if mss == full && free > w+full>>1 {
		w = free
	}
	return w
}

// tcpSynOptions are the options of a SYN or SYN-ACK, laid out as
// tcp_options_write writes them: MSS, SACK-permitted and timestamps
// together, NOP + window scale.
func tcpSynOptions(mss uint16, sackOk, tsOk, wsOk bool, tsval, tsecr uint32, ws uint8) []byte {
	w := &header.OptionWriter{}
	w.MSS(mss)
	switch {
	case sackOk && tsOk:
		w.SackPermTimestamp(tsval, tsecr)
	case tsOk:
		w.Timestamp(tsval, tsecr)
	case sackOk:
		w.SackPerm()
	}
	if wsOk {
		w.WScale(ws)
	}
	return w.Bytes()
}

// tcpSegment describes a segment to build.
type tcpSegment struct {
	src, dst     sockets.Be32
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	window       uint16
	opts         []byte
	sk           *sockets.Sock
	// rexmit says the segment carries only data sent before: it counts
	// in RetransSegs, not OutSegs (__tcp_transmit_skb).
	rexmit bool
	urgPtr uint16 // with TCP_FLAG_URG in flags: the urgent pointer
	// tos is the IP header's TOS byte: a reply sent without a socket
	// (ip_send_unicast_reply) carries the received segment's, less its
	// ECN bits.
	tos uint8
	// via says how IP sends it, when not through the socket's own
	// ip_queue_xmit.
	via tcpSendPath
}

// tcpSendPath is the IP output function a segment without a full socket
// of its own goes through; each treats DF on a locked path MTU its own way.
type tcpSendPath uint8

const (
	viaQueueXmit    tcpSendPath = iota // ip_queue_xmit: a full socket's
	viaUnicastReply                    // ip_send_unicast_reply: RSTs, socketless ACKs
	viaBuildAndSend                    // ip_build_and_send_pkt: SYN-ACKs
)

// tcpBuildAndSend pushes a TCP header in front of s's data, and sends the
// segment: tcp_v4_send_check and ip_queue_xmit / ip_build_and_send_pkt.
func (k *Kernel) tcpBuildAndSend(s *skb.SkBuff, seg *tcpSegment) error {
	hlen := uint32(header.TCPMinSize + len(seg.opts))
	b, err := skb.SkbPush(s, hlen)
	if err != nil {
		_ = skb.KfreeSkb(s)
		return err
	}
	skb.SkbResetTransportHeader(s)
	src, dst := seg.src.Addr(), seg.dst.Addr()
	header.TCP(s.Bytes()).Encode(header.TCPFields{SrcPort: seg.sport, DstPort: seg.dport, Seq: seg.seq, Ack: seg.ack,
		Flags: seg.flags, Window: seg.window, UrgPtr: seg.urgPtr, Options: seg.opts}, src, dst)
	_ = b
	if !seg.rexmit {
		k.mib.inc(TCP_MIB_OUTSEGS)
	}
	if seg.flags&header.TCP_FLAG_RST != 0 {
		k.mib.inc(TCP_MIB_OUTRSTS)
	}
	return k.ipQueueXmit(s, &ipPacket{src: src, dst: dst, proto: header.IPPROTO_TCP, tos: seg.tos, df: true, sk: seg.sk,
		pmtudiscDo: seg.via == viaUnicastReply, buildAndSend: seg.via == viaBuildAndSend})
}

// ipQueueXmit is ip_queue_xmit -> __ip_queue_xmit: route the segment,
// push the IP header (DF set: TCP does path MTU discovery), ip_local_out.
func (k *Kernel) ipQueueXmit(s *skb.SkBuff, p *ipPacket) error {
	k.tr.Enter2(fnIpQueueXmit, tracing.Skb(uint64(s.Addr())), tracing.IPv4(be32(p.dst)))
	rt, err := k.ipRouteOutput(p.dst)
	if err != nil {
		k.mib.inc(IPSTATS_MIB_OUTNOROUTES)
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_IP_OUTNOROUTES)
		k.tr.Exit(fnIpQueueXmit, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return err
	}
	s.Dev = rt.Dev
	if rt.MTULocked && !p.pmtudiscDo {
		// ip_dont_fragment: the path MTU is locked at its minimum, so
		// no DF, except on a small packet ip_build_and_send_pkt sends.
		switch {
		case !p.buildAndSend:
			p.df = false
		case int(s.Len)+header.IPv4MinSize > IPV4_MIN_MTU:
			p.df, p.randomID = false, true
		}
	}
	if err := k.ipPushHeader(s, p); err != nil {
		_ = skb.KfreeSkb(s)
		k.tr.Exit(fnIpQueueXmit, tracing.Errno(-tracing.ENOBUFS))
		return err
	}
	k.ipLocalOut(s)
	k.tr.Exit(fnIpQueueXmit, tracing.Errno(0))
	return nil
}

// tcpTransmitSkb is tcp_transmit_skb -> __tcp_transmit_skb: send a clone
// of s (the original stays queued for retransmission) with a fresh header:
// flags from TCP_SKB_CB, the current rcv_nxt as ACK, the window, options.
func (k *Kernel) tcpTransmitSkb(sk *sockets.Sock, s *skb.SkBuff, cloneIt bool) error {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpTransmitSkb, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())))
	out := s
	if cloneIt {
		var err error
		if skb.SkbCloned(s) {
			out, err = skb.PskbCopy(s)
		} else {
			out, err = skb.SkbClone(s)
		}
		if err != nil {
			k.tr.Exit(fnTcpTransmitSkb, tracing.Errno(-tracing.ENOBUFS))
			return sockets.Errno(tracing.ENOBUFS)
		}
	}
	setCbMstamp(s, k.clock.Now())
	tp.txNum++
	setCbTxNum(s, tp.txNum)
	flags := cbFlagsOf(s)
	seg := &tcpSegment{src: sk.SkcRcvSaddr, dst: sk.SkcDaddr, sport: sockets.InetOf(sk).InetSport.Ntohs(), dport: sk.SkcDport.Ntohs(),
		seq: cbSeqOf(s), flags: flags, sk: sk,
		rexmit: !after(cbEndSeqOf(s), tp.SndNxt) && cbSeqOf(s) != cbEndSeqOf(s)}
	// In urgent mode a segment below snd_up points at the urgent data's
	// end (as far as 16 bits reach, or 0xffff while that is beyond).
	if tcpUrgMode(tp) && before(seg.seq, tp.SndUp) {
		if before(tp.SndUp, seg.seq+0x10000) {
			seg.urgPtr, seg.flags = uint16(tp.SndUp-seg.seq), seg.flags|header.TCP_FLAG_URG
		} else if after(seg.seq+0xFFFF, tp.SndNxt) {
			seg.urgPtr, seg.flags = 0xFFFF, seg.flags|header.TCP_FLAG_URG
		}
	}
	tsval := k.tcpClockTs() + tp.TsOffset
	if flags&header.TCP_FLAG_SYN != 0 {
		// A SYN carries the unscaled window and every option we offer.
		seg.window = uint16(min(tp.RcvWnd, 65535))
		// tcp_syn_options echoes ts_recent: 0 on a first SYN, the
		// crossing SYN's tsval on a simultaneous open's SYN-ACK.
		seg.opts = tcpSynOptions(tp.AdvMss, k.net.Sysctl.TcpSack != 0, k.net.Sysctl.TcpTimestamps != 0,
			k.net.Sysctl.TcpWindowScaling != 0, tsval, tp.RxOpt.TsRecent, tp.RxOpt.RcvWscale)
	} else {
		seg.window = k.tcpSelectWindow(tp)
		w := &header.OptionWriter{}
		maxSack := 4
		if tp.RxOpt.TstampOk {
			w.Timestamp(tsval, tp.RxOpt.TsRecent)
			maxSack = 3
		}
		if tp.RxOpt.SackOk && (tp.dsack || tp.numSacks > 0) {
			w.Sack(tcpAckSackBlocks(tp, maxSack))
		}
		seg.opts = w.Bytes()
	}
	if flags&header.TCP_FLAG_ACK != 0 {
		seg.ack = tp.RcvNxt
		k.tcpEventAckSent(tp)
	}
	tp.SegsOut++
	if out.Len > 0 {
		// tcp_event_data_sent
		if tcpPacketsInFlight(tp) == 0 {
			k.tcpCaEvent(tp, CA_EVENT_TX_START) // before lsndtime moves: the idle time counts
		}
		tp.DataSegsOut++
		k.tcpEventDataSent(tp)
		tp.BytesSent += uint64(out.Len)
		tp.Lsndtime = k.clock.Now()
	}
	// The packet is the socket's until its device is done with it
	// (skb_set_owner_w, with tcp_wfree or, for a pure ACK, __sock_wfree).
	k.tcpSetOwnerW(sk, out, out.Truesize == 2)
	err := k.tcpBuildAndSend(out, seg)
	if cloneIt && err == nil {
		tcpRateSkbSent(tp, s)
	}
	k.tr.Exit(fnTcpTransmitSkb, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	return err
}

// tcpSendAck is tcp_send_ack: a bare ACK for rcv_nxt.
func (k *Kernel) tcpSendAck(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpSendAck, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpSendAck, tracing.Arg{})
	if s := k.tcpControlSkb(tcpAcceptableSeq(tp), header.TCP_FLAG_ACK); s != nil {
		s.Truesize = 2 // skb_set_tcp_pure_ack: a pure ACK barely counts in sk_wmem_alloc
		_ = k.tcpTransmitSkb(sk, s, false)
	}
}

// tcpSendControl sends a segment without data from its own header-only
// skb (tcp_send_ack, tcp_send_active_reset and tcp_xmit_probe_skb all
// build one): seq and flags as given, the ACK and window current.
func (k *Kernel) tcpSendControl(sk *sockets.Sock, seq uint32, flags uint8) {
	if s := k.tcpControlSkb(seq, flags); s != nil {
		_ = k.tcpTransmitSkb(sk, s, false)
	}
}

// tcpControlSkb allocates the header-only skb of a segment without data
// (nil when memory ran out).
func (k *Kernel) tcpControlSkb(seq uint32, flags uint8) *skb.SkBuff {
	s, err := skb.AllocSkb(k.skbs, MaxTCPHeader)
	if err != nil {
		return nil
	}
	_ = skb.SkbReserve(s, MaxTCPHeader)
	setCbSeq(s, seq)
	setCbEndSeq(s, seq)
	setCbFlags(s, flags)
	return s
}

// tcpMssClamp is tcp_mss_clamp: the MSS we advertise, the route's
// advmss unless TCP_MAXSEG asked for less.
func tcpMssClamp(tp *TcpSock, mss int) int {
	if u := int(tp.RxOpt.UserMss); u != 0 && u < mss {
		return u
	}
	return mss
}

// MaxTCPHeader is MAX_TCP_HEADER: headroom every TCP skb reserves.
const MaxTCPHeader = 192

// tcpConnectInit is tcp_connect_init: MSS and window for a new connection.
func (k *Kernel) tcpConnectInit(sk *sockets.Sock, rt *Rtable) {
	k.tr.Enter1(fnTcpConnectInit, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpConnectInit, tracing.Arg{})
	tp := tcpSk(sk)
	// ipv4_default_advmss: from the device's MTU (ip_dst_mtu_configured),
	// not a path MTU learned since.
	tp.AdvMss = uint16(tcpMssClamp(tp, min(rt.Dev.MTU-40, 65535-40)))
	if tp.RxOpt.UserMss != 0 {
		tp.RxOpt.MssClamp = tp.RxOpt.UserMss
	}
	// tcp_sync_mss before the peer has said anything: mss_clamp is still
	// TCP_MSS_DEFAULT (536), and tcp_header_len already counts the
	// timestamp the SYN offers, so 524 until the SYN-ACK; rcv_mss is
	// tcp_initialize_rcv_mss's guess (TCP_MIN_MSS on a new socket, whose
	// receive window is not chosen yet).
	tp.setTcpHeaderLen(k.net.Sysctl.TcpTimestamps != 0)
	tp.MaxWindow = 0
	k.tcpSyncMss(sk, uint32(rt.MTU))
	tcpInitializeRcvMss(tp)
	tp.WindowClamp = tcpRcvbufLockedClamp(sk, tp.WindowClamp)
	// A new connection has no ts_recent_stamp, so the window is quantised
	// to the full advmss (64240 = 44 * 1460 on Ethernet); one that took
	// over a TIME_WAIT has the tw's, and quantises to advmss less the
	// timestamp option (as a SYN-ACK with timestamps does: 65160 =
	// 45 * 1448).
	mss := int(tp.AdvMss)
	if tp.RxOpt.TsRecentStamp != 0 && k.net.Sysctl.TcpTimestamps != 0 {
		mss -= TCPOLEN_TSTAMP_ALIGNED
	}
	tp.RcvWnd, tp.RxOpt.RcvWscale = k.tcpSelectInitialWindow(tcpFullSpace(sk), mss, &tp.WindowClamp,
		k.net.Sysctl.TcpWindowScaling != 0)
	tp.RcvSsthresh = tp.RcvWnd
	// A socket connecting again after a disconnect or a failed attempt
	// starts clean: no error left to report, nothing left to send.
	sk.SkErr = 0
	sk.SockResetFlag(sockets.SOCK_DONE)
	tp.SndWnd = 0
	tp.MaxWindow = 0
	tp.SndWl1 = 0 // tcp_init_wl
	k.tcpWriteQueuePurge(sk)
	tp.SndUna = tp.WriteSeq
	tp.SndSml = tp.WriteSeq
	tp.SndUp = tp.WriteSeq
	tp.PushedSeq = tp.WriteSeq
	tp.SndNxt = tp.WriteSeq
	tp.RcvNxt = 0
	tp.RcvWup = 0
	tp.CopiedSeq = 0
	tp.IcskRto = TCP_TIMEOUT_INIT
	tp.IcskRetransmits = 0
	tcpClearRetrans(tp)
}

// tcpClearRetrans is tcp_clear_retrans: no retransmission, loss or SACK
// is counted any more, and there is no recovery to undo.
func tcpClearRetrans(tp *TcpSock) {
	tp.RetransOut, tp.lostOut, tp.sackedOut = 0, 0, 0
	tp.undoMarker, tp.undoRetrans = 0, -1
	tcpClearRetransStamp(tp)
	// The RTO totals tcp_info reports start again too (a disconnect, or
	// a new connect()).
	tp.rtoStamp, tp.inRto = 0, false
	tp.TotalRto, tp.TotalRtoRecoveries, tp.TotalRtoTime = 0, 0, 0
}

// tcpConnect is tcp_connect: queue the SYN on the retransmit queue, send
// it, and arm the retransmit timer (1 s; see tcp_write_timeout.go for
// how often the SYN is sent again).
func (k *Kernel) tcpConnect(sk *sockets.Sock, rt *Rtable) error {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpConnect, tracing.Sock(uint64(sk.Addr())))
	k.tcpConnectInit(sk, rt)
	s, err := skb.AllocSkbFclone(k.skbs, MaxTCPHeader)
	if err != nil {
		k.tr.Exit(fnTcpConnect, tracing.Errno(-tracing.ENOBUFS))
		return sockets.Errno(tracing.ENOBUFS)
	}
	_ = skb.SkbReserve(s, MaxTCPHeader)
	setCbSeq(s, tp.WriteSeq)
	setCbEndSeq(s, tp.WriteSeq+1)
	setCbFlags(s, header.TCP_FLAG_SYN)
	tp.WriteSeq++
	// The SYN's send time: the connect's timeout and the SYN-ACK's
	// timestamp echo are checked against it.
	tp.retransStamp, tp.retransStampSet = k.clock.Now(), true
	_ = skb.SkbQueueTailLocked(&tp.rtxQueue, s) // tcp_connect_queue_skb
	sk.SkWmemQueued += int32(s.Truesize)
	tp.PacketsOut++
	_ = k.tcpTransmitSkb(sk, s, true)
	// snd_nxt moves after the SYN went, so that it counts in OutSegs.
	tp.SndNxt = tp.WriteSeq
	k.mib.inc(TCP_MIB_ACTIVEOPENS)
	k.tcpResetXmitTimer(sk, tp.IcskRto)
	k.tr.Exit(fnTcpConnect, tracing.Errno(0))
	return nil
}

// What the retransmit timer runs as (icsk_pending): one timer serves the
// RTO, the zero-window probe, the tail loss probe and RACK's reordering
// timeout.
const (
	ICSK_TIME_RETRANS     = 1
	ICSK_TIME_PROBE0      = 3
	ICSK_TIME_LOSS_PROBE  = 5
	ICSK_TIME_REO_TIMEOUT = 6
)

// tcpResetXmitTimer is inet_csk_reset_xmit_timer(ICSK_TIME_RETRANS).
func (k *Kernel) tcpResetXmitTimer(sk *sockets.Sock, when int64) {
	k.inetCskResetXmitTimer(sk, ICSK_TIME_RETRANS, when)
}

// inetCskResetXmitTimer is inet_csk_reset_xmit_timer: (re)arm the
// retransmit timer to run as what, when from now (at most TCP_RTO_MAX).
func (k *Kernel) inetCskResetXmitTimer(sk *sockets.Sock, what uint8, when int64) {
	k.tr.Point(fnInetCskResetXmitTimer, tracing.Sock(uint64(sk.Addr())), tracing.Int(when))
	tp := tcpSk(sk)
	if tp.retransmitTimer == nil {
		tp.retransmitTimer = NewTimer("tcp_write_timer", func() { k.tcpWriteTimer(sk) })
	}
	tp.icskPending = what
	k.ModTimer(tp.retransmitTimer, k.clock.Now()+min(when, TCP_RTO_MAX))
}

// tcpClearXmitTimers is tcp_clear_xmit_timers.
func (k *Kernel) tcpClearXmitTimers(sk *sockets.Sock) {
	k.tr.Point(fnTcpClearXmitTimers, tracing.Sock(uint64(sk.Addr())), tracing.Arg{})
	tp := tcpSk(sk)
	if tp.retransmitTimer != nil {
		k.DelTimer(tp.retransmitTimer)
	}
	if tp.delackTimer != nil {
		k.DelTimer(tp.delackTimer)
	}
	if tp.compressedAckTimer != nil {
		k.DelTimer(tp.compressedAckTimer)
	}
	if tp.keepaliveTimer != nil {
		k.DelTimer(tp.keepaliveTimer)
	}
}

// tcpUrgMode is tcp_urg_mode: urgent data (MSG_OOB) was sent and is not
// yet acknowledged.
func tcpUrgMode(tp *TcpSock) bool { return tp.SndUna != tp.SndUp }
