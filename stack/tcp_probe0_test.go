package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// TestDisconnectForgetsTheProbes: connect(AF_UNSPEC) on a socket that is
// probing a zero window forgets when the probing began
// (icsk_probes_tstamp), as tcp_disconnect does. Kept, it gave the next
// connection's first probe a TCP_USER_TIMEOUT already run out: the new
// connection was closed without sending a probe.
func TestDisconnectForgetsTheProbes(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listenRcvbuf(f.pa, addrA, 9, 4096)
	cfd, _ := f.dial(lfd, 9)
	if err := f.pb.Setsockopt(cfd, sockets.SOL_TCP, sockets.TCP_USER_TIMEOUT, sockets.Optval{Int: 5000}); err != nil {
		t.Fatal(err)
	}
	// The server never reads: its small buffer fills, its window shuts,
	// and the client probes.
	f.pb.Start(Syscall{Name: "sendto", Args: [4]int64{int64(cfd), 0, int64(sockets.MSG_DONTWAIT)}, Data: pattern(100_000, 1)})
	if err := f.p.RunFor(2 * sec); err != nil {
		t.Fatal(err)
	}
	probing := func() bool {
		return onSock(t, f.pb, cfd, func(k *Kernel, sk *sockets.Sock, tp *TcpSock) any {
			return tp.probesTstampSet
		}).(bool)
	}
	// The server answers every probe, so probes_out keeps going back to
	// 0; probes_tstamp stays set while the window stays shut.
	if !probing() || f.mib(f.p.B, LINUX_MIB_TCPWINPROBE) == 0 {
		t.Fatalf("before: probes_tstamp set %v, TCPWinProbe %d: the client should be probing",
			probing(), f.mib(f.p.B, LINUX_MIB_TCPWINPROBE))
	}
	if err := f.connect(f.pb, cfd, sockets.SockaddrIn{Family: sockets.AF_UNSPEC}, sec); err != nil {
		t.Fatalf("connect(AF_UNSPEC): %v", err)
	}
	if probing() {
		t.Errorf("after tcp_disconnect: probes_tstamp is still set")
	}
}
