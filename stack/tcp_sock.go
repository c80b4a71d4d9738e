package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/stack/header"
)

// TcpOptionsReceived is struct tcp_options_received: what the peer's
// options said and what was agreed.
type TcpOptionsReceived struct {
	TsRecent      uint32 // the peer's last timestamp value
	TsRecentStamp int64
	RcvTsval      uint32
	RcvTsecr      uint32
	SawTstamp     bool
	TstampOk      bool
	SackOk        bool
	WscaleOk      bool
	SndWscale     uint8 // the peer's shift for its windows
	RcvWscale     uint8 // our shift for ours
	MssClamp      uint16
	UserMss       uint16
}

// tcpState is what struct tcp_sock adds for connections. It lives in
// TcpSock (tcp.go) so that tp.SndNxt reads as tp->snd_nxt.
type tcpConn struct {
	RxOpt                     TcpOptionsReceived
	SndWl1                    uint32
	SndUp                     uint32
	UrgSeq                    uint32 // the peer's urgent byte (tcp_check_urg)
	UrgData                   uint16 // TCP_URG_NOTYET, TCP_URG_VALID | the byte, TCP_URG_READ, or 0
	MaxWindow                 uint32
	WindowClamp               uint32
	RcvSsthresh               uint32
	TsOffset                  uint32
	Srtt                      uint32 // smoothed RTT << 3, in microseconds
	Rttvar                    uint32
	RetransOut                uint32
	PacketsOut                uint32
	TotalRetrans              uint32
	SegsIn, SegsOut           uint64
	DataSegsIn, DataSegsOut   uint64
	BytesReceived, BytesAcked uint64
	BytesSent, BytesRetrans   uint64 // payload sent, and the part of it sent again
	Delivered                 uint32 // segments the peer acknowledged
	firstTxMstamp             int64  // first_tx_mstamp: send time of the newest skb a rate sample took
	Lsndtime                  int64  // when data was last sent (ns)
	SndSml                    uint32 // end of the last partial segment sent (Nagle, Minshall's variant)
	PushedSeq                 uint32 // write_seq at the last PSH mark
	RcvTstamp                 int64  // when an ACK last arrived (ns)
	TotalRto                  uint16 // RTO expiries, the SYN's included
	TotalRtoRecoveries        uint16 // runs of RTO expiries
	TotalRtoTime              uint32 // ms spent in finished RTO recoveries
	HighSeq                   uint32 // snd_nxt when loss recovery began
	TlpHighSeq                uint32 // snd_nxt when the tail loss probe went (0: none outstanding)

	outOfOrderQueue skb.SkBuffHead // an rb-tree by seq in the kernel; a sorted list here
	// rcvOoopack counts segments that went to the out-of-order queue.
	rcvOoopack      uint32
	rtxQueue        skb.SkBuffHead    // tcp_rtx_queue: an rb-tree in the kernel; in seq order here
	retransmitTimer *Timer            // icsk_retransmit_timer
	icskPending     uint8             // icsk_pending: what the retransmit timer runs as (ICSK_TIME_*)
	caOps           *tcpCongestionOps // icsk_ca_ops
	keepaliveTimer  *Timer            // sk_timer, as the keepalive timer
	cubic           bictcp            // icsk_ca_priv when caOps is CUBIC
	delackTimer     *Timer            // icsk_delack_timer
	ack             icskAck           // icsk_ack
	mdevMaxUs       uint32
	rttSeq          uint32
	sndCwndCnt      uint32 // snd_cwnd_cnt: ACKed segments toward the next cwnd increase
	sackedOut       uint32 // sacked_out: SACKed segments; without SACK, duplicate ACKs (tcp_add_reno_sack)
	rtoStamp        int64  // when the current RTO recovery began (valid if inRto)
	inRto           bool
	rttMin          uint32 // rtt_min: the least RTT sample in the window, µs (~0: none)
	rttMinStamp     int64

	// The loss-recovery scoreboard (tcp_sacktag_write_queue, RACK, PRR).
	lostOut         uint32                          // lost_out: segments marked lost, not yet acknowledged
	lost            uint32                          // lost: segments ever marked lost
	highestSack     uint32                          // end_seq of the highest SACKed segment (tcp_highest_sack_seq); valid while sackedOut > 0
	reordSeen       uint32                          // reord_seen: reordering events observed
	dsackDups       uint32                          // dsack_dups: segments the peer reported twice
	priorCwnd       uint32                          // prior_cwnd: cwnd when the reduction began (PRR)
	priorSsthresh   uint32                          // prior_ssthresh: ssthresh to restore if the reduction is undone
	prrDelivered    uint32                          // prr_delivered: segments delivered since then
	prrOut          uint32                          // prr_out: segments sent since then
	undoMarker      uint32                          // undo_marker: snd_una when recovery began (0: no recovery to undo)
	undoRetrans     int32                           // undo_retrans: retransmissions of the episode not yet proven needless (-1: none)
	retransStamp    int64                           // retrans_stamp: when the episode's first retransmission went
	retransStampSet bool                            // retrans_stamp is set (the kernel's 0 means unset; the model's clock starts at 0)
	IcskUserTimeout uint32                          // icsk_user_timeout: TCP_USER_TIMEOUT in ms (0: none)
	Linger2         int64                           // linger2: TCP_LINGER2 in ns (0: tcp_fin_timeout; -1: reset in FIN_WAIT2)
	NotsentLowat    uint32                          // notsent_lowat: TCP_NOTSENT_LOWAT (0: the sysctl)
	SynCnt          uint8                           // icsk_syn_retries: TCP_SYNCNT (0: the sysctl)
	frto            bool                            // frto: F-RTO (RFC 5682) is judging the current RTO
	tlpRetrans      bool                            // tlp_retrans: the loss probe was a retransmission
	rack            tcpRack                         // tp->rack
	lastOowAckTime  uint32                          // last_oow_ack_time: jiffies of the last rate-limited ACK (0: none)
	selectiveAcks   [TCP_NUM_SACKS]header.SackBlock // selective_acks: most recently changed first
	numSacks        int                             // rx_opt.num_sacks
	dsack           bool                            // rx_opt.dsack: the next ACK carries duplicateSack
	duplicateSack   header.SackBlock                // duplicate_sack[0]
	txNum           uint64                          // transmissions so far (orders sends at one instant, see tcp_cb.go)
	isCwndLimited   bool                            // is_cwnd_limited: cwnd was the limit in this round
	maxPacketsOut   uint32                          // max_packets_out: the most in flight in this round
	cwndUsageSeq    uint32                          // cwnd_usage_seq: the round ends when snd_una passes it
	sndCwndUsed     uint32                          // snd_cwnd_used: the most in flight while not cwnd-limited
	sndCwndStamp    int64                           // snd_cwnd_stamp: when cwnd last grew or was fully used
	tsqFlags        uint32                          // sk_tsq_flags: TSQF_* and TCP_TSQ_DEFERRED
	mtuInfo         uint32                          // mtu_info: the MTU the last ICMP fragmentation needed gave
	headerLen       uint32                          // tcp_header_len (see tcpHeaderLen)
	probesTstamp    int64                           // icsk_probes_tstamp: when the first unanswered zero-window probe was due
	probesTstampSet bool                            // the kernel's probes_tstamp != 0
	// SACK compression (tcp_comp_sack_*): ACKs owed while the
	// out-of-order queue holds data, after the first three.
	compressedAck       uint32 // compressed_ack: ACKs held back so far
	compressedAckRcvNxt uint32 // compressed_ack_rcv_nxt: rcv_nxt when the count began
	dupAckCounter       uint8  // dup_ack_counter: immediate duplicate ACKs at this rcv_nxt
	compressedAckTimer  *Timer // compressed_ack_timer
}

