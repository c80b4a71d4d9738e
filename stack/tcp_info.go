package stack

import (
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// tcpGetInfo is tcp_get_info (net/ipv4/tcp.c): fill struct tcp_info from
// the sock, as getsockopt(TCP_INFO) and ss -ti report it. A listener only
// reports its state, cwnd, reordering and accept queue (tcpi_unacked =
// sk_ack_backlog, tcpi_sacked = sk_max_ack_backlog); a connection reports
// the rest, in the kernel's units: rto, rtt, rttvar, min_rtt and the
// receiver's own RTT estimate (rcv_rtt) in microseconds, the last_* times
// in milliseconds ago; rcv_space is what autotuning last counted the
// reader taking in one RTT.
//
// What the model does not keep is reported as 0:
//   - tcpi_fackets: FACK is gone from Linux too (it is always 0 in 6.x);
//   - tcpi_delivery_rate, tcpi_delivery_rate_app_limited, tcpi_busy_time,
//     tcpi_rwnd_limited, tcpi_sndbuf_limited: no rate sampling or chrono
//     statistics (tcpi_pacing_rate is sk_pacing_rate, which TCP Small
//     Queues uses; tcpi_max_pacing_rate is ~0, "no limit", as for any
//     socket without SO_MAX_PACING_RATE);
//   - tcpi_delivered_ce, TCPI_OPT_ECN*: no ECN;
//   - tcpi_rehash, tcpi_fastopen_client_fail, TCPI_OPT_SYN_DATA,
//     TCPI_OPT_USEC_TS: no PLB, no Fast Open, millisecond timestamps;
//   - tcpi_last_ack_sent: Linux never fills it in either.
func (k *Kernel) tcpGetInfo(sk *sockets.Sock, info *sockets.TcpInfo) {
	k.tr.Enter1(fnTcpGetInfo, tracing.Sock(uint64(sk.Addr())))
	defer func() { k.tr.Exit(fnTcpGetInfo, tracing.State(info.TcpiState)) }()
	*info = sockets.TcpInfo{}
	if sk.SkType != sockets.SOCK_STREAM {
		return
	}
	tp := tcpSk(sk)
	info.TcpiState = uint8(sk.SkcState)
	info.TcpiPacingRate = sk.SkPacingRate
	info.TcpiMaxPacingRate = sk.SkMaxPacingRate
	info.TcpiReordering = tp.Reordering
	info.TcpiSndCwnd = tp.SndCwnd
	if sk.SkcState == sockets.TCP_LISTEN {
		info.TcpiUnacked = sk.SkAckBacklog
		info.TcpiSacked = sk.SkMaxAckBacklog
		return
	}
	info.TcpiCaState = tp.IcskCaState
	info.TcpiRetransmits = tp.IcskRetransmits
	info.TcpiProbes = tp.IcskProbesOut
	info.TcpiBackoff = tp.IcskBackoff
	if tp.RxOpt.TstampOk {
		info.TcpiOptions |= sockets.TCPI_OPT_TIMESTAMPS
	}
	if tp.RxOpt.SackOk {
		info.TcpiOptions |= sockets.TCPI_OPT_SACK
	}
	if tp.RxOpt.WscaleOk {
		info.TcpiOptions |= sockets.TCPI_OPT_WSCALE
		info.TcpiSndWscale = tp.RxOpt.SndWscale
		info.TcpiRcvWscale = tp.RxOpt.RcvWscale
	}
	info.TcpiRto = uint32(tp.IcskRto / 1000)
	info.TcpiSndMss = tp.MssCache
	info.TcpiRcvMss = tp.RcvMss
	// ato as the delayed-ACK timer can use it: never past tcp_delack_max
	// (199 ms with the default tcp_rto_min_us).
	info.TcpiAto = uint32(min(tp.ack.Ato, tcpDelackMax(tp)) / NsecPerJiffy * (1e6 / HZ))
	info.TcpiRcvOoopack = tp.rcvOoopack
	info.TcpiUnacked = tp.PacketsOut
	info.TcpiRetrans = tp.RetransOut
	info.TcpiSacked = tp.sackedOut
	info.TcpiLost = tp.lostOut
	info.TcpiDsackDups = tp.dsackDups
	info.TcpiReordSeen = tp.reordSeen

	// The kernel keeps these stamps as tcp_jiffies32 and subtracts whole
	// jiffies: a stamp taken late in one jiffy is a full jiffy old at
	// the start of the next.
	now := k.jiffies32()
	info.TcpiLastDataSent = jiffiesToMsecs(now - stampJiffies32(tp.Lsndtime))
	info.TcpiLastDataRecv = jiffiesToMsecs(now - stampJiffies32(tp.ack.Lrcvtime))
	info.TcpiLastAckRecv = jiffiesToMsecs(now - stampJiffies32(tp.RcvTstamp))

	info.TcpiPmtu = tp.IcskPmtuCookie
	info.TcpiRcvSsthresh = tp.RcvSsthresh
	info.TcpiRcvRtt = tp.rcvRttEst.rttUs >> 3
	info.TcpiRcvSpace = uint32(tp.rcvqSpace.space)
	info.TcpiRtt = tp.Srtt >> 3
	info.TcpiRttvar = tp.MdevUs >> 2
	info.TcpiSndSsthresh = tp.SndSsthresh
	info.TcpiAdvmss = uint32(tp.AdvMss)
	info.TcpiTotalRetrans = tp.TotalRetrans

	info.TcpiBytesAcked = tp.BytesAcked
	info.TcpiBytesReceived = tp.BytesReceived
	info.TcpiNotsentBytes = uint32(max(int32(tp.WriteSeq-tp.SndNxt), 0))
	info.TcpiSegsOut = uint32(tp.SegsOut)
	info.TcpiSegsIn = uint32(tp.SegsIn)
	info.TcpiMinRtt = tp.rttMin
	info.TcpiDataSegsIn = uint32(tp.DataSegsIn)
	info.TcpiDataSegsOut = uint32(tp.DataSegsOut)
	info.TcpiDelivered = tp.Delivered
	info.TcpiBytesSent = tp.BytesSent
	info.TcpiBytesRetrans = tp.BytesRetrans
	info.TcpiSndWnd = tp.SndWnd
	info.TcpiRcvWnd = tp.RcvWnd

	info.TcpiTotalRto = tp.TotalRto
	info.TcpiTotalRtoRecoveries = tp.TotalRtoRecoveries
	info.TcpiTotalRtoTime = tp.TotalRtoTime
	if tp.inRto {
		// tcp_clock_ms() - rto_stamp: two clocks truncated to whole
		// milliseconds, then subtracted.
		info.TcpiTotalRtoTime += stampMs(k.clock.Now()) - stampMs(tp.rtoStamp)
	}
}

// tcpStampZero is the model time (ns) at which tcp_jiffies32 reads 0,
// INITIAL_JIFFIES jiffies before boot: the value of a jiffies stamp
// (lsndtime, icsk_ack.lrcvtime, rcv_tstamp) that the zeroed sock still
// holds because no connection has set it.
const tcpStampZero = -int64(INITIAL_JIFFIES) * NsecPerJiffy

// stampJiffies32 is what tcp_jiffies32 read at the model time t (ns):
// the 32-bit jiffies counter, which starts at INITIAL_JIFFIES at boot.
func stampJiffies32(t int64) uint32 {
	return uint32(int64(INITIAL_JIFFIES) + t/NsecPerJiffy)
}

// jiffiesToMsecs is jiffies_to_msecs: a count of jiffies in milliseconds.
func jiffiesToMsecs(j uint32) uint32 { return j * (1000 / HZ) }

// stampMs is a millisecond stamp as tcp_clock_ms and tcp_time_stamp_ms
// take it: the model time t (ns) truncated to whole milliseconds, in 32
// bits.
func stampMs(t int64) uint32 { return uint32(t / 1e6) }
