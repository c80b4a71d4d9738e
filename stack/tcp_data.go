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
	// sk_stream_wait_connect: a handshake in progress is waited for.
	for sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
		if timeo == 0 {
			return fail(0, sockets.Errno(tracing.EAGAIN))
		}
		sockets.ReleaseSock(sk)
		var intr bool
		if sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
			timeo, intr = k.SleepOn(sk.SkWq, false, timeo)
		}
		sockets.LockSock(sk)
		if intr {
			return fail(0, sockets.Errno(tracing.EINTR))
		}
	}
	copied := 0
	for copied < len(data) {
		if err := sockError(sk); err != nil {
			return fail(copied, err)
		}
		if sk.SkShutdown&sockets.SEND_SHUTDOWN != 0 ||
			(sk.SkcState != sockets.TCP_ESTABLISHED && sk.SkcState != sockets.TCP_CLOSE_WAIT) {
			return fail(copied, sockets.Errno(tracing.EPIPE))
		}
		if sk.SkWmemQueued >= sk.SkSndbuf {
			// sk_stream_wait_memory: push what is queued and wait for ACKs.
			k.tcpPush(sk)
			if timeo == 0 {
				return fail(copied, sockets.Errno(tracing.EAGAIN))
			}
			sockets.ReleaseSock(sk)
			var intr bool
			if sk.SkWmemQueued >= sk.SkSndbuf && sk.SkErr == 0 {
				timeo, intr = k.SleepOn(sk.SkWq, false, timeo)
			}
			sockets.LockSock(sk)
			if intr {
				return fail(copied, sockets.Errno(tracing.EINTR))
			}
			continue
		}
		chunk := min(len(data)-copied, int(max(tp.MssCache, 1)))
		s, err := skb.AllocSkbFclone(k.skbs, uint32(MaxTCPHeader+chunk))
		if err != nil {
			return fail(copied, sockets.Errno(tracing.ENOBUFS))
		}
		_ = skb.SkbReserve(s, MaxTCPHeader)
		b, _ := skb.SkbPut(s, uint32(chunk))
		copy(b, data[copied:copied+chunk])
		setCbSeq(s, tp.WriteSeq)
		setCbEndSeq(s, tp.WriteSeq+uint32(chunk))
		setCbFlags(s, header.TCP_FLAG_ACK)
		tp.WriteSeq += uint32(chunk)
		sk.SkWmemQueued += int32(s.Truesize)
		_ = skb.SkbQueueTailLocked(&sk.SkWriteQueue, s)
		k.tcpSlowStartAfterIdleCheck(sk) // tcp_skb_entail
		copied += chunk
	}
	if tail := skb.SkbPeekTail(&sk.SkWriteQueue); tail != nil {
		setCbFlags(tail, cbFlagsOf(tail)|header.TCP_FLAG_PSH)
	}
	k.tcpPush(sk)
	return copied, nil
}

// tcpPush is tcp_push -> __tcp_push_pending_frames: send what the
// windows allow.
func (k *Kernel) tcpPush(sk *sockets.Sock) { k.tcpWriteXmit(sk) }

// tcpWriteXmit is tcp_write_xmit: move segments from sk_write_queue to
// the retransmit queue and send them while the peer's receive window
// (snd_una + snd_wnd) and the congestion window (packets in flight below
// snd_cwnd) allow. The first one in flight arms the retransmit timer.
func (k *Kernel) tcpWriteXmit(sk *sockets.Sock) int {
	tp := tcpSk(sk)
	k.tr.Enter1(fnTcpWriteXmit, tracing.Sock(uint64(sk.Addr())))
	sent := 0
	for s := skb.SkbPeek(&sk.SkWriteQueue); s != nil; s = skb.SkbPeek(&sk.SkWriteQueue) {
		if tp.PacketsOut >= tp.SndCwnd && !(s.Len == 0 && cbFlagsOf(s)&header.TCP_FLAG_FIN != 0) {
			break // tcp_cwnd_test: a lone FIN goes even when the window is full
		}
		if wndEnd := tp.SndUna + tp.SndWnd; after(cbEndSeqOf(s), wndEnd) {
			// tcp_snd_wnd_test failed: send the part that fits
			// (tcp_mss_split_point + tso_fragment), or nothing at all if
			// the window is shut, and let the probe timer ask again.
			if !after(wndEnd, cbSeqOf(s)) || k.tcpFragment(sk, s, wndEnd-cbSeqOf(s)) != nil {
				if tp.PacketsOut == 0 {
					k.tcpResetXmitTimer(sk, tp.IcskRto) // the zero-window probe timer
				}
				break
			}
		}
		_ = skb.SkbUnlinkLocked(s, &sk.SkWriteQueue)
		_ = skb.SkbQueueTailLocked(&tp.rtxQueue, s)
		if k.tcpTransmitSkb(sk, s, true) != nil {
			break
		}
		tp.SndNxt = cbEndSeqOf(s)
		tp.PacketsOut++
		sent++
		if tp.PacketsOut == 1 {
			k.tcpResetXmitTimer(sk, tp.IcskRto)
		}
	}
	k.tr.Exit(fnTcpWriteXmit, tracing.Int(int64(sent)))
	return sent
}