// tcpParseOptions applies header.ParseTCPOptions the way tcp_parse_options
// fills tcp_options_received: MSS, window scale and SACK-permitted count
// only on a SYN, timestamps whenever present.
func tcpParseOptions(opts []byte, syn bool, rx *TcpOptionsReceived) header.TCPOptions {
	o := header.ParseTCPOptions(opts)
	tcpApplyOptions(o, syn, rx)
	return o
}

// tcpParseOptionsUnestab is tcp_parse_options for a segment that meets no
// established connection (estab = 0: a listener, a request sock, a
// socket in SYN_SENT, a timewait sock): with net.ipv4.tcp_timestamps off,
// the timestamp option is not read at all.
func (k *Kernel) tcpParseOptionsUnestab(opts []byte, syn bool, rx *TcpOptionsReceived) header.TCPOptions {
	o := tcpParseOptions(opts, syn, rx)
	if k.net.Sysctl.TcpTimestamps == 0 {
		rx.SawTstamp, rx.RcvTsval, rx.RcvTsecr = false, 0, 0
	}
	return o
}

// tcpApplyOptions is the second half of tcp_parse_options: already
// parsed options into tcp_options_received.
func tcpApplyOptions(o header.TCPOptions, syn bool, rx *TcpOptionsReceived) {
	rx.SawTstamp = o.HasTS
	if o.HasTS {
		rx.RcvTsval, rx.RcvTsecr = o.TSval, o.TSecr
	}
	if syn {
		if o.HasMSS && o.MSS != 0 {
			// The peer's MSS, capped by ours from TCP_MAXSEG (user_mss).
			rx.MssClamp = o.MSS
			if rx.UserMss != 0 && rx.UserMss < o.MSS {
				rx.MssClamp = rx.UserMss
			}
		}
		if o.HasWScale {
			rx.WscaleOk = true
			rx.SndWscale = o.WScale
		}
		rx.SackOk = o.SackOK
	}
}
