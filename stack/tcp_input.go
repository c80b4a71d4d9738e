package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// tcpRcvStateProcess is tcp_rcv_state_process (net/ipv4/tcp_input.c): the
// RFC 793 "SEGMENT ARRIVES" rules for every state but ESTABLISHED. A
// reason other than SKB_NOT_DROPPED_YET asks the caller to answer the
// segment with a reset (tcp_v4_send_reset) and drop it for that reason.
func (k *Kernel) tcpRcvStateProcess(sk *sockets.Sock, seg *tcpSegmentIn) (reset skb.DropReason) {
	tr := k.tr
	tr.Enter3(fnTcpRcvStateProcess, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())), tracing.State(uint8(sk.SkcState)))
	defer func() { tr.Exit(fnTcpRcvStateProcess, tracing.Reason(uint64(reset))) }()
	tp := tcpSk(sk)
	switch sk.SkcState {
	case sockets.TCP_CLOSE:
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_CLOSE)
		return 0
	case sockets.TCP_LISTEN:
		if seg.has(header.TCP_FLAG_ACK) {
			return skb.SKB_DROP_REASON_TCP_FLAGS
		}
		if seg.has(header.TCP_FLAG_RST) || !seg.has(header.TCP_FLAG_SYN) || seg.has(header.TCP_FLAG_FIN) {
			tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_FLAGS)
			return 0
		}
		sockets.IcskOf(sk).IcskAfOps = &ipv4Specific
		k.tcpV4ConnRequest(sk, seg)
		_ = skb.ConsumeSkb(seg.s)
		return 0
	case sockets.TCP_SYN_SENT:
		if r := k.tcpRcvSynsentStateProcess(sk, seg); r == synsentPawsReject {
			return skb.SKB_DROP_REASON_TCP_RFC7323_PAWS
		} else if r > 0 {
			return skb.SKB_DROP_REASON_TCP_INVALID_ACK_SEQUENCE
		}
		return 0
	}
	// The remaining states: a segment with none of ACK, RST and SYN is
	// dropped before anything else; then the sequence number and flags.
	if !seg.has(header.TCP_FLAG_ACK) && !seg.has(header.TCP_FLAG_RST) && !seg.has(header.TCP_FLAG_SYN) {
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_FLAGS)
		return 0
	}
	if !k.tcpValidateIncoming(sk, seg) {
		return 0
	}
	if !seg.has(header.TCP_FLAG_ACK) {
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_FLAGS)
		return 0
	}
	if r := k.tcpAck(sk, seg, FLAG_SLOWPATH|FLAG_UPDATE_TS_RECENT|FLAG_NO_CHALLENGE_ACK); r <= 0 {
		if sk.SkcState == sockets.TCP_SYN_RECV { // an old or bad ACK of our SYN-ACK: reset
			if r == 0 {
				return skb.SKB_DROP_REASON_TCP_OLD_ACK
			}
			return tcpAckDropReason(r)
		}
		// An old ACK is accepted while closing; a bad one is
		// answered with a challenge ACK.
		if r < 0 {
			k.tcpSendChallengeAck(sk)
			tcpDropReason(sk, seg.s, tcpAckDropReason(r))
			return 0
		}
	}
	switch sk.SkcState {
	case sockets.TCP_SYN_RECV:
		tp.Delivered++ // the SYN-ACK's delivery, which tcp_ack does not count
		if tp.Srtt == 0 {
			// The SYN-ACK was retransmitted, so its timing gave no
			// sample; the echoed timestamp may (tcp_synack_rtt_meas).
			if us := k.tcpRttTsSample(tp); us > 0 {
				k.tcpUpdateRttMin(tp, uint32(us))
				k.tcpRttEstimator(tp, us)
				tp.IcskBackoff = 0
			}
		}
		if tp.RxOpt.TstampOk {
			tp.AdvMss -= TCPOLEN_TSTAMP_ALIGNED // before tcp_init_transfer sizes the buffers with it
		}
		k.tcpTryUndoSpuriousSyn(tp)
		tcpClearRetransStamp(tp)
		k.tcpInitTransferCwnd(tp)
		tp.CopiedSeq = tp.RcvNxt
		k.tcpSetState(sk, sockets.TCP_ESTABLISHED)
		tcpInitializeRcvMss(tp) // tcp_init_transfer
		tp.sndCwndStamp = k.clock.Now()
		k.tcpInitBufferSpace(sk)
		sk.SkStateChange(sk)
		tp.SndUna = seg.ack
		tp.SndWnd = uint32(seg.th.Window()) << tp.RxOpt.SndWscale
		tp.SndWl1 = seg.seq
		k.tcpUpdatePacingRate(sk)
		if sk.SkShutdown&sockets.SEND_SHUTDOWN != 0 { // shut down while in SYN_RECV
			k.tcpShutdown(sk, sockets.SEND_SHUTDOWN)
		}
	case sockets.TCP_FIN_WAIT1:
		if tp.SndUna == tp.WriteSeq {
			k.tcpSetState(sk, sockets.TCP_FIN_WAIT2)
			sk.SkShutdown |= sockets.SEND_SHUTDOWN
			fin := uint32(0)
			if seg.has(header.TCP_FLAG_FIN) {
				fin = 1
			}
			switch {
			case !sk.SockFlagSet(sockets.SOCK_DEAD):
				sk.SkStateChange(sk)
			case tp.Linger2 < 0 || (seg.end != seg.seq && after(seg.end-fin, tp.RcvNxt)):
				// An orphan that may not wait in FIN_WAIT2
				// (TCP_LINGER2 -1), or new data nobody will read:
				// abort (the caller answers with a RST).
				k.tcpDone(sk)
				k.mib.inc(LINUX_MIB_TCPABORTONDATA)
				return skb.SKB_DROP_REASON_TCP_ABORT_ON_DATA
			case k.tcpFinWait2Orphan(sk, seg.has(header.TCP_FLAG_FIN)):
				_ = skb.ConsumeSkb(seg.s)
				return 0
			}
		}
	case sockets.TCP_CLOSING:
		if tp.SndUna == tp.WriteSeq {
			k.tcpTimeWait(sk, sockets.TCP_TIME_WAIT, TCP_TIMEWAIT_LEN)
			_ = skb.ConsumeSkb(seg.s)
			return 0
		}
	case sockets.TCP_LAST_ACK:
		if tp.SndUna == tp.WriteSeq {
			k.tcpDone(sk)
			_ = skb.ConsumeSkb(seg.s)
			return 0
		}
	}
	// Step 6: the URG bit.
	k.tcpUrg(sk, seg)
	// Step 7: the segment's data (and FIN).
	queue := false
	switch sk.SkcState {
	case sockets.TCP_CLOSE_WAIT, sockets.TCP_CLOSING, sockets.TCP_LAST_ACK:
		// The peer's FIN is in: only a segment from before rcv_nxt (a
		// retransmission, perhaps of the FIN, whose ACK was lost) still
		// goes to tcp_data_queue, to be ACKed at once.
		if !before(seg.seq, tp.RcvNxt) {
			break
		}
		fallthrough
	case sockets.TCP_FIN_WAIT1, sockets.TCP_FIN_WAIT2:
		// New data after the receiving side is shut: RFC 793 would
		// queue it, RFC 1122 says reset (and so does Linux). The reset
		// is the answer to this segment; a process still holding the
		// socket (after shutdown) sees ECONNRESET.
		fin := uint32(0)
		if seg.has(header.TCP_FLAG_FIN) {
			fin = 1
		}
		if sk.SkShutdown&sockets.RCV_SHUTDOWN != 0 && seg.end != seg.seq && after(seg.end-fin, tp.RcvNxt) {
			k.mib.inc(LINUX_MIB_TCPABORTONDATA)
			k.tcpReset(sk)
			return skb.SKB_DROP_REASON_TCP_ABORT_ON_DATA
		}
		queue = true
	case sockets.TCP_ESTABLISHED:
		queue = true
	}
	if queue {
		k.tcpDataQueue(sk, seg)
	} else {
		_ = skb.ConsumeSkb(seg.s)
	}
	if sk.SkcState != sockets.TCP_CLOSE {
		k.tcpDataSndCheck(sk)
		k.tcpAckSndCheck(sk)
	}
	return 0
}

