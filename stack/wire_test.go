package stack

import (
	"bytes"
	"github.com/stackscope/stackscope/tracing"
	"slices"
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// TestWireHandshakeTransferAndServerCloseFirst: B connects to A over the
// wire with 10 ms each way; 300 kB go each way byte for byte; the server
// (A) closes first, so A holds TIME_WAIT for 60 s and B goes through
// CLOSE_WAIT and LAST_ACK to CLOSED.
func TestWireHandshakeTransferAndServerCloseFirst(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(10e6), BA: wireDelay(10e6)})
	lfd := f.listen(f.pa, addrA, 80, 8)
	cfd := f.socket(f.pb)
	if err := f.connect(f.pb, cfd, sa(addrA, 80), 5*sec); err != nil {
		t.Fatal(err)
	}
	if at := f.p.Now(); at != 20e6 {
		t.Errorf("connect returned at %d ns; one RTT is 20 ms", at)
	}
	sfd := f.accept(f.pa, lfd, sec)
	if at := f.p.Now(); at != 30e6 {
		t.Errorf("accept returned at %d ns; the final ACK arrives at 30 ms", at)
	}
	// Both ends have their first RTT sample from the handshake: the
	// client from SYN to SYN-ACK, the server from SYN-ACK to the final
	// ACK (tcp_synack_rtt_meas); RTO = srtt + max(rttvar, 200 ms).
	for _, c := range []struct {
		p  *Process
		fd int
	}{{f.pb, cfd}, {f.pa, sfd}} {
		info, err := c.p.TCPInfo(c.fd)
		if err != nil {
			t.Fatal(err)
		}
		if info.TcpiRtt != 20000 || info.TcpiRto != 220000 {
			t.Errorf("%s: tcpi_rtt %d µs, tcpi_rto %d µs; want 20000 and 220000", c.p.Comm, info.TcpiRtt, info.TcpiRto)
		}
	}
	if a, b := f.state(f.pa, sfd), f.state(f.pb, cfd); a != sockets.TCP_ESTABLISHED || b != sockets.TCP_ESTABLISHED {
		t.Fatalf("states after the handshake: %v / %v", a, b)
	}
	// MSS 1460 both ways on a 1500-byte link.
	for _, seg := range f.tcpFrames(0)[:1] {
		if !seg.SYN || !seg.ACK || mssOption(seg) != 1460 {
			t.Errorf("first segment from A: %+v", seg)
		}
	}
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(300_000, 1), 60*sec)
	f.transfer(f.pa, sfd, f.pb, cfd, pattern(300_000, 2), 60*sec)
	for _, seg := range append(f.tcpFrames(0), f.tcpFrames(1)...) {
		if len(seg.Payload) > 1460 {
			t.Fatalf("a segment of %d bytes on a 1500-byte link", len(seg.Payload))
		}
	}

	if err := f.pa.Close(sfd); err != nil {
		t.Fatal(err)
	}
	// B reads end of file, closes; A's FIN_WAIT2 becomes TIME_WAIT.
	if got := f.recvAll(f.pb, cfd, 1, 5*sec); len(got) != 0 {
		t.Fatalf("read %d bytes after the peer's FIN", len(got))
	}
	if st := f.state(f.pb, cfd); st != sockets.TCP_CLOSE_WAIT {
		t.Errorf("B after the FIN: %v", st)
	}
	// Reading end of file consumed the FIN's sequence number: Recv-Q 0.
	if snap, err := f.p.B.Snapshot(); err == nil {
		for _, sk := range snap.Socks {
			if tp := sk.Tcp; tp != nil && sk.SockCommon.SkcState == "CLOSE_WAIT" && tp.RcvNxt != tp.CopiedSeq {
				t.Errorf("CLOSE_WAIT after end of file: rcv_nxt %d, copied_seq %d", tp.RcvNxt, tp.CopiedSeq)
			}
		}
	}
	if _, err := f.call(f.pb, Syscall{Name: "close", Args: [4]int64{int64(cfd)}}, sec); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(sec); err != nil {
		t.Fatal(err)
	}
	if got := f.ehashStates(f.p.A); !slices.Equal(got, []string{"TIME_WAIT"}) {
		t.Errorf("A's ehash after the close: %v, want one TIME_WAIT", got)
	}
	if got := f.ehashStates(f.p.B); len(got) != 0 {
		t.Errorf("B's ehash after the close: %v, want empty", got)
	}
	// TIME_WAIT lasts TCP_TIMEWAIT_LEN (60 s) and then goes.
	if err := f.p.RunFor(58 * sec); err != nil {
		t.Fatal(err)
	}
	if got := f.ehashStates(f.p.A); !slices.Equal(got, []string{"TIME_WAIT"}) {
		t.Errorf("A's ehash at 59 s: %v", got)
	}
	if err := f.p.RunFor(2 * sec); err != nil {
		t.Fatal(err)
	}
	if got := f.ehashStates(f.p.A); len(got) != 0 {
		t.Errorf("A's ehash after 61 s: %v, want empty", got)
	}
	if n := f.inUse(f.p.A, "TCP") + f.inUse(f.p.B, "TCP"); n != 1 {
		t.Errorf("%d TCP socks in use; want only A's listener", n)
	}
}

func wireDelay(d int64) netdevImpairments { return netdevImpairments{Delay: d} }

// TestWireClientClosesFirst: the client (B) closes first; B holds
// TIME_WAIT, A goes CLOSE_WAIT -> LAST_ACK -> CLOSED, and A's ehash is
// empty at once.
func TestWireClientClosesFirst(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listen(f.pa, addrA, 7, 8)
	cfd, sfd := f.dial(lfd, 7)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(5000, 3), 5*sec)
	if err := f.pb.Close(cfd); err != nil {
		t.Fatal(err)
	}
	// A's ACK of the FIN is delayed (CLOSE_WAIT is pingpong mode: A's
	// own FIN might carry it) by the 40 ms minimum ACK timeout.
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	if st := f.state(f.pa, sfd); st != sockets.TCP_CLOSE_WAIT {
		t.Errorf("A after B's FIN: %v", st)
	}
	if got := f.ehashStates(f.p.B); !slices.Equal(got, []string{"FIN_WAIT1"}) {
		t.Errorf("B's ehash before the delayed ACK: %v", got)
	}
	if err := f.p.RunFor(40e6); err != nil {
		t.Fatal(err)
	}
	if got := f.ehashStates(f.p.B); !slices.Equal(got, []string{"FIN_WAIT2"}) {
		t.Errorf("B's ehash while A has not closed: %v", got)
	}
	if err := f.pa.Close(sfd); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	if got := f.ehashStates(f.p.B); !slices.Equal(got, []string{"TIME_WAIT"}) {
		t.Errorf("B's ehash after both closed: %v", got)
	}
	if got := f.ehashStates(f.p.A); len(got) != 0 {
		t.Errorf("A's ehash after both closed: %v", got)
	}
	// The last segments: B's FIN, A's ACK, A's FIN, B's ACK.
	fins := 0
	for _, seg := range append(f.tcpFrames(0), f.tcpFrames(1)...) {
		if seg.FIN {
			fins++
		}
		if seg.RST {
			t.Errorf("a RST in an orderly close: %+v", seg)
		}
	}
	if fins != 2 {
		t.Errorf("%d FINs, want 2", fins)
	}
	if err := f.p.RunFor(61 * sec); err != nil {
		t.Fatal(err)
	}
	if got := f.ehashStates(f.p.B); len(got) != 0 {
		t.Errorf("B's ehash after 61 s: %v", got)
	}
}

