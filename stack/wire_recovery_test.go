package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// Loss recovery between two kernels on a wire with a 10 ms RTT, with
// losses chosen by a filter so that each test knows exactly which
// segments went missing.

// dataLoser drops the listed data segments (counting B's data frames from
// 1) the first time they are sent and records when each sequence number
// was sent and sent again.
type dataLoser struct {
	drop    map[int]bool
	n       int
	lostAt  map[uint32]int64
	resends map[uint32][]int64
}

func newDataLoser(f *pairFix, drop ...int) *dataLoser {
	d := &dataLoser{drop: map[int]bool{}, lostAt: map[uint32]int64{}, resends: map[uint32][]int64{}}
	for _, n := range drop {
		d.drop[n] = true
	}
	f.p.Wire.Filter = func(dir int, frame []byte) bool {
		tcp := tcpOfFrame(frame)
		if dir != 1 || tcp == nil || len(tcp.Payload) == 0 {
			return false
		}
		if _, lost := d.lostAt[tcp.Seq]; lost {
			d.resends[tcp.Seq] = append(d.resends[tcp.Seq], f.p.Now())
			return false
		}
		d.n++
		if d.drop[d.n] {
			d.lostAt[tcp.Seq] = f.p.Now()
			return true
		}
		return false
	}
	return d
}

// TestWireSackRecovery: three segments lost from one window, with SACK.
// RACK marks them lost as the SACKs above them arrive; one Recovery
// episode retransmits each exactly once, within a round trip or two of
// its loss, without the RTO; PRR leaves cwnd at ssthresh at the end.
func TestWireSackRecovery(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	d := newDataLoser(f, 20, 23, 26)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(200_000, 3), 30*sec)
	if got := f.mib(f.p.B, LINUX_MIB_TCPSACKRECOVERY); got != 1 {
		t.Errorf("TCPSackRecovery %d, want 1 episode for the three losses", got)
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPTIMEOUTS); got != 0 {
		t.Errorf("TCPTimeouts %d, want 0", got)
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPFASTRETRANS); got != 3 {
		t.Errorf("TCPFastRetrans %d, want 3", got)
	}
	if len(d.lostAt) != 3 {
		t.Fatalf("%d segments dropped, want 3", len(d.lostAt))
	}
	for seq, at := range d.lostAt {
		rs := d.resends[seq]
		if len(rs) != 1 {
			t.Errorf("seq %d sent again %d times, want once", seq, len(rs))
			continue
		}
		if dt := rs[0] - at; dt < 10e6 || dt > 30e6 {
			t.Errorf("seq %d retransmitted %.1f ms after its loss, want 10-30 ms", seq, float64(dt)/1e6)
		}
	}
	info, err := f.pb.TCPInfo(cfd)
	if err != nil {
		t.Fatal(err)
	}
	if info.TcpiCaState != sockets.TCP_CA_Open || info.TcpiTotalRetrans != 3 || info.TcpiLost != 0 || info.TcpiSacked != 0 {
		t.Errorf("after: ca_state %d, total_retrans %d, lost %d, sacked %d; want Open, 3, 0, 0",
			info.TcpiCaState, info.TcpiTotalRetrans, info.TcpiLost, info.TcpiSacked)
	}
	if info.TcpiSndSsthresh >= TCP_INFINITE_SSTHRESH || info.TcpiSndCwnd < info.TcpiSndSsthresh {
		t.Errorf("after recovery: cwnd %d, ssthresh %d; want ssthresh set and cwnd grown from it", info.TcpiSndCwnd, info.TcpiSndSsthresh)
	}
}

// TestWireRackReorderTimer: the last two segments of a write, the first
// lost. Only one SACK comes back, too few for the duplicate-ACK rule, so
// RACK waits a reordering window (min_rtt/4) after the SACK, plus the
// kernel's 2 ms timer slack, then retransmits: about 10 + 2.5 + 2 ms after
// the loss, far sooner than the 200 ms RTO.
func TestWireRackReorderTimer(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	d := newDataLoser(f, 1)
	mss := 1448 // 1500 - 20 - 20 - 12 (timestamps)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(2*mss, 5), 30*sec)
	if len(d.lostAt) != 1 {
		t.Fatalf("%d segments dropped, want 1", len(d.lostAt))
	}
	for seq, at := range d.lostAt {
		rs := d.resends[seq]
		if len(rs) != 1 {
			t.Fatalf("seq %d sent again %d times, want once", seq, len(rs))
		}
		if dt := rs[0] - at; dt < 14e6 || dt > 16e6 {
			t.Errorf("retransmitted %.2f ms after the loss, want 14-16 ms (RTT + min_rtt/4 + 2 ms)", float64(dt)/1e6)
		}
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPTIMEOUTS); got != 0 {
		t.Errorf("TCPTimeouts %d, want 0", got)
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPSACKRECOVERY); got != 1 {
		t.Errorf("TCPSackRecovery %d, want 1 (tcp_rack_reo_timeout enters Recovery)", got)
	}
}

