package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// Waking sleepers as 6.12 does (found by a review of readiness and
// waiting; each test fails on the build before its fix).

// TestDataBelowRcvlowatWakesNobody: with SO_RCVLOWAT 1000, 100
// in-order bytes do not call sk_data_ready: tcp_data_queue ends in
// tcp_data_ready (net/ipv4/tcp_input.c:5370), which calls sk_data_ready
// only when tcp_epollin_ready(sk, sk_rcvlowat) or SOCK_DONE
// (tcp_input.c:5279). A poll(POLLIN) asleep on the socket is not woken, so
// tcp_poll is not called again.
func TestDataBelowRcvlowatWakesNobody(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	_, cfd, afd := f.loopbackPair(t, 9200)
	if err := p.Setsockopt(cfd, sockets.SOL_SOCKET, sockets.SO_RCVLOWAT, sockets.Optval{Int: 1000}); err != nil {
		t.Fatal(err)
	}
	pd := p.Start(Syscall{Name: "poll", Args: [4]int64{1, -1}, Fds: []PollFd{{Fd: int32(cfd), Events: sockets.POLLIN}}})
	_ = f.k.Sync()
	if pd.Ready() {
		t.Fatal("poll returned with nothing to read")
	}
	m := f.mark()
	if _, err := p.Sendto(afd, make([]byte, 100), 0, nil); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Sync()
	if pd.Ready() {
		t.Fatal("poll returned with 100 bytes under SO_RCVLOWAT 1000")
	}
	got := only(f.entries(m), "sock_def_readable", "tcp_poll")
	if len(got) != 0 {
		t.Errorf("100 bytes under SO_RCVLOWAT 1000 ran %v; 6.12's tcp_data_ready calls neither", got)
	}
	_ = p.Kill()
	_, _ = pd.Wait()
}

// TestErrorReportWakesOneAcceptor: connect(AF_UNSPEC) on a listener
// runs tcp_disconnect, whose only wake-up is sk_error_report
// (net/ipv4/tcp.c:3425) -> sock_def_error_report, which is
// wake_up_interruptible_poll (net/core/sock.c:3498), nr_exclusive 1
// (include/linux/wait.h:243). accept() sleeps exclusively
// (prepare_to_wait_exclusive, net/ipv4/inet_connection_sock.c:622), so of
// two blocked acceptors one wakes (EINVAL, the socket is no longer
// listening) and the other sleeps on.
func TestErrorReportWakesOneAcceptor(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	lfd := f.socket(t)
	_ = p.Bind(lfd, addr("127.0.0.1:9300"))
	_ = p.Listen(lfd, 4)
	a1 := p.Start(Syscall{Name: "accept4", Args: [4]int64{int64(lfd)}})
	a2 := p.Start(Syscall{Name: "accept4", Args: [4]int64{int64(lfd)}})
	_ = f.k.Sync()
	if a1.Ready() || a2.Ready() {
		t.Fatal("accept returned on an empty queue")
	}
	if err := p.Connect(lfd, sockets.SockaddrIn{Family: sockets.AF_UNSPEC}); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Sync()
	if woke := countTrue(a1.Ready(), a2.Ready()); woke != 1 {
		t.Errorf("%d of 2 blocked acceptors returned after connect(AF_UNSPEC) on the listener; 6.12 wakes one", woke)
	}
	_ = p.Kill()
	_, _ = a1.Wait()
	_, _ = a2.Wait()
}

// TestShouldExpandSndbufCountsPacketsInFlight: tcp_should_expand_sndbuf
// refuses to grow the send buffer only when tcp_packets_in_flight (packets_out
// less SACKed and lost, plus retransmitted) fills the congestion window
// (net/ipv4/tcp_input.c:5759). With 10 packets out of which 4 are SACKed and
// cwnd 10, 6 are in flight: 6.12 grows the buffer (and tcp_new_space then
// runs sk_write_space on the larger buffer).
func TestShouldExpandSndbufCountsPacketsInFlight(t *testing.T) {
	f := boot(t, Config{})
	_, cfd, _ := f.loopbackPair(t, 9400)
	r, err := f.k.Do("expand", func(k *Kernel) any {
		sk := f.p.Fdt.Get(cfd).PrivateData.Sk
		tp := tcpSk(sk)
		saved := [3]uint32{tp.PacketsOut, tp.sackedOut, tp.SndCwnd}
		tp.PacketsOut, tp.sackedOut, tp.SndCwnd = 10, 4, 10
		in, ok := tcpPacketsInFlight(tp), tcpShouldExpandSndbuf(sk)
		tp.PacketsOut, tp.sackedOut, tp.SndCwnd = saved[0], saved[1], saved[2]
		return [2]any{in, ok}
	})
	if err != nil {
		t.Fatal(err)
	}
	got := r.([2]any)
	if !got[1].(bool) {
		t.Errorf("packets in flight %d < cwnd 10, sndbuf not locked: tcp_should_expand_sndbuf is true in 6.12, the model says false", got[0])
	}
}

// countTrue counts the true values.
func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