// TestWireSimultaneousOpen: both ends connect to each other at the same
// moment from fixed ports; SYNs cross, both go SYN_SENT -> SYN_RECV ->
// ESTABLISHED (RFC 793 figure 8) and data flows.
func TestWireSimultaneousOpen(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	fa, fb := f.socket(f.pa), f.socket(f.pb)
	if err := f.pa.Bind(fa, sa(addrA, 5000)); err != nil {
		t.Fatal(err)
	}
	if err := f.pb.Bind(fb, sa(addrB, 6000)); err != nil {
		t.Fatal(err)
	}
	ca := f.pa.Start(Syscall{Name: "connect", Args: [4]int64{int64(fa), 16}, Addr: sa(addrB, 6000)})
	cb := f.pb.Start(Syscall{Name: "connect", Args: [4]int64{int64(fb), 16}, Addr: sa(addrA, 5000)})
	if err := f.p.RunUntil(func() bool { return ca.Ready() && cb.Ready() }, 5*sec); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Wait(); err != nil {
		t.Fatalf("A's connect: %v", err)
	}
	if _, err := cb.Wait(); err != nil {
		t.Fatalf("B's connect: %v", err)
	}
	if a, b := f.state(f.pa, fa), f.state(f.pb, fb); a != sockets.TCP_ESTABLISHED || b != sockets.TCP_ESTABLISHED {
		t.Fatalf("states: %v / %v", a, b)
	}
	// Each side sent a SYN and then a SYN-ACK (the crossed SYN's answer).
	for dir := range 2 {
		segs := f.tcpFrames(dir)
		if len(segs) < 2 || !segs[0].SYN || segs[0].ACK || !segs[1].SYN || !segs[1].ACK {
			t.Errorf("direction %d did not send SYN then SYN-ACK: %v", dir, flagsOf(segs))
		}
	}
	f.transfer(f.pa, fa, f.pb, fb, pattern(20000, 4), 5*sec)
	f.transfer(f.pb, fb, f.pa, fa, pattern(20000, 5), 5*sec)
}

// TestWireSimultaneousClose: both ends close at the same moment; FINs
// cross, both go FIN_WAIT1 -> CLOSING -> TIME_WAIT.
func TestWireSimultaneousClose(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 80, 8)
	cfd, sfd := f.dial(lfd, 80)
	m := len(f.p.Frames())
	ca := f.pa.Start(Syscall{Name: "close", Args: [4]int64{int64(sfd)}})
	cb := f.pb.Start(Syscall{Name: "close", Args: [4]int64{int64(cfd)}})
	if err := f.p.RunUntil(func() bool { return ca.Ready() && cb.Ready() }, sec); err != nil {
		t.Fatal(err)
	}
	// After the crossing FINs both are in CLOSING until the ACKs arrive.
	if err := f.p.RunFor(7e6); err != nil {
		t.Fatal(err)
	}
	if a, b := f.ehashStates(f.p.A), f.ehashStates(f.p.B); !slices.Equal(a, []string{"CLOSING"}) || !slices.Equal(b, []string{"CLOSING"}) {
		t.Errorf("after the crossing FINs: A %v, B %v; want CLOSING both", a, b)
	}
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	if a, b := f.ehashStates(f.p.A), f.ehashStates(f.p.B); !slices.Equal(a, []string{"TIME_WAIT"}) || !slices.Equal(b, []string{"TIME_WAIT"}) {
		t.Errorf("after the ACKs: A %v, B %v; want TIME_WAIT both", a, b)
	}
	for _, wf := range f.p.Frames()[m:] {
		if tcp := tcpOfFrame(wf.Frame); tcp != nil && tcp.RST {
			t.Errorf("a RST in a simultaneous close")
		}
	}
	if err := f.p.RunFor(61 * sec); err != nil {
		t.Fatal(err)
	}
	if a, b := f.ehashStates(f.p.A), f.ehashStates(f.p.B); len(a)+len(b) != 0 {
		t.Errorf("after 61 s: A %v, B %v", a, b)
	}
}

