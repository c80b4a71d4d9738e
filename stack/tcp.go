package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// Object sizes of the protocol socks. The model's structs are not the
// kernel's; these sizes are chosen so that SLUB's arithmetic (free pointer
// behind RCU objects, cache-line alignment) lands on the slot sizes of a
// 6.x x86-64 machine: TCP 2368, request_sock_TCP 320, tw_sock_TCP 256
// (measured, KERNEL.md section 11). UDP, RAW and PING are estimates.
const (
	sizeofTCPSock         = 2304
	sizeofTCPRequestSock  = 296
	sizeofTCPTimewaitSock = 240
	sizeofUDPSock         = 1216
	sizeofRawSock         = 1088
	sizeofPingSock        = 1024
)

// slabSockFlags are the flags proto_register gives a socket cache.
const slabSockFlags = slab.SLAB_HWCACHE_ALIGN | slab.SLAB_ACCOUNT | slab.SLAB_TYPESAFE_BY_RCU

// TCP constants (include/net/tcp.h).
const (
	TCP_TIMEOUT_INIT      = int64(1e9) // 1 s
	TCP_RTO_MIN           = int64(200e6)
	TCP_RTO_MAX           = int64(120e9)
	TCP_INIT_CWND         = 10
	TCP_MSS_DEFAULT       = 536
	TCP_INFINITE_SSTHRESH = 0x7fffffff
	MAX_TCP_WINDOW        = 32767
	TCP_NAGLE_OFF         = 1
	TCP_NAGLE_CORK        = 2
	TCP_NAGLE_PUSH        = 4
	tcpReordering         = 3 // sysctl_tcp_reordering
)

// TcpSock is struct tcp_sock: the whole TCP socket, which starts with
// inet_connection_sock (and so with inet_sock, sock and sock_common).
// Sequence numbers and the rest of TCP's state arrive with the TCP issue.
type TcpSock struct {
	sockets.InetConnectionSock
	tcpConn
	RcvNxt, CopiedSeq, RcvWup uint32
	SndNxt, SndUna, WriteSeq  uint32
	SndWnd, RcvWnd            uint32
	SndCwnd, SndSsthresh      uint32
	SndCwndClamp              uint32
	MssCache                  uint32
	AdvMss                    uint16
	RcvMss                    uint32 // icsk_ack.rcv_mss: the peer's segment size as seen
	Reordering                uint32
	MdevUs                    uint32
	SndIsn, RcvIsn            uint32
	Nonagle                   uint8
	KeepaliveTime             int64 // TCP_KEEPIDLE in ns (0: the sysctl)
	IcskRtoMin                int64 // icsk_rto_min: tcp_rto_min_us when the socket was made, in whole jiffies (ns)
	KeepaliveIntvl            int64
	KeepaliveProbes           uint8
	CongestionOps             string

	// Socket options and receive-buffer autotuning (tcp_rcvbuf.go).
	caSetsockopt    bool         // icsk_ca_setsockopt: the application chose the algorithm
	rcvRttEst       tcpRcvRtt    // rcv_rtt_est: the receiver's RTT estimate
	rcvRttLastTsecr uint32       // rcv_rtt_last_tsecr: the last echoed timestamp sampled
	rcvqSpace       tcpRcvqSpace // rcvq_space: what the reader took per RTT
}

// tcpSk is tcp_sk: the tcp_sock a sock belongs to.
func tcpSk(sk *sockets.Sock) *TcpSock { return sk.Self().(*TcpSock) }

// newTCPProt is tcp_prot (net/ipv4/tcp_ipv4.c).
func (k *Kernel) newTCPProt() *sockets.Proto {
	return &sockets.Proto{
		Name: "TCP", ObjSize: sizeofTCPSock, SlabFlags: slab.SLAB_TYPESAFE_BY_RCU,
		Init:       k.tcpV4InitSock,
		Close:      k.tcpClose,
		Destroy:    k.tcpV4DestroySock,
		Hash:       k.inetHash,
		Unhash:     k.inetUnhash,
		GetPort:    k.inetCskGetPort,
		Accept:     k.inetCskAccept,
		Disconnect: k.tcpDisconnect,
		Connect:    k.tcpV4Connect,
		Sendmsg:    k.tcpSendmsg,
		Recvmsg:    k.tcpRecvmsg,
		Shutdown:   k.tcpShutdown,
		Setsockopt: k.tcpSetsockopt,
		Keepalive:  k.tcpSetKeepalive,
		Getsockopt: k.tcpGetsockopt,
		Ioctl:      k.tcpIoctl,
		BacklogRcv: "tcp_v4_do_rcv",
		Alloc:      newTcpSock,
	}
}

func newTcpSock(p *sockets.Proto) *sockets.Sock {
	tp := &TcpSock{}
	sockets.AttachOwner(&tp.Sock, tp)
	return &tp.Sock
}

