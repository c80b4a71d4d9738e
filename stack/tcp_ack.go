package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// ACK scheduling (icsk_ack): when a receiver acknowledges at once, and
// when it waits for more data, a reader or the delayed-ACK timer.

// icsk_ack.pending bits (enum inet_csk_ack_state_t).
const (
	ICSK_ACK_SCHED   = 1  // an ACK is owed
	ICSK_ACK_TIMER   = 2  // the delayed-ACK timer runs
	ICSK_ACK_PUSHED  = 4  // a small segment came (the peer pushed)
	ICSK_ACK_PUSHED2 = 8  // two of them
	ICSK_ACK_NOW     = 16 // send the next ACK at once
	ICSK_ACK_NOMEM   = 32
)

// Delayed-ACK bounds (include/net/tcp.h, HZ-independent here).
const (
	TCP_ATO_MIN         = int64(40e6)  // HZ/25
	TCP_DELACK_MIN      = int64(40e6)  // HZ/25
	TCP_DELACK_MAX      = int64(200e6) // HZ/5
	TCP_MAX_QUICKACKS   = 16
	TCP_MIN_MSS         = 88
	TCP_PINGPONG_THRESH = 1
)

// icskAck is struct inet_connection_sock's icsk_ack.
type icskAck struct {
	Pending      uint8
	Quick        uint8 // ACKs left to send at once (quick-ack mode)
	Pingpong     uint8 // interactive: ACKs ride on our data
	Ato          int64 // the delayed-ACK timeout, ns
	Timeout      int64 // when the delayed-ACK timer fires
	Lrcvtime     int64 // when data last came
	LastSegSize  uint32
	DstQuickAck  bool
	delackQueued bool
}

func (a *icskAck) scheduled() bool { return a.Pending&ICSK_ACK_SCHED != 0 }

func (a *icskAck) inPingpong() bool { return a.Pingpong >= TCP_PINGPONG_THRESH }

// tcpInQuickackMode is tcp_in_quickack_mode: ACK every segment at once.
func tcpInQuickackMode(tp *TcpSock) bool {
	return tp.ack.DstQuickAck || (tp.ack.Quick != 0 && !tp.ack.inPingpong())
}

// tcpInitializeRcvMss is tcp_initialize_rcv_mss: a first guess of the
// peer's segment size, small (at most 536) until real segments show it.
func tcpInitializeRcvMss(tp *TcpSock) {
	hint := min(uint32(tp.AdvMss), tp.MssCache, tp.RcvWnd/2, TCP_MSS_DEFAULT)
	tp.RcvMss = max(hint, TCP_MIN_MSS)
}

// tcpHeaderLen is tp->tcp_header_len: the TCP header of our segments,
// with the timestamp option when it is in use. tcp_connect_init counts
// the timestamp the SYN offers; the handshake sets what was agreed.
func (tp *TcpSock) tcpHeaderLen() uint32 { return max(tp.headerLen, header.TCPMinSize) }

// setTcpHeaderLen sets tcp_header_len for the options in use.
func (tp *TcpSock) setTcpHeaderLen(timestamps bool) {
	tp.headerLen = header.TCPMinSize
	if timestamps {
		tp.headerLen += TCPOLEN_TSTAMP_ALIGNED
	}
}

// tcpIncrQuickack is tcp_incr_quickack: allow up to max immediate ACKs
// (about half a window's worth of segments).
func tcpIncrQuickack(tp *TcpSock, maxQuick uint32) {
	q := tp.RcvWnd / (2 * max(tp.RcvMss, 1))
	if q == 0 {
		q = 2
	}
	q = min(q, maxQuick)
	if q > uint32(tp.ack.Quick) {
		tp.ack.Quick = uint8(q)
	}
}

// tcpEnterQuickackMode is tcp_enter_quickack_mode: ACK at once for a
// while (after a hole, a duplicate, or an idle period), leaving pingpong.
func tcpEnterQuickackMode(tp *TcpSock, maxQuick uint32) {
	tcpIncrQuickack(tp, maxQuick)
	tp.ack.Pingpong = 0
	tp.ack.Ato = TCP_ATO_MIN
}