// TestWireResets: a SYN to a closed port is answered with RST|ACK and
// connect fails with ECONNREFUSED; SO_LINGER with a zero timeout closes
// with a RST and the peer's read fails with ECONNRESET; closing with
// unread data sends a RST too; a segment for a connection that is gone
// is answered with a RST.
func TestWireResets(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	fd := f.socket(f.pb)
	if err := f.connect(f.pb, fd, sa(addrA, 81), sec); errnoOf(err) != 111 {
		t.Fatalf("connect to a closed port: %v, want ECONNREFUSED", err)
	}
	segs := f.tcpFrames(0)
	if len(segs) != 1 || !segs[0].RST || !segs[0].ACK {
		t.Fatalf("A's answer to the SYN: %v", flagsOf(segs))
	}
	if f.mib(f.p.A, TCP_MIB_OUTRSTS) != 1 || f.mib(f.p.B, TCP_MIB_ATTEMPTFAILS) != 1 {
		t.Errorf("OutRsts on A %d, AttemptFails on B %d", f.mib(f.p.A, TCP_MIB_OUTRSTS), f.mib(f.p.B, TCP_MIB_ATTEMPTFAILS))
	}

	// SO_LINGER {on, 0}: close sends a RST, no FIN, no TIME_WAIT.
	lfd := f.listen(f.pa, addrA, 80, 8)
	cfd, sfd := f.dial(lfd, 80)
	if err := f.pb.Setsockopt(cfd, sockets.SOL_SOCKET, sockets.SO_LINGER, sockets.Optval{LingerOnoff: true}); err != nil {
		t.Fatal(err)
	}
	m := len(f.tcpFrames(1))
	if err := f.pb.Close(cfd); err != nil {
		t.Fatal(err)
	}
	if _, err := f.call(f.pa, Syscall{Name: "recvfrom", Args: [4]int64{int64(sfd), 100}}, sec); errnoOf(err) != 104 {
		t.Errorf("read after the peer's abortive close: %v, want ECONNRESET", err)
	}
	if segs := f.tcpFrames(1)[m:]; len(segs) != 1 || !segs[0].RST {
		t.Errorf("B's abortive close sent %v, want one RST", flagsOf(segs))
	}
	if got := f.ehashStates(f.p.B); len(got) != 0 {
		t.Errorf("B's ehash after an abortive close: %v", got)
	}
	_ = f.pa.Close(sfd)

	// Unread data at close: RST instead of FIN (tcp_close, RFC 2525).
	cfd, sfd = f.dial(lfd, 80)
	f.send(f.pb, cfd, []byte("never read"), sec)
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	m = len(f.tcpFrames(0))
	if err := f.pa.Close(sfd); err != nil {
		t.Fatal(err)
	}
	if _, err := f.call(f.pb, Syscall{Name: "recvfrom", Args: [4]int64{int64(cfd), 100}}, sec); errnoOf(err) != 104 {
		t.Errorf("B's read after A closed with unread data: %v, want ECONNRESET", err)
	}
	if segs := f.tcpFrames(0)[m:]; len(segs) != 1 || !segs[0].RST {
		t.Errorf("A's close with unread data sent %v, want one RST", flagsOf(segs))
	}
	_ = f.pb.Close(cfd)

	// A's kernel forgets a connection (its process is killed and the
	// socket aborted); B's next segment gets a RST.
	cfd, sfd = f.dial(lfd, 80)
	if err := f.pa.Setsockopt(sfd, sockets.SOL_SOCKET, sockets.SO_LINGER, sockets.Optval{LingerOnoff: true}); err != nil {
		t.Fatal(err)
	}
	f.p.Wire.Filter = func(dir int, frame []byte) bool { return dir == 0 } // A's RST is lost
	if err := f.pa.Close(sfd); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	f.p.Wire.Filter = nil
	if st := f.state(f.pb, cfd); st != sockets.TCP_ESTABLISHED {
		t.Fatalf("B should not know yet: %v", st)
	}
	rsts := f.mib(f.p.A, TCP_MIB_OUTRSTS)
	if _, err := f.call(f.pb, Syscall{Name: "sendto", Args: [4]int64{int64(cfd)}, Data: []byte("hello?")}, sec); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	if f.mib(f.p.A, TCP_MIB_OUTRSTS) != rsts+1 {
		t.Errorf("A did not answer a segment for a forgotten connection with a RST")
	}
	if st := f.state(f.pb, cfd); st != sockets.TCP_CLOSE {
		t.Errorf("B after the RST: %v", st)
	}
}

// TestWireLostSYN: the first SYN is lost; the SYN is retransmitted after
// the initial RTO (1 s) and the connection opens then.
func TestWireLostSYN(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	f.listen(f.pa, addrA, 80, 8)
	lost := 0
	f.p.Wire.Filter = func(dir int, frame []byte) bool {
		if tcp := tcpOfFrame(frame); dir == 1 && tcp != nil && tcp.SYN && lost == 0 {
			lost++
			return true
		}
		return false
	}
	fd := f.socket(f.pb)
	if err := f.connect(f.pb, fd, sa(addrA, 80), 5*sec); err != nil {
		t.Fatal(err)
	}
	if at := f.p.Now(); at != sec+2e6 {
		t.Errorf("connected at %d ns, want 1.002 s (RTO 1 s, RTT 2 ms)", at)
	}
	syns := f.tcpFrames(1)
	if len(syns) < 2 || !syns[0].SYN || !syns[1].SYN || syns[0].Seq != syns[1].Seq {
		t.Errorf("B's segments: %v", flagsOf(syns))
	}
	if f.mib(f.p.B, TCP_MIB_RETRANSSEGS) != 1 {
		t.Errorf("RetransSegs = %d, want 1", f.mib(f.p.B, TCP_MIB_RETRANSSEGS))
	}
}

// TestWireSYNRetriesExhausted: no SYN gets through; connect() gives up
// with ETIMEDOUT after tcp_syn_retries (6) + tcp_syn_linear_timeouts (4)
// retransmissions: five at 1 s intervals, then 2, 4, 8, 16, 32 and a last
// wait of 64 s: 131 s.
func TestWireSYNRetriesExhausted(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	f.p.Wire.Filter = func(dir int, frame []byte) bool { return dir == 1 }
	fd := f.socket(f.pb)
	if err := f.connect(f.pb, fd, sa(addrA, 80), 200*sec); errnoOf(err) != 110 {
		t.Fatalf("connect: %v, want ETIMEDOUT", err)
	}
	var times []int64
	for _, wf := range f.p.Frames() {
		times = append(times, wf.At/1e9)
	}
	if want := []int64{0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67}; !slices.Equal(times, want) {
		t.Errorf("SYNs sent at %v s, want %v", times, want)
	}
	if at := f.p.Now(); at != 131*sec {
		t.Errorf("connect failed at %d ns, want 131 s", at)
	}
}

// TestWireDataLossOutOfOrderQueue: one data segment is lost; the segments
// after it arrive out of order and wait in the out-of-order queue; the
// retransmission fills the hole and every byte arrives in order.
func TestWireDataLossOutOfOrderQueue(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	n := 0
	f.p.Wire.Filter = func(dir int, frame []byte) bool {
		if tcp := tcpOfFrame(frame); dir == 1 && tcp != nil && len(tcp.Payload) > 0 {
			n++
			return n == 3 // the third data segment
		}
		return false
	}
	data := pattern(100_000, 6)
	f.transfer(f.pb, cfd, f.pa, sfd, data, 30*sec)
	if got := f.p.Wire.Stats(1).Filtered; got != 1 {
		t.Fatalf("%d segments lost, want 1", got)
	}
	if f.mib(f.p.B, TCP_MIB_RETRANSSEGS) == 0 {
		t.Errorf("no retransmission counted")
	}
	if f.mib(f.p.A, LINUX_MIB_TCPOFOQUEUE) == 0 {
		t.Errorf("nothing went through the out-of-order queue")
	}
	info, err := f.pa.TCPInfo(sfd)
	if err != nil {
		t.Fatal(err)
	}
	if info.TcpiRcvOoopack == 0 || info.TcpiRcvOoopack != uint32(f.mib(f.p.A, LINUX_MIB_TCPOFOQUEUE)) {
		t.Errorf("tcpi_rcv_ooopack %d, TCPOFOQueue %d", info.TcpiRcvOoopack, f.mib(f.p.A, LINUX_MIB_TCPOFOQUEUE))
	}
}