// tcpRcvSynsentStateProcess is tcp_rcv_synsent_state_process: the answer
// to our SYN. A SYN-ACK acknowledging it establishes the connection
// (tcp_finish_connect) and is ACKed; a bare SYN is a simultaneous open
// (SYN_RECV, SYN-ACK); an acceptable RST refuses the connection. It
// returns 1 to ask for a reset, 0 when the segment is done with, -1 after
// handing it on.
func (k *Kernel) tcpRcvSynsentStateProcess(sk *sockets.Sock, seg *tcpSegmentIn) int {
	tr := k.tr
	tr.Enter2(fnTcpRcvSynsentStateProcess, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	tp := tcpSk(sk)
	ret := 0
	defer func() { tr.Exit(fnTcpRcvSynsentStateProcess, tracing.Int(int64(ret))) }()
	rx := tp.RxOpt
	k.tcpParseOptionsUnestab(seg.th.Options(), seg.has(header.TCP_FLAG_SYN), &rx)
	if rx.SawTstamp && rx.RcvTsecr != 0 {
		rx.RcvTsecr -= tp.TsOffset
	}
	if seg.has(header.TCP_FLAG_ACK) {
		if !after(seg.ack, tp.SndUna) || after(seg.ack, tp.SndNxt) {
			// Answered with a RST; and since a previous RST of ours
			// may have been lost, the SYN goes again soon.
			if tp.IcskRetransmits == 0 {
				k.tcpResetXmitTimer(sk, TCP_TIMEOUT_MIN)
			}
			ret = 1
			return ret
		}
		if rx.SawTstamp && rx.RcvTsecr != 0 && tp.retransStampSet &&
			!between(rx.RcvTsecr, uint32(tp.retransStamp/(1e9/tcpTsHz)), k.tcpClockTs()) {
			// The SYN-ACK echoes a timestamp we never sent (PAWS).
			k.mib.inc(LINUX_MIB_PAWSACTIVEREJECTED)
			ret = synsentPawsReject
			return ret
		}
		if seg.has(header.TCP_FLAG_RST) {
			k.tcpReset(sk)
			_ = skb.ConsumeSkb(seg.s)
			return ret
		}
		if !seg.has(header.TCP_FLAG_SYN) {
			tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_FLAGS)
			return ret
		}
		tp.RxOpt = rx
		tp.RxOpt.WscaleOk = rx.WscaleOk && k.net.Sysctl.TcpWindowScaling != 0
		tp.RxOpt.SackOk = rx.SackOk && k.net.Sysctl.TcpSack != 0
		tp.SndWl1 = seg.seq
		k.tcpTryUndoSpuriousSyn(tp)
		k.tcpAck(sk, seg, FLAG_SLOWPATH)
		tp.RcvNxt = seg.seq + 1
		tp.RcvWup = seg.seq + 1
		tp.RcvIsn = seg.seq
		tp.SndWnd = uint32(seg.th.Window())
		if !tp.RxOpt.WscaleOk {
			tp.RxOpt.SndWscale, tp.RxOpt.RcvWscale = 0, 0
			tp.WindowClamp = min(tp.WindowClamp, 65535)
		}
		if rx.SawTstamp && k.net.Sysctl.TcpTimestamps != 0 {
			tp.RxOpt.TstampOk = true
			tp.AdvMss -= TCPOLEN_TSTAMP_ALIGNED
			tp.RxOpt.TsRecent, tp.RxOpt.TsRecentStamp = rx.RcvTsval, k.clock.Now()
		}
		tp.setTcpHeaderLen(tp.RxOpt.TstampOk)
		k.tcpSyncMss(sk, tp.IcskPmtuCookie)
		tp.CopiedSeq = tp.RcvNxt
		k.tcpFinishConnect(sk)
		if !sk.SockFlagSet(sockets.SOCK_DEAD) {
			sk.SkStateChange(sk)
		}
		if sk.SkWritePending > 0 || tp.ack.inPingpong() {
			// A writer waits for the connection: its data, sent in a
			// moment, carries the ACK (save one ACK; at most
			// TCP_DELACK_MAX later, the timer sends it anyway).
			tcpEnterQuickackMode(tp, TCP_MAX_QUICKACKS)
			k.armDelackTimer(sk, k.clock.Now()+TCP_DELACK_MAX)
		} else {
			k.tcpSendAck(sk)
		}
		_ = skb.ConsumeSkb(seg.s)
		ret = -1
		return ret
	}
	if seg.has(header.TCP_FLAG_RST) {
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_RESET)
		return ret
	}
	if seg.has(header.TCP_FLAG_SYN) {
		// Crossed SYNs: a simultaneous open (or a connect to oneself).
		// tcp_parse_options sees window scaling and SACK only where the
		// sysctls allow them.
		tp.RxOpt = rx
		if k.net.Sysctl.TcpWindowScaling == 0 {
			tp.RxOpt.WscaleOk, tp.RxOpt.SndWscale = false, 0
		}
		tp.RxOpt.SackOk = rx.SackOk && k.net.Sysctl.TcpSack != 0
		k.tcpSetState(sk, sockets.TCP_SYN_RECV)
		if rx.SawTstamp && k.net.Sysctl.TcpTimestamps != 0 {
			tp.RxOpt.TstampOk = true
			tp.RxOpt.TsRecent, tp.RxOpt.TsRecentStamp = rx.RcvTsval, k.clock.Now()
		}
		tp.RcvNxt = seg.seq + 1
		tp.CopiedSeq = tp.RcvNxt
		tp.RcvWup = seg.seq + 1
		tp.RcvIsn = seg.seq
		tp.SndWnd = uint32(seg.th.Window())
		tp.SndWl1 = seg.seq
		tp.MaxWindow = tp.SndWnd
		tp.setTcpHeaderLen(tp.RxOpt.TstampOk)
		k.tcpSyncMss(sk, tp.IcskPmtuCookie)
		k.tcpSendSynack(sk)
		_ = skb.ConsumeSkb(seg.s)
		ret = -1
		return ret
	}
	tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_FLAGS)
	return ret
}

