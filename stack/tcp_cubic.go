package stack

import (
	"math/bits"

	"github.com/stackscope/stackscope/sockets"
)

// CUBIC (net/ipv4/tcp_cubic.c), Linux's default congestion control: after
// a loss the window grows along a cubic curve in time, flat near the
// window where the loss happened (W_max) and faster away from it, so it
// depends on elapsed time rather than on the RTT; a "TCP-friendly" Reno
// estimate keeps it from being slower than Reno. ssthresh after a loss is
// 717/1024 of cwnd. HyStart leaves slow start early when ACKs come back
// in a train stretching over half the minimum RTT, or when the RTT grows
// within a round. The ACK-train test allows for ACKs held back by GSO
// batching (hystart_ack_delay, from sk_pacing_rate, which TCP always sets)
// and, as nothing paces (no fq qdisc), halves the result.

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

// cubicRoot is cubic_root: the cube root of a as the kernel approximates
// it, a table of the cube roots of 6-bit values scaled by 64 for a first
// guess, then one Newton-Raphson step; off from the exact root by about
// 0.2% on average, and the curve follows that, not the exact root.
func cubicRoot(a uint64) uint32 {
	b := uint32(bits.Len64(a)) // fls64
	if b < 7 {
		return (uint32(cubicRootTable[a]) + 35) >> 6
	}
	b = ((b * 84) >> 8) - 1
	shift := a >> (b * 3)
	x := ((uint32(cubicRootTable[shift]) + 10) << b) >> 6
	x = 2*x + uint32(a/(uint64(x)*uint64(x-1)))
	return (x * 341) >> 10
}

// cubicRootTable holds, for x in 0..63, cbrt(x << 18) - 1 as the kernel
// has it (computed, then adjusted by hand by its author).
var cubicRootTable = [64]uint8{
	0, 54, 54, 54, 118, 118, 118, 118,
	123, 129, 134, 138, 143, 147, 151, 156,
	157, 161, 164, 168, 170, 173, 176, 179,
	181, 185, 187, 190, 192, 194, 197, 199,
	200, 202, 204, 206, 209, 211, 213, 215,
	217, 219, 221, 222, 224, 225, 227, 229,
	231, 232, 234, 236, 237, 239, 240, 242,
	244, 245, 246, 248, 250, 251, 252, 254,
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

// hystartAckDelay is hystart_ack_delay: how long ACKs may be held back
// by GSO batching, the time four 64 KB GSO packets take at sk_pacing_rate,
// at most 1 ms (µs; 0 before any pacing rate is set).
func hystartAckDelay(tp *TcpSock) uint32 {
	rate := tp.Sock.SkPacingRate
	if rate == 0 {
		return 0
	}
	return uint32(min(1000, uint64(gsoMaxSize)*4*1_000_000/rate))
}

// gsoMaxSize is sk_gso_max_size: sk_setup_caps gives every TCP socket
// software GSO, and a device's default IPv4 GSO limit is 64 KB.
const gsoMaxSize = 65536

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
		if threshold := (ca.delayMin + hystartAckDelay(tp)) >> 1; int32(now-ca.roundStart) > int32(threshold) {
			ca.found = true
			k.mib.inc(LINUX_MIB_TCPHYSTARTTRAINDETECT)
			k.mib.add(LINUX_MIB_TCPHYSTARTTRAINCWND, uint64(tp.SndCwnd))
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
		k.mib.add(LINUX_MIB_TCPHYSTARTDELAYCWND, uint64(tp.SndCwnd))
		tp.SndSsthresh = tp.SndCwnd
	}
}
