package stack

import (
	"testing"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// sendQueues reads what a TCP socket still holds to send: skbs on its
// write and retransmit queues, and sk_wmem_queued.
func sendQueues(t *testing.T, proc *Process, fd int) [3]int {
	t.Helper()
	return onSock(t, proc, fd, func(_ *Kernel, sk *sockets.Sock, tp *TcpSock) any {
		return [3]int{int(skb.SkbQueueLen(&sk.SkWriteQueue)), int(skb.SkbQueueLen(&tp.rtxQueue)), int(sk.SkWmemQueued)}
	}).([3]int)
}

// TestResetPurgesTheSendQueues: B has data queued that A, not reading,
// has no room for; A aborts (SO_LINGER with a zero timeout: tcp_disconnect
// sends an RST). B's tcp_reset ends the connection through
// tcp_done_with_error, which frees everything B still held to send while
// B's socket stays open, and B's blocked write fails with ECONNRESET.
// Both ends count the reset in EstabResets (tcp_set_state, leaving
// ESTABLISHED for CLOSE).
func TestResetPurgesTheSendQueues(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	write := f.pb.Start(Syscall{Name: "write", Args: [4]int64{int64(cfd)}, Data: pattern(4<<20, 3)})
	if err := f.p.RunFor(2 * sec); err != nil {
		t.Fatal(err)
	}
	if q := sendQueues(t, f.pb, cfd); q[0]+q[1] == 0 || q[2] == 0 {
		t.Fatalf("nothing waits to be sent before the reset: write queue %d skbs, retransmit queue %d, wmem_queued %d", q[0], q[1], q[2])
	}
	if err := f.pa.Setsockopt(sfd, sockets.SOL_SOCKET, sockets.SO_LINGER, sockets.Optval{LingerOnoff: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.pa.Close(sfd); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunUntil(write.Ready, 5*sec); err != nil {
		t.Fatal(err)
	}
	// It had copied some of the data: it returns that count, as
	// tcp_sendmsg does when an error comes after a partial copy.
	if n, err := write.Wait(); err != nil || n <= 0 || n >= 4<<20 {
		t.Errorf("the blocked write returned %d, %v; want a partial count", n, err)
	}
	// The reset's error was left for the next call, which reports it;
	// the one after that finds the connection gone (EPIPE).
	for _, want := range []sockets.Errno{tracing.ECONNRESET, tracing.EPIPE} {
		if _, err := f.call(f.pb, Syscall{Name: "write", Args: [4]int64{int64(cfd)}, Data: []byte("x")}, sec); errnoOf(err) != want {
			t.Errorf("a write after the reset: %v, want %v", err, want)
		}
	}
	if st := f.state(f.pb, cfd); st != sockets.TCP_CLOSE {
		t.Fatalf("B is in %v after the reset", st)
	}
	if q := sendQueues(t, f.pb, cfd); q != [3]int{} {
		t.Errorf("after the reset B still holds %d skbs on its write queue, %d on its retransmit queue, wmem_queued %d", q[0], q[1], q[2])
	}
	if a, b := f.mib(f.p.A, TCP_MIB_ESTABRESETS), f.mib(f.p.B, TCP_MIB_ESTABRESETS); a != 1 || b != 1 {
		t.Errorf("EstabResets A %d, B %d; want 1 each", a, b)
	}
}

// TestDisconnectThenConnectAgain: connect(AF_UNSPEC) on an established
// socket resets the peer and leaves a fresh CLOSE socket: queues empty,
// RTT and congestion state back to their starting values. Connecting it
// again starts the sequence numbers max_window + 2 past the old write_seq
// (tcp_v4_connect keeps a write_seq that is set), and the new connection
// carries data.
func TestDisconnectThenConnectAgain(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(200_000, 4), 30*sec)
	type seqs struct{ writeSeq, maxWindow, cwnd, srtt uint32 }
	before := onSock(t, f.pb, cfd, func(_ *Kernel, _ *sockets.Sock, tp *TcpSock) any {
		return seqs{tp.WriteSeq, tp.MaxWindow, tp.SndCwnd, tp.Srtt}
	}).(seqs)
	if before.srtt == 0 || before.maxWindow == 0 {
		t.Fatalf("no RTT or window learned: %+v", before)
	}
	if err := f.connect(f.pb, cfd, sockets.SockaddrIn{Family: sockets.AF_UNSPEC}, sec); err != nil {
		t.Fatalf("connect(AF_UNSPEC): %v", err)
	}
	if err := f.p.RunFor(sec); err != nil {
		t.Fatal(err)
	}
	if st := f.state(f.pa, sfd); st != sockets.TCP_CLOSE {
		t.Errorf("A is in %v: the disconnect sent no RST", st)
	}
	after := onSock(t, f.pb, cfd, func(_ *Kernel, _ *sockets.Sock, tp *TcpSock) any {
		return seqs{tp.WriteSeq, tp.MaxWindow, tp.SndCwnd, tp.Srtt}
	}).(seqs)
	if want := before.writeSeq + before.maxWindow + 2; after.writeSeq != want {
		t.Errorf("write_seq %d after the disconnect, want %d (old %d + max_window %d + 2)", after.writeSeq, want, before.writeSeq, before.maxWindow)
	}
	if after.cwnd != TCP_INIT_CWND || after.srtt != 0 {
		t.Errorf("cwnd %d, srtt %d after the disconnect; want %d and 0", after.cwnd, after.srtt, TCP_INIT_CWND)
	}
	// The listener's next child offers a much smaller window: the new
	// connection's max_window must come from it, not from the old one
	// (tcp_connect_init clears it).
	if err := f.pa.Setsockopt(lfd, sockets.SOL_SOCKET, sockets.SO_RCVBUF, sockets.Optval{Int: 4096}); err != nil {
		t.Fatal(err)
	}
	nSyn := 0
	for _, tcp := range f.tcpFrames(1) {
		if tcp.SYN {
			nSyn++
		}
	}
	if err := f.connect(f.pb, cfd, sa(addrA, 9), 5*sec); err != nil {
		t.Fatalf("connect again: %v", err)
	}
	var syn uint32
	n := 0
	for _, tcp := range f.tcpFrames(1) {
		if tcp.SYN {
			if n++; n == nSyn+1 {
				syn = tcp.Seq
			}
		}
	}
	if syn != after.writeSeq {
		t.Errorf("the new SYN has seq %d, want write_seq %d", syn, after.writeSeq)
	}
	sfd2 := f.accept(f.pa, lfd, 5*sec)
	f.transfer(f.pb, cfd, f.pa, sfd2, pattern(50_000, 5), 30*sec)
	again := onSock(t, f.pb, cfd, func(_ *Kernel, _ *sockets.Sock, tp *TcpSock) any {
		return seqs{tp.WriteSeq, tp.MaxWindow, tp.SndCwnd, tp.Srtt}
	}).(seqs)
	if again.maxWindow >= before.maxWindow || again.maxWindow > 16384 {
		t.Errorf("max_window %d on the new connection (the old one's was %d); want the new peer's window, at most 16384", again.maxWindow, before.maxWindow)
	}
}
