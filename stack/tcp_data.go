package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// tcpSendmsg is tcp_sendmsg -> tcp_sendmsg_locked: copy the user's bytes
// into skbs of at most one MSS on sk_write_queue, then push them out
// (tcp_push -> tcp_write_xmit). When sk_wmem_queued reaches sk_sndbuf the
// caller sleeps in sk_stream_wait_memory (or gets EAGAIN / a short count
// when non-blocking).
func (k *Kernel) tcpSendmsg(sk *sockets.Sock, data []byte, flags int, _ *sockets.SockaddrIn) (int, error) {
	tr := k.tr
	tr.Enter2(fnTcpSendmsg, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(len(data))))
	sockets.LockSock(sk)
	copied, err := k.tcpSendmsgLocked(sk, data, flags)
	sockets.ReleaseSock(sk)
	tr.Exit(fnTcpSendmsg, retInt(copied, err))
	return copied, err
}

func (k *Kernel) tcpSendmsgLocked(sk *sockets.Sock, data []byte, flags int) (int, error) {
	tp := tcpSk(sk)
	timeo := sk.SkSndtimeo
	if flags&sockets.MSG_DONTWAIT != 0 {
		timeo = 0
	}
	fail := func(copied int, err error) (int, error) {
		if copied > 0 {
			return copied, nil
		}
		return -1, err
	}
	if flags&sockets.MSG_FASTOPEN != 0 {
		// tcp_sendmsg_fastopen: TCP Fast Open is not modelled, so the
		// model answers as a kernel whose net.ipv4.tcp_fastopen lacks
		// the client bit.
		return fail(0, sockets.Errno(tracing.EOPNOTSUPP))
	}
	// sk_stream_wait_connect: a handshake in progress is waited for.
	for sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
		if timeo == 0 {
			return fail(0, sockets.Errno(tracing.EAGAIN))
		}
		sockets.ReleaseSock(sk)
		var intr bool
		if sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
			sk.SkWritePending++ // the SYN-ACK's ACK can wait for our data
			timeo, intr = k.SleepOn(sk.SkWq, false, timeo)
			sk.SkWritePending--
		}
		sockets.LockSock(sk)
		if intr {
			return fail(0, sockets.Errno(tracing.EINTR))
		}
	}
	copied := 0
	// tcp_send_mss: one MSS for the whole call (the segments and the
	// pushes), worked out again only after a wait for memory. Pending
	// SACK blocks shrink it, and the first segment sent may clear them,
	// but the call keeps the size it started with.
	mss := k.tcpCurrentMss(sk)
	// The checks run once even for a write of nothing, which fails as a
	// longer one would (tcp_sendmsg_locked checks before its copy loop).
	for first := true; first || copied < len(data); first = false {
		if sk.SkErr != 0 || sk.SkShutdown&sockets.SEND_SHUTDOWN != 0 ||
			(sk.SkcState != sockets.TCP_ESTABLISHED && sk.SkcState != sockets.TCP_CLOSE_WAIT) {
			// do_error: a write that copied something returns the count
			// and leaves the error for the next call (sk_stream_error:
			// the pending error, else EPIPE).
			if copied > 0 {
				return fail(copied, nil)
			}
			if err := sockError(sk); err != nil {
				return fail(0, err)
			}
			return fail(0, sockets.Errno(tracing.EPIPE))
		}
		if len(data) == 0 {
			break
		}
		// The tail skb, not yet sent, takes more bytes while it is
		// shorter than an MSS (tcp_sendmsg_locked copies into it).
		s := skb.SkbPeekTail(&sk.SkWriteQueue)
		if s == nil || s.Len >= mss || cbFlagsOf(s)&header.TCP_FLAG_FIN != 0 || !tcpSkbCanCollapseTo(s) {
			s = nil
		}
		if s != nil && skb.SkbTailroom(s) == 0 {
			grown, err := k.tcpGrowTail(sk, s, min(len(data)-copied, int(mss-s.Len)))
			if err != nil {
				return fail(copied, err)
			}
			s = grown
		}
		if s == nil {
			if !skStreamMemoryFree(sk, tp) {
				// sk_stream_wait_memory: push what this call queued
				// and wait for ACKs.
				if sk.SkSocket != nil {
					sk.SkSocket.SetFlag(sockets.SOCK_NOSPACE)
				}
				if copied > 0 {
					k.tcpPush(sk, flags&^sockets.MSG_MORE, TCP_NAGLE_PUSH, mss)
				}
				if timeo == 0 {
					return fail(copied, sockets.Errno(tracing.EAGAIN))
				}
				sockets.ReleaseSock(sk)
				var intr bool
				if !skStreamMemoryFree(sk, tp) && sk.SkErr == 0 {
					timeo, intr = k.SleepOn(sk.SkWq, false, timeo)
				}
				sockets.LockSock(sk)
				if intr {
					return fail(copied, sockets.Errno(tracing.EINTR))
				}
				mss = k.tcpCurrentMss(sk)
				continue
			}
			ns, err := k.tcpStreamAllocSkb(uint32(min(len(data)-copied, int(mss))))
			if err != nil {
				return fail(copied, sockets.Errno(tracing.ENOBUFS))
			}
			setCbSeq(ns, tp.WriteSeq)
			setCbEndSeq(ns, tp.WriteSeq)
			setCbFlags(ns, header.TCP_FLAG_ACK)
			k.tcpSkbEntail(sk, ns)
			s = ns
		}
		if copied == 0 {
			// A PSH an earlier call left on the tail is this call's to
			// decide (tcp_sendmsg_locked clears it on the first copy).
			setCbFlags(s, cbFlagsOf(s)&^header.TCP_FLAG_PSH)
		}
		chunk := min(len(data)-copied, int(mss-s.Len), int(skb.SkbTailroom(s)))
		skbCopyToPageNocache(sk, s, data[copied:copied+chunk])
		setCbEndSeq(s, cbEndSeqOf(s)+uint32(chunk))
		tp.WriteSeq += uint32(chunk)
		copied += chunk
		if copied == len(data) && flags&sockets.MSG_EOR != 0 {
			setCbEor(s, true) // the record ends here: nothing joins this skb
		}
		if copied == len(data) || s.Len < mss || flags&sockets.MSG_OOB != 0 {
			continue // the last bytes go with tcp_push below (all of an urgent write)
		}
		// A full segment: it may leave now, before the rest is copied.
		if tcpForcedPush(tp) {
			tcpMarkPush(tp, s)
			k.tcpPushPendingFramesMss(sk, mss, TCP_NAGLE_PUSH)
		} else if s == skb.SkbPeek(&sk.SkWriteQueue) {
			k.tcpWriteXmit(sk, mss, TCP_NAGLE_PUSH, true) // tcp_push_one
		}
	}
	if copied > 0 {
		k.tcpPush(sk, flags, tp.Nonagle, mss)
	}
	return copied, nil
}

