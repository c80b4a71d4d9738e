package stack

import "github.com/stackscope/stackscope/sockets"

// CUBIC (net/ipv4/tcp_cubic.c), Linux's default congestion control: after
// a loss the window grows along a cubic curve in time, flat near the
// window where the loss happened (W_max) and faster away from it, so it
// depends on elapsed time rather than on the RTT; a "TCP-friendly" Reno
// estimate keeps it from being slower than Reno. ssthresh after a loss is
// 717/1024 of cwnd. HyStart leaves slow start early when ACKs come back
// in a train stretching over half the minimum RTT, or when the RTT grows
// within a round. The model paces nothing, so HyStart's ACK-train
// threshold has no pacing allowance.

// CUBIC's parameters, the module's defaults.
const (
	bictcpBetaScale   = 1024
	bictcpHZ          = 10 // time in 1/1024 s
	cubicBeta         = 717
	cubicBicScale     = 41
	hystartLowWindow  = 16
	hystartAckDeltaUs = 2000
	hystartMinSamples = 8
	hystartDelayMinUs = 4000
	hystartDelayMaxUs = 16000
	cubicBetaScale    = 8 * (bictcpBetaScale + cubicBeta) / 3 / (bictcpBetaScale - cubicBeta) // beta_scale
	cubicCubeRttScale = cubicBicScale * 10                                                    // 1024*c/rtt
	cubicCubeFactor   = (uint64(1) << (10 + 3*bictcpHZ)) / (cubicBicScale * 10)               // 2^40 / (c*10)
	cubicNoRttSample  = ^uint32(0)
)

// bictcp is struct bictcp: CUBIC's per-socket state.
type bictcp struct {
	cnt            uint32 // increase cwnd by 1 after this many ACKed segments
	lastMaxCwnd    uint32 // W_max: the window at the last loss
	lastCwnd       uint32
	lastTime       uint32 // jiffies of the last update
	bicOriginPoint uint32 // the curve's plateau
	bicK           uint32 // time to reach it from the epoch's start (1/1024 s)
	delayMin       uint32 // the smallest RTT seen (µs)
	epochStart     uint32 // jiffies when this growth epoch began (0: none)
	ackCnt         uint32
	tcpCwnd        uint32 // the Reno estimate
	sampleCnt      uint8
	found          bool // HyStart has ended slow start
	roundStart     uint32
	endSeq         uint32
	lastAck        uint32
	currRtt        uint32
}

var tcpCubicOps = tcpCongestionOps{
	name:      "cubic",
	init:      cubictcpInit,
	ssthresh:  cubictcpRecalcSsthresh,
	congAvoid: cubictcpCongAvoid,
	setState:  cubictcpState,
	cwndEvent: cubictcpCwndEvent,
	pktsAcked: cubictcpAcked,
}

func (k *Kernel) jiffies32() uint32 { return uint32(k.jiffies64()) }
func (k *Kernel) mstampUs() uint32  { return uint32(k.clock.Now() / 1000) }

// bictcpReset is bictcp_reset.
func bictcpReset(ca *bictcp) {
	*ca = bictcp{roundStart: ca.roundStart, endSeq: ca.endSeq, lastAck: ca.lastAck, currRtt: ca.currRtt, sampleCnt: ca.sampleCnt}
}

// bictcpHystartReset is bictcp_hystart_reset: a new round begins.
func bictcpHystartReset(k *Kernel, tp *TcpSock) {
	ca := &tp.cubic
	ca.roundStart, ca.lastAck = k.mstampUs(), k.mstampUs()
	ca.endSeq = tp.SndNxt
	ca.currRtt = cubicNoRttSample
	ca.sampleCnt = 0
}

// cubictcpInit is cubictcp_init.
func cubictcpInit(k *Kernel, tp *TcpSock) {
	bictcpReset(&tp.cubic)
	bictcpHystartReset(k, tp)
}

