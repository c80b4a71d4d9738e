package stack

import (
	"testing"
)

// TestCubicCurve: after a loss at W_max = 100 segments, CUBIC cuts cwnd
// to 717/1024 of it, then grows along its cubic curve: quickly at first,
// flat around W_max near K = cbrt(W_max * (1 - beta) / C) = 4.2 s
// (C = 0.4), faster again after it. One RTT is 100 ms; each RTT acknowledges
// a window's worth.
func TestCubicCurve(t *testing.T) {
	k, err := New(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	vc := k.clock.(*VirtualClock)
	tp := &TcpSock{}
	tp.SndCwndClamp = ^uint32(0)
	tp.caOps = &tcpCubicOps
	vc.set(10e9)
	cubictcpInit(k, tp)
	tp.cubic.delayMin = 100_000 // 100 ms
	tp.SndCwnd = 100
	tp.SndSsthresh = cubictcpRecalcSsthresh(tp)
	if tp.SndSsthresh != 70 {
		t.Fatalf("ssthresh %d after a loss at 100, want 100*717/1024 = 70", tp.SndSsthresh)
	}
	tp.SndCwnd = tp.SndSsthresh
	cwndAt := map[int]uint32{} // tenths of a second since the loss
	for rtt := 1; rtt <= 80; rtt++ {
		vc.set(10e9 + int64(rtt)*100e6)
		for i := uint32(0); i < tp.SndCwnd; i++ {
			cubictcpCongAvoid(k, tp, 1)
		}
		cwndAt[rtt] = tp.SndCwnd
	}
	t.Logf("cwnd at 1 s %d, 2 s %d, 3 s %d, 4 s %d, 5 s %d, 6 s %d, 8 s %d",
		cwndAt[10], cwndAt[20], cwndAt[30], cwndAt[40], cwndAt[50], cwndAt[60], cwndAt[80])
	if c := cwndAt[43]; c < 97 || c > 103 {
		t.Errorf("cwnd %d at K = 4.3 s, want about W_max = 100", c)
	}
	early := cwndAt[10] - 70           // the first second
	plateau := cwndAt[45] - cwndAt[35] // the second around K
	late := cwndAt[80] - cwndAt[70]    // 3 to 4 s after K
	if !(early > plateau && late > plateau) {
		t.Errorf("growth per second: %d at first, %d around W_max, %d after: want concave then convex", early, plateau, late)
	}
}

// TestCongestionControlFollowsTheSysctl: a socket gets the algorithm
// net.ipv4.tcp_congestion_control names when it is made.
func TestCongestionControlFollowsTheSysctl(t *testing.T) {
	f := boot(t, Config{Seed: 1})
	fd := f.socket(t)
	v := "reno"
	if _, err := f.k.Sysctl("net.ipv4.tcp_congestion_control", &v); err != nil {
		t.Fatal(err)
	}
	fd2 := f.socket(t)
	r, err := f.k.Do("congestion", func(k *Kernel) any {
		var names []string
		for _, fd := range []int{fd, fd2} {
			names = append(names, tcpSk(f.p.Fdt.Get(fd).PrivateData.Sk).CongestionOps)
		}
		return names
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.([]string); len(got) != 2 || got[0] != "cubic" || got[1] != "reno" {
		t.Errorf("congestion control %q, want cubic (the default) then reno (after the sysctl)", got)
	}
}