// TestWireRandomLoss: 3% loss both ways, 200 kB each way, byte-exact.
func TestWireRandomLoss(t *testing.T) {
	im := netdevImpairments{Delay: 2e6, Loss: 0.03}
	f := newPairFix(t, PairConfig{Seed: 7, AB: im, BA: im})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(200_000, 7), 600*sec)
	f.transfer(f.pa, sfd, f.pb, cfd, pattern(200_000, 8), 600*sec)
	lost := f.p.Wire.Stats(0).Lost + f.p.Wire.Stats(1).Lost
	if lost == 0 {
		t.Fatalf("nothing was lost")
	}
	t.Logf("%d frames lost, %d+%d retransmitted, %.1f s", lost, f.mib(f.p.A, TCP_MIB_RETRANSSEGS), f.mib(f.p.B, TCP_MIB_RETRANSSEGS), float64(f.p.Now())/1e9)
}

// TestWireImpairments moves 200 kB each way through each impairment, and
// all of them at once, and checks every byte.
func TestWireImpairments(t *testing.T) {
	for _, c := range []struct {
		name string
		im   netdevImpairments
	}{
		{"reorder 10% with 20 ms delay", netdevImpairments{Delay: 20e6, Reorder: 0.1}},
		{"duplicate 2%", netdevImpairments{Delay: 1e6, Duplicate: 0.02}},
		{"corrupt 1%", netdevImpairments{Delay: 1e6, Corrupt: 0.01}},
		{"jitter 5 ms", netdevImpairments{Delay: 5e6, Jitter: 5e6}},
		{"10 Mbit/s, 25 ms each way", netdevImpairments{Delay: 25e6, Rate: 10e6}},
		{"all at once", netdevImpairments{Delay: 10e6, Jitter: 2e6, Loss: 0.02, Reorder: 0.05, Duplicate: 0.02, Corrupt: 0.01, Rate: 20e6}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newPairFix(t, PairConfig{Seed: 3, AB: c.im, BA: c.im})
			lfd := f.listen(f.pa, addrA, 9, 8)
			cfd, sfd := f.dial(lfd, 9)
			f.transfer(f.pb, cfd, f.pa, sfd, pattern(200_000, 9), 600*sec)
			f.transfer(f.pa, sfd, f.pb, cfd, pattern(200_000, 10), 600*sec)
			st, back := f.p.Wire.Stats(0), f.p.Wire.Stats(1)
			// Both directions carry data; the impairment must have hit one.
			if (c.im.Reorder > 0 && st.Reordered+back.Reordered == 0) || (c.im.Duplicate > 0 && st.Duplicated+back.Duplicated == 0) ||
				(c.im.Corrupt > 0 && st.Corrupted+back.Corrupted == 0) {
				t.Errorf("the impairment did not happen: A->B %+v, B->A %+v", st, back)
			}
			if c.im.Corrupt > 0 && f.mib(f.p.A, TCP_MIB_CSUMERRORS)+f.mib(f.p.A, IPSTATS_MIB_INHDRERRORS)+f.mib(f.p.B, TCP_MIB_CSUMERRORS)+f.mib(f.p.B, IPSTATS_MIB_INHDRERRORS) == 0 {
				t.Errorf("corrupted frames were not caught by a checksum")
			}
			t.Logf("%.2f s; A->B %+v; B->A %+v; retransmitted %d+%d", float64(f.p.Now())/1e9, st, back, f.mib(f.p.A, TCP_MIB_RETRANSSEGS), f.mib(f.p.B, TCP_MIB_RETRANSSEGS))
		})
	}
}