// tcpSequence is tcp_sequence: is a segment acceptable by its sequence
// numbers? Not if it ends before rcv_wup, the left edge of the window last
// advertised (an old duplicate, TCP_OLD_SEQUENCE), or starts beyond the
// window's right edge (TCP_INVALID_SEQUENCE).
func tcpSequence(tp *TcpSock, seq, endSeq, rcvWnd uint32) skb.DropReason {
	if before(endSeq, tp.RcvWup) {
		return skb.SKB_DROP_REASON_TCP_OLD_SEQUENCE
	}
	if after(seq, tp.RcvNxt+rcvWnd) {
		return skb.SKB_DROP_REASON_TCP_INVALID_SEQUENCE
	}
	return skb.SKB_NOT_DROPPED_YET
}

// tcpSyncMss is tcp_sync_mss: the MSS to send with, from the path MTU
// (tcp_mtu_to_mss: less the headers and the timestamp option, at most the
// peer's MSS), bounded to half the largest window the peer offered
// (tcp_bound_to_half_wnd); the path MTU is remembered (icsk_pmtu_cookie)
// so that tcp_current_mss sees when the route's changes.
func (k *Kernel) tcpSyncMss(sk *sockets.Sock, pmtu uint32) {
	tp := tcpSk(sk)
	tp.IcskPmtuCookie = pmtu
	tp.MssCache = tcpBoundToHalfWnd(tp, tcpMtuToMss(k, tp, pmtu))
	k.tr.Point(fnTcpSyncMss, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.MssCache)))
}

// tcpCurrentMss is tcp_current_mss: the MSS to send with now. When the
// route's MTU is no longer the one the MSS was synced to (a path MTU was
// learned, or expired, or another socket to the same host learned one),
// tcp_sync_mss first. mss_cache allows for the usual options (the
// timestamp); SACK blocks the next segment carries take their room too.
func (k *Kernel) tcpCurrentMss(sk *sockets.Sock) uint32 {
	tp := tcpSk(sk)
	if sk.SkcDaddr != 0 {
		if rt, err := k.routeOutput(sk.SkcDaddr.Addr()); err == nil && uint32(rt.MTU) != tp.IcskPmtuCookie {
			k.tcpSyncMss(sk, uint32(rt.MTU))
		}
	}
	mss := tp.MssCache
	if tp.RxOpt.SackOk && (tp.dsack || tp.numSacks > 0) {
		// tcp_established_options: as many blocks as fit beside the
		// timestamp, 4 bytes of kind and length (with two NOPs) and 8
		// per block.
		maxSack := 4
		if tp.RxOpt.TstampOk {
			maxSack = 3
		}
		n := tp.numSacks
		if tp.dsack {
			n++
		}
		n = min(n, maxSack)
		mss -= uint32(TCPOLEN_SACK_BASE_ALIGNED + n*TCPOLEN_SACK_PERBLOCK)
	}
	mss = max(mss, 1)
	k.tr.Point(fnTcpCurrentMss, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(mss)))
	return mss
}

// tcpMtuToMss is tcp_mtu_to_mss: the MSS a path MTU leaves, without
// options but the timestamp: less the IP and TCP headers, at most the
// peer's MSS (mss_clamp), at least tcp_min_snd_mss (48).
func tcpMtuToMss(k *Kernel, tp *TcpSock, pmtu uint32) uint32 {
	mss := int64(pmtu) - header.IPv4MinSize - header.TCPMinSize
	if tp.RxOpt.MssClamp != 0 && mss > int64(tp.RxOpt.MssClamp) {
		mss = int64(tp.RxOpt.MssClamp)
	}
	mss = max(mss, tcpMinSndMss)
	return uint32(mss) - ts12(tp)
}

// tcpMinSndMss is tcp_min_snd_mss's default: room for the TCP options
// and 8 bytes of data.
const tcpMinSndMss = 48

// tcpBoundToHalfWnd is tcp_bound_to_half_wnd: a segment is at most half
// the largest window the peer offered (all of a tiny one), and never
// below 68 bytes of IP packet.
func tcpBoundToHalfWnd(tp *TcpSock, pktsize uint32) uint32 {
	cutoff := tp.MaxWindow
	if cutoff > TCP_MSS_DEFAULT {
		cutoff >>= 1
	}
	if cutoff != 0 && pktsize > cutoff {
		return max(cutoff, 68-header.TCPMinSize-ts12(tp))
	}
	return pktsize
}

// ts12 is tcp_header_len - sizeof(struct tcphdr): the room options take
// in every segment (the timestamp, when it is used).
func ts12(tp *TcpSock) uint32 { return tp.tcpHeaderLen() - header.TCPMinSize }

// tcpSendSynack is tcp_send_synack: the SYN-ACK of a simultaneous open.
func (k *Kernel) tcpSendSynack(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpSendSynack, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpSendSynack, tracing.Arg{})
	tp := tcpSk(sk)
	s := skb.SkbPeek(&tp.rtxQueue)
	if s == nil {
		return
	}
	setCbFlags(s, header.TCP_FLAG_SYN|header.TCP_FLAG_ACK)
	_ = k.tcpTransmitSkb(sk, s, true)
}

// tcpFinishConnect is tcp_finish_connect: ESTABLISHED, and
// tcp_init_transfer sets the initial congestion window: 10, or 1 if the
// SYN had to be sent more than twice (RFC 6298 5.7: the path may be
// congested).
func (k *Kernel) tcpFinishConnect(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpFinishConnect, tracing.Sock(uint64(sk.Addr())))
	k.tcpSetState(sk, sockets.TCP_ESTABLISHED)
	tp := tcpSk(sk)
	k.tcpInitTransferCwnd(tp)
	tp.sndCwndStamp = k.clock.Now() // tcp_init_transfer
	tcpInitializeRcvMss(tp)
	k.tcpInitBufferSpace(sk)
	tp.ack.Lrcvtime = k.clock.Now()
	tp.Lsndtime = k.clock.Now()
	k.tcpInitCongestionControl(tp)
	if sk.SockFlagSet(sockets.SOCK_KEEPOPEN) {
		k.tcpResetKeepaliveTimer(sk, k.keepaliveTimeWhen(tp))
	}
	k.tr.Exit(fnTcpFinishConnect, tracing.Arg{})
}

// synsentPawsReject is what tcpRcvSynsentStateProcess returns for a
// SYN-ACK that PAWS rejects: reset, with TCP_RFC7323_PAWS as the reason.
const synsentPawsReject = 2

