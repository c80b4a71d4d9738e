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
	k.tcpPush(sk)
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
	case sockets.TCP_ESTABLISHED, sockets.TCP_SYN_SENT, sockets.TCP_SYN_RECV, sockets.TCP_CLOSE_WAIT:
		if k.tcpCloseState(sk) {
			k.tcpSendFin(sk)
		}
	}
}

// tcpTimeWait is tcp_time_wait: the connection is over but its four-tuple
// stays reserved for 60 s, to absorb the peer's retransmitted FIN and
// stray segments. The kernel swaps the sock for a small
// inet_timewait_sock from tw_sock_TCP; the model keeps the full sock in
// ehash in state TIME_WAIT (or FIN_WAIT2 for an orphan waiting on the
// peer's FIN) and frees it when the timer ends.
func (k *Kernel) tcpTimeWait(sk *sockets.Sock, state sockets.State, timeo int64) {
	k.tr.Enter2(fnTcpTimeWait, tracing.Sock(uint64(sk.Addr())), tracing.State(uint8(state)))
	defer k.tr.Exit(fnTcpTimeWait, tracing.Arg{})
	tp := tcpSk(sk)
	k.tcpClearXmitTimers(sk)
	if state == sockets.TCP_TIME_WAIT {
		k.tcpSetState(sk, sockets.TCP_TIME_WAIT)
	}
	if tp.twTimer == nil {
		tp.twTimer = NewTimer("tw_timer_handler", func() { k.twTimerHandler(sk) })
	}
	k.ModTimer(tp.twTimer, k.clock.Now()+timeo)
}

// twTimerHandler is tw_timer_handler -> inet_twsk_kill: TIME_WAIT is
// over; the four-tuple and the port are free again.
func (k *Kernel) twTimerHandler(sk *sockets.Sock) {
	k.tr.Enter1(fnTwTimerHandler, tracing.Sock(uint64(sk.Addr())))
	defer k.tr.Exit(fnTwTimerHandler, tracing.Arg{})
	tcpSk(sk).twTimer = nil
	k.tcpDone(sk)
}

// tcpTimewaitState is tcp_timewait_state_process for the model's
// TIME_WAIT sock: a retransmitted FIN is acknowledged again and restarts
// the 60 s; a RST ends TIME_WAIT early (RFC 1337 hazard, as Linux does
// with tcp_rfc1337 = 0); anything else is dropped.
func (k *Kernel) tcpTimewaitState(sk *sockets.Sock, seg *tcpSegmentIn) {
	k.tr.Enter2(fnTcpTimewaitStateProcess, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer k.tr.Exit(fnTcpTimewaitStateProcess, tracing.Arg{})
	switch {
	case seg.has(header.TCP_FLAG_RST):
		k.tcpDone(sk)
	case seg.has(header.TCP_FLAG_FIN):
		k.tcpSendAck(sk)
		k.tcpTimeWait(sk, sockets.TCP_TIME_WAIT, TCP_TIMEWAIT_LEN)
	}
	_ = skb.ConsumeSkb(seg.s)
}