// tcpStreamAllocSkb is tcp_stream_alloc_skb: a new skb for TCP data, from
// skbuff_fclone_cache, with MAX_TCP_HEADER reserved for the headers; it
// costs SKB_TRUESIZE of that small head (832 bytes) until payload comes.
// The kernel puts the payload in page frags behind the head; the model
// keeps it linear (skb.SkBuff.PagedHeadEnd), so it makes room for room
// bytes of it after the headroom, which the truesize does not count.
func (k *Kernel) tcpStreamAllocSkb(room uint32) (*skb.SkBuff, error) {
	s, err := skb.AllocSkbFclone(k.skbs, MaxTCPHeader+room)
	if err != nil {
		return nil, err
	}
	_ = skb.SkbReserve(s, MaxTCPHeader)
	s.PagedHeadEnd = tcpStreamHeadEnd
	s.Truesize = skb.SkbTruesize(tcpStreamHeadEnd)
	return s, nil
}

// tcpStreamHeadEnd is skb_end_offset of alloc_skb_fclone(MAX_TCP_HEADER),
// the head of every TCP data skb: a skbuff_small_head object (that cache
// is sized for MAX_TCP_HEADER), 256 usable bytes.
const tcpStreamHeadEnd = skb.SkbSmallHeadHeadroom

// skbCopyToPageNocache is skb_copy_to_page_nocache: append the user's
// bytes to s's payload and charge them, byte for byte, to s's truesize
// and sk_wmem_queued. The kernel copies into a page frag; the model
// appends to the linear buffer, which must have the room.
func skbCopyToPageNocache(sk *sockets.Sock, s *skb.SkBuff, from []byte) {
	b, _ := skb.SkbPut(s, uint32(len(from)))
	copy(b, from)
	s.Truesize += uint32(len(from))
	sk.SkWmemQueued += int32(len(from))
}

