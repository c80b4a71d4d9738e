package stack

import (
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// Congestion control behind struct tcp_congestion_ops, as in
// net/ipv4/tcp_cong.c: the socket's algorithm is picked from
// net.ipv4.tcp_congestion_control when the socket is made, or by the
// application with setsockopt(TCP_CONGESTION) (a child takes its
// listener's only if the application chose it); it starts when the
// connection is established, and is asked by name-sake hooks: ssthresh
// on a loss, cong_avoid on an ACK of new data, set_state on entering
// Loss, cwnd_event when sending starts after idle, pkts_acked with each
// RTT sample, undo_cwnd when a recovery proves needless (both algorithms
// use tcp_reno_undo_cwnd's rule).

// tcpCongestionOps is struct tcp_congestion_ops. The values are fixed
// tables, like the kernel's registered algorithms.
type tcpCongestionOps struct {
	name      string
	init      func(k *Kernel, tp *TcpSock)
	ssthresh  func(tp *TcpSock) uint32
	congAvoid func(k *Kernel, tp *TcpSock, acked uint32)
	setState  func(k *Kernel, tp *TcpSock, state uint8)
	cwndEvent func(k *Kernel, tp *TcpSock, ev int)
	pktsAcked func(k *Kernel, tp *TcpSock, rttUs int64)
}

// enum tcp_ca_event (the ones the model raises).
const (
	CA_EVENT_TX_START     = 0 // first transmit when no packets in flight
	CA_EVENT_CWND_RESTART = 1 // congestion window restart after idle
)

// tcpCongestionOpsByName finds an algorithm (tcp_ca_find).
func tcpCongestionOpsByName(name string) *tcpCongestionOps {
	switch name {
	case "reno":
		return &tcpRenoOps
	case "cubic":
		return &tcpCubicOps
	}
	return nil
}

// tcpAssignCongestionControl is tcp_assign_congestion_control: the
// sysctl's algorithm for a new socket.
func (k *Kernel) tcpAssignCongestionControl(tp *TcpSock) {
	ops := tcpCongestionOpsByName(k.net.Sysctl.TcpCongestion)
	if ops == nil {
		ops = &tcpRenoOps
	}
	tp.caOps = ops
	tp.CongestionOps = ops.name
}

// tcpSetCongestionControl is tcp_set_congestion_control, for
// setsockopt(TCP_CONGESTION): an unknown name is ENOENT; asking for the
// algorithm the socket has changes nothing but marks it chosen by the
// application; another one replaces it (tcp_reinit_congestion_control).
// Both of the model's algorithms are in tcp_allowed_congestion_control,
// so no name needs CAP_NET_ADMIN.
func (k *Kernel) tcpSetCongestionControl(sk *sockets.Sock, name string) error {
	tp := tcpSk(sk)
	ops := tcpCongestionOpsByName(name)
	switch {
	case ops == nil:
		return sockets.Errno(tracing.ENOENT)
	case ops == tp.caOps:
		tp.caSetsockopt = true
		return nil
	}
	k.tcpReinitCongestionControl(sk, ops)
	return nil
}

// tcpReinitCongestionControl is tcp_reinit_congestion_control: the new
// algorithm starts from clean private state (icsk_ca_priv zeroed), at
// once on a connection, or when the connection is established on a
// socket still closed or listening.
func (k *Kernel) tcpReinitCongestionControl(sk *sockets.Sock, ops *tcpCongestionOps) {
	tp := tcpSk(sk)
	tp.caOps, tp.CongestionOps = ops, ops.name
	tp.caSetsockopt = true
	tp.cubic = bictcp{}
	k.tr.Point(fnTcpReinitCongestionControl, tracing.Sock(uint64(sk.Addr())), tracing.Arg{})
	if sk.SkcState != sockets.TCP_CLOSE && sk.SkcState != sockets.TCP_LISTEN {
		k.tcpInitCongestionControl(tp)
	}
}

// tcpCaOpenreqChild is the choice part of tcp_ca_openreq_child: a child
// keeps the algorithm its listener's application chose with
// TCP_CONGESTION; otherwise it has the system default of the moment
// (which tcp_init_sock gave it).
func tcpCaOpenreqChild(tp, ltp *TcpSock) {
	if ltp.caSetsockopt {
		tp.caOps, tp.CongestionOps = ltp.caOps, ltp.CongestionOps
		tp.caSetsockopt = true
	}
}

// tcpInitCongestionControl is tcp_init_congestion_control: the algorithm
// starts, once the connection is established.
func (k *Kernel) tcpInitCongestionControl(tp *TcpSock) {
	tp.priorSsthresh = 0 // a new algorithm undoes nothing the old one did
	if tp.caOps == nil {
		k.tcpAssignCongestionControl(tp)
	}
	if tp.caOps.init != nil {
		tp.caOps.init(k, tp)
	}
}

// ops returns the socket's algorithm (Reno until one is assigned).
func (tp *TcpSock) ops() *tcpCongestionOps {
	if tp.caOps == nil {
		return &tcpRenoOps
	}
	return tp.caOps
}

// tcpCaEvent is tcp_ca_event.
func (k *Kernel) tcpCaEvent(tp *TcpSock, ev int) {
	if o := tp.ops(); o.cwndEvent != nil {
		o.cwndEvent(k, tp, ev)
	}
}

// tcpSetCaState is tcp_set_ca_state: tell the algorithm, then change.
func (k *Kernel) tcpSetCaState(tp *TcpSock, state uint8) {
	if o := tp.ops(); o.setState != nil {
		o.setState(k, tp, state)
	}
	tp.IcskCaState = state
}

// tcpSlowStart is tcp_slow_start: cwnd grows by the segments acknowledged,
// up to ssthresh; it returns what is left for congestion avoidance.
func tcpSlowStart(tp *TcpSock, acked uint32) uint32 {
	cwnd := min(tp.SndCwnd+acked, tp.SndSsthresh)
	acked -= cwnd - tp.SndCwnd
	tp.SndCwnd = min(cwnd, tp.SndCwndClamp)
	return acked
}

// tcpCongAvoidAi is tcp_cong_avoid_ai: additive increase, one segment per
// w segments acknowledged.
func tcpCongAvoidAi(tp *TcpSock, w, acked uint32) {
	w = max(w, 1)
	if tp.sndCwndCnt >= w {
		tp.sndCwndCnt = 0
		tp.SndCwnd++
	}
	tp.sndCwndCnt += acked
	if tp.sndCwndCnt >= w {
		delta := tp.sndCwndCnt / w
		tp.sndCwndCnt -= delta * w
		tp.SndCwnd += delta
	}
	tp.SndCwnd = min(tp.SndCwnd, tp.SndCwndClamp)
}

// tcpRenoOps is tcp_reno: slow start, then one segment more per window
// acknowledged; ssthresh halves on a loss.
var tcpRenoOps = tcpCongestionOps{
	name:     "reno",
	ssthresh: func(tp *TcpSock) uint32 { return max(tp.SndCwnd>>1, 2) }, // tcp_reno_ssthresh
	congAvoid: func(k *Kernel, tp *TcpSock, acked uint32) { // tcp_reno_cong_avoid
		if tp.SndCwnd < tp.SndSsthresh {
			if acked = tcpSlowStart(tp, acked); acked == 0 {
				return
			}
		}
		tcpCongAvoidAi(tp, tp.SndCwnd, acked)
	},
}

// tcpCongAvoid is tcp_cong_avoid: the algorithm grows the window for an
// ACK of new data (acked segments).
func (k *Kernel) tcpCongAvoid(tp *TcpSock, acked uint32) {
	o := tp.ops()
	if tcpIsCwndLimited(tp) { // the algorithms' first test
		o.congAvoid(k, tp, acked)
	}
	tp.sndCwndStamp = k.clock.Now()
	fn := fnTcpRenoCongAvoid
	if o == &tcpCubicOps {
		fn = fnCubictcpCongAvoid
	}
	k.tr.Point(fn, tracing.Uint(uint64(acked)), tracing.Uint(uint64(tp.SndCwnd)))
}

// tcpSsthresh asks the algorithm for ssthresh after a loss.
func (tp *TcpSock) tcpSsthresh() uint32 { return tp.ops().ssthresh(tp) }

// tcpPktsAcked hands the algorithm an RTT sample (tcp_clean_rtx_queue's
// pkts_acked).
func (k *Kernel) tcpPktsAcked(tp *TcpSock, rttUs int64) {
	if o := tp.ops(); o.pktsAcked != nil {
		o.pktsAcked(k, tp, rttUs)
	}
}