func (k *Kernel) inetHash(sk *sockets.Sock) error { return sockets.InetHash(k.net, k.hash, sk) }
func (k *Kernel) inetUnhash(sk *sockets.Sock)     { sockets.InetUnhash(k.net, sk) }

// tcpInit is tcp_init: the hash tables, sized by thash_entries.
func (k *Kernel) tcpInit() error {
	k.tr.Enter(fnTcpInit)
	defer k.tr.Exit(fnTcpInit, tracing.Arg{})
	h, err := sockets.NewInetHashinfo(k.mem, k.cfg.ThashEntries, k.rnd.r.Uint32())
	if err != nil {
		return err
	}
	k.hash = h
	k.tcpProt.Hashinfo = h
	return nil
}

// tcpV4InitSock is tcp_v4_init_sock: tcp_init_sock, then the IPv4
// operations (icsk_af_ops = &ipv4_specific).
func (k *Kernel) tcpV4InitSock(sk *sockets.Sock) error {
	k.tr.Enter1(fnTcpV4InitSock, tracing.Sock(uint64(sk.Addr())))
	k.tcpInitSock(sk)
	sockets.IcskOf(sk).IcskAfOps = &ipv4Specific
	sk.SkBacklogRcv = k.tcpBacklogRcv
	sk.SkReleaseCb = k.tcpReleaseCb
	k.tr.Exit(fnTcpV4InitSock, tracing.Errno(0))
	return nil
}

// ipv4Specific is ipv4_specific: queue_xmit = ip_queue_xmit, conn_request
// = tcp_v4_conn_request, syn_recv_sock = tcp_v4_syn_recv_sock.
var ipv4Specific = sockets.InetCskAfOps{Name: "ipv4_specific"}

// tcpInitSock is tcp_init_sock (net/ipv4/tcp.c): the 6.x starting values:
// RTO 1 s, cwnd 10, MSS 536 until a route says more, buffers from
// tcp_wmem[1] and tcp_rmem[1].
func (k *Kernel) tcpInitSock(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpInitSock, tracing.Sock(uint64(sk.Addr())))
	tp := tcpSk(sk)
	icsk := &tp.InetConnectionSock
	icsk.IcskRto = TCP_TIMEOUT_INIT
	tp.IcskRtoMin = roundUpToJiffy(int64(k.net.Sysctl.TcpRtoMinUs) * 1000) // usecs_to_jiffies
	tp.MdevUs = uint32(TCP_TIMEOUT_INIT / 1000)
	tp.SndCwnd = TCP_INIT_CWND
	tp.SndSsthresh = TCP_INFINITE_SSTHRESH
	tp.SndCwndClamp = ^uint32(0)
	tp.MssCache = TCP_MSS_DEFAULT
	tp.Reordering = tcpReordering
	tp.rttMin = ^uint32(0) // minmax_reset(&tp->rtt_min, now, ~0U)
	// sk_alloc zeroes the sock: until a connection sets them, the
	// send, receive and ACK stamps read jiffy 0.
	tp.Lsndtime, tp.ack.Lrcvtime, tp.RcvTstamp = tcpStampZero, tcpStampZero, tcpStampZero
	k.tcpAssignCongestionControl(tp) // the sysctl's choice: cubic by default
	sk.SkSndbuf = int32(k.net.Sysctl.TcpWmem[1])
	sk.SkRcvbuf = int32(k.net.Sysctl.TcpRmem[1])
	sk.SkWriteSpace = k.skStreamWriteSpace
	sk.SkcProt.Sockets++
	k.tr.Exit(fnTcpInitSock, tracing.Arg{})
}

// tcpSetState is tcp_set_state: moving to CLOSE unhashes the sock and,
// unless the user bound the port explicitly, gives the port back.
func (k *Kernel) tcpSetState(sk *sockets.Sock, state sockets.State) {
	k.tr.Enter2(fnTcpSetState, tracing.Sock(uint64(sk.Addr())), tracing.State(uint8(state)))
	if state == sockets.TCP_CLOSE {
		sk.SkcProt.Unhash(sk)
		if icsk := sockets.IcskOf(sk); icsk.IcskBindHash != nil && sk.SkUserlocks&sockets.SOCK_BINDPORT_LOCK == 0 {
			sockets.InetPutPort(k.net, k.hash, sk)
		}
	}
	// CurrEstab counts ESTABLISHED and CLOSE_WAIT: the peer's FIN moves
	// a connection between the two without changing it.
	old := sk.SkcState
	switch {
	case state == sockets.TCP_ESTABLISHED:
		if old != sockets.TCP_ESTABLISHED {
			k.mib.inc(TCP_MIB_CURRESTAB)
		}
	case state == sockets.TCP_CLOSE_WAIT:
		if old == sockets.TCP_SYN_RECV {
			k.mib.inc(TCP_MIB_CURRESTAB)
		}
	case old == sockets.TCP_ESTABLISHED || old == sockets.TCP_CLOSE_WAIT:
		k.mib.dec(TCP_MIB_CURRESTAB)
	}
	// A connection that ends straight from ESTABLISHED or CLOSE_WAIT,
	// without the FIN exchange, was reset (by either end) or aborted.
	if state == sockets.TCP_CLOSE && (sk.SkcState == sockets.TCP_ESTABLISHED || sk.SkcState == sockets.TCP_CLOSE_WAIT) {
		k.mib.inc(TCP_MIB_ESTABRESETS)
	}
	k.inetSkStateStore(sk, state)
	k.tr.Exit(fnTcpSetState, tracing.Arg{})
}

