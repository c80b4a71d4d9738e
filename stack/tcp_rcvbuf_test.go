package stack

import (
	"testing"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
)

// onSock runs fn on the kernel loop with proc's socket fd.
func onSock(t testing.TB, proc *Process, fd int, fn func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any) any {
	t.Helper()
	r, err := proc.k.Do("test", func(k *Kernel) any {
		sk := proc.Fdt.Get(fd).PrivateData.Sk
		return fn(k, sk, tcpSk(sk))
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rxSkb is a received segment of n bytes in an skb of the given size.
func rxSkb(t testing.TB, k *Kernel, n, size uint32) *skb.SkBuff {
	t.Helper()
	s, err := skb.AllocSkb(k.skbs, size)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := skb.SkbPut(s, n); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEstablishedWindowFitsTheReceiveBuffer: tcp_init_buffer_space on
// both ends of a handshake: window_clamp becomes half of sk_rcvbuf
// (131072) less one segment for the application (tcp_app_win), which
// caps rcv_ssthresh; autotuning starts from ten segments. The segment is
// advmss less the timestamp option (1460 - 12), as both ends have taken
// it off before the buffers are set up.
func TestEstablishedWindowFitsTheReceiveBuffer(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	lfd := f.listen(f.pa, addrA, 80, 8)
	cfd, sfd := f.dial(lfd, 80)
	for _, side := range []struct {
		p  *Process
		fd int
	}{{f.pb, cfd}, {f.pa, sfd}} {
		got := onSock(t, side.p, side.fd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any {
			return [4]uint32{tp.WindowClamp, tp.RcvSsthresh, uint32(tp.rcvqSpace.space), uint32(tp.AdvMss)}
		}).([4]uint32)
		if want := [4]uint32{65536 - 1448, 65536 - 1448, 10 * 1448, 1448}; got != want {
			t.Errorf("window_clamp, rcv_ssthresh, rcvq_space.space, advmss = %v, want %v", got, want)
		}
	}
	v := "0"
	if _, err := f.p.A.Sysctl("net.ipv4.tcp_app_win", &v); err != nil {
		t.Fatal(err)
	}
	_, sfd2 := f.dial(lfd, 80)
	if clamp := onSock(t, f.pa, sfd2, func(_ *Kernel, _ *sockets.Sock, tp *TcpSock) any { return tp.WindowClamp }); clamp != uint32(65536) {
		t.Errorf("with tcp_app_win 0, window_clamp %d, want the whole 65536", clamp)
	}
}

// TestReceiverRttEstimate: tcp_rcv_rtt_measure_ts takes a sample from a
// full-sized segment echoing a new timestamp (smoothed 7/8 old, 1/8 new
// once there is an estimate), none from a repeated timestamp or a short
// segment; tcp_rcv_rtt_measure's per-window samples only lower it.
func TestReceiverRttEstimate(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	lfd := f.listen(f.pa, addrA, 80, 8)
	_, sfd := f.dial(lfd, 80)
	got := onSock(t, f.pa, sfd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		tp.rcvRttEst = tcpRcvRtt{}
		now := k.tcpClockTs() // rcv_tsecr is kept with tsoffset taken off, as in the kernel
		var out []uint32
		sample := func(ago, seglen uint32) {
			tp.RxOpt.RcvTsecr = now - ago
			k.tcpRcvRttMeasureTs(sk, 1000, 1000+seglen)
			out = append(out, tp.rcvRttEst.rttUs>>3)
		}
		sample(40, tp.RcvMss)   // first sample: 40 ms
		sample(40, tp.RcvMss)   // the same echo again: no sample
		sample(80, tp.RcvMss-1) // short: no sample
		sample(88, tp.RcvMss)   // 40 + (88-40)/8 = 46 ms
		sample(20, tp.RcvMss)   // lower: taken as it is
		tcpRcvRttUpdate(tp, 50_000, true)
		out = append(out, tp.rcvRttEst.rttUs>>3) // a window sample above: ignored
		tcpRcvRttUpdate(tp, 10_000, true)
		out = append(out, tp.rcvRttEst.rttUs>>3) // below: taken
		return out
	}).([]uint32)
	want := []uint32{40_000, 40_000, 40_000, 46_000, 20_000, 20_000, 10_000}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("estimates %v, want %v", got, want)
		}
	}
}

// TestGrowWindow: tcp_grow_window raises rcv_ssthresh by two segments
// (advmss, 1448 here; at least twice the segment) per full segment, up to
// what window_clamp and the free buffer allow; a segment carrying much
// more truesize than data counts only while rcv_ssthresh is small
// (__tcp_grow_window), and then by two of the peer's segments as guessed
// so far (rcv_mss: 536 before any data).
func TestGrowWindow(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	lfd := f.listen(f.pa, addrA, 80, 8)
	_, sfd := f.dial(lfd, 80)
	got := onSock(t, f.pa, sfd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		sk.SkRcvbuf = 1 << 20
		tp.WindowClamp = 200_000
		var out []uint32
		grow := func(n, size uint32) {
			s := rxSkb(t, k, n, size)
			k.tcpGrowWindow(sk, s, true)
			_ = skb.KfreeSkb(s)
			out = append(out, tp.RcvSsthresh)
		}
		tp.RcvSsthresh = 64_000
		grow(1448, 1600) // truesize 2304: window share 1152 <= 1448
		grow(4000, 4100) // twice the segment beats two MSS
		tp.RcvSsthresh = 199_000
		grow(1448, 1600) // only 1000 left under window_clamp
		grow(1448, 1600) // none
		// 200 bytes in a 16 KB skb: the share is halved with the largest
		// window (tcp_rmem[2]) until it fits 200 bytes; small rcv_ssthresh
		// passes, a big one does not.
		tp.WindowClamp = 4 << 20
		sk.SkRcvbuf = 8 << 20
		tp.RcvSsthresh = 10_000
		grow(200, 16000)
		tp.RcvSsthresh = 100_000
		grow(200, 16000)
		return out
	}).([]uint32)
	want := []uint32{64_000 + 2896, 64_000 + 2896 + 8000, 200_000, 200_000, 10_000 + 2*536, 100_000}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rcv_ssthresh %v, want %v", got, want)
		}
	}
}

