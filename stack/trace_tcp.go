package stack

import "github.com/stackscope/stackscope/tracing"

var (
	fnIpQueueXmit, fnTcpTransmitSkb, fnTcpSendAck, fnTcpConnect, fnTcpV4Rcv, fnInetLookupSkb        tracing.FuncID
	fnTcpAddBacklog, fnTcpV4DoRcv, fnTcpV4SendReset, fnTcpV4ConnRequest, fnTcpConnRequest           tracing.FuncID
	fnTcpSynFloodAction, fnInetReqskAlloc, fnInetCskReqskQueueHashAdd, fnTcpV4SendSynack            tracing.FuncID
	fnReqskTimerHandler, fnInetCskReqskQueueDrop, fnTcpCheckReq, fnTcpV4SynRecvSock                 tracing.FuncID
	fnTcpCreateOpenreqChild, fnSkCloneLock, fnInetCskCompleteHashdance, fnInetCskReqskQueueAdd      tracing.FuncID
	fnTcpChildProcess, fnInetStreamConnect, fnInetWaitForConnect, fnTcpV4Connect, fnInetHashConnect tracing.FuncID
	fnTcpRcvStateProcess, fnTcpRcvSynsentStateProcess, fnTcpFinishConnect, fnTcpReset, fnTcpDone    tracing.FuncID
	fnTcpAck, fnTcpCleanRtxQueue, fnTcpRcvEstablished, fnTcpDataQueue, fnTcpFin, fnTcpWriteTimer    tracing.FuncID
	fnTcpRetransmitTimer, fnTcpRetransmitSkb, fnTcpSendActiveReset                                  tracing.FuncID
	fnTcpSendmsg, fnTcpWriteXmit, fnTcpRecvmsg, fnTcpSendProbe0, fnTcpPruneQueue, fnTcpCollapse,
	fnTcpSendFin, fnTcpTimeWait, fnTwTimerHandler, fnTcpCloseState, fnTcpShutdown, fnTcpDataSndCheck, fnTcpCleanupRbuf,
	fnTcpFragment, fnTcpSyncMss, fnTcpValidateIncoming, fnTcpConnectInit, fnTcpRttEstimator,
	fnTcpTimewaitStateProcess, fnInetCheckEstablished, fnTcpRenoCongAvoid, fnTcpSendSynack, fnSecureTCPSeq,
	fnTcpV4ReqskSendAck, fnInetInheritPort, fnTcpSelectInitialWindow, fnInetCskResetXmitTimer, fnTcpClearXmitTimers tracing.FuncID
	fnTcpDataQueueOfo, fnTcpOfoQueue, fnTcpV4TimewaitAck                                                         tracing.FuncID
	fnTcpAckSndCheck, fnTcpSendDelayedAck, fnTcpDelackTimer, fnTcpSndbufExpand                                   tracing.FuncID
	fnTcpQueueRcv, fnTcpTryRmemSchedule, fnTcpEventDataRecv, fnTcpEventAckSent, fnTcpNewSpace                    tracing.FuncID
	fnTcpFastretransAlert, fnTcpCwndRestart, fnTcpScheduleLossProbe, fnTcpSendLossProbe, fnCubictcpCongAvoid     tracing.FuncID
	fnTcpKeepaliveTimer                                                                                          tracing.FuncID
	fnTcpSacktagWriteQueue, fnTcpMarkSkbLost, fnTcpRackDetectLoss, fnTcpRackReoTimeout, fnTcpEnterRecovery       tracing.FuncID
	fnTcpCwndReduction, fnTcpEnterLoss, fnTcpXmitRetransmitQueue, fnTcpWriteErr, fnTcpUndoCwndReduction          tracing.FuncID
	fnTcpSendChallengeAck, fnTcpSendDupack, fnTcpDsackSet, fnTcpProcessTlpAck, fnTcpCheckSackReordering          tracing.FuncID
	fnTcpSackNewOfoSkb, fnTcpInitCwndReduction, fnTcpEndCwndReduction, fnTcpPawsDiscard                          tracing.FuncID
	fnTcpDoneWithError, fnTcpWriteQueuePurge, fnSkStreamWriteSpace, fnSkStreamWaitClose                          tracing.FuncID
	fnTcpTryUndoSpuriousSyn, fnTcpInitMetrics, fnInetRtxSynAck, fnTcpGrowSkb, fnTcpMarkHeadLost                  tracing.FuncID
	fnTcpCheckSackReneging, fnTcpSetRcvlowat                                                                     tracing.FuncID
	fnTcpInitBufferSpace, fnTcpSynackRttMeas, fnInetTwskReschedule, fnInetTwskDeschedulePut, fnTcpTwOowRateLimit tracing.FuncID
	fnTcpTaskletFunc, fnTcpTsqHandler, fnTcpShouldAutocork                                                       tracing.FuncID
	fnTcpWfree, fnTcpSmallQueueCheck, fnSkbStillInHostQueue, fnTcpUpdatePacingRate, fnTcpAckProbe                tracing.FuncID
	fnTcpCompressedAckKick, fnTcpSackCompressSendAck, fnTcpRtxProbe0TimedOut, fnTcpReleaseCb                     tracing.FuncID
	fnTcpTwskUnique, fnTcpTryCoalesce, fnInetCskUpdateFastreuse, fnSkSetPeekOff                                  tracing.FuncID
	fnTcpCheckUrg, fnTcpUrg, fnTcpRecvUrg                                                                        tracing.FuncID
)