// tcpTryUndoSpuriousSyn is tcp_try_undo_spurious_syn: the SYN (or
// SYN-ACK) timed out, but the answer echoes the first one's timestamp, so
// it was not lost and the smaller start is undone.
func (k *Kernel) tcpTryUndoSpuriousSyn(tp *TcpSock) {
	if tp.undoMarker != 0 && tp.retransStampSet && tp.RxOpt.SawTstamp &&
		uint32(tp.retransStamp/(1e9/tcpTsHz)) == tp.RxOpt.RcvTsecr {
		tp.undoMarker = 0
		k.tr.Point(fnTcpTryUndoSpuriousSyn, tracing.Sock(uint64(tp.Sock.Addr())), tracing.Bool(true))
	}
}

// tcpInitTransferCwnd is the part of tcp_init_transfer that starts the
// transfer: tcp_init_metrics (no metrics are cached: ssthresh starts
// infinite, and without an RTT sample from the handshake the RTO falls
// back to TCP_TIMEOUT_FALLBACK, 3 s, per RFC 6298 5.7), then the
// congestion window: 1 if the SYN or SYN-ACK was retransmitted more than
// once and not proved spurious, else the initial window.
func (k *Kernel) tcpInitTransferCwnd(tp *TcpSock) {
	k.tcpInitMetrics(tp)
	tp.SndCwnd = TCP_INIT_CWND
	if tp.TotalRetrans > 1 && tp.undoMarker != 0 {
		tp.SndCwnd = 1
	}
}

// tcpInitMetrics is tcp_init_metrics with no metrics cached: ssthresh
// starts infinite, and a handshake that gave no RTT sample leaves the RTO
// at TCP_TIMEOUT_FALLBACK.
func (k *Kernel) tcpInitMetrics(tp *TcpSock) {
	tp.SndSsthresh = TCP_INFINITE_SSTHRESH
	if tp.Srtt == 0 {
		tp.Rttvar = uint32(TCP_TIMEOUT_FALLBACK / 1000)
		tp.MdevUs, tp.mdevMaxUs = tp.Rttvar, tp.Rttvar
		tp.IcskRto = TCP_TIMEOUT_FALLBACK
	}
	k.tr.Point(fnTcpInitMetrics, tracing.Sock(uint64(tp.Sock.Addr())), tracing.Int(tp.IcskRto))
}

// TCP_TIMEOUT_FALLBACK is the RTO after a handshake that gave no RTT
// sample: 3 s.
const TCP_TIMEOUT_FALLBACK = int64(3e9)

// tcpValidateIncoming is tcp_validate_incoming: the checks every segment
// on a synchronized connection passes before its ACK and data count.
// PAWS (RFC 7323) drops a segment whose timestamp is older than the last
// one accepted; a segment outside the receive window is dropped and
// answered with a duplicate ACK; an RST resets only if its sequence
// number is exactly rcv_nxt, and a SYN never does: either gets a
// challenge ACK (RFC 5961). Those ACKs are rate-limited per socket
// (tcp_invalid_ratelimit) so that two confused ends cannot loop.
func (k *Kernel) tcpValidateIncoming(sk *sockets.Sock, seg *tcpSegmentIn) (ok bool) {
	k.tr.Enter2(fnTcpValidateIncoming, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer func() { k.tr.Exit(fnTcpValidateIncoming, tracing.Bool(ok)) }()
	tp := tcpSk(sk)
	rst, syn := seg.has(header.TCP_FLAG_RST), seg.has(header.TCP_FLAG_SYN)
	tp.RxOpt.SawTstamp = false
	if tp.RxOpt.TstampOk && seg.th.DataOffset() > header.TCPMinSize {
		tcpApplyOptions(*seg.options(), false, &tp.RxOpt) // tcp_fast_parse_options
		if tp.RxOpt.SawTstamp && tp.RxOpt.RcvTsecr != 0 {
			tp.RxOpt.RcvTsecr -= tp.TsOffset // an echo of 0 stays 0
		}
	}
	challenge := func() bool {
		if sk.SkcState == sockets.TCP_ESTABLISHED { // syn_inerr: tcp_rcv_established asks for it
			k.mib.inc(TCP_MIB_INERRS)
		}
		k.mib.inc(LINUX_MIB_TCPSYNCHALLENGE)
		k.tcpSendChallengeAck(sk)
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_INVALID_SYN)
		return false
	}
	if tp.RxOpt.SawTstamp && k.tcpPawsDiscard(sk, seg) && !rst {
		if syn {
			return challenge()
		}
		k.mib.inc(LINUX_MIB_PAWSESTABREJECTED)
		if !k.tcpOowRateLimited(tp, seg, LINUX_MIB_TCPACKSKIPPEDPAWS) {
			k.tcpSendDupack(sk, seg)
		}
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_RFC7323_PAWS)
		return false
	}
	rcvWnd := tp.RcvWup + tp.RcvWnd - tp.RcvNxt
	if int32(rcvWnd) < 0 {
		rcvWnd = 0
	}
	if reason := tcpSequence(tp, seg.seq, seg.end, rcvWnd); reason != skb.SKB_NOT_DROPPED_YET {
		if !rst {
			if syn {
				return challenge()
			}
			if !k.tcpOowRateLimited(tp, seg, LINUX_MIB_TCPACKSKIPPEDSEQ) {
				k.tcpSendDupack(sk, seg)
			}
		} else if tcpResetCheck(sk, seg) {
			k.tcpReset(sk)
			_ = skb.ConsumeSkb(seg.s)
			return false
		}
		tcpDropReason(sk, seg.s, reason)
		return false
	}
	if rst {
		if seg.seq == tp.RcvNxt || tcpResetCheck(sk, seg) || k.tcpRstAtMaxSack(tp, seg.seq) {
			k.tcpReset(sk)
			_ = skb.ConsumeSkb(seg.s)
			return false
		}
		k.tcpSendChallengeAck(sk)
		tcpDropReason(sk, seg.s, skb.SKB_DROP_REASON_TCP_RESET)
		return false
	}
	// The one SYN that passes: in a simultaneous open, the peer's SYN-ACK
	// (our crossed SYN acknowledged, its own SYN again, nothing else).
	if syn && !(sk.SkcState == sockets.TCP_SYN_RECV && sk.SkSocket != nil && seg.has(header.TCP_FLAG_ACK) &&
		seg.seq+1 == seg.end && seg.seq+1 == tp.RcvNxt && seg.ack == tp.SndNxt) {
		return challenge()
	}
	return true
}

// tcpReplaceTsRecent is tcp_replace_ts_recent: the newest timestamp of a
// segment at or below the window's left edge becomes ts_recent. tcp_ack
// calls it once it knows the ACK is acceptable, so that a segment it
// drops (an ACK of data never sent) leaves ts_recent as it was.
func (k *Kernel) tcpReplaceTsRecent(tp *TcpSock, seq uint32) {
	if tp.RxOpt.SawTstamp && !after(seq, tp.RcvWup) && tcpPawsCheck(&tp.RxOpt, 0, k.clock.Now()) {
		tp.RxOpt.TsRecent, tp.RxOpt.TsRecentStamp = tp.RxOpt.RcvTsval, k.clock.Now()
	}
}

// TCP_PAWS_WINDOW is the replay window for timestamps: one tick.
const TCP_PAWS_WINDOW = 1