// tcpGrowTail makes room for extra more bytes in the unsent tail skb s.
// Linux adds the bytes to the skb's page frags, and its truesize grows
// with them as they are copied; the model keeps TCP payload linear, so
// it moves s into a bigger skb in its place instead. The move itself
// costs nothing: the new skb takes over s's truesize.
func (k *Kernel) tcpGrowTail(sk *sockets.Sock, s *skb.SkBuff, extra int) (*skb.SkBuff, error) {
	ns, err := k.tcpStreamAllocSkb(s.Len + uint32(extra))
	if err != nil {
		return nil, sockets.Errno(tracing.ENOBUFS)
	}
	b, _ := skb.SkbPut(ns, s.Len)
	copy(b, s.Bytes())
	ns.Truesize = s.Truesize
	setCbSeq(ns, cbSeqOf(s))
	setCbEndSeq(ns, cbEndSeqOf(s))
	setCbFlags(ns, cbFlagsOf(s))
	_ = skb.SkbQueueAfterLocked(&sk.SkWriteQueue, s, ns)
	_ = skb.SkbUnlinkLocked(s, &sk.SkWriteQueue)
	_ = skb.ConsumeSkb(s)
	return ns, nil
}

// tcpEventNewDataSent is tcp_event_new_data_sent: s, just sent for the
// first time, moves snd_nxt and counts in packets_out; the first packet
// out arms the RTO, and so does new data while the loss probe is what is
// armed (tcp_rearm_rto: a probe is for a tail, and the tail just moved).
// A writer short of room may wake (tcp_check_space).
func (k *Kernel) tcpEventNewDataSent(sk *sockets.Sock, s *skb.SkBuff) {
	tp := tcpSk(sk)
	prior := tp.PacketsOut
	tp.SndNxt = cbEndSeqOf(s)
	tp.PacketsOut++
	if prior == 0 || tp.icskPending == ICSK_TIME_LOSS_PROBE {
		k.tcpRearmRto(sk)
	}
	k.tcpCheckSpace(sk)
}

// tcpGrowSkb is tcp_grow_skb: s, the first waiting skb, is shorter than
// what may go now; move up to amount bytes into it from the skb behind it.
// One emptied that way is freed, and its flags (PSH, FIN) and end pass to
// s. Linux shifts page frags (skb_shift), and the bytes' truesize moves
// with them; the model copies the bytes, into a bigger skb if s has no
// room (tcpGrowTail). It returns s, or what replaced it.
func (k *Kernel) tcpGrowSkb(sk *sockets.Sock, s *skb.SkBuff, amount uint32) *skb.SkBuff {
	next := skb.SkbPeekNext(s, &sk.SkWriteQueue)
	if next == nil || next.Len == 0 || !tcpSkbCanCollapseTo(s) {
		return s // the last skb, nothing to move (skb_shift of 0 bytes fails), or an end of record
	}
	k.tr.Enter3(fnTcpGrowSkb, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())), tracing.Size(uint64(amount)))
	defer k.tr.Exit(fnTcpGrowSkb, tracing.Arg{})
	n := min(amount, next.Len)
	if skb.SkbTailroom(s) < n {
		grown, err := k.tcpGrowTail(sk, s, int(n))
		if err != nil {
			return s
		}
		s = grown
	}
	tcpSkbShiftBytes(s, next, n)
	setCbEndSeq(s, cbEndSeqOf(s)+n)
	setCbSeq(next, cbSeqOf(next)+n)
	if next.Len == 0 {
		// tcp_eat_one_skb: a FIN's sequence number comes along.
		setCbEndSeq(s, cbEndSeqOf(next))
		setCbFlags(s, cbFlagsOf(s)|cbFlagsOf(next))
		setCbEor(s, cbEorOf(next))
		_ = skb.SkbUnlinkLocked(next, &sk.SkWriteQueue)
		sk.SkWmemQueued -= int32(next.Truesize)
		_ = skb.ConsumeSkb(next)
	}
	return s
}

// tcpSkbShiftBytes is the part of skb_shift TCP's send queues use: the
// first n payload bytes of from move to the end of to, and their truesize
// (one for one, as page frags) with them; sk_wmem_queued does not change.
// to must have the linear room (the model's stand-in for frag slots).
func tcpSkbShiftBytes(to, from *skb.SkBuff, n uint32) {
	b, _ := skb.SkbPut(to, n)
	copy(b, from.Bytes()[:n])
	_, _ = skb.SkbPull(from, n)
	to.Truesize += n
	from.Truesize -= n
}

// tcpSkbEntail is tcp_skb_entail: queue a new skb at the tail of
// sk_write_queue; a pending TCP_NAGLE_PUSH is used up by new data.
func (k *Kernel) tcpSkbEntail(sk *sockets.Sock, s *skb.SkBuff) {
	tp := tcpSk(sk)
	sk.SkWmemQueued += int32(s.Truesize)
	_ = skb.SkbQueueTailLocked(&sk.SkWriteQueue, s)
	if tp.Nonagle&TCP_NAGLE_PUSH != 0 {
		tp.Nonagle &^= TCP_NAGLE_PUSH
	}
	k.tcpSlowStartAfterIdleCheck(sk)
}