// tcpClose is tcp_close -> __tcp_close: a listener stops listening;
// unread data makes the close an abort (RST, TCPAbortOnClose), as does
// SO_LINGER with a zero timeout; otherwise the FIN goes out after the
// queued data (tcp_close_state, tcp_send_fin). The orphan lives on until
// the FIN exchange ends: in LAST_ACK until its FIN is acknowledged, in
// FIN_WAIT2 for tcp_fin_timeout, then TIME_WAIT for 60 s.
func (k *Kernel) tcpClose(sk *sockets.Sock, timeout int64) {
	tr := k.tr
	tr.Enter2(fnTcpClose, tracing.Sock(uint64(sk.Addr())), tracing.Int(timeout))
	sockets.LockSock(sk)
	tr.Enter2(fnTcpCloseCore, tracing.Sock(uint64(sk.Addr())), tracing.Int(timeout))
	sk.SkShutdown = sockets.SHUTDOWN_MASK
	if sk.SkcState == sockets.TCP_LISTEN {
		k.tcpSetState(sk, sockets.TCP_CLOSE)
		k.inetCskListenStop(sk)
	} else {
		unread := tcpPurgeRcvQueue(sk, &sk.SkReceiveQueue)
		switch {
		case sk.SkcState == sockets.TCP_CLOSE:
		case unread > 0: // in any state: the data is lost, the peer must know
			k.mib.inc(LINUX_MIB_TCPABORTONCLOSE)
			k.tcpSetState(sk, sockets.TCP_CLOSE)
			k.tcpSendActiveReset(sk)
		case sk.SockFlagSet(sockets.SOCK_LINGER) && sk.SkLingertime == 0:
			_ = k.tcpDisconnect(sk, 0)
			k.mib.inc(LINUX_MIB_TCPABORTONDATA)
		default:
			if k.tcpCloseState(sk) {
				k.tcpSendFin(sk)
			}
		}
		k.skStreamWaitClose(sk, timeout)
	}
	// adjudge_to_death
	closed := false
	sockets.SockHold(sk)
	sockets.SockOrphan(sk)
	if sk.SkcState == sockets.TCP_FIN_WAIT2 {
		if tcpSk(sk).Linger2 < 0 { // TCP_LINGER2 -1: no waiting for the peer's FIN
			k.tcpSetState(sk, sockets.TCP_CLOSE)
			k.tcpSendActiveReset(sk)
			k.mib.inc(LINUX_MIB_TCPABORTONLINGER)
		} else if k.tcpFinWait2Orphan(sk, false) {
			// The tw has taken its place, and tcp_done has destroyed it.
			closed = true
		}
	}
	if sk.SkcState == sockets.TCP_CLOSE && !closed {
		k.inetCskDestroySock(sk)
	}
	tr.Exit(fnTcpCloseCore, tracing.Arg{})
	sockets.ReleaseSock(sk)
	sockets.SockPut(sk)
	tr.Exit(fnTcpClose, tracing.Arg{})
}

// skStreamWaitClose is sk_stream_wait_close: with a linger time, close()
// sleeps until the FIN is acknowledged (the socket leaves FIN_WAIT1,
// CLOSING and LAST_ACK), the time runs out or a signal comes, with the
// socket's lock released meanwhile.
func (k *Kernel) skStreamWaitClose(sk *sockets.Sock, timeout int64) {
	if timeout <= 0 || k.current == nil {
		return // no linger, or not a process's close (it cannot sleep)
	}
	k.tr.Enter2(fnSkStreamWaitClose, tracing.Sock(uint64(sk.Addr())), tracing.Int(timeout))
	defer k.tr.Exit(fnSkStreamWaitClose, tracing.Int(timeout))
	for timeout > 0 && skCloseState(sk) {
		sockets.ReleaseSock(sk)
		var intr bool
		timeout, intr = k.SleepOn(sk.SkWq, false, timeout)
		sockets.LockSock(sk)
		if intr {
			return
		}
	}
}

// skCloseState is sk_close_state: our FIN is out and not yet
// acknowledged.
func skCloseState(sk *sockets.Sock) bool {
	switch sk.SkcState {
	case sockets.TCP_FIN_WAIT1, sockets.TCP_CLOSING, sockets.TCP_LAST_ACK:
		return true
	}
	return false
}