// tcpPawsWrap is TCP_PAWS_WRAP: after INT_MAX microseconds (about 36
// minutes) without an update, ts_recent is too old to compare with.
const tcpPawsWrap = int64(2147) * 1e9

// tcpPawsCheck is tcp_paws_check: the segment's timestamp is not older
// than ts_recent by more than win, or ts_recent is too old (or 0) to
// judge by.
func tcpPawsCheck(rx *TcpOptionsReceived, win int32, now int64) bool {
	if int32(rx.TsRecent-rx.RcvTsval) <= win {
		return true
	}
	if now/1e9 >= rx.TsRecentStamp/1e9+tcpPawsWrap/1e9 { // in whole seconds (ktime_get_seconds)
		return true
	}
	return rx.TsRecent == 0
}

// tcpPawsDiscard is tcp_paws_discard: PAWS rejects the segment, unless it
// is a duplicate ACK within the replay window (tcp_disordered_ack: a pure
// ACK at rcv_nxt acknowledging snd_una without a window update, whose
// timestamp is at most 1.2 RTOs old).
func (k *Kernel) tcpPawsDiscard(sk *sockets.Sock, seg *tcpSegmentIn) (discard bool) {
	tp := tcpSk(sk)
	if tcpPawsCheck(&tp.RxOpt, TCP_PAWS_WINDOW, k.clock.Now()) {
		return false
	}
	defer func() {
		if discard {
			k.tr.Point(fnTcpPawsDiscard, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(tp.RxOpt.RcvTsval)))
		}
	}()
	nwin := uint32(seg.th.Window()) << tp.RxOpt.SndWscale
	disordered := seg.has(header.TCP_FLAG_ACK) && seg.seq == seg.end && seg.seq == tp.RcvNxt &&
		seg.ack == tp.SndUna &&
		!(after(seg.ack, tp.SndUna) || after(seg.seq, tp.SndWl1) || (seg.seq == tp.SndWl1 && (nwin > tp.SndWnd || nwin == 0))) &&
		int64(int32(tp.RxOpt.TsRecent-tp.RxOpt.RcvTsval)) <= tp.IcskRto/NsecPerJiffy*1200/HZ
	return !disordered
}

// tcpResetCheck is tcp_reset_check: after our FIN was acknowledged in
// CLOSE_WAIT, LAST_ACK or CLOSING, an RST at rcv_nxt - 1 is taken too.
func tcpResetCheck(sk *sockets.Sock, seg *tcpSegmentIn) bool {
	st := sk.SkcState
	return seg.seq == tcpSk(sk).RcvNxt-1 &&
		(st == sockets.TCP_CLOSE_WAIT || st == sockets.TCP_LAST_ACK || st == sockets.TCP_CLOSING)
}

// tcpRstAtMaxSack: RFC 5961 also accepts an RST at the right edge of the
// highest SACK block we sent (the peer may have reset after data we hold
// out of order).
func (k *Kernel) tcpRstAtMaxSack(tp *TcpSock, seq uint32) bool {
	if !tcpIsSack(tp) || tp.numSacks == 0 {
		return false
	}
	blocks := tcpSackBlocks(tp, TCP_NUM_SACKS)
	maxSack := blocks[0].End
	for _, b := range blocks[1:] {
		if after(b.End, maxSack) {
			maxSack = b.End
		}
	}
	return seq == maxSack
}

// tcpOowRateLimited is tcp_oow_rate_limited: at most one duplicate ACK
// for out-of-window segments per tcp_invalid_ratelimit (500 ms); segments
// with data are never limited (they are not part of an ACK loop).
func (k *Kernel) tcpOowRateLimited(tp *TcpSock, seg *tcpSegmentIn, m Mib) bool {
	return k.segOowRateLimited(&tp.lastOowAckTime, seg, m)
}

// segOowRateLimited is tcp_oow_rate_limited for any holder of a
// last_oow_ack_time (a socket, a request sock, a timewait sock): a
// segment with data (and no SYN) is never limited.
func (k *Kernel) segOowRateLimited(last *uint32, seg *tcpSegmentIn, m Mib) bool {
	if seg.seq != seg.end && !seg.has(header.TCP_FLAG_SYN) {
		return false
	}
	return k.oowRateLimited(last, m)
}

// tcpOowRateLimitedAt is __tcp_oow_rate_limited for a full socket.
func (k *Kernel) tcpOowRateLimitedAt(tp *TcpSock, m Mib) bool {
	return k.oowRateLimited(&tp.lastOowAckTime, m)
}

// oowRateLimited is __tcp_oow_rate_limited: true (counting m) when the
// last such ACK, at *last (jiffies), was less than tcp_invalid_ratelimit
// ago; else the ACK may go, and *last is now.
func (k *Kernel) oowRateLimited(last *uint32, m Mib) bool {
	now := k.jiffies32()
	if *last != 0 {
		if elapsed := int32(now - *last); elapsed >= 0 && int64(elapsed) < int64(k.net.Sysctl.TcpInvalidRatelimit) {
			k.mib.inc(m)
			return true
		}
	}
	*last = now
	return false
}

// tcpSendChallengeAck is tcp_send_challenge_ack: an ACK that tells a
// possibly forged sender where we are (RFC 5961), within the per-socket
// rate limit (TCPACKSkippedChallenge). The per-namespace limit,
// tcp_challenge_ack_limit, is off by default in 6.x.
func (k *Kernel) tcpSendChallengeAck(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if k.tcpOowRateLimitedAt(tp, LINUX_MIB_TCPACKSKIPPEDCHALLENGE) {
		return
	}
	k.mib.inc(LINUX_MIB_TCPCHALLENGEACK)
	k.tr.Point(fnTcpSendChallengeAck, tracing.Sock(uint64(sk.Addr())), tracing.Bool(true))
	k.tcpSendAck(sk)
}

// tcpReset is tcp_reset: the peer reset the connection. The error the
// user sees depends on the state: ECONNREFUSED while connecting, EPIPE
// after our close, ECONNRESET otherwise; a sock already closed ignores it.
func (k *Kernel) tcpReset(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpReset, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpReset, tracing.Arg{})
	var err int32
	switch sk.SkcState {
	case sockets.TCP_SYN_SENT:
		err = tracing.ECONNREFUSED
	case sockets.TCP_CLOSE_WAIT:
		err = tracing.EPIPE
	case sockets.TCP_CLOSE:
		return
	default:
		err = tracing.ECONNRESET
	}
	k.tcpDoneWithError(sk, err)
}

// tcpDoneWithError is tcp_done_with_error: the connection ends with an
// error the user will see (a reset, a timeout). What was still queued to
// send is thrown away (tcp_write_queue_purge), the sock closes
// (tcp_done), and a process still holding it is told.
func (k *Kernel) tcpDoneWithError(sk *sockets.Sock, err int32) {
	k.tr.Point(fnTcpDoneWithError, tracing.Sock(uint64(sk.Addr())), tracing.Errno(-int64(err)))
	sk.SkErr = err
	k.tcpWriteQueuePurge(sk)
	k.tcpDone(sk)
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		sk.SkErrorReport(sk)
	}
}