// TestWireDeterminism: the same seed and the same calls give the same
// frames at the same times, byte for byte, even with every impairment on.
func TestWireDeterminism(t *testing.T) {
	run := func() []WireFrame {
		im := netdevImpairments{Delay: 3e6, Jitter: 1e6, Loss: 0.03, Reorder: 0.05, Duplicate: 0.02, Corrupt: 0.01}
		f := newPairFix(t, PairConfig{Seed: 11, AB: im, BA: im})
		lfd := f.listen(f.pa, addrA, 9, 8)
		cfd, sfd := f.dial(lfd, 9)
		f.transfer(f.pb, cfd, f.pa, sfd, pattern(100_000, 12), 600*sec)
		_ = f.pb.Close(cfd)
		_ = f.pa.Close(sfd)
		if err := f.p.RunFor(70 * sec); err != nil {
			t.Fatal(err)
		}
		return f.p.Frames()
	}
	a, b := run(), run()
	if len(a) != len(b) {
		t.Fatalf("%d frames, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Dir != b[i].Dir || a[i].At != b[i].At || string(a[i].Frame) != string(b[i].Frame) {
			t.Fatalf("frame %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
}

// TestWireAcceptQueueOverflow: a listener with backlog 2 that nobody
// accepts from holds one connection; three SYNs arrive together and get
// SYN-ACKs (the SYN queue takes up to backlog + 1). The accept queue takes
// two more final ACKs (it holds backlog + 1 = 3), the third is dropped
// (ListenOverflows) and its request sock stays in the SYN queue, whose
// timer resends the SYN-ACK; the client, ESTABLISHED already, answers with
// an ACK, and once accept() makes room the connection lands. A SYN that
// comes while the accept queue is full is dropped.
func TestWireAcceptQueueOverflow(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listen(f.pa, addrA, 80, 2)
	first := f.socket(f.pb)
	if err := f.connect(f.pb, first, sa(addrA, 80), sec); err != nil {
		t.Fatal(err)
	}
	fds := []int{first}
	var pds []*Pending
	for range 3 {
		fd := f.socket(f.pb)
		fds = append(fds, fd)
		pds = append(pds, f.pb.Start(Syscall{Name: "connect", Args: [4]int64{int64(fd), 16}, Addr: sa(addrA, 80)}))
	}
	if err := f.p.RunUntil(func() bool { return pds[0].Ready() && pds[1].Ready() && pds[2].Ready() }, sec); err != nil {
		t.Fatal(err)
	}
	for i, pd := range pds {
		if _, err := pd.Wait(); err != nil {
			t.Fatalf("connect %d: %v", i, err)
		}
	}
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	acceptQ := func() (int, int) {
		r, _ := f.p.A.Do("q", func(k *Kernel) any {
			sk := f.pa.Fdt.Get(lfd).PrivateData.Sk
			q := &sockets.IcskOf(sk).IcskAcceptQueue
			return [2]int{int(sk.SkAckBacklog), int(q.Qlen)}
		})
		v := r.([2]int)
		return v[0], v[1]
	}
	if backlog, synq := acceptQ(); backlog != 3 || synq != 1 {
		t.Errorf("sk_ack_backlog %d (want 3 = backlog+1), SYN queue %d (want 1)", backlog, synq)
	}
	if n := f.mib(f.p.A, LINUX_MIB_LISTENOVERFLOWS); n != 1 {
		t.Errorf("ListenOverflows %d, want 1", n)
	}
	// The snapshot shows both queues: three children to accept, and the
	// request sock left behind, acked, with its SYN-ACK timer.
	snap, err := f.p.A.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, sk := range snap.Socks {
		if sk.SockCommon.SkcState != "LISTEN" {
			continue
		}
		q := sk.Icsk.AcceptQueue
		if len(q.AcceptQueue) != 3 || len(q.SynQueue) != 1 || !q.SynQueue[0].Acked ||
			q.SynQueue[0].ExpiresNs <= snap.TimeNs || q.SynQueue[0].SkcNode == "" {
			t.Errorf("listener's queues in the snapshot: %+v", q)
		}
	}
	for i, fd := range fds {
		if st := f.state(f.pb, fd); st != sockets.TCP_ESTABLISHED {
			t.Errorf("client %d: %v", i, st)
		}
	}
	// A fifth SYN while the accept queue is full is dropped.
	fd5 := f.socket(f.pb)
	pd5 := f.pb.Start(Syscall{Name: "connect", Args: [4]int64{int64(fd5), 16}, Addr: sa(addrA, 80)})
	if err := f.p.RunFor(100e6); err != nil {
		t.Fatal(err)
	}
	if pd5.Ready() || f.mib(f.p.A, LINUX_MIB_LISTENOVERFLOWS) != 2 {
		t.Errorf("a SYN to a full accept queue: connect done %v, ListenOverflows %d", pd5.Ready(), f.mib(f.p.A, LINUX_MIB_LISTENOVERFLOWS))
	}
	// The SYN-ACK of the request sock left behind is retransmitted at 1 s.
	countSynacks := func() int {
		n := 0
		for _, seg := range f.tcpFrames(0) {
			if seg.SYN && seg.ACK {
				n++
			}
		}
		return n
	}
	synacks := countSynacks()
	if err := f.p.RunFor(sec); err != nil {
		t.Fatal(err)
	}
	if again := countSynacks(); again <= synacks {
		t.Errorf("no SYN-ACK retransmitted (%d before, %d after a second)", synacks, again)
	}
	// accept() makes room: everything lands, the fifth connection too
	// (its SYN retransmission finds room).
	for i := range 5 {
		f.accept(f.pa, lfd, 10*sec)
		_ = i
	}
	if _, err := pd5.Wait(); err != nil {
		t.Errorf("fifth connect: %v", err)
	}
}

// TestWireTimeWaitSock: the side that closes first keeps a tw_sock_TCP
// object, not its 2 kB TCP sock, for 60 s. It holds the port: a new
// listener cannot bind it without SO_REUSEADDR. A stray segment is ACKed
// from the tw's own sequence numbers; a new SYN from the same four-tuple
// with a higher sequence number takes it over (TCP_TW_SYN).
func TestWireTimeWaitSock(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	// The server sets SO_REUSEADDR, as servers do; its children and
	// their tw inherit it (sk_reuse, tw_reuse).
	lfd := f.socket(f.pa)
	_ = f.pa.Setsockopt(lfd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, sockets.Optval{Int: 1})
	if err := f.pa.Bind(lfd, sa(addrA, 80)); err != nil {
		t.Fatal(err)
	}
	if err := f.pa.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	dialFrom := func() (int, int) {
		cfd := f.socket(f.pb)
		if err := f.pb.Setsockopt(cfd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, sockets.Optval{Int: 1}); err != nil {
			t.Fatal(err)
		}
		if err := f.pb.Bind(cfd, sa(addrB, 5555)); err != nil {
			t.Fatalf("bind 5555: %v", err)
		}
		if err := f.connect(f.pb, cfd, sa(addrA, 80), 5*sec); err != nil {
			t.Fatalf("connect: %v", err)
		}
		return cfd, f.accept(f.pa, lfd, sec)
	}
	cfd, sfd := dialFrom()
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(3000, 1), sec)
	_ = f.pa.Close(sfd)
	if got := f.recvAll(f.pb, cfd, 1, sec); len(got) != 0 {
		t.Fatal("no end of file")
	}
	_ = f.pb.Close(cfd)
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	snap, err := f.p.A.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Timewait) != 1 || snap.Timewait[0].Substate != "TIME_WAIT" || snap.Timewait[0].Peer != "10.0.0.2:5555" {
		t.Fatalf("A's timewait socks: %+v", snap.Timewait)
	}
	if tcp, tw := f.inUse(f.p.A, "TCP"), f.inUse(f.p.A, "tw_sock_TCP"); tcp != 1 || tw != 1 {
		t.Errorf("A has %d TCP socks (want the listener only) and %d tw", tcp, tw)
	}
	// The tw holds port 80 once the listener is gone: a new socket needs
	// SO_REUSEADDR too (both sides must have it).
	_ = f.pa.Close(lfd)
	fd := f.socket(f.pa)
	if err := f.pa.Bind(fd, sa(addrA, 80)); errnoOf(err) != 98 {
		t.Errorf("bind over a TIME_WAIT without SO_REUSEADDR: %v, want EADDRINUSE", err)
	}
	_ = f.pa.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, sockets.Optval{Int: 1})
	if err := f.pa.Bind(fd, sa(addrA, 80)); err != nil {
		t.Fatalf("bind over a TIME_WAIT with SO_REUSEADDR: %v", err)
	}
	if err := f.pa.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	lfd = fd
	// A stray old segment from B's side gets an ACK from the tw.
	tw := snap.Timewait[0]
	m := len(f.tcpFrames(0))
	stray := tcpFrame(t, addrB, 5555, addrA, 80, tw.RcvNxt-100, tw.SndNxt, "A", nil, nil)
	if _, err := f.p.B.Do("inject", func(k *Kernel) any { return f.p.DevB.Driver.Xmit(stray) }); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	if segs := f.tcpFrames(0)[m:]; len(segs) != 1 || !segs[0].ACK || segs[0].Seq != tw.SndNxt || segs[0].Ack != tw.RcvNxt {
		t.Errorf("the tw answered a stray segment with %v", flagsOf(segs))
	}
	// Ten seconds later the same four-tuple connects again: the SYN's
	// sequence number is higher, so the tw gives way.
	if err := f.p.RunFor(10 * sec); err != nil {
		t.Fatal(err)
	}
	cfd, sfd = dialFrom()
	f.transfer(f.pa, sfd, f.pb, cfd, pattern(3000, 2), sec)
	if got := f.inUse(f.p.A, "tw_sock_TCP"); got != 0 {
		t.Errorf("%d tw left after the four-tuple was reused", got)
	}
}