// TestWireDsack: every data segment arrives twice. The receiver reports
// each second copy in a D-SACK block below its cumulative ACK
// (TCPDSACKOldSent); the sender recognises the D-SACKs (TCPDSACKRecv)
// but, having retransmitted nothing, ignores them as dubious, and sends
// nothing twice itself.
func TestWireDsack(t *testing.T) {
	dup := wireDelay(5e6)
	dup.Duplicate = 1
	f := newPairFix(t, PairConfig{BA: dup, AB: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	f.transfer(f.pb, cfd, f.pa, sfd, pattern(50_000, 7), 30*sec)
	sent := f.mib(f.p.A, LINUX_MIB_TCPDSACKOLDSENT)
	recv := f.mib(f.p.B, LINUX_MIB_TCPDSACKRECV)
	dubious := f.mib(f.p.B, LINUX_MIB_TCPDSACKIGNOREDDUBIOUS)
	if sent == 0 || recv == 0 || dubious == 0 {
		t.Errorf("TCPDSACKOldSent %d, TCPDSACKRecv %d, TCPDSACKIgnoredDubious %d: want all > 0", sent, recv, dubious)
	}
	if got := f.mib(f.p.B, TCP_MIB_RETRANSSEGS); got != 0 {
		t.Errorf("the sender retransmitted %d segments, want 0", got)
	}
}

// TestWireSpuriousRTOUndone: the receiver's ACKs are lost for 300 ms, so
// the sender's RTO fires although every segment arrived. It retransmits
// the first segment, and the next ACK shows the timeout was spurious:
//   - with D-SACK on, the receiver reports the copy it already had, so
//     every retransmission of the episode was needless (undo_retrans 0):
//     tcp_try_undo_loss undoes it (TCPLossUndo);
//   - with D-SACK off, the ACK echoes a timestamp older than the first
//     retransmission (the receiver's ts_recent is from before it): the
//     originals arrived (tcp_packet_delayed, Eifel detection);
//   - with neither, F-RTO (RFC 5682) sees the ACK cover data never
//     retransmitted and undoes it (TCPSpuriousRTOs as well).
//
// Either way cwnd and ssthresh go back to what they were and the
// connection is Open.
func TestWireSpuriousRTOUndone(t *testing.T) {
	for _, c := range []struct {
		name              string
		dsack, timestamps string
		spurious          uint64
	}{{"dsack", "1", "1", 0}, {"timestamps", "0", "1", 0}, {"frto", "0", "0", 1}} {
		t.Run(c.name, func(t *testing.T) {
			f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
			if _, err := f.p.A.Sysctl("net.ipv4.tcp_dsack", &c.dsack); err != nil {
				t.Fatal(err)
			}
			if _, err := f.p.B.Sysctl("net.ipv4.tcp_timestamps", &c.timestamps); err != nil {
				t.Fatal(err)
			}
			lfd := f.listen(f.pa, addrA, 9, 8)
			cfd, sfd := f.dial(lfd, 9)
			var blackout int64
			f.p.Wire.Filter = func(dir int, frame []byte) bool {
				tcp := tcpOfFrame(frame)
				if tcp == nil {
					return false
				}
				if dir == 1 && len(tcp.Payload) > 0 && blackout == 0 {
					blackout = f.p.Now() + 300e6
				}
				return dir == 0 && blackout != 0 && f.p.Now() < blackout
			}
			f.transfer(f.pb, cfd, f.pa, sfd, pattern(8*1448, 9), 30*sec)
			// The receiver has everything; let the sender's timers play out.
			_ = f.p.RunUntil(func() bool { return false }, sec)
			if got := f.mib(f.p.B, LINUX_MIB_TCPTIMEOUTS); got < 1 {
				t.Fatalf("TCPTimeouts %d: the blackout should have fired the RTO", got)
			}
			if got := f.mib(f.p.B, LINUX_MIB_TCPLOSSUNDO); got != 1 {
				t.Errorf("TCPLossUndo %d, want 1", got)
			}
			if got := f.mib(f.p.B, LINUX_MIB_TCPSPURIOUSRTOS); got != c.spurious {
				t.Errorf("TCPSpuriousRTOs %d, want %d", got, c.spurious)
			}
			info, err := f.pb.TCPInfo(cfd)
			if err != nil {
				t.Fatal(err)
			}
			if info.TcpiCaState != sockets.TCP_CA_Open || info.TcpiSndCwnd < TCP_INIT_CWND || info.TcpiSndSsthresh < TCP_INFINITE_SSTHRESH {
				t.Errorf("after the undo: ca_state %d, cwnd %d, ssthresh %d; want Open, >= %d, infinite",
					info.TcpiCaState, info.TcpiSndCwnd, info.TcpiSndSsthresh, TCP_INIT_CWND)
			}
		})
	}
}

// blackholeData drops every data segment B sends after the connection is
// up, and returns when the first of them was sent.
func blackholeData(f *pairFix) *int64 {
	var first int64 = -1
	f.p.Wire.Filter = func(dir int, frame []byte) bool {
		tcp := tcpOfFrame(frame)
		if dir != 1 || tcp == nil || len(tcp.Payload) == 0 {
			return false
		}
		if first < 0 {
			first = f.p.Now()
		}
		return true
	}
	return &first
}

// TestWireRetries2Time: data that never gets through. tcp_write_timeout
// gives up when the time tcp_retries2 (15) backed-off RTOs from 200 ms
// would take has passed since the data was first sent: 924.6 s (the
// check runs when the timer fires, so a little later).
func TestWireRetries2Time(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, _ := f.dial(lfd, 9)
	first := blackholeData(f)
	f.send(f.pb, cfd, pattern(1000, 1), sec)
	_ = f.p.RunUntil(func() bool { return f.state(f.pb, cfd) == sockets.TCP_CLOSE }, 2000*sec)
	if st := f.state(f.pb, cfd); st != sockets.TCP_CLOSE {
		t.Fatalf("state %v, want CLOSE", st)
	}
	if _, err := f.call(f.pb, Syscall{Name: "recvfrom", Args: [4]int64{int64(cfd), 100}}, sec); errnoOf(err) != 110 {
		t.Fatalf("recv after the timeout: %v, want ETIMEDOUT", err)
	}
	if d := f.p.Now() - *first; d < 924_600e6 || d > 924_600e6+TCP_RTO_MAX {
		t.Errorf("given up %.1f s after the first send, want 924.6 s to one RTO_MAX later", float64(d)/1e9)
	}
	if got := f.mib(f.p.B, LINUX_MIB_TCPABORTONTIMEOUT); got != 1 {
		t.Errorf("TCPAbortOnTimeout %d, want 1", got)
	}
}

// TestWireUserTimeout: with TCP_USER_TIMEOUT 2000 ms the same connection
// gives up 2 s after its first retransmission (6.12 counts from
// retrans_stamp, the first RTO's resend, a few hundred ms after the data
// first went); the RTO is clamped so that the timer fires right then
// rather than at its next backed-off time.
func TestWireUserTimeout(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(5e6), BA: wireDelay(5e6)})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, _ := f.dial(lfd, 9)
	if err := f.pb.Setsockopt(cfd, sockets.SOL_TCP, sockets.TCP_USER_TIMEOUT, sockets.Optval{Int: 2000}); err != nil {
		t.Fatal(err)
	}
	if v, err := f.pb.Getsockopt(cfd, sockets.SOL_TCP, sockets.TCP_USER_TIMEOUT); err != nil || v.Int != 2000 {
		t.Fatalf("getsockopt TCP_USER_TIMEOUT: %v, %v", v, err)
	}
	first := blackholeData(f)
	f.send(f.pb, cfd, pattern(1000, 1), sec)
	_ = f.p.RunUntil(func() bool { return f.state(f.pb, cfd) == sockets.TCP_CLOSE }, 60*sec)
	if st := f.state(f.pb, cfd); st != sockets.TCP_CLOSE {
		t.Fatalf("state %v, want CLOSE", st)
	}
	if _, err := f.call(f.pb, Syscall{Name: "recvfrom", Args: [4]int64{int64(cfd), 100}}, sec); errnoOf(err) != 110 {
		t.Fatalf("recv after the timeout: %v, want ETIMEDOUT", err)
	}
	if d := f.p.Now() - *first; d < 2000e6 || d > 2500e6 {
		t.Errorf("given up %.3f s after the first send, want 2 s after the first RTO (at most 0.5 s later)", float64(d)/1e9)
	}
}