func init() {
	const (
		tcpInputC  = "net/ipv4/tcp_input.c"
		tcpOutputC = "net/ipv4/tcp_output.c"
		tcpIpv4C   = "net/ipv4/tcp_ipv4.c"
		tcpMiniC   = "net/ipv4/tcp_minisocks.c"
		tcpTimerC  = "net/ipv4/tcp_timer.c"
		icskC      = "net/ipv4/inet_connection_sock.c"
	)
	skSkb := []string{"sk", "skb"}
	skReq := []string{"sk", "req"}
	sk := []string{"sk"}
	fnIpQueueXmit = reg("__ip_queue_xmit", ipOutputC, (*Kernel).ipQueueXmit, []string{"skb", "daddr"},
		"TCP's way into IP: uses the route cached on the socket, pushes the IPv4 header (addresses, TTL, DF, a fresh id) "+
			"and sends the packet with ip_local_out.")
	fnTcpTransmitSkb = reg("__tcp_transmit_skb", tcpOutputC, (*Kernel).tcpTransmitSkb, skSkb,
		"Sends one segment: clones it (the original stays on the retransmit queue), pushes the TCP header with the "+
			"current ack number, window and options, checksums it and hands it to ip_queue_xmit.")
	fnTcpSendAck = reg("__tcp_send_ack", tcpOutputC, (*Kernel).tcpSendAck, sk,
		"Sends a bare ACK: a header-only segment carrying rcv_nxt and the receive window.")
	fnTcpConnect = reg("tcp_connect", tcpOutputC, (*Kernel).tcpConnect, sk,
		"Builds the SYN (with MSS, SACK, timestamp and window-scale options), queues it for retransmission, sends it "+
			"and arms the retransmit timer (initial RTO 1 s).")
	fnTcpV4Rcv = reg("tcp_v4_rcv", tcpIpv4C, (*Kernel).tcpV4Rcv, []string{"skb"},
		"TCP's receive entry: checks the header and checksum, finds the socket (established, request, time-wait or "+
			"listening) and passes the segment on. No socket at all: answer with a RST.")
	fnInetLookupSkb = reg("__inet_lookup_skb", "include/net/inet_hashtables.h", (*Kernel).inetLookupSkb, []string{"daddr", "dport"},
		"Finds a segment's socket: the four-tuple in ehash first, then the listeners in lhash2 (an exact address beats INADDR_ANY).")
	fnTcpAddBacklog = reg("tcp_add_backlog", tcpIpv4C, (*Kernel).tcpAddBacklog, skSkb,
		"A process holds the socket lock, so softirq may not touch the socket: the segment waits on sk_backlog until "+
			"release_sock processes it (tcp_v4_do_rcv from process context). Over sk_rcvbuf+sk_sndbuf it is dropped.")
	fnTcpV4DoRcv = reg("tcp_v4_do_rcv", tcpIpv4C, (*Kernel).tcpV4DoRcv, skSkb,
		"Dispatches by state: ESTABLISHED to tcp_rcv_established, everything else to tcp_rcv_state_process; sends a "+
			"RST when the state machine asks for one.")
	fnTcpV4SendReset = reg("tcp_v4_send_reset", tcpIpv4C, (*Kernel).tcpV4SendReset, []string{"skb"},
		"Answers a segment with a RST built from its own header: seq = its ack if it had one, otherwise ack = the "+
			"end of what it occupied. Never in reply to a RST.")
	fnTcpV4ConnRequest = reg("tcp_v4_conn_request", tcpIpv4C, (*Kernel).tcpV4ConnRequest, skSkb,
		"A SYN reached a listener: drops broadcasts and multicasts, then calls tcp_conn_request.")
	fnTcpConnRequest = reg("tcp_conn_request", tcpInputC, (*Kernel).tcpConnRequest, skSkb,
		"Handles a SYN on a listener: if the SYN queue is full it answers with a SYN cookie (keeping no request sock) or "+
			"drops it; if the accept queue is full it is dropped; otherwise a request sock records the peer's options, an "+
			"initial sequence number is chosen, and the SYN-ACK goes out.")
	fnTcpSynFloodAction = reg("tcp_syn_flood_action", tcpInputC, (*Kernel).tcpSynFloodAction, []string{"sk", "qlen"},
		"The listener's SYN queue is full (or tcp_syncookies=2): with syncookies on, the SYN is answered with a cookie "+
			"(TCPReqQFullDoCookies), otherwise dropped (TCPReqQFullDrop); the first time it logs \"Possible SYN flooding\".")
	fnInetReqskAlloc = reg("inet_reqsk_alloc", tcpInputC, (*Kernel).inetReqskAlloc, sk,
		"Allocates a request sock from request_sock_TCP: a small sock in state NEW_SYN_RECV standing for a half-open connection.")
	fnInetCskReqskQueueHashAdd = reg("inet_csk_reqsk_queue_hash_add", icskC, (*Kernel).inetCskReqskQueueHashAdd, skReq,
		"Puts the request sock in ehash (so the final ACK finds it), counts it in the listener's queue and arms its "+
			"SYN-ACK retransmit timer.")
	fnTcpV4SendSynack = reg("tcp_v4_send_synack", tcpIpv4C, (*Kernel).tcpV4SendSynack, []string{"req"},
		"Builds and sends the SYN-ACK for a request sock, with the options the peer offered and we accept.")
	fnReqskTimerHandler = reg("reqsk_timer_handler", icskC, (*Kernel).reqskTimerHandler, []string{"req"},
		"The SYN-ACK was not answered in time: resend it with a doubled timeout, up to tcp_synack_retries times, then "+
			"drop the request sock.")
	fnInetCskReqskQueueDrop = reg("inet_csk_reqsk_queue_drop", icskC, (*Kernel).inetCskReqskQueueDrop, []string{"req"},
		"Takes a request sock out of ehash and the listener's queue count and stops its timer.")
	fnTcpCheckReq = reg("tcp_check_req", tcpMiniC, (*Kernel).tcpCheckReq, skReq,
		"A segment for a half-open connection: a retransmitted SYN gets the SYN-ACK again; an ACK of our SYN-ACK "+
			"creates the full socket (syn_recv_sock) and queues it for accept().")
	fnTcpV4SynRecvSock = reg("tcp_v4_syn_recv_sock", tcpIpv4C, (*Kernel).tcpV4SynRecvSock, skReq,
		"Makes the child socket of an accepted connection: checks the accept queue, clones the listener, takes the "+
			"addresses and options from the request sock and puts the child in ehash in place of the request.")
	fnTcpCreateOpenreqChild = reg("tcp_create_openreq_child", tcpMiniC, (*Kernel).tcpCreateOpenreqChild, skReq,
		"Fills in the child's TCP state from the handshake: sequence numbers, windows, MSS, negotiated options.")
	fnSkCloneLock = reg("sk_clone_lock", "net/core/sock.c", (*Kernel).skCloneLock, sk,
		"Allocates a new sock from the listener's slab cache and copies the listener into it: the child inherits its "+
			"options and buffer sizes.")
	fnInetCskCompleteHashdance = reg("inet_csk_complete_hashdance", icskC, (*Kernel).inetCskCompleteHashdance, []string{"sk", "child"},
		"Finishes the handshake: drops the request sock from the listener's queue and adds the child to the accept queue.")
	fnInetCskReqskQueueAdd = reg("inet_csk_reqsk_queue_add", icskC, (*Kernel).inetCskReqskQueueAdd, skReq,
		"Appends the request sock, now carrying its child, to the listener's accept queue and wakes accept().")
	fnTcpChildProcess = reg("tcp_child_process", tcpMiniC, (*Kernel).tcpChildProcess, []string{"parent", "child"},
		"Feeds the handshake-completing ACK to the child (tcp_rcv_state_process: SYN_RECV to ESTABLISHED) and wakes the listener.")
	fnInetStreamConnect = reg("inet_stream_connect", afInetC, (*Kernel).inetStreamConnect, []string{"sock", "addrlen"},
		"connect() on a stream socket: starts the handshake (the protocol's connect) and, unless non-blocking, sleeps "+
			"until it completes, fails or times out.")
	fnInetWaitForConnect = reg("inet_wait_for_connect", afInetC, (*Kernel).inetWaitForConnect, []string{"sk", "timeo"},
		"Sleeps on the socket's wait queue while it is in SYN_SENT or SYN_RECV.")
	fnTcpV4Connect = reg("tcp_v4_connect", tcpIpv4C, (*Kernel).tcpV4Connect, []string{"sk", "daddr"},
		"Routes to the peer, fixes the source address, moves to SYN_SENT, binds a port and hashes the socket "+
			"(inet_hash_connect), picks the initial sequence number and sends the SYN (tcp_connect).")
	fnInetHashConnect = reg("__inet_hash_connect", "net/ipv4/inet_hashtables.c", (*Kernel).inetHashConnect, sk,
		"Chooses an ephemeral port for a connecting socket: starting at a hash of the four-tuple plus a per-destination "+
			"perturbation, every other port, taking the first whose four-tuple is unique in ehash.")
	fnTcpRcvStateProcess = reg("tcp_rcv_state_process", tcpInputC, (*Kernel).tcpRcvStateProcess, []string{"sk", "skb", "state"},
		"The TCP state machine for every state but ESTABLISHED: handshake steps, acceptability checks, ACK processing, "+
			"then data and FIN.")
	fnTcpRcvSynsentStateProcess = reg("tcp_rcv_synsent_state_process", tcpInputC, (*Kernel).tcpRcvSynsentStateProcess, skSkb,
		"The reply to our SYN: a SYN-ACK that acknowledges it establishes the connection; a RST refuses it; a bare SYN "+
			"is a simultaneous open.")
	fnTcpFinishConnect = reg("tcp_finish_connect", tcpInputC, (*Kernel).tcpFinishConnect, sk,
		"The active open is complete: ESTABLISHED, and connect() wakes.")
	fnTcpReset = reg("tcp_reset", tcpInputC, (*Kernel).tcpReset, sk,
		"A RST was accepted: the error (ECONNREFUSED in SYN_SENT, EPIPE in CLOSE_WAIT, else ECONNRESET) goes to sk_err and the sock is done.")
	fnTcpDone = reg("tcp_done", tcpC, (*Kernel).tcpDone, sk,
		"The connection is over: CLOSE, timers stopped, both directions shut, and whoever waits is woken.")
	fnTcpAck = reg("tcp_ack", tcpInputC, (*Kernel).tcpAck, []string{"sk", "ack"},
		"Processes an acknowledgement: an ACK of something not yet sent is refused, an old one ignored; a new one "+
			"advances snd_una, updates the send window and frees what is acknowledged from the retransmit queue.")
	fnTcpCleanRtxQueue = reg("tcp_clean_rtx_queue", tcpInputC, (*Kernel).tcpCleanRtxQueue, sk,
		"Frees fully acknowledged segments from the retransmit queue, takes an RTT sample from one never retransmitted "+
			"and re-arms or stops the retransmit timer.")
	fnTcpRcvEstablished = reg("tcp_rcv_established", tcpInputC, (*Kernel).tcpRcvEstablished, skSkb,
		"Receive in ESTABLISHED: checks the segment is acceptable, processes its ACK, then queues its data.")
	fnTcpDataQueue = reg("tcp_data_queue", tcpInputC, (*Kernel).tcpDataQueue, skSkb,
		"Queues a segment's data: in order, on sk_receive_queue (rcv_nxt advances and a reader wakes); a FIN is "+
			"processed; out of order, it waits in the out-of-order queue; old, a duplicate ACK tells the peer what is expected.")
	fnTcpDataQueueOfo = reg("tcp_data_queue_ofo", tcpInputC, (*Kernel).tcpDataQueueOfo, skSkb,
		"A segment beyond rcv_nxt (an earlier one is missing) waits in the out-of-order queue, sorted by sequence; "+
			"the ACK repeats rcv_nxt and carries SACK blocks for what waits.")
	fnTcpAckSndCheck = reg("__tcp_ack_snd_check", tcpInputC, (*Kernel).tcpAckSndCheck, sk,
		"An ACK is owed: send it now when more than one full segment is unacknowledged and the reader has caught up, "+
			"in quick-ack mode, or when a hole is in the receive sequence; otherwise delay it.")
	fnTcpSendDelayedAck = tracing.Register(tracing.Spec{Name: "tcp_send_delayed_ack", File: tcpOutputC,
		Go: (*Kernel).tcpSendDelayedAck, Args: []string{"sk", "delay"}, Explain: "Arms the delayed-ACK timer for the ACK timeout (ato, 40 ms to 200 ms): more data, a reply or the reader may " +
			"carry the ACK before then."})
	fnTcpSndbufExpand = tracing.Register(tracing.Spec{Name: "tcp_sndbuf_expand", File: tcpInputC,
		Go: (*Kernel).tcpSndbufExpand, Args: []string{"sk", "sk_sndbuf"}, Explain: "Grows sk_sndbuf to twice the " +
			"congestion window's worth of skbs (at least 10 segments), so the writer can keep the window full."})
	pt := func(name, file string, goFn any, args []string, explain string) tracing.FuncID {
		return tracing.Register(tracing.Spec{Name: name, File: file, Go: goFn, Args: args, Explain: explain})
	}
	fnTcpScheduleLossProbe = reg("tcp_schedule_loss_probe", tcpOutputC, (*Kernel).tcpScheduleLossProbe, []string{"sk", "timeout_ns"},
		"Arms the tail loss probe (RACK-TLP, RFC 8985): two smoothed RTTs after the last send, before the RTO, "+
			"so that a lost last segment is found by an ACK rather than by a long timeout.")
	fnTcpSendLossProbe = reg("tcp_send_loss_probe", tcpOutputC, (*Kernel).tcpSendLossProbe, []string{"sk"},
		"The loss probe timer fired: a new segment goes if the window allows one, else the last segment again. "+
			"The peer's ACK, with its SACK blocks, tells which of the tail was lost. Returns whether a probe went.")
	fnTcpKeepaliveTimer = reg("tcp_keepalive_timer", "net/ipv4/tcp_timer.c", (*Kernel).tcpKeepaliveTimer, []string{"sk", "probes_out"},
		"SO_KEEPALIVE's timer: after TCP_KEEPIDLE without a word from the peer it sends a probe (an ACK for "+
			"snd_una - 1, which the peer must answer), then one every TCP_KEEPINTVL; after TCP_KEEPCNT unanswered "+
			"probes it resets the connection, which fails with ETIMEDOUT.")
	fnTcpCwndRestart = reg("tcp_cwnd_restart", tcpOutputC, (*Kernel).tcpCwndRestart, []string{"sk", "idle_jiffies"},
		"The connection was idle for longer than its RTO, so its congestion window is stale (RFC 2861): cwnd "+
			"halves for every RTO of idleness, down to the initial window of 10, and ssthresh remembers 3/4 of "+
			"the old window. Returns the new cwnd.")
	fnTcpFastretransAlert = reg("tcp_fastretrans_alert", tcpInputC, (*Kernel).tcpFastretransAlert, []string{"sk", "dupacks"},
		"The congestion state machine, run for an ACK that is a duplicate, carries SACK news, or arrives outside "+
			"the Open state. It finds what is lost (RACK with SACK, NewReno's three duplicate ACKs without), enters "+
			"Recovery when a loss is proven and leaves it once high_seq is acknowledged. Returns the state "+
			"(0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss). A recovery that D-SACKs or timestamps prove needless "+
			"is undone (tcp_undo_cwnd_reduction).")
	fnTcpSacktagWriteQueue = reg("tcp_sacktag_write_queue", tcpInputC, (*Kernel).tcpSacktagWriteQueue, []string{"sk", "blocks"},
		"Applies the ACK's SACK blocks to the retransmit queue: every segment a block covers is tagged "+
			"SACKED_ACKED and counted in sacked_out; a first block below the ACK, or inside the second, is a "+
			"D-SACK (the peer got something twice). Returns sacked_out.")
	fnTcpMarkSkbLost = pt("tcp_mark_skb_lost", tcpInputC, (*Kernel).tcpMarkSkbLost, []string{"sk", "seq"},
		"A segment is taken for lost (TCPCB_LOST, lost_out), so that tcp_xmit_retransmit_queue sends it again; "+
			"a lost retransmission stops counting as in flight.")
	fnTcpRackDetectLoss = reg("tcp_rack_detect_loss", "net/ipv4/tcp_recovery.c", (*Kernel).tcpRackDetectLoss, []string{"sk", "reo_wnd_us"},
		"RACK (RFC 8985): a segment sent before the most recently sent delivered one is lost once an RTT plus "+
			"the reordering window has passed since it was sent. Returns how many it marked.")
	fnTcpRackReoTimeout = reg("tcp_rack_reo_timeout", "net/ipv4/tcp_recovery.c", (*Kernel).tcpRackReoTimeout, []string{"sk"},
		"RACK's reordering timer: the segments that were waiting out the reordering window are now lost; "+
			"Recovery begins and they are retransmitted.")
	fnTcpEnterRecovery = reg("tcp_enter_recovery", tcpInputC, (*Kernel).tcpEnterRecovery, []string{"sk", "cwnd"},
		"Fast recovery begins: ssthresh comes from the congestion algorithm, high_seq is snd_nxt, and PRR will "+
			"bring cwnd down to ssthresh over the next round trip. Returns ssthresh.")
	fnTcpCwndReduction = pt("tcp_cwnd_reduction", tcpInputC, (*Kernel).tcpCwndReduction, []string{"sk", "cwnd"},
		"Proportional Rate Reduction (RFC 6937): in Recovery, each ACK lets out segments in proportion to what "+
			"was delivered, ssthresh/prior_cwnd of it while above ssthresh.")
	fnTcpWriteErr = pt("tcp_write_err", "net/ipv4/tcp_timer.c", (*Kernel).tcpWriteErr, []string{"sk", "retransmits"},
		"The connection is given up: tcp_write_timeout found that it retransmitted long enough (tcp_retries2's "+
			"time, tcp_syn_retries for a SYN, or TCP_USER_TIMEOUT), or tcp_rtx_probe0_timed_out that a peer with a "+
			"zero window stayed silent too long. It fails with ETIMEDOUT.")
	fnTcpUndoCwndReduction = pt("tcp_undo_cwnd_reduction", tcpInputC, (*Kernel).tcpUndoCwndReduction, []string{"sk", "prior_cwnd"},
		"The loss was not real: D-SACKs showed every retransmission arrived twice, or the echoed timestamps "+
			"showed the originals arrived. cwnd and ssthresh go back to what they were before the reduction.")
	fnTcpSendChallengeAck = pt("tcp_send_challenge_ack", tcpInputC, (*Kernel).tcpSendChallengeAck, []string{"sk", "sent"},
		"RFC 5961: an RST not exactly at rcv_nxt, or a SYN on a synchronized connection, is answered with an ACK "+
			"that shows where the connection really is, at most one per tcp_invalid_ratelimit.")
	fnTcpSendDupack = pt("tcp_send_dupack", tcpInputC, (*Kernel).tcpSendDupack, []string{"sk", "seq"},
		"A segment outside the receive window: an immediate duplicate ACK, with a D-SACK if it held data we have.")
	fnTcpDsackSet = pt("tcp_dsack_set", tcpInputC, (*Kernel).tcpDsackSet, []string{"seq", "end_seq"},
		"We got this range twice: the next ACK reports it first, as a D-SACK block (RFC 2883).")
	fnTcpProcessTlpAck = pt("tcp_process_tlp_ack", tcpInputC, (*Kernel).tcpProcessTlpAck, []string{"sk", "ack"},
		"The ACK that answers a tail loss probe: nothing was lost, or the tail was lost and repaired (cwnd is reduced once).")
	fnTcpCheckSackReordering = pt("tcp_check_sack_reordering", tcpInputC, (*Kernel).tcpCheckSackReordering, []string{"sk", "reordering"},
		"A hole was filled by its original transmission after higher data was SACKed: the path reorders, and "+
			"tp->reordering grows to the distance seen.")
	fnTcpSackNewOfoSkb = pt("tcp_sack_new_ofo_skb", tcpInputC, tcpSackNewOfoSkb, []string{"seq", "end_seq"},
		"Out-of-order data arrived: its SACK block moves to the front of the ones our ACKs carry.")
	fnTcpInitCwndReduction = pt("tcp_init_cwnd_reduction", tcpInputC, (*Kernel).tcpInitCwndReduction, []string{"sk", "ssthresh"},
		"A reduction of cwnd begins (Recovery or CWR): high_seq is snd_nxt, prior_cwnd is kept for PRR, ssthresh comes "+
			"from the congestion algorithm.")
	fnTcpEndCwndReduction = pt("tcp_end_cwnd_reduction", tcpInputC, (*Kernel).tcpEndCwndReduction, []string{"sk", "cwnd"},
		"The reduction is over: cwnd is set to ssthresh.")
	fnTcpPawsDiscard = pt("tcp_paws_discard", tcpInputC, (*Kernel).tcpPawsDiscard, []string{"sk", "tsval"},
		"PAWS (RFC 7323): the segment's timestamp is older than the newest accepted one, so it is an old duplicate "+
			"and is dropped.")
	fnTcpCheckSackReneging = pt("tcp_check_sack_reneging", tcpInputC, (*Kernel).tcpCheckSackReneging, []string{"sk", "delay_ns"},
		"snd_una moved up to data the peer had SACKed: the peer dropped it (reneged). Nothing is decided on the "+
			"scoreboard; the retransmission timer fires after half an RTT, at least 10 ms, unless an ACK clears things up.")
	fnTcpDoneWithError = pt("tcp_done_with_error", tcpInputC, (*Kernel).tcpDoneWithError, []string{"sk", "err"},
		"The connection ends with an error the user will see (a reset, a timeout): unsent data is thrown away, "+
			"the sock closes, and a process still holding it is told.")
	fnTcpWriteQueuePurge = pt("tcp_write_queue_purge", "net/ipv4/tcp.c", (*Kernel).tcpWriteQueuePurge, []string{"sk", "skbs"},
		"Frees every skb not yet sent and every one sent but not acknowledged; nothing is in flight any more.")
	fnTcpTryUndoSpuriousSyn = pt("tcp_try_undo_spurious_syn", tcpInputC, (*Kernel).tcpTryUndoSpuriousSyn, []string{"sk", "undone"},
		"The SYN or SYN-ACK timed out, but the answer echoes the first one's timestamp: it was not lost, so the "+
			"connection does not start with the smaller window.")
	fnTcpInitMetrics = pt("tcp_init_metrics", "net/ipv4/tcp_metrics.c", (*Kernel).tcpInitMetrics, []string{"sk", "rto_ns"},
		"The connection starts: ssthresh unlimited and, if the handshake gave no RTT sample (a retransmission), "+
			"an RTO of 3 s rather than 1 s (RFC 6298 5.7). No metrics of earlier connections are kept.")
	fnInetRtxSynAck = pt("inet_rtx_syn_ack", icskC, (*Kernel).inetRtxSynAck, []string{"req", "num_retrans"},
		"The SYN-ACK goes again (its timer ran out, or the peer sent its SYN again): counted in RetransSegs and "+
			"TCPSynRetrans.")
	fnSkStreamWaitClose = reg("sk_stream_wait_close", "net/core/stream.c", (*Kernel).skStreamWaitClose, []string{"sk", "timeout"},
		"close() with SO_LINGER set: the caller waits, at most the linger time, until the peer has acknowledged "+
			"our FIN (the socket leaves FIN_WAIT1, CLOSING and LAST_ACK); a signal ends the wait early.")
	fnSkStreamWriteSpace = pt("sk_stream_write_space", "net/core/stream.c", (*Kernel).skStreamWriteSpace, []string{"sk", "wspace"},
		"TCP's sk_write_space: the socket is writable again (a third of the send buffer free), so SOCK_NOSPACE "+
			"is cleared and waiting writers and pollers are woken.")
	fnTcpSetRcvlowat = pt("tcp_set_rcvlowat", "net/ipv4/tcp.c", (*Kernel).tcpSetRcvlowat, []string{"sk", "rcvlowat"},
		"SO_RCVLOWAT: the mark is capped at half of what the receive buffer may become, and the buffer grows to "+
			"what a window of that size needs (unless SO_RCVBUF fixed it), so that the peer can fill it.")
	fnTcpEnterLoss = reg("tcp_enter_loss", tcpInputC, (*Kernel).tcpEnterLoss, []string{"sk"},
		"The RTO fired: every segment not SACKed is taken for lost, ssthresh is set, cwnd falls to what is in "+
			"flight plus one, and the Loss state lasts until snd_nxt is acknowledged. Returns lost_out.")
	fnTcpXmitRetransmitQueue = reg("tcp_xmit_retransmit_queue", tcpOutputC, (*Kernel).tcpXmitRetransmitQueue, []string{"sk", "lost_out"},
		"Retransmits the segments marked lost, lowest first, while cwnd has room over what is in flight. "+
			"Returns how many went.")
	fnTcpQueueRcv = pt("tcp_queue_rcv", tcpInputC, (*Kernel).tcpQueueRcv, []string{"sk", "len"},
		"An in-order segment joins sk_receive_queue, charged to the socket's receive memory; rcv_nxt moves past it. "+
			"A FIN with no data joins it too (or marks the tail skb it merges into): it waits there until a read consumes it.")
	fnTcpTryRmemSchedule = pt("tcp_try_rmem_schedule", tcpInputC, (*Kernel).tcpTryRmemSchedule, []string{"sk", "ok"},
		"Is there room in the receive buffer for one more segment? Over sk_rcvbuf, the queue is collapsed first "+
			"(tcp_prune_queue); still over, the segment is dropped.")
	fnTcpEventDataRecv = pt("tcp_event_data_recv", tcpInputC, (*Kernel).tcpEventDataRecv, []string{"sk", "ato_us"},
		"Data came: an ACK is now owed. The first data starts quick-ack mode; after that the ACK timeout (ato) "+
			"follows the gaps between arrivals. It also learns the peer's segment size (tcp_measure_rcv_mss).")
	fnTcpEventAckSent = pt("tcp_event_ack_sent", tcpOutputC, (*Kernel).tcpEventAckSent, []string{"quick", "pending"},
		"A segment carrying our ACK went out: the owed ACK is paid, the delayed-ACK timer is no longer needed, "+
			"and quick-ack mode uses up one of its ACKs.")
	fnTcpNewSpace = pt("tcp_new_space", tcpInputC, (*Kernel).tcpNewSpace, []string{"sk", "sk_sndbuf"},
		"ACKs freed send-buffer space: grow the buffer if the window grew, and wake a writer waiting for room.")
	fnTcpInitBufferSpace = pt("tcp_init_buffer_space", tcpInputC, (*Kernel).tcpInitBufferSpace, []string{"sk", "sk_sndbuf"},
		"The connection is established: unless SO_SNDBUF fixed it, the send buffer grows to what the initial "+
			"window needs (tcp_sndbuf_expand).")
	fnTcpSynackRttMeas = pt("tcp_synack_rtt_meas", tcpInputC, (*Kernel).tcpSynackRttMeas, []string{"sk", "rtt_us"},
		"The final ACK of a handshake: the time since our SYN-ACK is the child's first RTT sample, unless the "+
			"SYN-ACK was retransmitted.")
	fnInetTwskReschedule = pt("inet_twsk_reschedule", "net/ipv4/inet_timewait_sock.c", (*Kernel).inetTwskReschedule,
		[]string{"tw", "timeo"}, "The timewait sock lives timeo from now (60 s in TIME_WAIT).")
	fnInetTwskDeschedulePut = pt("inet_twsk_deschedule_put", "net/ipv4/inet_timewait_sock.c", (*Kernel).inetTwskDeschedulePut,
		[]string{"tw", ""}, "The timewait sock dies before its time (a RST, or a new SYN taking its four-tuple).")
	fnTcpTwOowRateLimit = pt("tcp_timewait_check_oow_rate_limit", tcpMiniC, (*Kernel).tcpTimewaitCheckOowRateLimit,
		[]string{"tw", "ack"}, "ACK an out-of-window segment on behalf of a timewait sock, but not more often than "+
			"tcp_invalid_ratelimit (500 ms).")
	fnTcpDelackTimer = reg("tcp_delack_timer", tcpTimerC, (*Kernel).tcpDelackTimer, sk,
		"The delayed ACK is due and nothing carried it: it goes out now; ato doubles for a one-way transfer, and an "+
			"interactive connection leaves pingpong mode.")
	fnTcpOfoQueue = reg("tcp_ofo_queue", tcpInputC, (*Kernel).tcpOfoQueue, sk,
		"The hole is filled: out-of-order segments that now follow rcv_nxt move to the receive queue.")
	fnTcpFin = reg("tcp_fin", tcpInputC, (*Kernel).tcpFin, sk,
		"The peer sent FIN: receive is shut down, ESTABLISHED becomes CLOSE_WAIT, and readers see end of file.")
	fnTcpWriteTimer = reg("tcp_write_timer", tcpTimerC, (*Kernel).tcpWriteTimer, sk,
		"The retransmit timer fired: if the socket is owned by a process the work is deferred, else tcp_retransmit_timer runs.")
	fnTcpRetransmitTimer = reg("tcp_retransmit_timer", tcpTimerC, (*Kernel).tcpRetransmitTimer, sk,
		"The RTO fired: every unacknowledged segment is taken for lost (tcp_enter_loss), the oldest goes again and "+
			"the RTO doubles (exponential backoff; a SYN's first 4 retransmissions keep 1 s). tcp_write_timeout gives up "+
			"first, with ETIMEDOUT, after tcp_syn_retries (+4) SYNs, tcp_retries2's time for data, or TCP_USER_TIMEOUT.")
	fnTcpRetransmitSkb = reg("__tcp_retransmit_skb", tcpOutputC, nil, skSkb,
		"Sends a segment of the retransmit queue again (RetransSegs).")
	fnTcpSendActiveReset = reg("tcp_send_active_reset", tcpOutputC, (*Kernel).tcpSendActiveReset, sk,
		"Aborts the connection from our side: a RST with the next sequence number, no retransmission.")
	fnTcpSendmsg = reg("tcp_sendmsg", tcpC, (*Kernel).tcpSendmsg, []string{"sk", "len"},
		"Copies the user's bytes into MSS-sized skbs on sk_write_queue and pushes them; sleeps when sk_wmem_queued "+
			"reaches sk_sndbuf until ACKs free space.")
	fnTcpWriteXmit = reg("tcp_write_xmit", tcpOutputC, (*Kernel).tcpWriteXmit, sk,
		"Sends queued segments while the peer's window and the congestion window allow; each moves to the "+
			"retransmit queue until it is acknowledged.")
	fnTcpRecvmsg = reg("tcp_recvmsg", tcpC, (*Kernel).tcpRecvmsg, []string{"sk", "len", "flags"},
		"Copies in-order bytes from sk_receive_queue to the user (copied_seq advances), sleeping while there are "+
			"none. The skb carrying the peer's FIN ends the read: its sequence number is consumed and the skb freed, "+
			"and from then on reads return 0 (end of file). A reader who made room may send a window update.")
	fnTcpSendProbe0 = tracing.Register(tracing.Spec{Name: "tcp_send_probe0", File: tcpOutputC, Args: []string{"sk", "snd_wnd"},
		Explain: "The peer's receive window is zero while data waits: a probe with an old sequence number asks it for a window update."})
	fnTcpPruneQueue = reg("tcp_prune_queue", tcpInputC, (*Kernel).tcpPruneQueue, sk,
		"The socket holds more memory than sk_rcvbuf allows (PruneCalled): first both queues are collapsed "+
			"(tcp_collapse), their data copied into compact page-sized skbs so that truesize comes close to the bytes "+
			"held; only if that is not enough is out-of-order data thrown away, and failing that the new segment "+
			"(RcvPruned).")
	fnTcpCollapse = reg("tcp_collapse", tcpInputC, (*Kernel).tcpCollapse, []string{"sk", "start"},
		"Copies a run of received skbs, from the first one that wastes memory, into page-sized skbs "+
			"(SKB_MAX_ORDER(0, 0): 3776 bytes of data each) and frees the originals (TCPRcvCollapsed each). "+
			"A segment with FIN ends the run.")
	fnTcpSendFin = reg("tcp_send_fin", tcpOutputC, (*Kernel).tcpSendFin, sk,
		"Queues our FIN after any unsent data (it takes one sequence number) and pushes it out.")
	fnTcpTimeWait = reg("tcp_time_wait", tcpMiniC, (*Kernel).tcpTimeWait, []string{"sk", "state"},
		"The connection is finished on our side: a small timewait sock from tw_sock_TCP takes the full sock's place "+
			"in ehash and in the port's bind bucket for 60 s (TIME_WAIT), so that late segments of this connection "+
			"cannot be taken for a new one; the full sock is done and freed.")
	fnTwTimerHandler = reg("tw_timer_handler", "net/ipv4/inet_timewait_sock.c", (*Kernel).twTimerHandler, []string{"tw"},
		"TIME_WAIT is over: the tw leaves ehash and its bind bucket (inet_twsk_kill), the port is free, and the "+
			"object goes back to tw_sock_TCP.")
	fnTcpV4TimewaitAck = reg("tcp_v4_timewait_ack", tcpIpv4C, (*Kernel).tcpV4TimewaitAck, []string{"tw"},
		"An ACK sent on behalf of a TIME_WAIT sock, from the sequence numbers, window and timestamp it kept.")
	fnTcpCloseState = reg("tcp_close_state", tcpC, (*Kernel).tcpCloseState, []string{"sk", "state"},
		"Our side is done sending: ESTABLISHED becomes FIN_WAIT1 and CLOSE_WAIT becomes LAST_ACK, both with a FIN to send; "+
			"a connection not yet synchronized simply closes.")
	fnTcpShutdown = reg("tcp_shutdown", tcpC, (*Kernel).tcpShutdown, []string{"sk", "how"},
		"shutdown(SHUT_WR) on a connection: our FIN goes out after the queued data; reading stays possible.")
	fnTcpDataSndCheck = reg("tcp_data_snd_check", tcpInputC, (*Kernel).tcpDataSndCheck, sk,
		"After an ACK: send what the opened windows allow, and wake a writer waiting for buffer space.")
	fnTcpCleanupRbuf = reg("tcp_cleanup_rbuf", tcpC, (*Kernel).tcpCleanupRbuf, sk,
		"After a read: if the window we may offer has at least doubled, tell the peer now (a window update).")
	fnTcpFragment = reg("tcp_fragment", tcpOutputC, (*Kernel).tcpFragment, []string{"sk", "skb", "len"},
		"Splits a queued segment in two so that the first part fits the peer's window.")
	fnTcpGrowSkb = reg("tcp_grow_skb", tcpOutputC, (*Kernel).tcpGrowSkb, []string{"sk", "skb", "amount"},
		"The first waiting segment is shorter than what may go now (one MSS here): bytes move into it from the "+
			"segment behind it, and one emptied that way is freed, its PSH or FIN passing on.")
	fnTcpMarkHeadLost = reg("tcp_mark_head_lost", tcpInputC, (*Kernel).tcpMarkHeadLost, []string{"sk", "packets", "mark_head"},
		"The classic loss rule (RACK off): segments from the head of the retransmit queue are lost until more "+
			"than packets SACKed ones lie behind them; or only the head.")
	fnTcpSyncMss = tracing.Register(tracing.Spec{Name: "tcp_sync_mss", File: tcpOutputC, Go: (*Kernel).tcpSyncMss,
		Args: []string{"sk", "mss_cache"}, Explain: "Recomputes the segment size we send: the peer's MSS, less the timestamp option if it is on."})
	fnTcpValidateIncoming = reg("tcp_validate_incoming", tcpInputC, (*Kernel).tcpValidateIncoming, skSkb,
		"Is the segment acceptable? Outside the receive window it gets a duplicate ACK; a RST must hit rcv_nxt exactly "+
			"(else a challenge ACK, RFC 5961); a SYN on a synchronized connection gets a challenge ACK.")
	fnTcpConnectInit = reg("tcp_connect_init", tcpOutputC, (*Kernel).tcpConnectInit, sk,
		"Sets up a connecting socket: MSS from the route, the initial receive window and window scale "+
			"(tcp_select_initial_window), RTO 1 s.")
	fnTcpRttEstimator = tracing.Register(tracing.Spec{Name: "tcp_rtt_estimator", File: tcpInputC, Go: (*Kernel).tcpRttEstimator,
		Args: []string{"rtt_us", "rto_ns"}, Explain: "A new RTT sample updates the smoothed RTT and its variance (RFC 6298); the RTO becomes srtt + rttvar, at least 200 ms."})
	point := func(name, file string, goFn any, args []string, inline bool, explain string) tracing.FuncID {
		return tracing.Register(tracing.Spec{Name: name, File: file, Go: goFn, Args: args, Inline: inline, Explain: explain})
	}
	fnTcpTimewaitStateProcess = reg("tcp_timewait_state_process", tcpMiniC, (*Kernel).tcpTimewaitStateProcess,
		[]string{"tw", "skb"},
		"A segment for a timewait sock. Waiting in FIN_WAIT2, the peer's FIN makes it TIME_WAIT (and is ACKed); new "+
			"data gets a RST. In TIME_WAIT a retransmitted FIN or stray segment is ACKed again and restarts the 60 s, "+
			"a RST ends it (unless tcp_rfc1337 is set), and a SYN with a higher sequence number may reuse the four-tuple. "+
			"Returns TCP_TW_SUCCESS (0), TCP_TW_RST, TCP_TW_ACK or TCP_TW_SYN.")
	fnInetCheckEstablished = point("__inet_check_established", "net/ipv4/inet_hashtables.c", (*Kernel).inetCheckEstablished,
		[]string{"lport", "taken"}, false, "Is this four-tuple already in ehash? Then connect() must try another local port, "+
			"unless the sock holding it is a TIME_WAIT that tcp_twsk_unique lets the new connection take over.")
	fnTcpTryCoalesce = point("tcp_try_coalesce", "net/ipv4/tcp_input.c", (*Kernel).tcpTryCoalesce, []string{"from", "merged"}, false,
		"Tries to merge a segment into the skb before it in the receive (or out-of-order) queue when its data follows "+
			"on from that skb's: small segments then share one skb and one truesize (TCPRcvCoalesce).")
	fnInetCskUpdateFastreuse = point("inet_csk_update_fastreuse", "net/ipv4/inet_connection_sock.c", (*Kernel).inetCskUpdateFastreuse,
		[]string{"fastreuse", "fastreuseport"}, false,
		"bind() records on the port's bucket whether its owners allow address reuse and port sharing; a port "+
			"connect() made (-1/-1) that bind() joins is no longer connect()'s to pick.")
	fnTcpCheckUrg = point("tcp_check_urg", tcpInputC, (*Kernel).tcpCheckUrg, []string{"sk", "urg_seq"}, false,
		"A segment with URG names a new urgent byte (seq + urgent pointer - 1): urg_data goes to NOTYET until it arrives. "+
			"A reader standing at an old urgent byte skips it now. The socket's owner would get SIGURG.")
	fnTcpUrg = point("tcp_urg", tcpInputC, (*Kernel).tcpUrg, []string{"sk", "byte"}, false,
		"The urgent byte is in this segment: a copy is kept in urg_data (VALID), poll reports POLLPRI and "+
			"recv(MSG_OOB) can take it. Without SO_OOBINLINE it is also cut out of the stream: reads stop in front of it and skip it.")
	fnTcpRecvUrg = point("tcp_recv_urg", tcpC, (*Kernel).tcpRecvUrg, []string{"sk", "ret"}, false,
		"recv(MSG_OOB): the urgent byte, once, never waiting: EAGAIN while it has not arrived, EINVAL when there is none "+
			"(or SO_OOBINLINE keeps it in the stream).")
	fnSkSetPeekOff = point("sk_set_peek_off", "net/core/sock.c", (*Kernel).skSetPeekOff, []string{"sk", "val"}, false,
		"SO_PEEK_OFF: where the next MSG_PEEK starts, ahead of what was read; -1 turns it off.")
	fnTcpTwskUnique = point("tcp_twsk_unique", "net/ipv4/tcp_ipv4.c", (*Kernel).tcpTwskUnique, []string{"tw", "unique"}, false,
		"May connect() take over this TIME_WAIT four-tuple? Only with timestamps (PAWS keeps the two connections apart); "+
			"a port connect() picks also needs tcp_tw_reuse (2: loopback only) and a second since the tw's last timestamp. "+
			"The new connection's first sequence number is then the old snd_nxt plus 65537.")
	fnTcpRenoCongAvoid = point("tcp_reno_cong_avoid", "net/ipv4/tcp_cong.c", (*Kernel).tcpCongAvoid, []string{"acked", "snd_cwnd"}, false,
		"Reno grows the congestion window: one segment per segment acknowledged in slow start, one per window after ssthresh.")
	fnCubictcpCongAvoid = point("cubictcp_cong_avoid", "net/ipv4/tcp_cubic.c", (*Kernel).tcpCongAvoid, []string{"acked", "snd_cwnd"}, false,
		"CUBIC grows the congestion window: slow start below ssthresh, then along a cubic curve in time since the "+
			"last loss, flat near the window where it happened and steeper away from it, never slower than Reno would.")
	fnTcpSendSynack = reg("tcp_send_synack", tcpOutputC, (*Kernel).tcpSendSynack, sk,
		"Simultaneous open: our queued SYN goes out again as a SYN-ACK.")
	fnSecureTCPSeq = point("secure_tcp_seq", "net/core/secure_seq.c", (*Kernel).secureTCPSeq, []string{"daddr", "isn"}, false,
		"The initial sequence number: a keyed hash of the four-tuple plus a clock ticking every 64 ns (RFC 6528).")
	fnTcpV4ReqskSendAck = reg("tcp_v4_reqsk_send_ack", tcpIpv4C, (*Kernel).tcpV4ReqskSendAck, []string{"req"},
		"An ACK on behalf of a request sock, for a segment that is not the final ACK of the handshake.")
	fnInetInheritPort = point("__inet_inherit_port", "net/ipv4/inet_hashtables.c", (*Kernel).inetInheritPort, []string{"child", "port"}, false,
		"The child of an accepted connection joins the listener's bind bucket: it uses the same local port.")
	fnTcpSelectInitialWindow = point("tcp_select_initial_window", tcpOutputC, (*Kernel).tcpSelectInitialWindow,
		[]string{"rcv_wnd", "rcv_wscale"}, false, "The first window we offer: the receive space rounded down to whole MSS, "+
			"and the window scale that lets the largest buffer be advertised.")
	fnInetCskResetXmitTimer = point("inet_csk_reset_xmit_timer", "include/net/inet_connection_sock.h", (*Kernel).tcpResetXmitTimer,
		[]string{"sk", "when"}, true, "Arms the retransmit timer (or the zero-window probe timer) to fire after when nanoseconds, at most 120 s.")
	fnTcpClearXmitTimers = point("tcp_clear_xmit_timers", "include/net/tcp.h", (*Kernel).tcpClearXmitTimers, sk, true,
		"Stops the retransmit and delayed-ACK timers.")
	fnTcpTaskletFunc = reg("tcp_tasklet_func", tcpOutputC, (*Kernel).tcpTaskletFunc, nil,
		"TCP Small Queues' tasklet, run after a device reported packets sent: each socket that held data back "+
			"until one of its packets left the device (autocorking) gets to send now.")
	fnTcpTsqHandler = reg("tcp_tsq_handler", tcpOutputC, (*Kernel).tcpTsqHandler, sk,
		"Sends what the socket held back (tcp_tsq_write: lost segments first, then new data), or, if a process "+
			"owns the socket, leaves it to release_sock (TCP_TSQ_DEFERRED).")
	fnTcpShouldAutocork = reg("tcp_should_autocork", "net/ipv4/tcp.c", (*Kernel).tcpShouldAutocork, skSkb,
		"Autocorking (tcp_autocorking): a write smaller than a full segment is held back while the socket has data in "+
			"flight and a packet of its own still waits in a device; when that packet leaves, tcp_wfree lets the held "+
			"data go, with whatever the program wrote meanwhile joined to it.")
	fnTcpWfree = point("tcp_wfree", tcpOutputC, (*Kernel).tcpWfree, []string{"sk", "wmem_alloc"}, false,
		"A sent packet has left its device: its bytes go back to the socket's sk_wmem_alloc, and a socket that was "+
			"throttled waiting for this goes on TCP Small Queues' tasklet list.")
	fnTcpSmallQueueCheck = point("tcp_small_queue_check", tcpOutputC, (*Kernel).tcpSmallQueueCheck, []string{"sk", "wmem_alloc"}, false,
		"TCP Small Queues holds the socket back: more than about 1 ms at its pacing rate (capped by "+
			"tcp_limit_output_bytes) already waits in its device. tcp_wfree sends the rest when that leaves.")
	fnSkbStillInHostQueue = point("skb_still_in_host_queue", tcpOutputC, (*Kernel).tcpSkbStillInHostQueue, skSkb, false,
		"The last copy of this segment has not left its device yet, so it is not sent again "+
			"(TCPSpuriousRtxHostQueues); the socket waits for tcp_wfree.")
	fnTcpUpdatePacingRate = point("tcp_update_pacing_rate", tcpInputC, (*Kernel).tcpUpdatePacingRate, []string{"sk", "rate"}, false,
		"sk_pacing_rate becomes cwnd*mss/srtt, times 200% in slow start or 120% after (bytes per second). The model "+
			"paces nothing by it; TCP Small Queues sizes its limit with it.")
	fnTcpAckProbe = reg("tcp_ack_probe", tcpInputC, (*Kernel).tcpAckProbe, sk,
		"An ACK with nothing in flight and data waiting: if the window now takes the first waiting segment, the "+
			"probe timer stops and its backoff ends; otherwise the probe timer starts again, backed off as it was.")
	fnTcpCompressedAckKick = reg("tcp_compressed_ack_kick", tcpTimerC, (*Kernel).tcpCompressedAckKick, sk,
		"SACK compression's timer: the ACK held back while data is out of order goes now.")
	fnTcpSackCompressSendAck = reg("tcp_sack_compress_send_ack", tcpInputC, (*Kernel).tcpSackCompressSendAck, sk,
		"A segment needs a third SACK block: the ACK held back by SACK compression goes first, with the two "+
			"blocks it had.")
	fnTcpRtxProbe0TimedOut = reg("tcp_rtx_probe0_timed_out", tcpTimerC, (*Kernel).tcpRtxProbe0TimedOut, []string{"sk", "rtx_delta_ms"},
		"A peer that shut its window on data in flight is given up only after twice TCP_RTO_MAX (240 s) with "+
			"nothing from it and as long retransmitting (or TCP_USER_TIMEOUT).")
	fnTcpReleaseCb = point("tcp_release_cb", tcpOutputC, (*Kernel).tcpReleaseCb, sk, false,
		"release_sock runs what TCP deferred while a process owned the socket: here, TCP Small Queues' write.")
}