// tcpForcedPush is forced_push: more than half the largest window the
// peer ever offered has been written since the last PSH.
func tcpForcedPush(tp *TcpSock) bool { return after(tp.WriteSeq, tp.PushedSeq+tp.MaxWindow>>1) }

// tcpMarkPush is tcp_mark_push: PSH on s, and remember where.
func tcpMarkPush(tp *TcpSock, s *skb.SkBuff) {
	setCbFlags(s, cbFlagsOf(s)|header.TCP_FLAG_PSH)
	tp.PushedSeq = tp.WriteSeq
}

// tcpPush is tcp_push at the end of a write: PSH on the last skb unless
// the caller said more is coming (MSG_MORE) and not much has gone without
// one; autocorking may hold a short tail back until a packet of the
// socket's leaves its device; else push with the socket's Nagle mode,
// corked for MSG_MORE.
func (k *Kernel) tcpPush(sk *sockets.Sock, flags int, nonagle uint8, sizeGoal uint32) {
	tp := tcpSk(sk)
	tail := skb.SkbPeekTail(&sk.SkWriteQueue)
	if tail == nil {
		return
	}
	if flags&sockets.MSG_MORE == 0 || tcpForcedPush(tp) {
		tcpMarkPush(tp, tail)
	}
	if flags&sockets.MSG_OOB != 0 {
		tp.SndUp = tp.WriteSeq // tcp_mark_urg: the urgent data ends here
	}
	if k.tcpShouldAutocork(sk, tail, sizeGoal) {
		if tp.tsqFlags&TSQF_THROTTLED == 0 {
			k.mib.inc(LINUX_MIB_TCPAUTOCORKING)
			tp.tsqFlags |= TSQF_THROTTLED
		}
		// The completion may have come already (it cannot here, on one
		// loop, but the kernel checks again after setting the flag).
		if sk.SkWmemAlloc > int32(tail.Truesize) {
			return
		}
	}
	if flags&sockets.MSG_MORE != 0 {
		nonagle = TCP_NAGLE_CORK
	}
	k.tcpPushPendingFramesMss(sk, sizeGoal, nonagle)
}

// tcpPushPendingFrames is tcp_push_pending_frames: __tcp_push_pending_frames
// with the MSS as it is now (tcp_current_mss).
func (k *Kernel) tcpPushPendingFrames(sk *sockets.Sock, nonagle uint8) {
	if sk.SkcState == sockets.TCP_CLOSE || skb.SkbQueueEmpty(&sk.SkWriteQueue) {
		return
	}
	k.tcpPushPendingFramesMss(sk, k.tcpCurrentMss(sk), nonagle)
}

// tcpPushPendingFramesMss is __tcp_push_pending_frames: send what the
// windows and Nagle allow, in segments of mss; if that is nothing while
// nothing is in flight, the probe timer makes sure the held data goes out
// eventually (tcp_check_probe_timer).
func (k *Kernel) tcpPushPendingFramesMss(sk *sockets.Sock, mss uint32, nonagle uint8) {
	if sk.SkcState == sockets.TCP_CLOSE || skb.SkbQueueEmpty(&sk.SkWriteQueue) {
		return
	}
	k.tcpWriteXmit(sk, mss, nonagle, false)
	if !skb.SkbQueueEmpty(&sk.SkWriteQueue) {
		k.tcpCheckProbeTimer(sk)
	}
}