// cubicRoot is the cube root of a, rounded down (the kernel approximates
// it with a table and one Newton step; the model computes it exactly).
func cubicRoot(a uint64) uint32 {
	var lo, hi uint64 = 0, 1 << 22 // (2^22)^3 > 2^64
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if mid*mid*mid <= a && mid <= 2642245 { // 2642245^3 < 2^64
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return uint32(lo)
}

// bictcpUpdate is bictcp_update: where the cubic curve (and the Reno
// estimate) put the window now, as ca.cnt, the segments per increment.
func bictcpUpdate(k *Kernel, ca *bictcp, cwnd, acked uint32) {
	now := k.jiffies32()
	ca.ackCnt += acked
	if ca.lastCwnd == cwnd && int32(now-ca.lastTime) <= HZ/32 {
		return
	}
	if ca.epochStart == 0 || now != ca.lastTime {
		ca.lastCwnd, ca.lastTime = cwnd, now
		if ca.epochStart == 0 {
			ca.epochStart = now // a new epoch
			ca.ackCnt = acked
			ca.tcpCwnd = cwnd
			if ca.lastMaxCwnd <= cwnd {
				ca.bicK, ca.bicOriginPoint = 0, cwnd
			} else {
				ca.bicK = cubicRoot(cubicCubeFactor * uint64(ca.lastMaxCwnd-cwnd))
				ca.bicOriginPoint = ca.lastMaxCwnd
			}
		}
		// t: time since the epoch began plus the minimum delay, in
		// 1/1024 s; the curve is origin ± c/rtt * (t - K)^3.
		t := uint64(int32(now-ca.epochStart)) + uint64((int64(ca.delayMin)*HZ+999_999)/1_000_000) // usecs_to_jiffies rounds up
		t = (t << bictcpHZ) / HZ
		var offs uint64
		if t < uint64(ca.bicK) {
			offs = uint64(ca.bicK) - t
		} else {
			offs = t - uint64(ca.bicK)
		}
		delta := uint32((cubicCubeRttScale * offs * offs * offs) >> (10 + 3*bictcpHZ))
		target := ca.bicOriginPoint + delta
		if t < uint64(ca.bicK) {
			target = ca.bicOriginPoint - delta
		}
		if target > cwnd {
			ca.cnt = cwnd / (target - cwnd)
		} else {
			ca.cnt = 100 * cwnd // hardly any growth
		}
		if ca.lastMaxCwnd == 0 && ca.cnt > 20 {
			ca.cnt = 20 // no loss yet: at least 5% per RTT
		}
	}
	// TCP friendliness: never slower than the Reno estimate.
	delta := (cwnd * cubicBetaScale) >> 3
	for delta > 0 && ca.ackCnt > delta {
		ca.ackCnt -= delta
		ca.tcpCwnd++
	}
	if ca.tcpCwnd > cwnd {
		if maxCnt := cwnd / (ca.tcpCwnd - cwnd); ca.cnt > maxCnt {
			ca.cnt = maxCnt
		}
	}
	ca.cnt = max(ca.cnt, 2) // at most 1.5x per RTT
}

// cubictcpCongAvoid is cubictcp_cong_avoid.
func cubictcpCongAvoid(k *Kernel, tp *TcpSock, acked uint32) {
	if tp.SndCwnd < tp.SndSsthresh {
		if acked = tcpSlowStart(tp, acked); acked == 0 {
			return
		}
	}
	bictcpUpdate(k, &tp.cubic, tp.SndCwnd, acked)
	tcpCongAvoidAi(tp, tp.cubic.cnt, acked)
}

// cubictcpRecalcSsthresh is cubictcp_recalc_ssthresh: remember W_max
// (lowered a little more if the window is shrinking: fast convergence)
// and cut to beta.
func cubictcpRecalcSsthresh(tp *TcpSock) uint32 {
	ca := &tp.cubic
	ca.epochStart = 0
	if tp.SndCwnd < ca.lastMaxCwnd {
		ca.lastMaxCwnd = tp.SndCwnd * (bictcpBetaScale + cubicBeta) / (2 * bictcpBetaScale)
	} else {
		ca.lastMaxCwnd = tp.SndCwnd
	}
	return max(tp.SndCwnd*cubicBeta/bictcpBetaScale, 2)
}

// cubictcpState is cubictcp_state: a timeout starts CUBIC over.
func cubictcpState(k *Kernel, tp *TcpSock, state uint8) {
	if state == sockets.TCP_CA_Loss {
		bictcpReset(&tp.cubic)
		bictcpHystartReset(k, tp)
	}
}

// cubictcpCwndEvent is cubictcp_cwnd_event: after an idle period the
// epoch moves forward by it, so the curve does not jump.
func cubictcpCwndEvent(k *Kernel, tp *TcpSock, ev int) {
	if ev != CA_EVENT_TX_START {
		return
	}
	ca := &tp.cubic
	now := k.jiffies32()
	delta := int32(now - uint32(INITIAL_JIFFIES+uint64(tp.Lsndtime/NsecPerJiffy)))
	if ca.epochStart != 0 && delta > 0 {
		ca.epochStart += uint32(delta)
		if int32(ca.epochStart-now) > 0 {
			ca.epochStart = now
		}
	}
}

// cubictcpAcked is cubictcp_acked: keep the minimum RTT, and let HyStart
// look at the sample while in slow start.
func cubictcpAcked(k *Kernel, tp *TcpSock, rttUs int64) {
	ca := &tp.cubic
	if rttUs < 0 {
		return
	}
	if ca.epochStart != 0 && int32(k.jiffies32()-ca.epochStart) < HZ {
		return // samples right after a loss say little
	}
	delay := uint32(max(rttUs, 1))
	if ca.delayMin == 0 || ca.delayMin > delay {
		ca.delayMin = delay
	}
	if !ca.found && tp.SndCwnd < tp.SndSsthresh {
		hystartUpdate(k, tp, delay)
	}
}

// hystartUpdate is hystart_update: leave slow start (ssthresh = cwnd) when
// a round's ACKs stretch over half the minimum RTT (ACK train), or when
// the round's smallest RTT has grown by an eighth of the minimum (4 to
// 16 ms).
func hystartUpdate(k *Kernel, tp *TcpSock, delay uint32) {
	ca := &tp.cubic
	if after(tp.SndUna, ca.endSeq) {
		bictcpHystartReset(k, tp)
	}
	if tp.SndCwnd < hystartLowWindow {
		return
	}
	now := k.mstampUs()
	if int32(now-ca.lastAck) <= hystartAckDeltaUs {
		ca.lastAck = now
		if threshold := ca.delayMin >> 1; int32(now-ca.roundStart) > int32(threshold) {
			ca.found = true
			k.mib.inc(LINUX_MIB_TCPHYSTARTTRAINDETECT)
			tp.SndSsthresh = tp.SndCwnd
		}
	}
	if ca.currRtt > delay {
		ca.currRtt = delay
	}
	if ca.sampleCnt < hystartMinSamples {
		ca.sampleCnt++
	} else if ca.currRtt > ca.delayMin+min(max(ca.delayMin>>3, hystartDelayMinUs), hystartDelayMaxUs) {
		ca.found = true
		k.mib.inc(LINUX_MIB_TCPHYSTARTDELAYDETECT)
		tp.SndSsthresh = tp.SndCwnd
	}
}