// tcpWriteQueuePurge is tcp_write_queue_purge: every skb not yet sent
// (sk_write_queue) and every one sent but not acknowledged (the
// retransmit queue) is freed, its memory given back; nothing is in
// flight any more and the RTO backoff ends.
func (k *Kernel) tcpWriteQueuePurge(sk *sockets.Sock) {
	tp := tcpSk(sk)
	n := 0
	free := func(q *skb.SkBuffHead) {
		for s := skb.SkbDequeueLocked(q); s != nil; s = skb.SkbDequeueLocked(q) {
			sk.SkWmemQueued -= int32(s.Truesize) // tcp_wmem_free_skb
			_ = skb.ConsumeSkb(s)
			n++
		}
	}
	free(&sk.SkWriteQueue)
	free(&tp.rtxQueue) // tcp_rtx_queue_purge
	k.tr.Point(fnTcpWriteQueuePurge, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(n)))
	tp.PacketsOut = 0
	tp.IcskBackoff = 0
}

// tcpDone is tcp_done: CLOSE, timers stopped, both directions shut; an
// orphan is destroyed, a socket still open is woken.
func (k *Kernel) tcpDone(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpDone, tracing.Sock(uint64(sk.Addr())))
	if sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
		k.mib.inc(TCP_MIB_ATTEMPTFAILS)
	}
	k.tcpSetState(sk, sockets.TCP_CLOSE)
	k.tcpClearXmitTimers(sk)
	sk.SkShutdown = sockets.SHUTDOWN_MASK
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		sk.SkStateChange(sk)
	} else {
		k.inetCskDestroySock(sk)
	}
	k.tr.Exit(fnTcpDone, tracing.Arg{})
}

// tcp_ack's answers besides 0 (an old ACK, below snd_una) and 1 (any other
// acceptable ACK): the caller drops the segment.
const (
	tcpAckUnsentData = -1 // it acknowledges data never sent (SKB_DROP_REASON_TCP_ACK_UNSENT_DATA)
	tcpAckTooOld     = -2 // it is older than a window below snd_una (SKB_DROP_REASON_TCP_TOO_OLD_ACK)
)

// tcpAckDropReason is the drop reason of a negative tcp_ack answer.
func tcpAckDropReason(ret int) skb.DropReason {
	if ret == tcpAckTooOld {
		return skb.SKB_DROP_REASON_TCP_TOO_OLD_ACK
	}
	return skb.SKB_DROP_REASON_TCP_ACK_UNSENT_DATA
}

// tcpAck is tcp_ack: process an acknowledgment, as flag (FLAG_SLOWPATH,
// FLAG_UPDATE_TS_RECENT, FLAG_NO_CHALLENGE_ACK) asks. It returns
// tcpAckUnsentData or tcpAckTooOld for an ACK the caller must drop (a too
// old one is answered with a challenge ACK, RFC 5961 5.2, unless the
// caller does that), 0 for an old ACK (below snd_una, which may still
// carry SACK blocks), and 1 otherwise. The send window is updated,
// SACK blocks tag the retransmit queue (tcp_sacktag_write_queue),
// acknowledged segments leave it with an RTT sample
// (tcp_clean_rtx_queue), a dubious ACK runs the congestion state machine
// (tcp_fastretrans_alert), and the window grows or shrinks
// (tcp_cong_control) before recovery sends what it decided.
func (k *Kernel) tcpAck(sk *sockets.Sock, seg *tcpSegmentIn, flag int) int {
	tr := k.tr
	tp := tcpSk(sk)
	tr.Enter2(fnTcpAck, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(seg.ack)))
	ackSeq := seg.ack
	priorSndUna := tp.SndUna
	if before(ackSeq, priorSndUna) {
		// RFC 5961 5.2: an ACK more than a window below snd_una (or
		// below the ISN, before anything was acknowledged) is blind
		// injection, not a late ACK.
		maxWindow := uint32(min(uint64(tp.MaxWindow), tp.BytesAcked))
		if before(ackSeq, priorSndUna-maxWindow) {
			if flag&FLAG_NO_CHALLENGE_ACK == 0 {
				k.tcpSendChallengeAck(sk)
			}
			tr.Exit(fnTcpAck, tracing.Int(tcpAckTooOld))
			return tcpAckTooOld
		}
	} else if after(ackSeq, tp.SndNxt) {
		tr.Exit(fnTcpAck, tracing.Int(tcpAckUnsentData))
		return tcpAckUnsentData
	}
	var sacks []header.SackBlock
	if tcpIsSack(tp) && seg.th.DataOffset() > header.TCPMinSize {
		sacks = seg.options().Sacks
	}
	var state tcpSacktagState
	priorDelivered := tp.Delivered
	if before(ackSeq, priorSndUna) {
		// old_ack: an old ACK can carry new data, and SACK news.
		if flag&FLAG_UPDATE_TS_RECENT != 0 {
			k.tcpReplaceTsRecent(tp, seg.seq)
		}
		if len(sacks) > 0 {
			k.tcpSacktagWriteQueue(sk, sacks, ackSeq, priorSndUna, &state)
			flag |= state.flag
			// What the SACKs delivered is not counted in delivered here
			// (only the main path calls tcp_count_delivered), and never
			// will be: tcp_rate_skb_delivered has stamped those skbs.
			rexmit := k.tcpFastretransAlert(sk, priorSndUna, 0, &flag)
			k.tcpXmitRecovery(sk, rexmit)
		}
		tr.Exit(fnTcpAck, tracing.Int(0))
		return 0
	}
	if after(ackSeq, priorSndUna) {
		flag |= FLAG_SND_UNA_ADVANCED
		tp.IcskRetransmits = 0
	}
	priorFack := tp.SndUna
	if tcpIsSack(tp) {
		priorFack = tcpHighestSackSeq(tp)
	}
	// Only now is the segment known to be acceptable.
	if flag&FLAG_UPDATE_TS_RECENT != 0 {
		k.tcpReplaceTsRecent(tp, seg.seq)
	}
	if seg.seq != seg.end {
		flag |= FLAG_DATA
	}
	// The send window (tcp_ack_update_window).
	nwin := uint32(seg.th.Window())
	if !seg.has(header.TCP_FLAG_SYN) {
		nwin <<= tp.RxOpt.SndWscale // the window in a SYN-ACK is never scaled
	}
	if after(ackSeq, tp.SndUna) || after(seg.seq, tp.SndWl1) || (seg.seq == tp.SndWl1 && (nwin > tp.SndWnd || nwin == 0)) {
		flag |= FLAG_WIN_UPDATE
		if tp.SndWnd != nwin {
			tp.SndWnd = nwin
			if !skb.SkbQueueEmpty(&sk.SkWriteQueue) {
				k.tcpSlowStartAfterIdleCheck(sk)
			}
			if nwin > tp.MaxWindow {
				// The largest window yet: the MSS, bounded to half
				// of it, may grow (tcp_sync_mss).
				tp.MaxWindow = nwin
				k.tcpSyncMss(sk, tp.IcskPmtuCookie)
			}
		}
		tp.SndWl1 = seg.seq
	}
	tp.BytesAcked += uint64(ackSeq - tp.SndUna)
	tp.SndUna = ackSeq
	if len(sacks) > 0 {
		k.tcpSacktagWriteQueue(sk, sacks, ackSeq, priorSndUna, &state)
		flag |= state.flag
		tp.Delivered += state.sackDelivered
	}
	// The peer is alive and answering: a soft error (an ICMP message
	// seen meanwhile) is forgotten.
	sk.SkErrSoft = 0
	tp.IcskProbesOut = 0
	tp.RcvTstamp = k.clock.Now()
	if tp.PacketsOut == 0 {
		// no_queue: nothing was outstanding.
		if s := skb.SkbPeek(&sk.SkWriteQueue); s != nil {
			k.tcpAckProbe(sk, s)
		}
		if flag&FLAG_DSACKING_ACK != 0 {
			k.tcpFastretransAlert(sk, priorSndUna, 0, &flag)
		}
		if tp.TlpHighSeq != 0 {
			k.tcpProcessTlpAck(sk, ackSeq, flag)
		}
		return k.tcpAckDone(sk, flag)
	}
	lostBefore := tp.lost
	flag |= k.tcpCleanRtxQueue(sk, priorFack, priorSndUna, &state)
	k.tcpRackUpdateReoWnd(tp, state.priorDelivered)
	if tp.TlpHighSeq != 0 {
		k.tcpProcessTlpAck(sk, ackSeq, flag)
	}
	rexmit := REXMIT_NONE
	if tcpAckIsDubious(tp, flag) {
		numDupack := 0
		if flag&(FLAG_SND_UNA_ADVANCED|FLAG_NOT_DUP|FLAG_DSACKING_ACK) == 0 {
			numDupack = 1
		}
		rexmit = k.tcpFastretransAlert(sk, priorSndUna, numDupack, &flag)
	}
	if flag&FLAG_SET_XMIT_TIMER != 0 {
		k.tcpSetXmitTimer(sk)
	}
	k.tcpCongControl(sk, tp.Delivered-priorDelivered, tp.lost-lostBefore, flag)
	k.tcpXmitRecovery(sk, rexmit)
	return k.tcpAckDone(sk, flag)
}