// tcpMeasureRcvMss is tcp_measure_rcv_mss: learn the peer's segment size
// from full-sized segments (and from two equal smaller ones in a row);
// other small segments mark the ACK "pushed", which makes a reader that
// empties the queue send the ACK. thlen is the TCP header's length with
// its options.
func tcpMeasureRcvMss(tp *TcpSock, dlen, thlen uint32, flags uint8) {
	lss := tp.ack.LastSegSize
	tp.ack.LastSegSize = 0
	if dlen >= tp.RcvMss {
		tp.RcvMss = min(dlen, uint32(tp.AdvMss))
		if flags&header.TCP_FLAG_PSH != 0 {
			tp.ack.Pending |= ICSK_ACK_PUSHED
		}
		return
	}
	const remnant = header.TCP_FLAG_FIN | header.TCP_FLAG_URG | header.TCP_FLAG_SYN | header.TCP_FLAG_PSH
	if l := dlen + thlen; l >= TCP_MSS_DEFAULT+20 || (l >= TCP_MIN_MSS+20 && flags&remnant == 0) {
		l = dlen + thlen - tp.tcpHeaderLen()
		tp.ack.LastSegSize = l
		if l == lss {
			tp.RcvMss = l
			return
		}
	}
	if tp.ack.Pending&ICSK_ACK_PUSHED != 0 {
		tp.ack.Pending |= ICSK_ACK_PUSHED2
	}
	tp.ack.Pending |= ICSK_ACK_PUSHED
}

// tcpEventDataRecv is tcp_event_data_recv: data came, so an ACK is owed.
// The first data starts quick-ack mode; after that the delayed-ACK
// timeout (ato) follows the gaps between arrivals, within 40 ms and the
// RTO. The receiver's RTT estimate takes a sample when a window's worth
// has arrived (tcp_rcv_rtt_measure), and a segment of 128 bytes or more
// lets the window grow (tcp_grow_window). It runs once the segment is
// queued.
func (k *Kernel) tcpEventDataRecv(sk *sockets.Sock, seg *tcpSegmentIn) {
	tp := tcpSk(sk)
	a := &tp.ack
	a.Pending |= ICSK_ACK_SCHED
	thlen := uint32(seg.th.DataOffset())
	tcpMeasureRcvMss(tp, uint32(len(seg.th))-thlen, thlen, seg.flag)
	k.tcpRcvRttMeasure(tp)
	now := k.clock.Now()
	rto := sockets.IcskOf(sk).IcskRto
	if a.Ato == 0 {
		tcpIncrQuickack(tp, TCP_MAX_QUICKACKS)
		a.Ato = TCP_ATO_MIN
	} else {
		// Linux counts all of it in whole jiffies (tcp_jiffies32): the
		// gap, the ato and its halving.
		m := (now/NsecPerJiffy - a.Lrcvtime/NsecPerJiffy) * NsecPerJiffy
		switch {
		case m <= TCP_ATO_MIN/2:
			a.Ato = halfJiffies(a.Ato) + TCP_ATO_MIN/2
		case m < a.Ato:
			a.Ato = min(halfJiffies(a.Ato)+m, rto, TCP_DELACK_MAX)
		case m > rto:
			tcpIncrQuickack(tp, TCP_MAX_QUICKACKS)
		}
	}
	a.Lrcvtime = now
	k.tr.Point(fnTcpEventDataRecv, tracing.Sock(uint64(sk.Addr())), tracing.Int(a.Ato/1000))
	if seg.s.Len >= 128 {
		k.tcpGrowWindow(sk, seg.s, true)
	}
}

// tcpAckSndCheck is tcp_ack_snd_check -> __tcp_ack_snd_check: with an ACK
// owed, send it now if more than one full segment is unacknowledged and
// the reader has caught up (or the window would grow), in quick-ack mode,
// or when asked to (ICSK_ACK_NOW). With nothing out of order, leave it to
// the delayed-ACK timer or the reader. While the out-of-order queue holds
// data, the first three duplicate ACKs at one rcv_nxt go at once (the
// sender's fast retransmit needs them); the next ones are compressed: one
// ACK, with the newest SACK blocks, after 5% of the RTT (at most
// tcp_comp_sack_delay_ns) or when tcp_comp_sack_nr are held.
func (k *Kernel) tcpAckSndCheck(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if !tp.ack.scheduled() {
		return
	}
	k.tr.Enter1(fnTcpAckSndCheck, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpAckSndCheck, tracing.Arg{})
	if (tp.RcvNxt-tp.RcvWup > tp.RcvMss &&
		(tp.RcvNxt-tp.CopiedSeq < uint32(max(sk.SkRcvlowat, 1)) || uint32(k.tcpSelectWindowCore(tp, sk)) >= tp.RcvWnd)) ||
		tcpInQuickackMode(tp) || tp.ack.Pending&ICSK_ACK_NOW != 0 {
		k.tcpSendAck(sk)
		return
	}
	if skb.SkbQueueLen(&tp.outOfOrderQueue) == 0 {
		k.tcpSendDelayedAck(sk)
		return
	}
	if !tcpIsSack(tp) || tp.compressedAck >= uint32(k.net.Sysctl.TcpCompSackNr) {
		k.tcpSendAck(sk)
		return
	}
	if tp.compressedAckRcvNxt != tp.RcvNxt {
		tp.compressedAckRcvNxt = tp.RcvNxt
		tp.dupAckCounter = 0
	}
	if tp.dupAckCounter < TCP_FASTRETRANS_THRESH {
		tp.dupAckCounter++
		k.tcpSendAck(sk)
		return
	}
	tp.compressedAck++
	if tp.compressedAckTimer != nil && tp.compressedAckTimer.Pending() {
		return
	}
	// 5% of the RTT (the receiver's estimate, or srtt if smaller; both
	// are << 3 in µs), at most tcp_comp_sack_delay_ns.
	rtt := int64(tp.rcvRttEst.rttUs)
	if tp.Srtt != 0 && int64(tp.Srtt) < rtt {
		rtt = int64(tp.Srtt)
	}
	delay := min(int64(k.net.Sysctl.TcpCompSackDelayNs), rtt*(1000>>3)/20)
	if tp.compressedAckTimer == nil {
		tp.compressedAckTimer = NewTimer("tcp_compressed_ack_kick", func() { k.tcpCompressedAckKick(sk) })
	}
	k.ModTimer(tp.compressedAckTimer, k.clock.Now()+delay)
}

