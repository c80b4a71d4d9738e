package stack

import "testing"

// TestHystartAckTrainAllowsForGsoDelay: HyStart's ACK-train test fires
// when a round's ACKs stretch past (delay_min + hystart_ack_delay) / 2,
// where hystart_ack_delay allows for ACKs held back by GSO batching (four
// 64 KB packets at the pacing rate, at most 1 ms). With a 1 ms minimum
// RTT, a 42 MB/s pacing rate (so the full 1 ms allowance) and ACKs 100 µs
// apart, the threshold is 1000 µs: the first round (ACKs 1 to 10) ends
// before its ACKs span that, and in the second (from ACK 11) the ACK
// 1100 µs in, the 22nd, finds the train, with cwnd 31. The previous
// build used delay_min / 2 (500 µs) and left slow start at the 7th ACK,
// with ssthresh 16.
func TestHystartAckTrainAllowsForGsoDelay(t *testing.T) {
	k, err := New(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	vc := k.clock.(*VirtualClock)
	tp := &TcpSock{}
	tp.Sock.SkPacingRate = 42_000_000
	tp.SndCwndClamp = ^uint32(0)
	tp.caOps = &tcpCubicOps
	tp.SndCwnd, tp.SndSsthresh = 10, TCP_INFINITE_SSTHRESH
	t0 := int64(10e9)
	vc.set(t0)
	tp.SndNxt, tp.SndUna = 1, 1
	cubictcpInit(k, tp)
	tp.SndNxt = 10001
	foundAt := 0
	for i := int64(1); i <= 40 && foundAt == 0; i++ {
		vc.set(t0 + 1_000_000 + (i-1)*100_000)
		tp.SndUna = uint32(1 + i*1000)
		cubictcpAcked(k, tp, 1000+(i-1)*100)
		if tp.cubic.found {
			foundAt = int(i)
		}
		cubictcpCongAvoid(k, tp, 1)
		tp.SndNxt += 2000
	}
	if foundAt != 22 || tp.SndSsthresh != 31 {
		t.Fatalf("the ACK train was found at ACK %d with ssthresh %d; want ACK 22, ssthresh 31", foundAt, tp.SndSsthresh)
	}
	// nstat shows the exit and the cwnd it happened at.
	if d, c := k.mib.Get(LINUX_MIB_TCPHYSTARTTRAINDETECT), k.mib.Get(LINUX_MIB_TCPHYSTARTTRAINCWND); d != 1 || c != 31 {
		t.Errorf("TCPHystartTrainDetect %d, TCPHystartTrainCwnd %d; want 1, 31", d, c)
	}
}

// TestIdleIsCountedInWholeJiffies: tcp_slow_start_after_idle_check and
// tcp_cwnd_validate compare tcp_jiffies32 stamps, so the last send at
// 10.0009 s (jiffy 10000) and a new one at 10.2010 s (jiffy 10201) are
// 201 jiffies apart, more than a 200-jiffy RTO: cwnd restarts and is
// halved once, 40 -> 20 (once per RTO past the first). The previous build
// divided the 200.1 ms difference, saw 200 and kept 40.
func TestIdleIsCountedInWholeJiffies(t *testing.T) {
	k, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	vc := k.clock.(*VirtualClock)
	sk := newTcpSock(nil)
	tp := tcpSk(sk)
	tp.caOps = &tcpRenoOps
	tp.SndCwnd, tp.SndSsthresh = 40, TCP_INFINITE_SSTHRESH
	tp.IcskRto = 200 * NsecPerJiffy
	tp.Lsndtime = 10_000_900_000
	vc.set(10_201_000_000)
	k.tcpSlowStartAfterIdleCheck(sk)
	if tp.SndCwnd != 20 {
		t.Errorf("cwnd after 201 jiffies idle with a 200-jiffy RTO = %d, want 20 (restarted)", tp.SndCwnd)
	}
}

// TestNewAlgorithmForgetsPriorSsthresh: tcp_init_congestion_control
// clears prior_ssthresh, so a recovery begun under the old algorithm
// cannot be undone back to the old one's window after TCP_CONGESTION
// switched.
func TestNewAlgorithmForgetsPriorSsthresh(t *testing.T) {
	k, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tp := tcpSk(newTcpSock(nil))
	tp.caOps = &tcpRenoOps
	tp.priorSsthresh = 70
	k.tcpInitCongestionControl(tp)
	if tp.priorSsthresh != 0 {
		t.Errorf("prior_ssthresh after tcp_init_congestion_control = %d, want 0", tp.priorSsthresh)
	}
}

// TestCubicRootIsTheKernels: bic_K, the time to the last maximum, comes
// from cubic_root's table and one Newton step, not the exact cube root,
// and the cwnd curve follows it. Worked through the kernel's arithmetic:
// for W_max - cwnd = 300, a = 2681735677 * 300 = 804520703100, fls64 40,
// b 12, the table's entry 11 (138), x 9472, then 2x + a/(x(x-1)) = 27912,
// times 341 >> 10: 9294, where the exact root is 9300; for 10, 2991
// (exact 2993); small values come straight from the table. The previous
// build computed the exact root.
func TestCubicRootIsTheKernels(t *testing.T) {
	for _, c := range []struct {
		a    uint64
		want uint32
	}{{804520703100, 9294}, {2681735677 * 10, 2991}, {8, 2}, {0, 0}, {63, 4}} {
		if got := cubicRoot(c.a); got != c.want {
			t.Errorf("cubic_root(%d) = %d, want %d", c.a, got, c.want)
		}
	}
}

// TestCwndRestartKeepsTheCount: after an idle period, tcp_cwnd_restart
// halves cwnd once per RTO idle (not below the initial window) and
// clears snd_cwnd_used, but leaves snd_cwnd_cnt, the ACKs counted toward
// the next congestion-avoidance increase. The previous build cleared the
// count instead, so the first increase after the idle period came later.
func TestCwndRestartKeepsTheCount(t *testing.T) {
	k, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	sk := newTcpSock(nil)
	tp := tcpSk(sk)
	tp.caOps = &tcpRenoOps
	tp.SndCwnd, tp.SndSsthresh = 40, 20
	tp.sndCwndCnt, tp.sndCwndUsed = 30, 12
	tp.IcskRto = 200 * NsecPerJiffy
	k.tcpCwndRestart(sk, 450) // 450 jiffies idle: two RTOs past the first
	if tp.SndCwnd != 10 || tp.SndSsthresh != 30 || tp.sndCwndCnt != 30 || tp.sndCwndUsed != 0 {
		t.Fatalf("cwnd %d ssthresh %d cnt %d used %d; want 10 30 30 0", tp.SndCwnd, tp.SndSsthresh, tp.sndCwndCnt, tp.sndCwndUsed)
	}
}