// tcpWriteXmit is tcp_write_xmit: move segments from sk_write_queue to
// the retransmit queue and send them while the peer's receive window
// (snd_una + snd_wnd), the congestion window (packets in flight below
// snd_cwnd) and Nagle allow. Nagle (tcp_nagle_test) applies to the last
// skb only, with the caller's mode: TCP_NAGLE_CORK holds a partial
// segment, the default holds it while an earlier partial one is
// unacknowledged (Minshall's variant), TCP_NAGLE_OFF or TCP_NAGLE_PUSH
// send it. The first one in flight arms the retransmit timer. pushOne
// sends one segment at most (tcp_push_one).
func (k *Kernel) tcpWriteXmit(sk *sockets.Sock, mss uint32, nonagle uint8, pushOne bool) int {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpWriteXmit, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(nonagle)))
	sent := 0
	mss = max(mss, 1)
	if skb.SkbQueueEmpty(&sk.SkWriteQueue) {
		// tcp_push_pending_frames calls tcp_write_xmit only with
		// something to send.
		k.tr.Exit(fnTcpWriteXmit, tracing.Int(0))
		return 0
	}
	for s := skb.SkbPeek(&sk.SkWriteQueue); s != nil; s = skb.SkbPeek(&sk.SkWriteQueue) {
		if tcpPacketsInFlight(tp) >= tp.SndCwnd {
			break // tcp_cwnd_test (a FIN too: 6.x has no exception for it)
		}
		if s.Len < mss {
			s = k.tcpGrowSkb(sk, s, mss-s.Len) // cwnd_quota * mss - len, the quota one segment
		}
		end := cbEndSeqOf(s)
		if s.Len > mss {
			end = cbSeqOf(s) + mss // tcp_snd_wnd_test: the first MSS must fit
		}
		if wndEnd := tp.SndUna + tp.SndWnd; after(end, wndEnd) {
			// tcp_snd_wnd_test failed: a segment goes only whole (the
			// sender's silly-window avoidance). With nothing in flight the
			// probe timer comes, and tcp_write_wakeup sends what fits.
			k.tcpCheckProbeTimer(sk)
			break
		}
		ng := uint8(TCP_NAGLE_PUSH) // in the middle of the queue: it cannot grow
		if s == skb.SkbPeekTail(&sk.SkWriteQueue) {
			ng = nonagle
		}
		if !tcpNagleTest(tp, s, mss, ng) {
			break
		}
		if s.Len > mss && k.tcpFragment(sk, TCP_FRAG_IN_WRITE_QUEUE, s, mss) != nil {
			break // tso_fragment: the MSS shrank since s was filled
		}
		if k.tcpSmallQueueCheck(sk, s, 0) {
			break
		}
		_ = skb.SkbUnlinkLocked(s, &sk.SkWriteQueue)
		_ = skb.SkbQueueTailLocked(&tp.rtxQueue, s)
		if k.tcpTransmitSkb(sk, s, true) != nil {
			break
		}
		k.tcpEventNewDataSent(sk, s)
		sent++
		if s.Len < mss {
			tp.SndSml = cbEndSeqOf(s) // tcp_minshall_update
		}
		if pushOne {
			break
		}
	}
	if isCwndLimited := tcpPacketsInFlight(tp) >= tp.SndCwnd; sent > 0 || isCwndLimited {
		k.tcpCwndValidate(sk, isCwndLimited)
	}
	if sent > 0 {
		if tcpInCwndReduction(tp) {
			tp.prrOut += uint32(sent)
		}
		// One loss probe per tail loss episode (RACK-TLP): if the last
		// of these segments is lost, nothing else would reveal it
		// before the RTO.
		k.tcpScheduleLossProbe(sk, false)
	}
	k.tr.Exit(fnTcpWriteXmit, tracing.Int(int64(sent)))
	return sent
}

// tcpNagleTest is tcp_nagle_test: may s go now? A FIN always may; a
// partial segment waits when corked, or (Nagle on) while an earlier
// partial segment is unacknowledged (tcp_nagle_check, tcp_minshall_check).
func tcpNagleTest(tp *TcpSock, s *skb.SkBuff, mss uint32, nonagle uint8) bool {
	if nonagle&TCP_NAGLE_PUSH != 0 || cbFlagsOf(s)&header.TCP_FLAG_FIN != 0 {
		return true
	}
	partial := s.Len < mss
	minshall := after(tp.SndSml, tp.SndUna) && !after(tp.SndSml, tp.SndNxt)
	hold := partial && (nonagle&TCP_NAGLE_CORK != 0 || (nonagle == 0 && tp.PacketsOut > 0 && minshall))
	return !hold
}

// tcpDataSndCheck is tcp_data_snd_check: after an ACK, send what the
// opened windows now allow, and wake a writer waiting for buffer space
// (tcp_check_space).
func (k *Kernel) tcpDataSndCheck(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpDataSndCheck, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpDataSndCheck, tracing.Arg{})
	k.tcpPushPendingFrames(sk, tcpSk(sk).Nonagle) // tcp_push_pending_frames
	k.tcpCheckSpace(sk)
}

// tcpRecvmsg is tcp_recvmsg -> tcp_recvmsg_locked: copy in-order bytes
// from sk_receive_queue, advancing copied_seq; sleep in sk_wait_data while
// nothing is there. End of file (0) once the peer's FIN is read. After
// each skb's bytes, autotuning looks at how fast the reader reads
// (tcp_rcv_space_adjust).
func (k *Kernel) tcpRecvmsg(sk *sockets.Sock, buf []byte, flags int) (int, sockets.RecvResult, error) {
	tr := k.tr
	tr.Enter3(fnTcpRecvmsg, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(len(buf))), tracing.Uint(uint64(flags)))
	// TCP reports no source address (inet_recvmsg leaves addr_len 0).
	var res sockets.RecvResult
	if flags&sockets.MSG_ERRQUEUE != 0 {
		// inet_recv_error -> ip_recv_error: the error queue is empty
		// (IP_RECVERR is not modelled), which it says without waiting.
		err := sockets.Errno(tracing.EAGAIN)
		tr.Exit(fnTcpRecvmsg, retInt(-1, err))
		return -1, res, err
	}
	sockets.LockSock(sk)
	n, err := k.tcpRecvmsgLocked(sk, buf, flags, &res)
	sockets.ReleaseSock(sk)
	tr.Exit(fnTcpRecvmsg, retInt(n, err))
	return n, res, err
}