// tcpFinTime is tcp_fin_time: how long an orphan waits in FIN_WAIT2 for
// the peer's FIN: TCP_LINGER2, or else tcp_fin_timeout, but at least 3.5
// RTOs (time for two retransmissions of the peer's FIN).
func (k *Kernel) tcpFinTime(sk *sockets.Sock) int64 {
	tmo := tcpSk(sk).Linger2
	if tmo == 0 {
		tmo = int64(k.net.Sysctl.TcpFinTimeout) * 1e9
	}
	return max(tmo, rtoTimes3_5(tcpSk(sk)))
}

// tcpFinTimeoutMax is TCP_FIN_TIMEOUT_MAX: TCP_LINGER2 is at most 120 s.
const tcpFinTimeoutMax = int64(120e9)

// tcpFinWait2Orphan is what __tcp_close and tcp_rcv_state_process do with
// an orphan that reaches FIN_WAIT2: wait tcp_fin_time for the peer's FIN.
// Up to 60 s, and with no FIN in hand, as a timewait sock (substate
// FIN_WAIT2; it reports whether the full socket is gone); beyond 60 s the
// full socket waits on the keepalive timer for the time past 60 s, and
// tcp_keepalive_timer then makes the tw for the rest. With finIn (the
// segment that completed FIN_WAIT1 carries the peer's FIN too), the full
// socket stays for tcp_fin to take to TIME_WAIT.
func (k *Kernel) tcpFinWait2Orphan(sk *sockets.Sock, finIn bool) bool {
	tmo := k.tcpFinTime(sk)
	switch {
	case tmo > TCP_TIMEWAIT_LEN:
		k.tcpResetKeepaliveTimer(sk, tmo-TCP_TIMEWAIT_LEN)
	case finIn:
		k.tcpResetKeepaliveTimer(sk, tmo)
	default:
		k.tcpTimeWait(sk, sockets.TCP_FIN_WAIT2, tmo)
		return true
	}
	return false
}

// rtoTimes3_5 is (icsk_rto << 2) - (icsk_rto >> 1), in jiffies as the
// kernel counts it.
func rtoTimes3_5(tp *TcpSock) int64 {
	rto := tp.IcskRto / NsecPerJiffy
	return ((rto << 2) - (rto >> 1)) * NsecPerJiffy
}

// tcpV4DestroySock is tcp_v4_destroy_sock: the TCP state is dropped and a
// bind bucket still referenced is released.
func (k *Kernel) tcpV4DestroySock(sk *sockets.Sock) {
	k.tr.Enter1(fnTcpV4DestroySock, tracing.Sock(uint64(sk.Addr())))
	k.tcpClearXmitTimers(sk)
	tp := tcpSk(sk)
	k.tcpWriteQueuePurge(sk)
	_ = skb.SkbQueuePurge(&tp.outOfOrderQueue)
	if icsk := sockets.IcskOf(sk); icsk.IcskBindHash != nil {
		sockets.InetPutPort(k.net, k.hash, sk)
	}
	sk.SkcProt.Sockets--
	k.tr.Exit(fnTcpV4DestroySock, tracing.Arg{})
}

