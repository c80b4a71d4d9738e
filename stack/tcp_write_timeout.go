package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// When does a connection give up? net/ipv4/tcp_timer.c's
// tcp_write_timeout: a SYN after tcp_syn_retries retransmissions (plus
// tcp_syn_linear_timeouts for connect), data after the time that
// tcp_retries2 (15) backed-off RTOs from 200 ms would take (about 924.6
// s), or after TCP_USER_TIMEOUT if the application set one. Time is
// counted from the first transmission of the segment that first had to
// be retransmitted (retrans_stamp).

// tcpModelTimeout is tcp_model_timeout: how long boundary retransmissions
// take with an RTO starting at rtoBase and doubling up to TCP_RTO_MAX.
func tcpModelTimeout(boundary int, rtoBase int64) int64 {
	thresh := 0 // ilog2(TCP_RTO_MAX / rto_base)
	for r := TCP_RTO_MAX / rtoBase; r > 1; r >>= 1 {
		thresh++
	}
	if boundary <= thresh {
		return (int64(2)<<boundary - 1) * rtoBase
	}
	return (int64(2)<<thresh-1)*rtoBase + int64(boundary-thresh)*TCP_RTO_MAX
}

// tcpRetransmitsTimedOut is retransmits_timed_out: has the episode lasted
// timeout (or, if 0, the time boundary retransmissions take)?
func (k *Kernel) tcpRetransmitsTimedOut(sk *sockets.Sock, boundary int, timeout int64) bool {
	tp := tcpSk(sk)
	if tp.IcskRetransmits == 0 || !tp.retransStampSet {
		return false
	}
	if timeout == 0 {
		rtoBase := int64(TCP_RTO_MIN)
		if sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
			rtoBase = TCP_TIMEOUT_INIT
		}
		timeout = tcpModelTimeout(boundary, rtoBase)
	}
	// In the TCP timestamp clock (ms), as the kernel counts it.
	elapsed := k.clock.Now()/1e6 - tp.retransStamp/1e6
	return elapsed-timeout/1e6 >= 0
}

// tcpOrphanRetries is tcp_orphan_retries: how many retries an orphaned
// socket (closed by its process) gets: tcp_orphan_retries, or 8 when that
// is 0 (the default) and the RTO has not reached its maximum; none left
// after an ICMP error once it has.
func (k *Kernel) tcpOrphanRetries(sk *sockets.Sock, alive bool) int {
	retries := k.net.Sysctl.TcpOrphanRetries
	if sk.SkErrSoft != 0 && !alive {
		retries = 0
	}
	if retries == 0 && alive {
		retries = 8
	}
	return retries
}

// tcpWriteTimeout is tcp_write_timeout: true if the connection was given
// up (tcp_write_err: ETIMEDOUT, TCPAbortOnTimeout).
func (k *Kernel) tcpWriteTimeout(sk *sockets.Sock) bool {
	tp := tcpSk(sk)
	var expired bool
	var retryUntil int
	if sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_SYN_RECV {
		retryUntil = k.net.Sysctl.TcpSynRetries
		if tp.SynCnt != 0 {
			retryUntil = int(tp.SynCnt) // TCP_SYNCNT
		}
		maxRetrans := retryUntil
		if sk.SkcState == sockets.TCP_SYN_SENT {
			maxRetrans += k.net.Sysctl.TcpSynLinearTimeouts
		}
		expired = int(tp.IcskRetransmits) >= maxRetrans
	} else {
		retryUntil = k.net.Sysctl.TcpRetries2
		if sk.SockFlagSet(sockets.SOCK_DEAD) {
			retryUntil = k.tcpOrphanRetries(sk, tp.IcskRto < TCP_RTO_MAX)
		}
	}
	if !expired {
		expired = k.tcpRetransmitsTimedOut(sk, retryUntil, int64(tp.IcskUserTimeout)*1e6)
	}
	if !expired {
		return false
	}
	k.tcpWriteErr(sk)
	return true
}

// tcpWriteErr is tcp_write_err: the connection is given up with
// ETIMEDOUT.
func (k *Kernel) tcpWriteErr(sk *sockets.Sock) {
	k.tr.Point(fnTcpWriteErr, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(tcpSk(sk).IcskRetransmits)))
	err := sk.SkErrSoft // an ICMP error seen meanwhile says more than a timeout
	if err == 0 {
		err = tracing.ETIMEDOUT
	}
	k.tcpDoneWithError(sk, err)
	k.mib.inc(LINUX_MIB_TCPABORTONTIMEOUT)
}

// tcpRtxProbe0TimedOut is tcp_rtx_probe0_timed_out: a peer that shut its
// window on data in flight is given up only when nothing has come from
// it for twice TCP_RTO_MAX (240 s) and retransmitting has lasted as long
// (or TCP_USER_TIMEOUT, if set, has passed). rtxDelta is how long the
// retransmissions have lasted, in ms.
func (k *Kernel) tcpRtxProbe0TimedOut(sk *sockets.Sock, rtxDelta int64) (timedOut bool) {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpRtxProbe0TimedOut, tracing.Sock(uint64(sk.Addr())), tracing.Int(rtxDelta))
	defer func() { k.tr.Exit(fnTcpRtxProbe0TimedOut, tracing.Bool(timedOut)) }()
	timeout := 2 * TCP_RTO_MAX / 1e6 // ms
	if u := int64(tp.IcskUserTimeout); u != 0 {
		if rtxDelta > u {
			return true
		}
		timeout = min(timeout, u)
	}
	rcvDelta := (tp.retransmitTimer.Expires() - tp.RcvTstamp) / 1e6 // icsk_timeout - rcv_tstamp
	if rcvDelta <= timeout {
		return false
	}
	return rtxDelta > timeout
}

// tcpClampRtoToUserTimeout is tcp_clamp_rto_to_user_timeout: with
// TCP_USER_TIMEOUT, the next RTO never waits past it.
func (k *Kernel) tcpClampRtoToUserTimeout(sk *sockets.Sock) int64 {
	tp := tcpSk(sk)
	if tp.IcskUserTimeout == 0 || !tp.retransStampSet {
		return tp.IcskRto
	}
	remaining := int64(tp.IcskUserTimeout) - (k.clock.Now()/1e6 - tp.retransStamp/1e6)
	if remaining <= 0 {
		return NsecPerJiffy // fire as soon as possible
	}
	return min(tp.IcskRto, remaining*1e6)
}

// tcpAnyRetransDone is tcp_any_retrans_done: a retransmission is out, or
// the oldest segment was ever sent twice.
func tcpAnyRetransDone(tp *TcpSock) bool {
	if tp.RetransOut > 0 {
		return true
	}
	head := skb.SkbPeek(&tp.rtxQueue)
	return head != nil && head.Cb[cbSacked]&TCPCB_EVER_RETRANS != 0
}

// tcpRetransStampCleanup is tcp_retrans_stamp_cleanup: with nothing
// retransmitted outstanding, the next episode starts a new clock.
func tcpRetransStampCleanup(tp *TcpSock) {
	if !tcpAnyRetransDone(tp) {
		tcpClearRetransStamp(tp)
	}
}

// tcpClearRetransStamp is retrans_stamp = 0: no retransmission episode.
func tcpClearRetransStamp(tp *TcpSock) { tp.retransStamp, tp.retransStampSet = 0, false }