// tcpSackCompressSendAck is tcp_sack_compress_send_ack: send the ACK
// that SACK compression holds back now (the one sent does not count as
// compressed).
func (k *Kernel) tcpSackCompressSendAck(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if tp.compressedAck == 0 {
		return
	}
	k.tr.Enter1(fnTcpSackCompressSendAck, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpSackCompressSendAck, tracing.Arg{})
	if tp.compressedAckTimer != nil && tp.compressedAckTimer.Pending() {
		k.DelTimer(tp.compressedAckTimer)
	}
	k.mib.add(LINUX_MIB_TCPACKCOMPRESSED, uint64(tp.compressedAck-1))
	tp.compressedAck = 0
	k.tcpSendAck(sk)
}

// TCP_FASTRETRANS_THRESH is the duplicate ACKs a sender needs for fast
// retransmit: SACK compression sends that many at once.
const TCP_FASTRETRANS_THRESH = 3

// tcpCompressedAckKick is tcp_compressed_ack_kick: the compressed ACK is
// due (one of those held back goes). A process owning the socket
// postpones it, as it does the delayed ACK.
func (k *Kernel) tcpCompressedAckKick(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpCompressedAckKick, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpCompressedAckKick, tracing.Arg{})
	if sk.SkLock.Owned {
		k.ModTimer(tp.compressedAckTimer, k.clock.Now()+TCP_DELACK_MIN)
		return
	}
	if tp.compressedAck > 0 {
		tp.compressedAck-- // the one sent now is not a compressed one
		k.tcpSendAck(sk)
	}
}

// tcpSendDelayedAck is tcp_send_delayed_ack: arm the delayed-ACK timer
// for ato from now (bounded by the RTT, and by 200 ms when interactive);
// a timer about to fire anyway makes the ACK go now.
func (k *Kernel) tcpSendDelayedAck(sk *sockets.Sock) {
	tp := tcpSk(sk)
	a := &tp.ack
	ato := a.Ato
	if ato > TCP_DELACK_MIN {
		maxAto := int64(500e6) // HZ/2
		if a.inPingpong() || a.Pending&ICSK_ACK_PUSHED != 0 {
			maxAto = TCP_DELACK_MAX
		}
		if tp.Srtt != 0 {
			// usecs_to_jiffies rounds the smoothed RTT up to whole jiffies.
			maxAto = min(maxAto, max(roundUpToJiffy(int64(tp.Srtt>>3)*1000), TCP_DELACK_MIN))
		}
		ato = min(ato, maxAto)
	}
	ato = min(ato, tcpDelackMax(tp))
	now := k.clock.Now()
	timeout := now + ato
	if a.Pending&ICSK_ACK_TIMER != 0 {
		if a.Timeout <= now+ato>>2 {
			k.tcpSendAck(sk)
			return
		}
		timeout = min(timeout, a.Timeout)
	}
	k.tr.Point(fnTcpSendDelayedAck, tracing.Sock(uint64(sk.Addr())), tracing.Int(timeout-now))
	k.armDelackTimer(sk, timeout)
}