// tcpDisconnect is tcp_disconnect (connect with AF_UNSPEC, or close with
// a zero SO_LINGER): abort whatever the sock was doing (an RST where the
// peer knows of the connection) and take it back to a fresh CLOSE sock:
// queues purged, timers stopped, the RTT, congestion and loss-recovery
// state and the counters reset. The next connect starts its sequence
// numbers a window past the old ones (write_seq + max_window + 2) rather
// than from a new ISN. A listener stops listening (inet_csk_listen_stop).
func (k *Kernel) tcpDisconnect(sk *sockets.Sock, flags int) error {
	k.tr.Enter2(fnTcpDisconnect, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(flags)))
	tp := tcpSk(sk)
	old := sk.SkcState
	if old != sockets.TCP_CLOSE {
		k.tcpSetState(sk, sockets.TCP_CLOSE)
	}
	switch {
	case old == sockets.TCP_LISTEN:
		k.inetCskListenStop(sk)
	case tcpNeedReset(old) || (tp.SndNxt != tp.WriteSeq && (old == sockets.TCP_CLOSING || old == sockets.TCP_LAST_ACK)):
		k.tcpSendActiveReset(sk)
		sk.SkErr = tracing.ECONNRESET
	case old == sockets.TCP_SYN_SENT:
		sk.SkErr = tracing.ECONNRESET
	}
	k.tcpClearXmitTimers(sk)
	tcpPurgeRcvQueue(sk, &sk.SkReceiveQueue)
	tp.CopiedSeq = tp.RcvNxt
	tp.UrgData = 0
	sk.SkPeekOff = -1 // sk_set_peek_off(sk, -1)
	k.tcpWriteQueuePurge(sk)
	tcpOfoPurge(sk)
	sk.SkcDport = 0
	if sk.SkUserlocks&sockets.SOCK_BINDADDR_LOCK == 0 { // inet_bhash2_reset_saddr
		sk.SkcRcvSaddr = 0
		sockets.InetOf(sk).InetSaddr = 0
	}
	sk.SkShutdown = 0
	sk.SockResetFlag(sockets.SOCK_DONE)
	tp.Srtt = 0
	tp.MdevUs = uint32(TCP_TIMEOUT_INIT / 1000)
	tp.rcvRttLastTsecr = 0
	tp.WriteSeq += tp.MaxWindow + 2
	if tp.WriteSeq == 0 {
		tp.WriteSeq = 1
	}
	tp.IcskBackoff = 0
	tp.IcskProbesOut = 0
	tp.probesTstampSet = false
	tp.IcskRto = TCP_TIMEOUT_INIT
	tp.IcskRtoMin = TCP_RTO_MIN // not tcp_rto_min_us: 6.12 puts back the constant
	tp.SndSsthresh = TCP_INFINITE_SSTHRESH
	tp.SndCwnd = TCP_INIT_CWND
	tp.sndCwndCnt = 0
	tp.isCwndLimited = false
	tp.maxPacketsOut = 0
	tp.WindowClamp = 0
	tp.Delivered = 0
	tp.cubic = bictcp{} // icsk_ca_priv zeroed; the algorithm starts again at the next connection
	k.tcpSetCaState(tp, sockets.TCP_CA_Open)
	tcpClearRetrans(tp)
	tp.TotalRetrans = 0
	tp.ack = icskAck{Lrcvtime: tcpStampZero} // inet_csk_delack_init: lrcvtime back to jiffy 0
	tp.RcvMss = TCP_MIN_MSS
	tp.RxOpt = TcpOptionsReceived{} // TCP_MAXSEG's user_mss lives here and goes too
	tp.compressedAck = 0
	tp.SegsIn, tp.SegsOut = 0, 0
	tp.BytesSent, tp.BytesAcked, tp.BytesReceived, tp.BytesRetrans = 0, 0, 0, 0
	tp.DataSegsIn, tp.DataSegsOut = 0, 0
	tp.duplicateSack = header.SackBlock{}
	tp.dsackDups = 0
	tp.reordSeen = 0
	tp.TlpHighSeq = 0
	tp.lastOowAckTime = 0
	tp.rack = tcpRack{reoWndSteps: 1}
	tp.dsack = false
	tp.numSacks = 0
	tp.rcvOoopack = 0
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		sk.SkErrorReport(sk)
	}
	k.tr.Exit(fnTcpDisconnect, tracing.Errno(0))
	return nil
}

// tcpSetsockopt is tcp_setsockopt for SOL_TCP (do_tcp_setsockopt).
// TCP_CONGESTION takes a name, the other options an int.
func (k *Kernel) tcpSetsockopt(sk *sockets.Sock, level, optname int, opt sockets.Optval) error {
	tr := k.tr
	val := opt.Int
	tr.Enter3(fnTcpSetsockopt, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(optname)), tracing.Int(val))
	fail := func(e int) error {
		tr.Exit(fnTcpSetsockopt, tracing.Errno(-int64(e)))
		return sockets.Errno(e)
	}
	if level != sockets.SOL_TCP {
		return fail(tracing.ENOPROTOOPT)
	}
	tp := tcpSk(sk)
	sockets.LockSock(sk)
	defer sockets.ReleaseSock(sk)
	switch optname {
	case sockets.TCP_CONGESTION:
		if len(opt.Bytes) < 1 {
			return fail(tracing.EINVAL)
		}
		if err := k.tcpSetCongestionControl(sk, caName(opt.Bytes)); err != nil {
			return fail(int(sockets.ErrnoOf(err)))
		}
	case sockets.TCP_NODELAY:
		if val != 0 {
			// __tcp_sock_set_nodelay: what waits goes now.
			tp.Nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH
			k.tcpPushPendingFrames(sk, tp.Nonagle)
		} else {
			tp.Nonagle &^= TCP_NAGLE_OFF
		}
	case sockets.TCP_CORK:
		if val != 0 {
			tp.Nonagle |= TCP_NAGLE_CORK
		} else {
			// __tcp_sock_set_cork: uncorking pushes what waits (with
			// Nagle off, past Nagle too).
			tp.Nonagle &^= TCP_NAGLE_CORK
			if tp.Nonagle&TCP_NAGLE_OFF != 0 {
				tp.Nonagle |= TCP_NAGLE_PUSH
			}
			k.tcpPushPendingFrames(sk, tp.Nonagle)
		}
	case sockets.TCP_MAXSEG:
		// The MSS we offer and accept at most (rx_opt.user_mss); 0 clears it.
		if val != 0 && (val < TCP_MIN_MSS || val > MAX_TCP_WINDOW) {
			return fail(tracing.EINVAL)
		}
		tp.RxOpt.UserMss = uint16(val)
	case sockets.TCP_KEEPIDLE:
		if val < 1 || val > 32767 {
			return fail(tracing.EINVAL)
		}
		tp.KeepaliveTime = val * 1e9
		k.tcpKeepidleChanged(sk)
	case sockets.TCP_KEEPINTVL:
		if val < 1 || val > 32767 {
			return fail(tracing.EINVAL)
		}
		tp.KeepaliveIntvl = val * 1e9
	case sockets.TCP_KEEPCNT:
		if val < 1 || val > 127 {
			return fail(tracing.EINVAL)
		}
		tp.KeepaliveProbes = uint8(val)
	case sockets.TCP_SYNCNT:
		if val < 1 || val > 127 { // MAX_TCP_SYNCNT
			return fail(tracing.EINVAL)
		}
		tp.SynCnt = uint8(val)
	case sockets.TCP_USER_TIMEOUT:
		if val < 0 || val > 1<<31-1 {
			return fail(tracing.EINVAL)
		}
		tp.IcskUserTimeout = uint32(val)
	case sockets.TCP_QUICKACK:
		k.tcpSockSetQuickack(sk, val)
	case sockets.TCP_NOTSENT_LOWAT:
		tp.NotsentLowat = uint32(val)
		sk.SkWriteSpace(sk) // the socket may be writable now
	case sockets.TCP_DEFER_ACCEPT:
		// Seconds to wait for data after the handshake, kept as the
		// number of SYN-ACK timeouts that span them.
		tp.IcskAcceptQueue.RskqDeferAccept = secsToRetrans(int(int32(val)), int(TCP_TIMEOUT_INIT/1e9), int(TCP_RTO_MAX/1e9))
	case sockets.TCP_WINDOW_CLAMP:
		if err := k.tcpSetWindowClamp(sk, int32(val)); err != nil {
			return fail(int(sockets.ErrnoOf(err)))
		}
	case sockets.TCP_LINGER2:
		switch {
		case val < 0:
			tp.Linger2 = -1
		case val > tcpFinTimeoutMax/1e9:
			tp.Linger2 = tcpFinTimeoutMax
		default:
			tp.Linger2 = val * 1e9
		}
	default:
		return fail(tracing.ENOPROTOOPT)
	}
	tr.Exit(fnTcpSetsockopt, tracing.Errno(0))
	return nil
}