// TestClampWindow: a receive queue that fills sk_rcvbuf grows it to what
// is allocated, up to tcp_rmem[2] (tcp_clamp_window), unless SO_RCVBUF
// fixed it; then rcv_ssthresh drops to two segments.
func TestClampWindow(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	lfd := f.listen(f.pa, addrA, 80, 8)
	cfd, _ := f.dial(lfd, 80)
	got := onSock(t, f.pb, cfd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		alloc := sk.SkRmemAlloc
		sk.SkRmemAlloc = 200_000
		k.tcpClampWindow(sk)
		grown := [2]int64{int64(sk.SkRcvbuf), int64(tp.RcvSsthresh)}
		sk.SkRmemAlloc = 7 << 20
		k.tcpClampWindow(sk)
		capped := [2]int64{int64(sk.SkRcvbuf), int64(tp.RcvSsthresh)}
		sk.SkRcvbuf = 100_000
		sk.SkUserlocks |= sockets.SOCK_RCVBUF_LOCK
		sk.SkRmemAlloc = 200_000
		k.tcpClampWindow(sk)
		locked := [2]int64{int64(sk.SkRcvbuf), int64(tp.RcvSsthresh)}
		sk.SkRmemAlloc = alloc
		return [3][2]int64{grown, capped, locked}
	}).([3][2]int64)
	want := [3][2]int64{{200_000, 65536 - 1448}, {6291456, 2 * 1448}, {100_000, 2 * 1448}}
	if got != want {
		t.Errorf("(sk_rcvbuf, rcv_ssthresh) grown, capped at tcp_rmem[2], locked: %v, want %v", got, want)
	}
}

// rcvSide is what autotuning left on a receiving socket.
type rcvSide struct {
	rcvbuf                       int32
	clamp, rcvSsthresh, rcvRttUs uint32
	rcvSpace                     int32
}