// tcpAckDone finishes tcp_ack: the RTO timestamp of a connection not in
// Loss. (Writers waiting for room are woken by tcp_check_space, after
// tcp_ack. The RTO backoff ends with a valid RTT sample, in
// tcp_ack_update_rtt, or when a zero window opens, in tcp_ack_probe.)
func (k *Kernel) tcpAckDone(sk *sockets.Sock, flag int) int {
	tp := tcpSk(sk)
	if flag&FLAG_SND_UNA_ADVANCED == 0 {
		k.tr.Exit(fnTcpAck, tracing.Int(1))
		return 1
	}
	if tp.IcskCaState != sockets.TCP_CA_Loss {
		k.tcpUpdateRtoTime(tp)
	}
	k.tr.Exit(fnTcpAck, tracing.Int(1))
	return 1
}

// tcpCleanRtxQueue is tcp_clean_rtx_queue: free the segments the ACK
// covers, keep the scoreboard's counts, feed RACK, and take an RTT sample
// from the oldest never-retransmitted one (Karn's rule), or failing that
// from newly SACKed data. It returns the ACK's flags.
func (k *Kernel) tcpCleanRtxQueue(sk *sockets.Sock, priorFack, priorSndUna uint32, state *tcpSacktagState) int {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpCleanRtxQueue, tracing.Sock(uint64(sk.Addr())))
	flag := 0
	var firstAckt, lastAckt int64
	haveAckt := false
	reord := tp.SndNxt // lowest acked never-retransmitted, never-SACKed seq
	pktsAcked := uint32(0)
	for s := skb.SkbPeek(&tp.rtxQueue); s != nil; s = skb.SkbPeek(&tp.rtxQueue) {
		if after(cbEndSeqOf(s), tp.SndUna) {
			if s.Cb[cbSacked]&TCPCB_SACKED_ACKED != 0 {
				flag |= FLAG_SACK_RENEGING
			}
			break
		}
		sacked := s.Cb[cbSacked]
		if sacked&TCPCB_RETRANS != 0 {
			if sacked&TCPCB_SACKED_RETRANS != 0 {
				tp.RetransOut--
			}
			flag |= FLAG_RETRANS_DATA_ACKED
		} else if sacked&TCPCB_SACKED_ACKED == 0 {
			if !haveAckt {
				firstAckt, haveAckt = cbMstampOf(s), true
			}
			lastAckt = cbMstampOf(s)
			if before(cbSeqOf(s), reord) {
				reord = cbSeqOf(s)
			}
			if !after(cbEndSeqOf(s), tp.HighSeq) {
				flag |= FLAG_ORIG_SACK_ACKED
			}
		}
		if sacked&TCPCB_SACKED_ACKED != 0 {
			tp.sackedOut--
		} else if tcpIsSack(tp) {
			tp.Delivered++
			// Not for a retransmission the echoed timestamp shows was
			// needless (tcp_skb_spurious_retrans): the ACK is for the
			// original, and the retransmission's time would mislead RACK.
			spurious := sacked&TCPCB_RETRANS != 0 && tp.RxOpt.SawTstamp && tp.RxOpt.RcvTsecr != 0 &&
				before(tp.RxOpt.RcvTsecr, uint32(cbMstampOf(s)/(1e9/tcpTsHz)))
			if !spurious {
				k.tcpRackAdvance(tp, sacked, cbEndSeqOf(s), cbMstampOf(s), cbTxNumOf(s))
			}
		}
		if sacked&TCPCB_LOST != 0 {
			tp.lostOut--
		}
		if cbFlagsOf(s)&header.TCP_FLAG_SYN == 0 {
			flag |= FLAG_DATA_ACKED
		} else {
			flag |= FLAG_SYN_ACKED
			tcpClearRetransStamp(tp)
		}
		tcpRateSkbDelivered(tp, s, state)
		_ = skb.SkbUnlinkLocked(s, &tp.rtxQueue)
		tp.PacketsOut--
		pktsAcked++
		sk.SkWmemQueued -= int32(s.Truesize)
		_ = skb.ConsumeSkb(s)
	}
	if tp.sackedOut == 0 {
		tp.highestSack = tp.SndUna
	}
	// Urgent mode ends once the urgent byte is acknowledged.
	if between(tp.SndUp, priorSndUna, tp.SndUna) {
		tp.SndUp = tp.SndUna
	}
	// seq_rtt (the oldest acknowledged) feeds the estimator; ca_rtt (the
	// newest) feeds min_rtt and the algorithm, as tcp_ack_update_rtt does.
	var sample, caSample int64 = -1, -1
	if haveAckt && flag&FLAG_RETRANS_DATA_ACKED == 0 {
		sample, caSample = k.clock.Now()-firstAckt, k.clock.Now()-lastAckt
	}
	if state.haveSackt {
		caSample = k.clock.Now() - state.lastSackt
		if sample < 0 {
			sample = k.clock.Now() - state.firstSackt
		}
	}
	if sample < 0 && flag&FLAG_ACKED != 0 {
		// tcp_ack_update_rtt's RTTM rule: with no sample from the ACK's
		// timing (Karn's rule forbids one when retransmitted data is
		// acknowledged), the echoed timestamp gives one.
		if us := k.tcpRttTsSample(tp); us > 0 {
			sample, caSample = us*1000, us*1000
		}
	}
	if sample >= 0 {
		us, caUs := sample/1000, caSample/1000 // 0 is a sample too
		k.tcpUpdateRttMin(tp, uint32(caUs))
		k.tcpRttEstimator(tp, us)
		tp.IcskBackoff = 0       // RFC 6298: only a valid RTT sample ends the backoff
		k.tcpPktsAcked(tp, caUs) // the algorithm's pkts_acked (CUBIC's HyStart)
	}
	if flag&FLAG_ACKED != 0 {
		flag |= FLAG_SET_XMIT_TIMER
		if !tcpIsSack(tp) {
			k.tcpRemoveRenoSacks(sk, pktsAcked)
			if flag&FLAG_RETRANS_DATA_ACKED != 0 {
				flag &^= FLAG_ORIG_SACK_ACKED
			}
		} else if before(reord, priorFack) {
			k.tcpCheckSackReordering(sk, reord, false)
		}
	} else if sample >= 0 && state.haveSackt {
		if head := skb.SkbPeek(&tp.rtxQueue); head != nil && sample > k.clock.Now()-cbMstampOf(head) {
			flag |= FLAG_SET_XMIT_TIMER
		}
	}
	k.tr.Exit(fnTcpCleanRtxQueue, tracing.Int(int64(pktsAcked)))
	return flag
}