// tcpSetWindowClamp is tcp_set_window_clamp (setsockopt
// TCP_WINDOW_CLAMP): 0 clears the clamp, allowed only in CLOSE (EINVAL
// otherwise); any other value, raised to SOCK_MIN_RCVBUF/2, becomes
// window_clamp. Lowering it lowers rcv_ssthresh with it; raising it lets
// rcv_ssthresh grow to min(rcv_wnd, the new clamp).
func (k *Kernel) tcpSetWindowClamp(sk *sockets.Sock, val int32) error {
	k.tr.Enter2(fnTcpSetWindowClamp, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(val)))
	tp := tcpSk(sk)
	if val == 0 {
		if sk.SkcState != sockets.TCP_CLOSE {
			k.tr.Exit(fnTcpSetWindowClamp, tracing.Errno(-tracing.EINVAL))
			return sockets.Errno(tracing.EINVAL)
		}
		tp.WindowClamp = 0
		k.tr.Exit(fnTcpSetWindowClamp, tracing.Errno(0))
		return nil
	}
	clamp := uint32(max(val, sockets.SOCK_MIN_RCVBUF/2))
	old := tp.WindowClamp
	switch {
	case clamp == old:
	case clamp < old:
		tp.WindowClamp = clamp
		// __tcp_adjust_rcv_ssthresh; the model has no SO_RESERVE_MEM,
		// so no reserved memory keeps rcv_ssthresh up.
		tp.RcvSsthresh = min(tp.RcvSsthresh, clamp)
	default:
		tp.WindowClamp = clamp
		tp.RcvSsthresh = max(min(tp.RcvWnd, clamp), tp.RcvSsthresh)
	}
	k.tr.Exit(fnTcpSetWindowClamp, tracing.Errno(0))
	return nil
}

// tcpSockSetQuickack is __tcp_sock_set_quickack (setsockopt TCP_QUICKACK):
// 0 puts the sock in pingpong mode, where ACKs wait to ride on data; any
// other value takes it out and, on an established connection with an ACK
// scheduled, sends that ACK now (as a read would, tcp_cleanup_rbuf); an
// even value other than 0 then goes back to pingpong.
func (k *Kernel) tcpSockSetQuickack(sk *sockets.Sock, val int64) {
	k.tr.Enter2(fnTcpSockSetQuickack, tracing.Sock(uint64(sk.Addr())), tracing.Int(val))
	defer k.tr.Exit(fnTcpSockSetQuickack, tracing.Arg{})
	a := &tcpSk(sk).ack
	if val == 0 {
		a.Pingpong = TCP_PINGPONG_THRESH // inet_csk_enter_pingpong_mode
		return
	}
	a.Pingpong = 0 // inet_csk_exit_pingpong_mode
	if (sk.SkcState == sockets.TCP_ESTABLISHED || sk.SkcState == sockets.TCP_CLOSE_WAIT) && a.scheduled() {
		a.Pending |= ICSK_ACK_PUSHED
		k.tcpCleanupRbuf(sk, 1)
		if val&1 == 0 {
			a.Pingpong = TCP_PINGPONG_THRESH
		}
	}
}