func (k *Kernel) tcpRecvmsgLocked(sk *sockets.Sock, buf []byte, flags int, res *sockets.RecvResult) (int, error) {
	if sk.SkcState == sockets.TCP_LISTEN {
		return -1, sockets.Errno(tracing.ENOTCONN)
	}
	if flags&sockets.MSG_OOB != 0 {
		// recv_urg: the urgent byte, out of band; no ACK is due for it.
		n, err := k.tcpRecvUrg(sk, buf, flags, res)
		k.tr.Point(fnTcpRecvUrg, tracing.Sock(uint64(sk.Addr())), retInt(n, err))
		return n, err
	}
	n, err := k.tcpRecvmsgCopy(sk, buf, flags)
	// Whatever happened (a peek and an error too), an ACK the read makes
	// due goes now (tcp_cleanup_rbuf); an error counts as nothing copied.
	copied := n
	if err != nil {
		copied = -1
	}
	k.tcpCleanupRbuf(sk, copied)
	return n, err
}

// tcpRecvmsgCopy is the loop of tcp_recvmsg_locked: copy from the receive
// queue, waiting as the target (SO_RCVLOWAT, MSG_WAITALL) and the
// timeout say.
func (k *Kernel) tcpRecvmsgCopy(sk *sockets.Sock, buf []byte, flags int) (int, error) {
	tp := tcpSk(sk)
	timeo := sockRcvtimeo(sk, flags&sockets.MSG_DONTWAIT != 0)
	peek := flags&sockets.MSG_PEEK != 0
	// sock_rcvlowat: how much a blocking read waits for (at least 1 byte).
	target := max(len(buf), 1)
	if flags&sockets.MSG_WAITALL == 0 {
		target = int(sockRcvlowat(sk, int32(min(len(buf), 1<<31-1))))
	}
	seq := tp.CopiedSeq
	if peek && sk.SkPeekOff > 0 {
		seq += uint32(sk.SkPeekOff) // SO_PEEK_OFF: peek past what was peeked before
	}
	copied := 0
	finFound := false
	// A read of nothing waits, as one of a byte would, until there is
	// something to read, and then returns 0 (the loop of
	// tcp_recvmsg_locked runs at least once, with a target of 1).
	zero := len(buf) == 0
	// urgMark: the read stopped in front of the urgent byte, which it
	// does not read past once it has copied something.
	urgMark := false
	// readToEnd is what happens to an skb read to its end: it leaves the
	// queue (tcp_eat_recv_skb; a peek leaves it there), and if it carries
	// the FIN, the FIN's sequence number is consumed too and the read
	// ends there (found_fin_ok).
	readToEnd := func(s *skb.SkBuff) (next *skb.SkBuff, fin bool) {
		next = skb.SkbPeekNext(s, &sk.SkReceiveQueue)
		fin = cbFlagsOf(s)&header.TCP_FLAG_FIN != 0
		if !peek {
			if fin {
				tp.CopiedSeq++
			}
			k.tcpEatSkb(sk, s)
		}
		return next, fin
	}
	for (copied < len(buf) || zero) && !finFound && !urgMark {
		for s := skb.SkbPeek(&sk.SkReceiveQueue); s != nil && (copied < len(buf) || zero); {
			if tp.UrgData != 0 && tp.UrgSeq == seq && copied > 0 {
				urgMark = true
				break
			}
			off := seq - cbSeqOf(s)
			if off >= s.Len {
				// Nothing left to read in it (a bare FIN, or an skb a
				// peek went through): even a read of nothing takes a FIN.
				next, fin := readToEnd(s)
				if fin {
					finFound = true
					break
				}
				s = next
				continue
			}
			if zero {
				k.tcpRcvSpaceAdjust(sk)
				return 0, nil
			}
			used := min(s.Len-off, uint32(len(buf)-copied))
			if tp.UrgData != 0 {
				// The urgent byte is in what this skb offers: stop in
				// front of it, or (standing on it, no SO_OOBINLINE)
				// step over it.
				if urgOff := tp.UrgSeq - seq; urgOff < used {
					switch {
					case urgOff > 0:
						used = urgOff
					case !sk.SockFlagSet(sockets.SOCK_URGINLINE):
						seq++
						off++
						used--
						if !peek {
							tp.CopiedSeq = seq
						}
					}
				}
			}
			n := copy(buf[copied:copied+int(used)], s.Bytes()[off:])
			copied += n
			seq += uint32(n)
			if !peek {
				tp.CopiedSeq = seq
			}
			skPeekOffsetMove(sk, n, peek)
			if n > 0 {
				k.tcpRcvSpaceAdjust(sk)
			}
			if tp.UrgData != 0 && after(tp.CopiedSeq, tp.UrgSeq) {
				tp.UrgData = 0 // read past the mark: it is done with
			}
			if off+uint32(n) < s.Len {
				// More in this skb: the buffer is full (the loop ends),
				// the read reached the urgent mark (the check above
				// ends it), or it stepped over the urgent byte.
				continue
			}
			next, fin := readToEnd(s)
			if fin {
				finFound = true
				break
			}
			s = next
		}
		if finFound || urgMark {
			break
		}
		if copied >= target {
			break
		}
		if copied > 0 {
			// Short of the target (SO_RCVLOWAT, MSG_WAITALL): wait for
			// more unless nothing more can come or the caller cannot wait.
			if timeo == 0 || sk.SkErr != 0 || sk.SkcState == sockets.TCP_CLOSE || sk.SkShutdown&sockets.RCV_SHUTDOWN != 0 {
				break
			}
		} else {
			if sk.SockFlagSet(sockets.SOCK_DONE) || sk.SkShutdown&sockets.RCV_SHUTDOWN != 0 {
				// The FIN's skb was read before (found_fin_ok): end of
				// file. A reset after the FIN leaves its error for the
				// next call.
				if sk.SockFlagSet(sockets.SOCK_DONE) || sk.SkErr == 0 {
					break
				}
			}
			if sk.SkErr != 0 {
				return -1, sockError(sk)
			}
			if sk.SkcState == sockets.TCP_CLOSE {
				return -1, sockets.Errno(tracing.ENOTCONN)
			}
			if timeo == 0 {
				return -1, sockets.Errno(tracing.EAGAIN)
			}
		}
		// sk_wait_data: release_sock runs the backlog, which may bring
		// data; then sleep until an skb beyond the last one seen arrives.
		last := skb.SkbPeekTail(&sk.SkReceiveQueue)
		k.tcpCleanupRbuf(sk, copied)
		sockets.ReleaseSock(sk)
		var intr bool
		if skb.SkbPeekTail(&sk.SkReceiveQueue) == last && sk.SkErr == 0 && sk.SkShutdown&sockets.RCV_SHUTDOWN == 0 {
			timeo, intr = k.SleepOn(sk.SkWq, false, timeo)
		}
		sockets.LockSock(sk)
		if intr {
			if copied > 0 {
				break
			}
			return -1, sockets.Errno(tracing.EINTR)
		}
	}
	return copied, nil
}

