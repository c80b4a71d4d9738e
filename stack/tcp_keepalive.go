package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// Keepalive (net/ipv4/tcp_timer.c's tcp_keepalive_timer): a connection
// with SO_KEEPALIVE that has heard nothing from its peer for
// TCP_KEEPIDLE (tcp_keepalive_time, 2 hours by default) sends a probe,
// an ACK with an old sequence number (snd_una - 1) that the peer must
// answer; then one every TCP_KEEPINTVL (75 s); after TCP_KEEPCNT (9)
// unanswered probes the connection is reset and fails with ETIMEDOUT.

func (k *Kernel) keepaliveTimeWhen(tp *TcpSock) int64 {
	if tp.KeepaliveTime != 0 {
		return tp.KeepaliveTime
	}
	return int64(k.net.Sysctl.TcpKeepaliveTime) * 1e9
}

func (k *Kernel) keepaliveIntvlWhen(tp *TcpSock) int64 {
	if tp.KeepaliveIntvl != 0 {
		return tp.KeepaliveIntvl
	}
	return int64(k.net.Sysctl.TcpKeepaliveIntvl) * 1e9
}

func (k *Kernel) keepaliveProbes(tp *TcpSock) int {
	if tp.KeepaliveProbes != 0 {
		return int(tp.KeepaliveProbes)
	}
	return k.net.Sysctl.TcpKeepaliveProbes
}

// keepaliveTimeElapsed is keepalive_time_elapsed: how long since the peer
// was last heard from (data or an ACK).
func (k *Kernel) keepaliveTimeElapsed(tp *TcpSock) int64 {
	now := k.clock.Now()
	return min(now-tp.ack.Lrcvtime, now-tp.RcvTstamp)
}

// tcpResetKeepaliveTimer is inet_csk_reset_keepalive_timer.
func (k *Kernel) tcpResetKeepaliveTimer(sk *sockets.Sock, when int64) {
	tp := tcpSk(sk)
	if tp.keepaliveTimer == nil {
		tp.keepaliveTimer = NewTimer("tcp_keepalive_timer", func() { k.tcpKeepaliveTimer(sk) })
	}
	k.ModTimer(tp.keepaliveTimer, k.clock.Now()+max(when, 0))
}

// tcpSetKeepalive is tcp_set_keepalive: SO_KEEPALIVE on a connection
// starts the timer (a full idle period from now), off stops it.
func (k *Kernel) tcpSetKeepalive(sk *sockets.Sock, on bool) {
	if sk.SkcState == sockets.TCP_CLOSE || sk.SkcState == sockets.TCP_LISTEN {
		return
	}
	tp := tcpSk(sk)
	switch {
	case on && !sk.SockFlagSet(sockets.SOCK_KEEPOPEN):
		k.tcpResetKeepaliveTimer(sk, k.keepaliveTimeWhen(tp))
	case !on && tp.keepaliveTimer != nil:
		k.DelTimer(tp.keepaliveTimer)
	}
}

// tcpKeepidleChanged is the rest of tcp_sock_set_keepidle_locked: a new
// idle time counts from when the peer was last heard from.
func (k *Kernel) tcpKeepidleChanged(sk *sockets.Sock) {
	if !sk.SockFlagSet(sockets.SOCK_KEEPOPEN) || sk.SkcState == sockets.TCP_CLOSE || sk.SkcState == sockets.TCP_LISTEN {
		return
	}
	tp := tcpSk(sk)
	k.tcpResetKeepaliveTimer(sk, max(tp.KeepaliveTime-k.keepaliveTimeElapsed(tp), 0))
}

// tcpKeepaliveTimer is tcp_keepalive_timer.
func (k *Kernel) tcpKeepaliveTimer(sk *sockets.Sock) {
	tp := tcpSk(sk)
	k.tr.Enter2(fnTcpKeepaliveTimer, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(tp.IcskProbesOut)))
	defer k.tr.Exit(fnTcpKeepaliveTimer, tracing.Arg{})
	if sk.SkLock.Owned {
		k.tcpResetKeepaliveTimer(sk, HZ/20*NsecPerJiffy) // try again in 50 ms
		return
	}
	if sk.SkcState == sockets.TCP_FIN_WAIT2 && sk.SockFlagSet(sockets.SOCK_DEAD) {
		// An orphan whose tcp_fin_time is beyond 60 s has waited the
		// part past 60 s as a full socket; a tw waits the rest.
		if tp.Linger2 >= 0 {
			if tmo := k.tcpFinTime(sk) - TCP_TIMEWAIT_LEN; tmo > 0 {
				k.tcpTimeWait(sk, sockets.TCP_FIN_WAIT2, tmo)
				return
			}
		}
		k.tcpSendActiveReset(sk)
		k.tcpDone(sk)
		return
	}
	if !sk.SockFlagSet(sockets.SOCK_KEEPOPEN) || sk.SkcState == sockets.TCP_CLOSE ||
		sk.SkcState == sockets.TCP_SYN_SENT || sk.SkcState == sockets.TCP_LISTEN {
		return
	}
	next := k.keepaliveTimeWhen(tp)
	if tp.PacketsOut > 0 || !skb.SkbQueueEmpty(&sk.SkWriteQueue) {
		// Alive without keepalive: the retransmit timer watches it.
		k.tcpResetKeepaliveTimer(sk, next)
		return
	}
	elapsed := k.keepaliveTimeElapsed(tp)
	if elapsed < next {
		k.tcpResetKeepaliveTimer(sk, next-elapsed)
		return
	}
	if ut := int64(tp.IcskUserTimeout) * 1e6; (ut != 0 && elapsed >= ut && tp.IcskProbesOut > 0) ||
		(ut == 0 && int(tp.IcskProbesOut) >= k.keepaliveProbes(tp)) {
		// The peer is gone.
		k.tcpSendActiveReset(sk)
		k.tcpWriteErr(sk)
		return
	}
	// tcp_write_wakeup with nothing to send: tcp_xmit_probe_skb.
	k.mib.inc(LINUX_MIB_TCPKEEPALIVE)
	k.tcpSendControl(sk, tp.SndUna-1, header.TCP_FLAG_ACK)
	tp.IcskProbesOut++
	k.tcpResetKeepaliveTimer(sk, k.keepaliveIntvlWhen(tp))
}