// tcpGetsockopt is tcp_getsockopt for SOL_TCP (do_tcp_getsockopt).
// TCP_INFO fills a struct tcp_info (tcp_get_info); TCP_CONGESTION copies
// out the algorithm's name, NUL-padded to optlen bytes (at most
// TCP_CA_NAME_MAX; optlen 0 means all of them).
func (k *Kernel) tcpGetsockopt(sk *sockets.Sock, level, optname, optlen int) (sockets.Optval, error) {
	tr := k.tr
	tr.Enter2(fnTcpGetsockopt, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(optname)))
	if level != sockets.SOL_TCP {
		// The kernel passes other levels to ip_getsockopt, which knows
		// only SOL_IP (the model has no IP-level options) and answers
		// any other level with EOPNOTSUPP.
		errno := tracing.EOPNOTSUPP
		if level == sockets.SOL_IP {
			errno = tracing.ENOPROTOOPT
		}
		tr.Exit(fnTcpGetsockopt, tracing.Errno(-int64(errno)))
		return sockets.Optval{}, sockets.Errno(errno)
	}
	tp := tcpSk(sk)
	var v int64
	switch optname {
	case sockets.TCP_NODELAY:
		if tp.Nonagle&TCP_NAGLE_OFF != 0 {
			v = 1
		}
	case sockets.TCP_CORK:
		if tp.Nonagle&TCP_NAGLE_CORK != 0 {
			v = 1
		}
	case sockets.TCP_MAXSEG:
		v = int64(tp.MssCache)
		if tp.RxOpt.UserMss != 0 && (sk.SkcState == sockets.TCP_CLOSE || sk.SkcState == sockets.TCP_LISTEN) {
			v = int64(tp.RxOpt.UserMss)
		}
	case sockets.TCP_LINGER2:
		v = -1
		if tp.Linger2 >= 0 {
			v = tp.Linger2 / 1e9
			if v == 0 {
				v = int64(k.net.Sysctl.TcpFinTimeout)
			}
		}
	case sockets.TCP_KEEPIDLE:
		v = tp.KeepaliveTime / 1e9
		if v == 0 {
			v = int64(k.net.Sysctl.TcpKeepaliveTime)
		}
	case sockets.TCP_KEEPINTVL:
		v = tp.KeepaliveIntvl / 1e9
		if v == 0 {
			v = int64(k.net.Sysctl.TcpKeepaliveIntvl)
		}
	case sockets.TCP_KEEPCNT:
		v = int64(tp.KeepaliveProbes)
		if v == 0 {
			v = int64(k.net.Sysctl.TcpKeepaliveProbes)
		}
	case sockets.TCP_SYNCNT:
		v = int64(tp.SynCnt)
		if v == 0 {
			v = int64(k.net.Sysctl.TcpSynRetries)
		}
	case sockets.TCP_USER_TIMEOUT:
		v = int64(tp.IcskUserTimeout)
	case sockets.TCP_QUICKACK:
		if !tp.ack.inPingpong() {
			v = 1
		}
	case sockets.TCP_NOTSENT_LOWAT:
		v = int64(int32(tp.NotsentLowat)) // read back as the int it was set as
	case sockets.TCP_WINDOW_CLAMP:
		v = int64(int32(tp.WindowClamp))
	case sockets.TCP_DEFER_ACCEPT:
		v = int64(retransToSecs(tp.IcskAcceptQueue.RskqDeferAccept, int(TCP_TIMEOUT_INIT/1e9), int(TCP_RTO_MAX/1e9)))
	case sockets.TCP_CONGESTION:
		n := sockets.TCP_CA_NAME_MAX
		if optlen > 0 {
			n = min(optlen, n)
		}
		name := make([]byte, sockets.TCP_CA_NAME_MAX)
		copy(name, tp.ops().name)
		tr.Exit(fnTcpGetsockopt, tracing.Int(0))
		return sockets.Optval{Bytes: name[:n]}, nil
	case sockets.TCP_INFO:
		info := &sockets.TcpInfo{}
		k.tcpGetInfo(sk, info)
		tr.Exit(fnTcpGetsockopt, tracing.Int(0))
		return sockets.Optval{TcpInfo: info}, nil
	default:
		tr.Exit(fnTcpGetsockopt, tracing.Errno(-tracing.ENOPROTOOPT))
		return sockets.Optval{}, sockets.Errno(tracing.ENOPROTOOPT)
	}
	tr.Exit(fnTcpGetsockopt, tracing.Int(v))
	return sockets.Optval{Int: v}, nil
}