// TestWireSynCookies: backlog 1, three SYNs at once. The SYN queue takes
// two (it holds backlog + 1); the third is answered with a SYN cookie and
// nothing is kept. The two final ACKs fill the accept queue, so the
// cookie's final ACK is dropped; once accept() made room, the cookie
// client's first data segment carries the same ACK, the cookie checks out
// and the connection is made from it alone, and its bytes arrive.
func TestWireSynCookies(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listen(f.pa, addrA, 80, 1)
	var fds []int
	var pds []*Pending
	for range 3 {
		fd := f.socket(f.pb)
		fds = append(fds, fd)
		pds = append(pds, f.pb.Start(Syscall{Name: "connect", Args: [4]int64{int64(fd), 16}, Addr: sa(addrA, 80)}))
	}
	if err := f.p.RunUntil(func() bool { return pds[0].Ready() && pds[1].Ready() && pds[2].Ready() }, sec); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	if n := f.mib(f.p.A, LINUX_MIB_SYNCOOKIESSENT); n != 1 {
		t.Fatalf("SyncookiesSent %d, want 1", n)
	}
	if st := f.state(f.pb, fds[2]); st != sockets.TCP_ESTABLISHED {
		t.Fatalf("the cookie client: %v", st)
	}
	a1, a2 := f.accept(f.pa, lfd, sec), f.accept(f.pa, lfd, sec)
	_, _ = a1, a2
	f.send(f.pb, fds[2], []byte("from a cookie"), sec)
	afd := f.accept(f.pa, lfd, sec)
	if got := f.recvAll(f.pa, afd, 13, sec); string(got) != "from a cookie" {
		t.Errorf("read %q", got)
	}
	// Both the dropped final ACK and the data segment carried a valid
	// cookie: cookie_v4_check counts each before the accept queue is
	// looked at.
	if n := f.mib(f.p.A, LINUX_MIB_SYNCOOKIESRECV); n != 2 {
		t.Errorf("SyncookiesRecv %d, want 2", n)
	}
}

// TestWireDelayedAck: a bulk receiver ACKs every segment only while in
// quick-ack mode at the start; then at most every second full segment,
// and only once its reader has caught up (a reader that lags gets the
// ACKs stretched over what it takes at once); a lone small segment is
// ACKed by the delayed-ACK timer 40 ms later.
func TestWireDelayedAck(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(1_000_000, 5), 60*sec)
	data, acks := 0, 0
	for _, seg := range f.tcpFrames(1) {
		if len(seg.Payload) > 0 {
			data++
		}
	}
	for _, seg := range f.tcpFrames(0) {
		if len(seg.Payload) == 0 && seg.ACK && !seg.SYN {
			acks++
		}
	}
	if acks > data/2 || acks < 16 {
		t.Errorf("%d pure ACKs for %d data segments; want at most one per two", acks, data)
	}
	t.Logf("%d pure ACKs for %d data segments", acks, data)
	// A lone byte: no second segment follows, the reader is waiting; the
	// ACK comes when the reader takes it or the delayed-ACK timer fires.
	m0, m1 := len(f.tcpFrames(0)), len(f.tcpFrames(1))
	delacks := f.mib(f.p.A, LINUX_MIB_DELAYEDACKS)
	f.send(f.pb, cfd, []byte("x"), sec)
	if err := f.p.RunFor(100e6); err != nil {
		t.Fatal(err)
	}
	segs := f.tcpFrames(0)[m0:]
	if len(segs) != 1 || segs[0].Ack != f.tcpFrames(1)[m1].Seq+1 {
		t.Fatalf("A sent %v for one byte", flagsOf(segs))
	}
	if n := f.mib(f.p.A, LINUX_MIB_DELAYEDACKS); n != delacks+1 {
		t.Errorf("DelayedACKs %d -> %d, want one more", delacks, n)
	}
	got := f.recvAll(f.pa, sfd, 1, sec)
	if string(got) != "x" {
		t.Errorf("read %q", got)
	}
	// The timer doubled the ACK timeout (a one-way connection whose
	// delayed ACK was not carried by data); tcp_info shows it in µs.
	info, err := f.pa.TCPInfo(sfd)
	if err != nil {
		t.Fatal(err)
	}
	if info.TcpiAto < 40000 || info.TcpiRcvMss != 1448 {
		t.Errorf("tcpi_ato %d µs (want at least 40000), tcpi_rcv_mss %d (want 1448)", info.TcpiAto, info.TcpiRcvMss)
	}
}