// tcpRttTsSample is tcp_ack_update_rtt's timestamp sample: the time
// since the echoed timestamp was ours, in microseconds, at least one tick;
// -1 without an echo, or one too old to trust.
func (k *Kernel) tcpRttTsSample(tp *TcpSock) int64 {
	if !tp.RxOpt.SawTstamp || tp.RxOpt.RcvTsecr == 0 {
		return -1
	}
	d := k.tcpClockTs() - tp.RxOpt.RcvTsecr
	if d >= uint32(1<<31/(1000000/tcpTsHz)) {
		return -1
	}
	return int64(max(d, 1)) * (1000000 / tcpTsHz)
}

// tcpRttEstimator is tcp_rtt_estimator + tcp_set_rto: Jacobson's smoothed
// RTT and variance (RFC 6298) as Linux keeps them, srtt in microseconds
// times 8, and RTO = srtt + rttvar, with rttvar at least TCP_RTO_MIN.
func (k *Kernel) tcpRttEstimator(tp *TcpSock, mUs int64) {
	rtoMinUs := tp.IcskRtoMin / 1000 // tcp_rto_min_us
	m := mUs
	srtt := int64(tp.Srtt)
	if srtt != 0 {
		m -= srtt >> 3
		srtt += m
		if m < 0 {
			m = -m
			m -= int64(tp.MdevUs) >> 2
			if m > 0 {
				m >>= 3
			}
		} else {
			m -= int64(tp.MdevUs) >> 2
		}
		tp.MdevUs = uint32(int64(tp.MdevUs) + m)
		if tp.MdevUs > tp.mdevMaxUs {
			tp.mdevMaxUs = tp.MdevUs
			if tp.mdevMaxUs > tp.Rttvar {
				tp.Rttvar = tp.mdevMaxUs
			}
		}
		if after(tp.SndUna, tp.rttSeq) {
			if tp.mdevMaxUs < tp.Rttvar {
				tp.Rttvar -= (tp.Rttvar - tp.mdevMaxUs) >> 2
			}
			tp.rttSeq = tp.SndNxt
			tp.mdevMaxUs = uint32(rtoMinUs)
		}
	} else {
		srtt = m << 3
		tp.MdevUs = uint32(m << 1)
		tp.Rttvar = max(tp.MdevUs, uint32(rtoMinUs))
		tp.mdevMaxUs = tp.Rttvar
		tp.rttSeq = tp.SndNxt
	}
	tp.Srtt = uint32(max(srtt, 1))
	// __tcp_set_rto: usecs_to_jiffies rounds up to whole jiffies.
	rtoUs := int64(tp.Srtt>>3) + int64(tp.Rttvar)
	rto := roundUpToJiffy(rtoUs * 1000)
	tp.IcskRto = min(rto, TCP_RTO_MAX) // tcp_bound_rto; rttvar keeps it above icsk_rto_min
	k.tr.Point(fnTcpRttEstimator, tracing.Int(mUs), tracing.Int(tp.IcskRto))
}

// tcpSynFloodAction is tcp_syn_flood_action: the listener's SYN queue is
// full (or tcp_syncookies=2). With syncookies on, answer with a cookie
// (TCPReqQFullDoCookies); off, drop the SYN (TCPReqQFullDrop). The first
// time per listen() it logs "Possible SYN flooding" (not with
// tcp_syncookies=2, where cookies are routine).
func (k *Kernel) tcpSynFloodAction(sk *sockets.Sock) bool {
	q := &sockets.IcskOf(sk).IcskAcceptQueue
	k.tr.Enter2(fnTcpSynFloodAction, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(q.Qlen)))
	syncookies := k.net.Sysctl.TcpSyncookies
	wantCookie := syncookies != 0
	if wantCookie {
		k.mib.inc(LINUX_MIB_TCPREQQFULLDOCOOKIES)
	} else {
		k.mib.inc(LINUX_MIB_TCPREQQFULLDROP)
	}
	if !q.SynfloodWarned && syncookies != 2 {
		q.SynfloodWarned = true
		k.tr.Point(fnSynFloodWarning, tracing.IPv4(uint32(sk.SkcRcvSaddr)), tracing.Int(int64(sk.SkcNum)))
	}
	k.tr.Exit(fnTcpSynFloodAction, tracing.Bool(wantCookie))
	return wantCookie
}

// tcpMinRttWlen is net.ipv4.tcp_min_rtt_wlen: the window, 300 s, over
// which tcp_min_rtt remembers the least RTT.
const tcpMinRttWlen = int64(300e9)

// tcpUpdateRttMin is tcp_update_rtt_min: keep the least RTT sample seen in
// the last tcp_min_rtt_wlen. The kernel's minmax filter keeps three
// samples so that an expiring minimum hands over to the next best one; the
// model keeps one and starts over from the current sample when it expires.
func (k *Kernel) tcpUpdateRttMin(tp *TcpSock, rttUs uint32) {
	if rttUs == 0 {
		rttUs = uint32(NsecPerJiffy / 1000) // jiffies_to_usecs(1): min_rtt is never 0
	}
	now := k.clock.Now()
	if rttUs <= tp.rttMin || now-tp.rttMinStamp > tcpMinRttWlen {
		tp.rttMin, tp.rttMinStamp = rttUs, now
	}
}