// tcpDelackMax is tcp_delack_max: icsk_delack_max (TCP_DELACK_MAX), but
// a jiffy under the socket's minimum RTO, so that a delayed ACK never
// arrives as late as the peer's retransmission: 199 ms by default.
func tcpDelackMax(tp *TcpSock) int64 {
	return min(TCP_DELACK_MAX, max(tp.IcskRtoMin, 2*NsecPerJiffy)-NsecPerJiffy)
}

// armDelackTimer is inet_csk_reset_xmit_timer(ICSK_TIME_DACK): an ACK is
// owed, and the delayed-ACK timer sends it at timeout unless data of ours
// carries it first.
func (k *Kernel) armDelackTimer(sk *sockets.Sock, timeout int64) {
	tp := tcpSk(sk)
	a := &tp.ack
	a.Pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER
	a.Timeout = timeout
	if tp.delackTimer == nil {
		tp.delackTimer = NewTimer("tcp_delack_timer", func() { k.tcpDelackTimer(sk) })
	}
	k.ModTimer(tp.delackTimer, timeout)
}

// tcpDelackTimer is tcp_delack_timer -> tcp_delack_timer_handler: the
// delayed ACK is due. It goes out, and ato adapts: doubled when the
// connection is one-way (the reader was slow), reset and pingpong left
// when it was interactive (no data of ours came to carry it). A process
// owning the socket postpones it, like the retransmit timer.
func (k *Kernel) tcpDelackTimer(sk *sockets.Sock) {
	tp := tcpSk(sk)
	a := &tp.ack
	k.tr.Enter1(fnTcpDelackTimer, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpDelackTimer, tracing.Arg{})
	if sk.SkcState == sockets.TCP_CLOSE || a.Pending&ICSK_ACK_TIMER == 0 {
		return
	}
	if sk.SkLock.Owned {
		k.mib.inc(LINUX_MIB_DELAYEDACKLOCKED)
		k.ModTimer(tp.delackTimer, k.clock.Now()+TCP_DELACK_MIN)
		return
	}
	if a.Timeout > k.clock.Now() {
		k.ModTimer(tp.delackTimer, a.Timeout)
		return
	}
	a.Pending &^= ICSK_ACK_TIMER
	if !a.scheduled() {
		return
	}
	if !a.inPingpong() {
		a.Ato = min(a.Ato<<1, sockets.IcskOf(sk).IcskRto, TCP_DELACK_MAX)
	} else {
		a.Pingpong = 0
		a.Ato = TCP_ATO_MIN
	}
	k.tcpSendAck(sk)
	k.mib.inc(LINUX_MIB_DELAYEDACKS)
}

// tcpEventAckSent is tcp_event_ack_sent: any segment carrying our ACK
// pays what was owed: quick-ack credit is used up, the delayed ACK is
// cancelled.
func (k *Kernel) tcpEventAckSent(tp *TcpSock) {
	if tp.compressedAck > 0 {
		k.mib.add(LINUX_MIB_TCPACKCOMPRESSED, uint64(tp.compressedAck))
		tp.compressedAck = 0
		if tp.compressedAckTimer.Pending() {
			k.DelTimer(tp.compressedAckTimer)
		}
	}
	a := &tp.ack
	if a.Pending != 0 || a.Quick != 0 {
		k.tr.Point(fnTcpEventAckSent, tracing.Int(int64(a.Quick)), tracing.Uint(uint64(a.Pending)))
	}
	if a.Quick != 0 {
		pkts := uint8(0)
		if a.scheduled() {
			pkts = 1
		}
		if pkts >= a.Quick {
			a.Quick = 0
			a.Ato = TCP_ATO_MIN
		} else {
			a.Quick -= pkts
		}
	}
	a.Pending = 0
	if tp.delackTimer != nil && tp.delackTimer.Pending() {
		k.DelTimer(tp.delackTimer)
	}
}

// tcpEventDataSent is the pingpong part of tcp_event_data_sent: sending
// data soon after receiving some marks the connection interactive, so
// ACKs wait to ride on replies.
func (k *Kernel) tcpEventDataSent(tp *TcpSock) {
	if tp.ack.Lrcvtime == 0 {
		return
	}
	// In whole jiffies, as tcp_jiffies32 - lrcvtime.
	since := (k.clock.Now()/NsecPerJiffy - tp.ack.Lrcvtime/NsecPerJiffy) * NsecPerJiffy
	if since < tp.ack.Ato && tp.ack.Pingpong < 255 {
		tp.ack.Pingpong++
	}
}

// halfJiffies is ato >> 1 as Linux computes it on jiffies: half of a whole
// number of jiffies, rounded down.
func halfJiffies(ato int64) int64 { return ato / NsecPerJiffy >> 1 * NsecPerJiffy }