// secsToRetrans is secs_to_retrans: how many SYN-ACK timeouts (the first
// timeout seconds, each next twice the last, at most rtoMax) it takes to
// cover seconds, at most 255; 0 for none.
func secsToRetrans(seconds, timeout, rtoMax int) uint8 {
	if seconds <= 0 {
		return 0
	}
	res, period := uint8(1), timeout
	for seconds > period && res < 255 {
		res++
		timeout = min(timeout<<1, rtoMax)
		period += timeout
	}
	return res
}

// retransToSecs is retrans_to_secs: how many seconds retrans SYN-ACK
// retransmissions last, the first timeout seconds after the SYN-ACK and
// each next twice the last, at most rtoMax (TCP_DEFER_ACCEPT's unit).
func retransToSecs(retrans uint8, timeout, rtoMax int) int {
	if retrans == 0 {
		return 0
	}
	period := timeout
	for ; retrans > 1; retrans-- {
		timeout = min(timeout<<1, rtoMax)
		period += timeout
	}
	return period
}

// caName is the name setsockopt(TCP_CONGESTION) reads from the user's
// buffer (strncpy_from_user): up to the first NUL, at most
// TCP_CA_NAME_MAX-1 bytes.
func caName(b []byte) string {
	b = b[:min(len(b), sockets.TCP_CA_NAME_MAX-1)]
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// tcpIoctl is tcp_ioctl: SIOCINQ is the bytes not yet read (tcp_inq:
// rcv_nxt - copied_seq, less the FIN's sequence number once it came),
// SIOCOUTQ the bytes not yet acknowledged (write_seq - snd_una: sent or
// still queued), SIOCOUTQNSD the bytes not yet sent (write_seq -
// snd_nxt). During the handshake all are 0; a listener has no queues to
// measure (EINVAL). With an urgent byte ahead (and no SO_OOBINLINE),
// SIOCINQ counts only the bytes before it. SIOCATMARK says whether the
// next byte to read is the urgent mark (urg_data set and urg_seq ==
// copied_seq), in any state.
func (k *Kernel) tcpIoctl(sk *sockets.Sock, cmd int) (int64, error) {
	tr := k.tr
	tr.Enter2(fnTcpIoctl, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(cmd)))
	tp := tcpSk(sk)
	st := sk.SkcState
	handshake := st == sockets.TCP_SYN_SENT || st == sockets.TCP_SYN_RECV
	var answ int64
	switch cmd {
	case sockets.SIOCINQ, sockets.SIOCOUTQ, sockets.SIOCOUTQNSD:
		if st == sockets.TCP_LISTEN {
			tr.Exit(fnTcpIoctl, tracing.Errno(-tracing.EINVAL))
			return -1, sockets.Errno(tracing.EINVAL)
		}
	case sockets.SIOCATMARK:
		if tcpAtUrgMark(tp) {
			answ = 1
		}
		tr.Exit(fnTcpIoctl, tracing.Int(answ))
		return answ, nil
	default:
		tr.Exit(fnTcpIoctl, tracing.Errno(-tracing.ENOIOCTLCMD))
		return -1, sockets.Errno(tracing.ENOIOCTLCMD)
	}
	switch {
	case handshake:
	case cmd == sockets.SIOCINQ && tp.UrgData != 0 && !sk.SockFlagSet(sockets.SOCK_URGINLINE) &&
		!before(tp.UrgSeq, tp.CopiedSeq) && before(tp.UrgSeq, tp.RcvNxt):
		// tcp_inq: an urgent byte not yet read ahead: only what comes
		// before it.
		answ = int64(tp.UrgSeq - tp.CopiedSeq)
	case cmd == sockets.SIOCINQ:
		answ = int64(tp.RcvNxt - tp.CopiedSeq)
		if answ > 0 && sk.SockFlagSet(sockets.SOCK_DONE) {
			answ--
		}
	case cmd == sockets.SIOCOUTQ:
		answ = int64(tp.WriteSeq - tp.SndUna)
	default:
		answ = int64(tp.WriteSeq - tp.SndNxt)
	}
	tr.Exit(fnTcpIoctl, tracing.Int(answ))
	return answ, nil
}

// tcpNeedReset is tcp_need_reset: the states in which aborting the
// connection must tell the peer with a RST.
func tcpNeedReset(st sockets.State) bool {
	switch st {
	case sockets.TCP_ESTABLISHED, sockets.TCP_CLOSE_WAIT, sockets.TCP_FIN_WAIT1, sockets.TCP_FIN_WAIT2, sockets.TCP_SYN_RECV:
		return true
	}
	return false
}

// tcpListendrop is tcp_listendrop: a connection the listener could not
// take counts in its own sk_drops (ss's d column) and in ListenDrops.
func (k *Kernel) tcpListendrop(sk *sockets.Sock) {
	sk.SkDrops++
	k.mib.inc(LINUX_MIB_LISTENDROPS)
}
