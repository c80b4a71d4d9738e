package stack

import "github.com/stackscope/stackscope/sockets"

// Is the congestion window the limit? Linux grows cwnd only when it is
// (tcp_is_cwnd_limited), so that an application that sends little, or a
// receiver's small window, does not inflate it without evidence; and an
// unused window is moderated (RFC 2861, tcp_cwnd_application_limited).

// tcpIsCwndLimited is tcp_is_cwnd_limited: the window was full at some
// point of the current round; in slow start, also while cwnd is below
// twice the most segments that were in flight.
func tcpIsCwndLimited(tp *TcpSock) bool {
	if tp.isCwndLimited {
		return true
	}
	if tp.SndCwnd < tp.SndSsthresh { // tcp_in_slow_start
		return tp.SndCwnd < 2*tp.maxPacketsOut
	}
	return false
}

// tcpCwndValidate is tcp_cwnd_validate, after tcp_write_xmit sent
// something or found the window full: remember for this round whether
// cwnd was the limit and the most segments in flight; if the window is
// not used and has not grown or been used for an RTO, moderate it.
func (k *Kernel) tcpCwndValidate(sk *sockets.Sock, isCwndLimited bool) {
	tp := tcpSk(sk)
	if !before(tp.SndUna, tp.cwndUsageSeq) || isCwndLimited ||
		(!tp.isCwndLimited && tp.PacketsOut > tp.maxPacketsOut) {
		tp.isCwndLimited = isCwndLimited
		tp.maxPacketsOut = tp.PacketsOut
		tp.cwndUsageSeq = tp.SndNxt
	}
	if tcpIsCwndLimited(tp) {
		tp.sndCwndUsed = 0
		tp.sndCwndStamp = k.clock.Now()
		return
	}
	tp.sndCwndUsed = max(tp.sndCwndUsed, tp.PacketsOut)
	// (s32)(tcp_jiffies32 - snd_cwnd_stamp) >= icsk_rto, in whole jiffies.
	idle := int64(int32(stampJiffies32(k.clock.Now()) - stampJiffies32(tp.sndCwndStamp)))
	if k.net.Sysctl.TcpSlowStartAfterIdle != 0 && idle >= tp.IcskRto/NsecPerJiffy {
		k.tcpCwndApplicationLimited(sk)
	}
}

// tcpCwndApplicationLimited is tcp_cwnd_application_limited: in the Open
// state, a window larger than what was used (at least the initial window)
// comes down halfway toward it, ssthresh keeping what it had reached;
// not while a writer waits for send-buffer space (SOCK_NOSPACE): then the
// buffer, not the application, is the limit.
func (k *Kernel) tcpCwndApplicationLimited(sk *sockets.Sock) {
	tp := tcpSk(sk)
	if tp.IcskCaState == sockets.TCP_CA_Open && sk.SkSocket != nil && !sk.SkSocket.TestFlag(sockets.SOCK_NOSPACE) {
		winUsed := max(tp.sndCwndUsed, TCP_INIT_CWND)
		if winUsed < tp.SndCwnd {
			tp.SndSsthresh = tcpCurrentSsthresh(tp)
			tp.SndCwnd = (tp.SndCwnd + winUsed) >> 1
		}
		tp.sndCwndUsed = 0
	}
	tp.sndCwndStamp = k.clock.Now()
}