// tcpDataSndCheck is tcp_data_snd_check: after an ACK, send what the
// opened windows now allow, and wake a writer waiting for buffer space
// (tcp_check_space).
func (k *Kernel) tcpDataSndCheck(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpDataSndCheck, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpDataSndCheck, tracing.Arg{})
	if !skb.SkbQueueEmpty(&sk.SkWriteQueue) {
		k.tcpWriteXmit(sk)
	}
	if sk.SkWmemQueued < sk.SkSndbuf && !sk.SockFlagSet(sockets.SOCK_DEAD) {
		k.tcpNewSpace(sk) // tcp_check_space
	}
}

// tcpCongAvoid is tcp_cong_avoid for Reno (tcp_reno_cong_avoid): slow
// start below ssthresh (one more segment per segment acknowledged), then
// one more per window. Linux's default is CUBIC; its curve arrives with
// congestion control.
func (k *Kernel) tcpCongAvoid(tp *TcpSock, acked uint32) {
	defer func() { k.tr.Point(fnTcpRenoCongAvoid, tracing.Uint(uint64(acked)), tracing.Uint(uint64(tp.SndCwnd))) }()
	if tp.SndCwnd < tp.SndSsthresh {
		tp.SndCwnd = min(tp.SndCwnd+acked, tp.SndCwndClamp)
		return
	}
	tp.sndCwndCnt += acked
	if tp.sndCwndCnt >= tp.SndCwnd {
		tp.sndCwndCnt -= tp.SndCwnd
		tp.SndCwnd = min(tp.SndCwnd+1, tp.SndCwndClamp)
	}
}

// tcpRecvmsg is tcp_recvmsg -> tcp_recvmsg_locked: copy in-order bytes
// from sk_receive_queue, advancing copied_seq; sleep in sk_wait_data while
// nothing is there. End of file (0) once the peer's FIN is read.
func (k *Kernel) tcpRecvmsg(sk *sockets.Sock, buf []byte, flags int) (int, sockets.RecvResult, error) {
	tr := k.tr
	tr.Enter3(fnTcpRecvmsg, tracing.Sock(uint64(sk.Addr())), tracing.Size(uint64(len(buf))), tracing.Uint(uint64(flags)))
	sockets.LockSock(sk)
	n, err := k.tcpRecvmsgLocked(sk, buf, flags)
	sockets.ReleaseSock(sk)
	tr.Exit(fnTcpRecvmsg, retInt(n, err))
	var res sockets.RecvResult
	if err == nil {
		res.From = sockets.SockaddrIn{Family: sockets.AF_INET, Addr: sk.SkcDaddr.Addr(), Port: sk.SkcDport.Ntohs()}
	}
	return n, res, err
}