// autotuneRun moves n bytes from B to A over a 50 ms, 100 Mbit/s path and
// returns what autotuning left on the receiving socket. rcvbuf, if not 0,
// is set with SO_RCVBUF on the listener first; sysctl holds name, value
// pairs for A.
func autotuneRun(t *testing.T, n int, rcvbuf int64, sysctl ...string) rcvSide {
	t.Helper()
	im := netdevImpairments{Delay: 25e6, Rate: 100e6, QueueBytes: 4 << 20}
	f := newPairFix(t, PairConfig{Seed: 5, AB: im, BA: im})
	for i := 0; i+1 < len(sysctl); i += 2 {
		if _, err := f.p.A.Sysctl(sysctl[i], &sysctl[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	lfd := f.listen(f.pa, addrA, 80, 8)
	if rcvbuf != 0 {
		if err := f.pa.Setsockopt(lfd, sockets.SOL_SOCKET, sockets.SO_RCVBUF, sockets.Optval{Int: rcvbuf}); err != nil {
			t.Fatal(err)
		}
	}
	cfd, sfd := f.dial(lfd, 80)
	start := f.p.Now()
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(n, 7), 600*sec)
	el := float64(f.p.Now()-start) / 1e9
	r := onSock(t, f.pa, sfd, func(_ *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		return rcvSide{sk.SkRcvbuf, tp.WindowClamp, tp.RcvSsthresh, tp.rcvRttEst.rttUs >> 3, tp.rcvqSpace.space}
	}).(rcvSide)
	t.Logf("%d MB in %.2f s (virtual): %+v", n>>20, el, r)
	return r
}

// TestAutotuningGrowsTheReceiveBuffer: over a 50 ms path, the reader takes
// more each RTT as the sender's window opens, and tcp_rcv_space_adjust
// grows sk_rcvbuf past tcp_rmem[1], window_clamp following at half of it;
// the receiver's RTT estimate is the path's 50 ms. SO_RCVBUF, and
// tcp_moderate_rcvbuf 0, keep the buffer where it is; tcp_rmem[2] caps it.
func TestAutotuningGrowsTheReceiveBuffer(t *testing.T) {
	r := autotuneRun(t, 4<<20, 0)
	if r.rcvbuf <= 131072 || r.rcvbuf > 6291456 || r.clamp != uint32(r.rcvbuf/2) {
		t.Errorf("sk_rcvbuf %d, window_clamp %d: want grown past 131072, at most tcp_rmem[2], the clamp half of it", r.rcvbuf, r.clamp)
	}
	// 50 ms of path, plus what queues at the 100 Mbit/s bottleneck once
	// the window is large (the timestamps measure that too).
	if r.rcvRttUs < 50_000 || r.rcvRttUs > 120_000 {
		t.Errorf("receiver RTT %d us on a 50 ms path", r.rcvRttUs)
	}
	if r.rcvSpace <= 10*1448 {
		t.Errorf("rcvq_space %d: the reader's bytes per RTT never beat the first guess", r.rcvSpace)
	}
	if r.rcvSsthresh < r.clamp*9/10 {
		t.Errorf("rcv_ssthresh %d: the window offered did not follow window_clamp %d (tcp_grow_window)", r.rcvSsthresh, r.clamp)
	}
	if r := autotuneRun(t, 1<<20, 100_000); r.rcvbuf != 200_000 {
		t.Errorf("SO_RCVBUF 100000: sk_rcvbuf %d after the transfer, want 200000 (doubled, then fixed)", r.rcvbuf)
	}
	if r := autotuneRun(t, 1<<20, 0, "net.ipv4.tcp_moderate_rcvbuf", "0"); r.rcvbuf != 131072 {
		t.Errorf("tcp_moderate_rcvbuf 0: sk_rcvbuf %d, want tcp_rmem[1] 131072", r.rcvbuf)
	}
	if r := autotuneRun(t, 4<<20, 0, "net.ipv4.tcp_rmem", "4096 131072 262144"); r.rcvbuf != 262144 {
		t.Errorf("tcp_rmem[2] 262144: sk_rcvbuf %d, want it capped there", r.rcvbuf)
	}
}

// TestTcpInfoReportsTheReceiverSide: tcpi_rcv_rtt is the receiver's RTT
// estimate in µs and tcpi_rcv_space the bytes autotuning counted in an
// RTT: 10 segments when the connection starts, then what the reader took
// (here on the connecting end).
func TestTcpInfoReportsTheReceiverSide(t *testing.T) {
	im := netdevImpairments{Delay: 25e6, Rate: 100e6, QueueBytes: 4 << 20}
	f := newPairFix(t, PairConfig{Seed: 5, AB: im, BA: im})
	lfd := f.listen(f.pa, addrA, 80, 8)
	cfd, sfd := f.dial(lfd, 80)
	info, err := f.pb.TCPInfo(cfd)
	if err != nil {
		t.Fatal(err)
	}
	if info.TcpiRcvRtt != 0 || info.TcpiRcvSpace != 10*info.TcpiAdvmss {
		t.Errorf("before any data: tcpi_rcv_rtt %d, tcpi_rcv_space %d (advmss %d), want 0 and 10 segments",
			info.TcpiRcvRtt, info.TcpiRcvSpace, info.TcpiAdvmss)
	}
	f.transfer(f.pa, sfd, f.pb, cfd, pattern(2<<20, 9), 60*sec)
	if info, err = f.pb.TCPInfo(cfd); err != nil {
		t.Fatal(err)
	}
	want := onSock(t, f.pb, cfd, func(_ *Kernel, _ *sockets.Sock, tp *TcpSock) any {
		return [2]uint32{tp.rcvRttEst.rttUs >> 3, uint32(tp.rcvqSpace.space)}
	}).([2]uint32)
	if got := [2]uint32{info.TcpiRcvRtt, info.TcpiRcvSpace}; got != want || got[0] < 50_000 || got[1] <= 10*info.TcpiAdvmss {
		t.Errorf("tcpi_rcv_rtt, tcpi_rcv_space = %v; the socket has %v (a 50 ms path, a reader taking more than 10 segments an RTT)", got, want)
	}
}

// TestSoRcvbufLimitsTheFirstWindow: a receive buffer fixed with
// SO_RCVBUF before connect() or listen() limits window_clamp to what it
// holds, and with it the window scale offered in the SYN and SYN-ACK:
// 32768 doubled is a 65536-byte buffer, half of it window, which needs no
// scaling (wscale 0, where tcp_rmem[2] would ask for 7).
func TestSoRcvbufLimitsTheFirstWindow(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	lfd := f.socket(f.pa)
	if err := f.pa.Setsockopt(lfd, sockets.SOL_SOCKET, sockets.SO_RCVBUF, sockets.Optval{Int: 32768}); err != nil {
		t.Fatal(err)
	}
	if err := f.pa.Bind(lfd, sa(addrA, 80)); err != nil {
		t.Fatal(err)
	}
	if err := f.pa.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	cfd := f.socket(f.pb)
	if err := f.pb.Setsockopt(cfd, sockets.SOL_SOCKET, sockets.SO_RCVBUF, sockets.Optval{Int: 32768}); err != nil {
		t.Fatal(err)
	}
	if err := f.connect(f.pb, cfd, sa(addrA, 80), 5*sec); err != nil {
		t.Fatal(err)
	}
	sfd := f.accept(f.pa, lfd, 5*sec)
	for _, side := range []struct {
		name string
		p    *Process
		fd   int
	}{{"client", f.pb, cfd}, {"server", f.pa, sfd}} {
		got := onSock(t, side.p, side.fd, func(_ *Kernel, _ *sockets.Sock, tp *TcpSock) any {
			return [2]uint32{uint32(tp.RxOpt.RcvWscale), tp.WindowClamp}
		}).([2]uint32)
		if got[0] != 0 || got[1] > 32768 {
			t.Errorf("%s: wscale %d, window_clamp %d; want 0 and at most 32768", side.name, got[0], got[1])
		}
	}
}

// BenchmarkWireBulkLongPath moves 4 MB from B to A over a 50 ms, 100
// Mbit/s path (a bandwidth-delay product of 625 kB, ten times the window
// a 131072-byte receive buffer offers) and reports the virtual-time
// throughput next to the wall time it took: how well the receive window
// keeps up with the sender (autotuning), and what the simulation costs.
func BenchmarkWireBulkLongPath(b *testing.B) {
	im := netdevImpairments{Delay: 25e6, Rate: 100e6, QueueBytes: 4 << 20}
	data := pattern(4<<20, 7)
	var virt int64
	for i := 0; i < b.N; i++ {
		f := newPairFix(b, PairConfig{Seed: 5, AB: im, BA: im})
		lfd := f.listen(f.pa, addrA, 80, 8)
		cfd, sfd := f.dial(lfd, 80)
		start := f.p.Now()
		f.transfer(f.pb, cfd, f.pa, sfd, data, 600*sec)
		virt += f.p.Now() - start
		f.p.Stop()
	}
	b.ReportMetric(float64(len(data))*8*float64(b.N)/(float64(virt)/1e9)/1e6, "virtual-Mbit/s")
	b.SetBytes(int64(len(data)))
}

// BenchmarkWireBulkLossyLongPath moves 16 MB from B to A over a 50 ms,
// 1 Gbit/s path (a bandwidth-delay product of 6 MB) that loses one data
// segment in every 4000: each loss leaves the receiver queueing about a
// window of segments out of order (thousands of skbs), so the cost of an
// insertion into a long out-of-order queue shows in the wall time per
// byte. It reports the insertions per run.
func BenchmarkWireBulkLossyLongPath(b *testing.B) {
	im := netdevImpairments{Delay: 25e6, Rate: 1e9, QueueBytes: 16 << 20}
	data := pattern(16<<20, 7)
	var ofo uint64
	for i := 0; i < b.N; i++ {
		f := newPairFix(b, PairConfig{Seed: 5, AB: im, BA: im})
		for _, k := range []*Kernel{f.p.A, f.p.B} {
			for _, kv := range [][2]string{{"net.ipv4.tcp_rmem", "4096 131072 16777216"}, {"net.ipv4.tcp_wmem", "4096 16384 16777216"}} {
				if _, err := k.Sysctl(kv[0], &kv[1]); err != nil {
					b.Fatal(err)
				}
			}
		}
		n := 0
		f.p.Wire.Filter = func(dir int, frame []byte) bool {
			if tcp := tcpOfFrame(frame); dir == 1 && tcp != nil && len(tcp.Payload) > 0 {
				n++
				return n%4000 == 0
			}
			return false
		}
		lfd := f.listen(f.pa, addrA, 80, 8)
		cfd, sfd := f.dial(lfd, 80)
		f.transfer(f.pb, cfd, f.pa, sfd, data, 600*sec)
		ofo += f.mib(f.p.A, LINUX_MIB_TCPOFOQUEUE)
		f.p.Stop()
	}
	b.ReportMetric(float64(ofo)/float64(b.N), "ofo-inserts/run")
	b.SetBytes(int64(len(data)))
}

// TestGrowWindowTruesizeAdjust: for in-order data whose payload the kernel
// keeps in page frags (a loopback segment: the sender's skb, marked
// PagedHeadEnd in the model), tcp_grow_window judges the truesize without
// the head (truesize_adjust): 300 bytes costing 832 + 300 then count as
// a full segment (two advmss), where the whole truesize would only count
// through __tcp_grow_window (two rcv_mss). Out-of-order data is judged
// whole.
func TestGrowWindowTruesizeAdjust(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	lfd := f.listen(f.pa, addrA, 80, 8)
	_, sfd := f.dial(lfd, 80)
	got := onSock(t, f.pa, sfd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		sk.SkRcvbuf = 1 << 20
		tp.WindowClamp = 200_000
		var out []uint32
		for _, adjust := range []bool{true, false} {
			s := rxSkb(t, k, 300, 300)
			s.PagedHeadEnd = 256
			s.Truesize = skb.SkbTruesize(256) + 300
			tp.RcvSsthresh = 64_000
			k.tcpGrowWindow(sk, s, adjust)
			_ = skb.KfreeSkb(s)
			out = append(out, tp.RcvSsthresh-64_000, uint32(tp.AdvMss), uint32(tp.RcvMss))
		}
		return out
	}).([]uint32)
	if adv, rcv := got[1], got[2]; got[0] != 2*adv || got[3] != 2*rcv {
		t.Errorf("rcv_ssthresh grew by %d with adjust (want 2*advmss = %d) and %d without (want 2*rcv_mss = %d)",
			got[0], 2*adv, got[3], 2*rcv)
	}
}