// TestWireSndbufExpand: an established connection's send buffer grows to
// twice the initial window's worth of skbs (tcp_sndbuf_expand): per
// segment the head (MSS 1460 + MAX_TCP_HEADER 160 + skb_shared_info 320,
// rounded up to 2048) and the sk_buff (256), times 10 segments, times 2;
// and with the window as it opens. A size fixed with SO_SNDBUF stays.
func TestWireSndbufExpand(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	sndbuf := func(p *Process, fd int) int64 {
		v, err := p.Getsockopt(fd, sockets.SOL_SOCKET, sockets.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		return v.Int
	}
	if a, b := sndbuf(f.pa, sfd), sndbuf(f.pb, cfd); a != 2*10*2304 || b != 2*10*2304 {
		t.Errorf("sk_sndbuf after the handshake: server %d, client %d; want %d", a, b, 2*10*2304)
	}
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(2_000_000, 3), 60*sec)
	// The snapshot's sequence state: once the last ACKs are in,
	// everything sent is acknowledged.
	if err := f.p.RunFor(10e6); err != nil {
		t.Fatal(err)
	}
	snap, err := f.p.B.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, sk := range snap.Socks {
		if tp := sk.Tcp; tp != nil && sk.SockCommon.SkcState == "ESTABLISHED" {
			if tp.SndUna != tp.SndNxt || tp.WriteSeq != tp.SndNxt || tp.SndNxt-tp.SndIsn != 2_000_001 ||
				tp.PacketsOut != 0 || tp.RtxQueue.Qlen != 0 || tp.SndCwnd <= 10 || tp.SrttUs == 0 {
				t.Errorf("the sender's tcp_sock in the snapshot: %+v", tp)
			}
		}
	}
	if b := sndbuf(f.pb, cfd); b <= 2*10*2304 {
		t.Errorf("sk_sndbuf did not grow with the window: %d", b)
	}
	fd := f.socket(f.pb)
	if err := f.pb.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_SNDBUF, sockets.Optval{Int: 8192}); err != nil {
		t.Fatal(err)
	}
	if err := f.connect(f.pb, fd, sa(addrA, 9), sec); err != nil {
		t.Fatal(err)
	}
	if b := sndbuf(f.pb, fd); b != 16384 {
		t.Errorf("SO_SNDBUF 8192 became %d after connect; want 16384 (doubled, locked)", b)
	}
}

// TestWireFastRetransmit: one data segment is lost in a long flight; the
// segments behind it bring duplicate ACKs, and the third of them makes the
// sender retransmit it at once (tcp_fastretrans_alert), one round trip
// after the loss instead of an RTO later.
func TestWireFastRetransmit(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	var lostSeq uint32
	var lostAt, resentAt int64
	n := 0
	f.p.Wire.Filter = func(dir int, frame []byte) bool {
		tcp := tcpOfFrame(frame)
		if dir != 1 || tcp == nil || len(tcp.Payload) == 0 {
			return false
		}
		n++
		if n == 3 {
			lostSeq, lostAt = tcp.Seq, f.p.Now()
			return true
		}
		if lostAt != 0 && resentAt == 0 && tcp.Seq == lostSeq {
			resentAt = f.p.Now()
		}
		return false
	}
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(100_000, 9), 30*sec)
	if got := f.mib(f.p.B, LINUX_MIB_TCPFASTRETRANS); got != 1 {
		t.Errorf("TCPFastRetrans %d, want 1", got)
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPSACKRECOVERY); got != 1 {
		t.Errorf("TCPSackRecovery %d, want 1 (both ends negotiate SACK)", got)
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPTIMEOUTS); got != 0 {
		t.Errorf("TCPTimeouts %d, want 0: the loss was repaired without the timer", got)
	}
	// The third duplicate ACK comes back one round trip (10 ms) after the
	// lost segment left, plus the two segments behind it; the RTO is at
	// least 200 ms.
	if resentAt == 0 {
		t.Fatalf("the lost segment (seq %d) was never sent again", lostSeq)
	}
	if d := resentAt - lostAt; d < 10e6 || d > 20e6 {
		t.Errorf("retransmitted %.1f ms after the loss, want one round trip (10-20 ms)", float64(d)/1e6)
	}
	info, err := f.pb.TCPInfo(cfd)
	if err != nil {
		t.Fatal(err)
	}
	if info.TcpiCaState != sockets.TCP_CA_Open || info.TcpiTotalRetrans != 1 {
		t.Errorf("after the transfer: ca_state %d, total_retrans %d; want Open and 1", info.TcpiCaState, info.TcpiTotalRetrans)
	}
}

// TestWireFinStaysOnTheLastSegment: a close right after a write, with a
// receive window smaller than a segment, makes the sender split the skb
// that carries the FIN (tcp_fragment); the FIN must go with the last
// part, never in the middle of the data.
func TestWireFinStaysOnTheLastSegment(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listenRcvbuf(f.pa, addrA, 9, 1024)
	cfd, sfd := f.dial(lfd, 9)
	data := pattern(20_000, 4)
	wr := f.pb.Start(Syscall{Name: "sendto", Args: [4]int64{int64(cfd)}, Data: data})
	cl := f.pb.Start(Syscall{Name: "close", Args: [4]int64{int64(cfd)}})
	got := f.recvAll(f.pa, sfd, len(data)+1, 60*sec)
	if n, err := wr.Wait(); err != nil || int(n) != len(data) {
		t.Fatalf("write: %d, %v", n, err)
	}
	if _, err := cl.Wait(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes (want %d), or different ones", len(got), len(data))
	}
	var end uint32
	fins, split := 0, 0
	for _, tcp := range f.tcpFrames(1) {
		if tcp.SYN {
			end = tcp.Seq + 1 + uint32(len(data))
		}
		if len(tcp.Payload) > 0 && len(tcp.Payload) < 1000 {
			split++
		}
		if tcp.FIN {
			fins++
			if tcp.Seq+uint32(len(tcp.Payload)) != end {
				t.Errorf("a FIN at seq %d with %d bytes ends at %d, not at the end of the data (%d)", tcp.Seq, len(tcp.Payload), tcp.Seq+uint32(len(tcp.Payload)), end)
			}
		}
	}
	if fins == 0 || split == 0 {
		t.Fatalf("%d FINs, %d segments cut by the window: the test did not make the sender split skbs", fins, split)
	}
}

// TestWireSlowStartAfterIdle: after an idle period of several RTOs the
// congestion window restarts at the initial window before new data goes
// out (tcp_cwnd_restart, RFC 2861); with tcp_slow_start_after_idle = 0 it
// stays as it was.
func TestWireSlowStartAfterIdle(t *testing.T) {
	for _, on := range []bool{true, false} {
		f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
		if !on {
			v := "0"
			if _, err := f.p.B.Sysctl("net.ipv4.tcp_slow_start_after_idle", &v); err != nil {
				t.Fatal(err)
			}
		}
		lfd := f.listen(f.pa, addrA, 9, 8)
		cfd, sfd := f.dial(lfd, 9)
		f.transfer(f.pb, cfd, f.pa, sfd, pattern(300_000, 1), 30*sec)
		if err := f.p.RunFor(sec); err != nil { // everything acknowledged
			t.Fatal(err)
		}
		before, err := f.pb.TCPInfo(cfd)
		if err != nil {
			t.Fatal(err)
		}
		if before.TcpiSndCwnd <= 2*TCP_INIT_CWND {
			t.Fatalf("cwnd only %d after 300 kB: the test needs a grown window", before.TcpiSndCwnd)
		}
		if err := f.p.RunFor(3 * sec); err != nil { // idle: many RTOs of 210 ms
			t.Fatal(err)
		}
		f.send(f.pb, cfd, pattern(1000, 2), sec)
		after, err := f.pb.TCPInfo(cfd)
		if err != nil {
			t.Fatal(err)
		}
		want := uint32(TCP_INIT_CWND)
		if !on {
			want = before.TcpiSndCwnd
		}
		if after.TcpiSndCwnd != want {
			t.Errorf("slow_start_after_idle=%v: cwnd %d before the idle period, %d after; want %d", on, before.TcpiSndCwnd, after.TcpiSndCwnd, want)
		}
		if on && after.TcpiSndSsthresh < before.TcpiSndCwnd*3/4 {
			t.Errorf("ssthresh %d after the restart, want at least 3/4 of the old cwnd %d", after.TcpiSndSsthresh, before.TcpiSndCwnd)
		}
	}
}

