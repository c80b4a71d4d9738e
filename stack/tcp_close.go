package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// TCP_TIMEWAIT_LEN is how long TIME_WAIT lasts: 60 s.
const TCP_TIMEWAIT_LEN = 60 * 1e9

// tcpCloseState is tcp_close_state: the state our close (or shutdown for
// writing) moves to, and whether a FIN must be sent: ESTABLISHED ->
// FIN_WAIT1 and CLOSE_WAIT -> LAST_ACK send one; a connection not yet
// synchronized just closes.
func (k *Kernel) tcpCloseState(sk *sockets.Sock) bool {
	k.tr.Enter2(fnTcpCloseState, tracing.Sock(uint64(sk.Addr())), tracing.State(uint8(sk.SkcState)))
	next, fin := sk.SkcState, false
	switch sk.SkcState {
	case sockets.TCP_CLOSE, sockets.TCP_LISTEN, sockets.TCP_SYN_SENT, sockets.TCP_TIME_WAIT:
		next = sockets.TCP_CLOSE
	case sockets.TCP_SYN_RECV, sockets.TCP_ESTABLISHED:
		next, fin = sockets.TCP_FIN_WAIT1, true
	case sockets.TCP_CLOSE_WAIT:
		next, fin = sockets.TCP_LAST_ACK, true
	}
	k.tcpSetState(sk, next)
	k.tr.Exit(fnTcpCloseState, tracing.Bool(fin))
	return fin
}

// tcpSendFin is tcp_send_fin: the FIN takes a sequence number of its own
// after all queued data: it rides on the last unsent skb if there is one,
// else it goes in an skb of its own, and is pushed out like data.
func (k *Kernel) tcpSendFin(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpSendFin, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTcpSendFin, tracing.Arg{})
	tp := tcpSk(sk)
	if tail := skb.SkbPeekTail(&sk.SkWriteQueue); tail != nil {
		setCbFlags(tail, cbFlagsOf(tail)|header.TCP_FLAG_FIN)
		setCbEndSeq(tail, cbEndSeqOf(tail)+1)
	} else {
		s, err := skb.AllocSkbFclone(k.skbs, MaxTCPHeader)
		if err != nil {
			return // the kernel retries from the timer; the model gives up the FIN
		}
		_ = skb.SkbReserve(s, MaxTCPHeader)
		setCbSeq(s, tp.WriteSeq)
		setCbEndSeq(s, tp.WriteSeq+1)
		setCbFlags(s, header.TCP_FLAG_ACK|header.TCP_FLAG_FIN)
		sk.SkWmemQueued += int32(s.Truesize)
		_ = skb.SkbQueueTailLocked(&sk.SkWriteQueue, s)
	}
	tp.WriteSeq++
	k.tcpPushPendingFrames(sk, TCP_NAGLE_OFF) // neither Nagle nor a cork holds a FIN back
}

// tcpShutdown is tcp_shutdown: shutdown(SHUT_WR) on a connection sends
// our FIN; the receive side is only a flag.
func (k *Kernel) tcpShutdown(sk *sockets.Sock, how int) {
	k.tr.Enter2(fnTcpShutdown, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(how)))
	defer k.tr.Exit(fnTcpShutdown, tracing.Arg{})
	if how&sockets.SEND_SHUTDOWN == 0 {
		return
	}
	switch sk.SkcState {
	// Not in SYN_RECV (a simultaneous open): the FIN goes once the
	// handshake completes (tcp_rcv_state_process calls back here).
	case sockets.TCP_ESTABLISHED, sockets.TCP_SYN_SENT, sockets.TCP_CLOSE_WAIT:
		if k.tcpCloseState(sk) {
			k.tcpSendFin(sk)
		}
	}
}
