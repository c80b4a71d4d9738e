package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// tcpNotsentLowat is tcp_notsent_lowat: the socket's TCP_NOTSENT_LOWAT,
// or else the sysctl (by default UINT_MAX, so that unsent bytes never make
// a socket unwritable by themselves).
func tcpNotsentLowat(sk *sockets.Sock, tp *TcpSock) uint32 {
	if tp.NotsentLowat != 0 {
		return tp.NotsentLowat
	}
	return uint32(sk.SkcNet.Sysctl.TcpNotsentLowat)
}

// tcpStreamMemoryFree is tcp_stream_memory_free: the bytes written but not
// yet sent, doubled when wake is 1 (a sleeper is woken only once they are
// under half the mark), are under tcp_notsent_lowat.
func tcpStreamMemoryFree(sk *sockets.Sock, tp *TcpSock, wake uint) bool {
	notsent := uint64(max(int32(tp.WriteSeq-tp.SndNxt), 0))
	return notsent<<wake < uint64(tcpNotsentLowat(sk, tp))
}

// skStreamMemoryFree is sk_stream_memory_free: the send buffer has room
// and tcp_stream_memory_free agrees; a write that finds neither waits.
func skStreamMemoryFree(sk *sockets.Sock, tp *TcpSock) bool {
	return sk.SkWmemQueued < sk.SkSndbuf && tcpStreamMemoryFree(sk, tp, 0)
}

// tcpPoll is tcp_poll (net/ipv4/tcp.c), the poll of inet_stream_ops. The
// socket is not locked: it reads the state as it is.
//   - A listener is readable when its accept queue holds a connection
//     (inet_csk_listen_poll).
//   - POLLHUP when both directions are shut down or the socket is in
//     CLOSE (a fresh socket too, so nobody blocks on it for nothing);
//     POLLIN|POLLRDNORM|POLLRDHUP once the peer's FIN arrived.
//   - While the handshake runs (SYN_SENT, SYN_RECV) nothing else: a
//     non-blocking connect is finished when the socket turns writable.
//   - Otherwise POLLIN|POLLRDNORM with at least SO_RCVLOWAT bytes to read
//     (tcp_stream_is_readable), POLLOUT|POLLWRNORM while the send buffer
//     has room (sk_stream_is_writeable) or sending is shut down.
//   - POLLERR when sk_err is set or the error queue is not empty.
func (k *Kernel) tcpPoll(file *sockets.File, sock *sockets.Socket, wait *sockets.PollTable) uint32 {
	sk := sock.Sk
	k.tr.Enter1(fnTcpPoll, tracing.Sock(uint64(sk.Addr())))
	var mask uint32
	defer func() { k.tr.Exit(fnTcpPoll, tracing.Uint(uint64(mask))) }()
	sockets.SockPollWait(file, sock, wait)
	state := sk.SkcState
	if state == sockets.TCP_LISTEN {
		mask = inetCskListenPoll(sk)
		return mask
	}
	tp := tcpSk(sk)
	shutdown := sk.SkShutdown
	if shutdown == sockets.SHUTDOWN_MASK || state == sockets.TCP_CLOSE {
		mask |= sockets.POLLHUP
	}
	if shutdown&sockets.RCV_SHUTDOWN != 0 {
		mask |= sockets.POLLIN | sockets.POLLRDNORM | sockets.POLLRDHUP
	}
	if state != sockets.TCP_SYN_SENT && state != sockets.TCP_SYN_RECV {
		target := sockRcvlowat(sk, int32(^uint32(0)>>1))
		if tcpAtUrgMark(tp) && !sk.SockFlagSet(sockets.SOCK_URGINLINE) {
			target++ // the urgent byte ahead is not read in line
		}
		if tcpStreamIsReadable(sk, target) {
			mask |= sockets.POLLIN | sockets.POLLRDNORM
		}
		if shutdown&sockets.SEND_SHUTDOWN != 0 || skStreamIsWriteable(sk, tp, 1) {
			mask |= sockets.POLLOUT | sockets.POLLWRNORM
		} else if sk.SkSocket != nil {
			// Not writable: ask to be told when it is (SOCK_NOSPACE),
			// then look again in case space came meanwhile.
			sk.SkSocket.SetFlag(sockets.SOCK_NOSPACE)
			if skStreamIsWriteable(sk, tp, 1) {
				mask |= sockets.POLLOUT | sockets.POLLWRNORM
			}
		}
	}
	if state != sockets.TCP_SYN_SENT && state != sockets.TCP_SYN_RECV && tp.UrgData&TCP_URG_VALID != 0 {
		mask |= sockets.POLLPRI // the urgent byte is there to read out of band
	}
	if sk.SkErr != 0 || !skb.SkbQueueEmpty(&sk.SkErrorQueue) {
		mask |= sockets.POLLERR
	}
	return mask
}

// inetCskListenPoll is inet_csk_listen_poll: a listener is readable when
// accept() would not block.
func inetCskListenPoll(sk *sockets.Sock) uint32 {
	if !sockets.ReqskQueueEmpty(&sockets.IcskOf(sk).IcskAcceptQueue) {
		return sockets.POLLIN | sockets.POLLRDNORM
	}
	return 0
}

// sockRcvlowat is sock_rcvlowat without MSG_WAITALL: SO_RCVLOWAT, at most
// n, at least 1.
func sockRcvlowat(sk *sockets.Sock, n int32) int32 {
	return max(min(sk.SkRcvlowat, n), 1)
}

// tcpStreamIsReadable is tcp_stream_is_readable -> tcp_epollin_ready:
// unread bytes (rcv_nxt - copied_seq) reach the target, or the receive
// buffer is under pressure, or the window we offer has shrunk to less than
// a segment (waiting for more would stall the peer).
func tcpStreamIsReadable(sk *sockets.Sock, target int32) bool {
	tp := tcpSk(sk)
	avail := int32(tp.RcvNxt - tp.CopiedSeq)
	if avail <= 0 {
		return false
	}
	return avail >= target || tcpRmemPressure(sk) || tcpReceiveWindow(tp) <= tp.RcvMss
}

// tcpRmemPressure is tcp_rmem_pressure: the receive queue holds more than
// seven eighths of sk_rcvbuf.
func tcpRmemPressure(sk *sockets.Sock) bool {
	rcvbuf := sk.SkRcvbuf
	return sk.SkRmemAlloc > rcvbuf-rcvbuf>>3
}

// tcpReceiveWindow is tcp_receive_window: what is left of the window we
// last advertised.
func tcpReceiveWindow(tp *TcpSock) uint32 {
	return uint32(max(int32(tp.RcvWup+tp.RcvWnd-tp.RcvNxt), 0))
}

// skStreamIsWriteable is __sk_stream_is_writeable: the free send buffer
// is at least half of what is queued, and tcp_stream_memory_free (unsent
// bytes, doubled when wake is 1, under tcp_notsent_lowat).
func skStreamIsWriteable(sk *sockets.Sock, tp *TcpSock, wake uint) bool {
	wspace := sk.SkSndbuf - sk.SkWmemQueued // sk_stream_wspace
	if wspace < sk.SkWmemQueued>>1 || sk.SkWmemQueued >= sk.SkSndbuf {
		return false
	}
	return tcpStreamMemoryFree(sk, tp, wake)
}