// tcpEatSkb is tcp_eat_recv_skb: a fully read segment leaves the queue
// and its memory is uncharged.
func (k *Kernel) tcpEatSkb(sk *sockets.Sock, s *skb.SkBuff) {
	_ = skb.SkbUnlinkLocked(s, &sk.SkReceiveQueue)
	sockets.SkRmemUncharge(sk, s.Truesize)
	_ = skb.ConsumeSkb(s)
}

// tcpCleanupRbuf is tcp_cleanup_rbuf: after the reader took data, send
// the ACK that was owed if more than one full segment waits for it (the
// receive path left it to us), or if this read emptied the queue of small
// pushed segments on a one-way connection; and tell the peer if the window
// it may use has at least doubled (a window update), so a sender stalled
// on a small window goes on.
func (k *Kernel) tcpCleanupRbuf(sk *sockets.Sock, copied int) {
	k.tr.Enter1(fnTcpCleanupRbuf, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpCleanupRbuf, tracing.Arg{})
	tp := tcpSk(sk)
	if sk.SkcState == sockets.TCP_CLOSE {
		return
	}
	a := &tp.ack
	timeToAck := a.scheduled() && (tp.RcvNxt-tp.RcvWup > tp.RcvMss ||
		(copied > 0 && (a.Pending&ICSK_ACK_PUSHED2 != 0 || (a.Pending&ICSK_ACK_PUSHED != 0 && !a.inPingpong())) &&
			sk.SkRmemAlloc == 0))
	if copied > 0 && !timeToAck && sk.SkShutdown&sockets.RCV_SHUTDOWN == 0 {
		now := int64(tcpReceiveWindow(tp))
		if 2*now <= int64(tp.WindowClamp) {
			if w := int64(k.tcpSelectWindowCore(tp, sk)); w != 0 && w >= 2*now {
				timeToAck = true
			}
		}
	}
	if timeToAck {
		k.tcpSendAck(sk)
	}
}