// TestWireTailLossProbe: the last two segments of a burst are lost, so
// no later segment can bring duplicate ACKs. The tail loss probe
// (RACK-TLP) sends the last one again two RTTs after the last ACK
// (2 * srtt + 2 ms with two segments out), long before the RTO; its ACK's
// SACK block then shows what is missing.
func TestWireTailLossProbe(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	data := pattern(7*1448, 5) // seven segments, all in the initial window
	var isn uint32
	started := false
	var tailSeq uint32
	var tailAt, probeAt int64
	lost := 0
	f.p.Wire.Filter = func(dir int, frame []byte) bool {
		tcp := tcpOfFrame(frame)
		if dir != 1 || tcp == nil {
			return false
		}
		if len(tcp.Payload) == 0 {
			return false
		}
		if !started {
			isn, started = tcp.Seq, true // the first data segment: offset 0
		}
		off := tcp.Seq - isn
		if off >= 5*1448 && lost < 2 && probeAt == 0 { // the first sends of segments 6 and 7
			lost++
			if off == 6*1448 {
				tailSeq, tailAt = tcp.Seq, f.p.Now()
			}
			return true
		}
		if tailAt != 0 && probeAt == 0 && tcp.Seq == tailSeq {
			probeAt = f.p.Now()
		}
		return false
	}
	f.transfer(f.pb, cfd, f.pa, sfd, data, 30*sec)
	if tailAt == 0 || probeAt == 0 {
		t.Fatalf("the tail was not lost (%d) or never sent again (%d)", tailAt, probeAt)
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPLOSSPROBES); got != 1 {
		t.Errorf("TCPLossProbes %d, want 1", got)
	}
	// The ACK of segment 5 comes back 10 ms after the burst; the probe
	// goes 2 * 10 ms + 2 ms later. The RTO would wait 210 ms at least.
	if d := probeAt - tailAt; d < 25e6 || d > 45e6 {
		t.Errorf("the probe went %.1f ms after the tail was first sent, want about 32 ms", float64(d)/1e6)
	}
}

// TestWireKeepalive: SO_KEEPALIVE with TCP_KEEPIDLE 10 s, TCP_KEEPINTVL
// 2 s and TCP_KEEPCNT 3. While the peer answers, a probe goes every 10 s
// of silence and the connection lives; once the peer is gone, three
// probes go unanswered 2 s apart and the connection is reset and fails
// with ETIMEDOUT.
func TestWireKeepalive(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, _ := f.dial(lfd, 9)
	for _, o := range []struct {
		level, name int
		v           int64
	}{
		{sockets.SOL_TCP, sockets.TCP_KEEPIDLE, 10}, {sockets.SOL_TCP, sockets.TCP_KEEPINTVL, 2},
		{sockets.SOL_TCP, sockets.TCP_KEEPCNT, 3}, {sockets.SOL_SOCKET, sockets.SO_KEEPALIVE, 1},
	} {
		if err := f.pb.Setsockopt(cfd, o.level, o.name, sockets.Optval{Int: o.v}); err != nil {
			t.Fatal(err)
		}
	}
	var probes []int64
	gone := false
	f.p.Wire.Filter = func(dir int, frame []byte) bool {
		tcp := tcpOfFrame(frame)
		if tcp == nil {
			return false
		}
		if dir == 1 && !tcp.RST && len(tcp.Payload) == 0 && !tcp.SYN && !tcp.FIN {
			probes = append(probes, f.p.Now())
		}
		return gone && dir == 0 // the peer's answers are lost once it is gone
	}
	start := f.p.Now()
	if err := f.p.RunFor(25 * sec); err != nil {
		t.Fatal(err)
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPKEEPALIVE); got != 2 || f.state(f.pb, cfd) != sockets.TCP_ESTABLISHED {
		t.Fatalf("after 25 s: %d probes, state %v; want 2 answered probes and ESTABLISHED", got, f.state(f.pb, cfd))
	}
	if d := probes[0] - start; d < 10*sec || d > 10*sec+50e6 {
		t.Errorf("the first probe went %.3f s after the last word, want 10 s", float64(d)/1e9)
	}
	gone = true
	lastHeard := probes[1] + 10e6 // the answer to the second probe came back one RTT later
	probes = probes[:0]
	if err := f.p.RunFor(30 * sec); err != nil {
		t.Fatal(err)
	}
	if f.state(f.pb, cfd) != sockets.TCP_CLOSE {
		t.Fatalf("state %v after the peer went away, want CLOSE", f.state(f.pb, cfd))
	}
	if len(probes) != 3 {
		t.Fatalf("%d unanswered probes, want TCP_KEEPCNT = 3", len(probes))
	}
	for i, at := range probes {
		if want := lastHeard + 10*sec + int64(i)*2*sec; at < want-50e6 || at > want+50e6 {
			t.Errorf("probe %d at %.3f s, want %.3f s (10 s idle, then every 2 s)", i+1, float64(at)/1e9, float64(want)/1e9)
		}
	}
	_, err := f.call(f.pb, Syscall{Name: "recvfrom", Args: [4]int64{int64(cfd), 100}}, sec)
	if sockets.ErrnoOf(err) != sockets.Errno(tracing.ETIMEDOUT) {
		t.Errorf("a read after the keepalive gave up: %v, want ETIMEDOUT", err)
	}
	// It gave up through tcp_write_err, which counts the abort.
	if got := f.mib(f.p.B, LINUX_MIB_TCPABORTONTIMEOUT); got != 1 {
		t.Errorf("TCPAbortOnTimeout %d, want 1", got)
	}
}