func (k *Kernel) tcpRecvmsgLocked(sk *sockets.Sock, buf []byte, flags int) (int, error) {
	tp := tcpSk(sk)
	if sk.SkcState == sockets.TCP_LISTEN {
		return -1, sockets.Errno(tracing.ENOTCONN)
	}
	timeo := sockRcvtimeo(sk, flags&sockets.MSG_DONTWAIT != 0)
	peek := flags&sockets.MSG_PEEK != 0
	seq := tp.CopiedSeq
	copied := 0
	for copied < len(buf) {
		progressed := false
		for s := skb.SkbPeek(&sk.SkReceiveQueue); s != nil && copied < len(buf); {
			off := seq - cbSeqOf(s)
			if off >= s.Len {
				next := skb.SkbPeekNext(s, &sk.SkReceiveQueue)
				if !peek && off >= s.Len {
					k.tcpEatSkb(sk, s)
				}
				s = next
				continue
			}
			n := copy(buf[copied:], s.Bytes()[off:])
			copied += n
			seq += uint32(n)
			progressed = true
			if !peek {
				tp.CopiedSeq = seq
			}
			if off+uint32(n) < s.Len {
				break
			}
			next := skb.SkbPeekNext(s, &sk.SkReceiveQueue)
			if !peek {
				k.tcpEatSkb(sk, s)
			}
			s = next
		}
		if copied > 0 {
			break // SO_RCVLOWAT is 1: return what is there
		}
		_ = progressed
		if sk.SkErr != 0 {
			return -1, sockError(sk)
		}
		if sk.SockFlagSet(sockets.SOCK_DONE) || sk.SkShutdown&sockets.RCV_SHUTDOWN != 0 {
			// found_fin_ok: all data read, the FIN is consumed too (it
			// takes a sequence number), so Recv-Q reads 0 afterwards.
			if !peek && copied == 0 && tp.RcvNxt == tp.CopiedSeq+1 {
				tp.CopiedSeq++
			}
			break
		}
		if sk.SkcState == sockets.TCP_CLOSE {
			return -1, sockets.Errno(tracing.ENOTCONN)
		}
		if timeo == 0 {
			return -1, sockets.Errno(tracing.EAGAIN)
		}
		// sk_wait_data: release_sock runs the backlog, which may bring data.
		k.tcpCleanupRbuf(sk, copied)
		sockets.ReleaseSock(sk)
		var intr bool
		if skb.SkbQueueEmpty(&sk.SkReceiveQueue) && sk.SkErr == 0 && sk.SkShutdown&sockets.RCV_SHUTDOWN == 0 {
			timeo, intr = k.SleepOn(sk.SkWq, false, timeo)
		}
		sockets.LockSock(sk)
		if intr {
			return -1, sockets.Errno(tracing.EINTR)
		}
	}
	if !peek {
		k.tcpCleanupRbuf(sk, copied)
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
			if w := int64(tcpSelectWindowCore(tp, sk)); w != 0 && w >= 2*now {
				timeToAck = true
			}
		}
	}
	if timeToAck {
		k.tcpSendAck(sk)
	}
}

// tcpFragment is tcp_fragment: split s (on sk_write_queue) after its
// first n bytes; the rest becomes a new skb right behind it.
func (k *Kernel) tcpFragment(sk *sockets.Sock, s *skb.SkBuff, n uint32) (err error) {
	k.tr.Enter3(fnTcpFragment, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(s.Addr())), tracing.Size(uint64(n)))
	defer func() { k.tr.Exit(fnTcpFragment, tracing.Errno(sockets.ErrnoOf(err).Ret())) }()
	if n == 0 || n >= s.Len {
		return sockets.Errno(tracing.EINVAL)
	}
	rest := s.Len - n
	buff, err := skb.AllocSkbFclone(k.skbs, MaxTCPHeader+rest)
	if err != nil {
		return sockets.Errno(tracing.ENOMEM)
	}
	_ = skb.SkbReserve(buff, MaxTCPHeader)
	b, _ := skb.SkbPut(buff, rest)
	copy(b, s.Bytes()[n:])
	_ = skb.SkbTrim(s, n)
	seq := cbSeqOf(s)
	setCbSeq(buff, seq+n)
	setCbEndSeq(buff, cbEndSeqOf(s))
	setCbEndSeq(s, seq+n)
	setCbFlags(buff, cbFlagsOf(s))
	// FIN and PSH belong to the end of the data: they move to the second part.
	setCbFlags(s, cbFlagsOf(s)&^(header.TCP_FLAG_PSH|header.TCP_FLAG_FIN))
	sk.SkWmemQueued += int32(buff.Truesize)
	return skb.SkbQueueAfterLocked(&sk.SkWriteQueue, s, buff)
}