// The queues tcp_fragment splits in (enum tcp_queue).
const (
	TCP_FRAG_IN_WRITE_QUEUE = iota
	TCP_FRAG_IN_RTX_QUEUE
)

// tcpFragment is tcp_fragment: split s after its first n bytes; the rest
// becomes a new skb right behind it, in the same queue. A sent skb (in
// the retransmit queue) is first made private to the socket if a clone
// of it is still out (skb_unclone), and the new one inherits its tags
// and send time; it is one more packet in flight (and one more lost, if
// s was).
func (k *Kernel) tcpFragment(sk *sockets.Sock, queue int, s *skb.SkBuff, n uint32) (err error) {
	k.tr.Enter3(fnTcpFragment, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())), tracing.Size(uint64(n)))
	defer func() { k.tr.Exit(fnTcpFragment, tracing.Errno(sockets.ErrnoOf(err).Ret())) }()
	// n may be the whole length: the second part is then empty and holds
	// only the FIN (tcp_write_wakeup leaves a FIN outside the window so).
	if n == 0 || n > s.Len {
		return sockets.Errno(tracing.EINVAL)
	}
	if queue == TCP_FRAG_IN_RTX_QUEUE && skb.SkbCloned(s) {
		if err := skb.PskbExpandHead(s, 0, 0); err != nil {
			return sockets.Errno(tracing.ENOMEM)
		}
	}
	// tcp_stream_alloc_skb: the new skb's head is charged; the bytes it
	// takes over take their truesize with them (skb_split moves the frags).
	rest := s.Len - n
	buff, err := k.tcpStreamAllocSkb(rest)
	if err != nil {
		return sockets.Errno(tracing.ENOMEM)
	}
	sk.SkWmemQueued += int32(buff.Truesize)
	b, _ := skb.SkbPut(buff, rest)
	copy(b, s.Bytes()[n:])
	_ = skb.SkbTrim(s, n)
	buff.Truesize += rest
	s.Truesize -= rest
	seq := cbSeqOf(s)
	if queue == TCP_FRAG_IN_RTX_QUEUE {
		buff.Cb = s.Cb // sacked tags, send time, rate-sample state
	}
	setCbSeq(buff, seq+n)
	setCbEndSeq(buff, cbEndSeqOf(s))
	setCbEndSeq(s, seq+n)
	setCbFlags(buff, cbFlagsOf(s))
	// FIN and PSH belong to the end of the data: they move to the second
	// part, and so does an end of record.
	setCbFlags(s, cbFlagsOf(s)&^(header.TCP_FLAG_PSH|header.TCP_FLAG_FIN))
	setCbEor(buff, cbEorOf(s))
	setCbEor(s, false)
	if queue == TCP_FRAG_IN_WRITE_QUEUE {
		return skb.SkbQueueAfterLocked(&sk.SkWriteQueue, s, buff)
	}
	// tcp_adjust_pcount: one skb became two packets.
	tp := tcpSk(sk)
	tp.PacketsOut++
	sacked := s.Cb[cbSacked]
	if sacked&TCPCB_SACKED_ACKED != 0 {
		tp.sackedOut++
	}
	if sacked&TCPCB_SACKED_RETRANS != 0 {
		tp.RetransOut++
	}
	if sacked&TCPCB_LOST != 0 {
		tp.lostOut++
	}
	return skb.SkbQueueAfterLocked(&tp.rtxQueue, s, buff)
}

// skSetPeekOff is sk_set_peek_off, TCP's SO_PEEK_OFF: store the offset
// (any value; a negative one turns it off).
func (k *Kernel) skSetPeekOff(sk *sockets.Sock, val int32) error {
	sk.SkPeekOff = val
	k.tr.Point(fnSkSetPeekOff, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(val)))
	return nil
}

// skPeekOffsetMove is sk_peek_offset_fwd and sk_peek_offset_bwd: with
// SO_PEEK_OFF on, a peek of n bytes moves the offset on by n, and a read
// of n bytes takes it back by n (not below 0).
func skPeekOffsetMove(sk *sockets.Sock, n int, peek bool) {
	if sk.SkPeekOff < 0 {
		return
	}
	if peek {
		sk.SkPeekOff += int32(n)
	} else {
		sk.SkPeekOff = max(sk.SkPeekOff-int32(n), 0)
	}
}
