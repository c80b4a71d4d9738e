package scenario

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// The transmit path as 6.12 runs it without TSO (found by a review of
// tcp_write_xmit, tcp_write_wakeup and __tcp_transmit_skb; each test
// fails on the build before its fix).

// openServer is the listener's connection with a 100 ms round trip and
// a peer window of win (scaled by 128).
func openServer(win int) string {
	return listener + fmt.Sprintf(`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win %d
   +0 accept(3, ..., ...) = 4
`, win)
}

// tenSegments is the initial window (10) of full segments, the last with PSH.
func tenSegments() string {
	return "   +0 write(4, ..., 14600) = 14600\n" + sentSegments(10, 1460, true)
}

// sentSegments is the script lines of n segments of mss bytes sent at
// once from sequence 1, the last with PSH if psh.
func sentSegments(n, mss int, psh bool) string {
	var b strings.Builder
	for i := range n {
		f := "."
		if psh && i == n-1 {
			f = "P."
		}
		fmt.Fprintf(&b, "   +0 > %s %d:%d(%d) ack 1\n", f, 1+i*mss, 1+(i+1)*mss, mss)
	}
	return b.String()
}

// TestLoneFinWaitsForCwnd: 6.12's tcp_cwnd_test
// (net/ipv4/tcp_output.c:2088-2101) has no exception for a FIN: with the
// congestion window full (10 segments in flight), the FIN queued by
// shutdown (tcp_send_fin, a new skb as the write queue is empty) waits
// in tcp_write_xmit (in_flight >= cwnd returns 0 at tcp_output.c:2093-2094,
// and tcp_write_xmit breaks at 2793-2799) until an ACK makes
// room, then goes with tcp_data_snd_check.
func TestLoneFinWaitsForCwnd(t *testing.T) {
	if _, err := runScript(t, openServer(1000)+tenSegments()+`   +0 shutdown(4, SHUT_WR) = 0
  +.1 < . 1:1(0) ack 14601 win 1000
   +0 > F. 14601:14601(0) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestProbeRemainderKeepsPsh: tcp_write_wakeup
// (net/ipv4/tcp_output.c:4368-4374) sets PSH on the head skb before
// tcp_fragment splits it to the window, and tcp_fragment gives the
// second part the flags the skb had (PSH and FIN included); the first
// part then gets PSH again (4378). The remainder, sent when the window
// opens, so carries PSH. Here the head skb (written with MSG_MORE, so no
// PSH of its own, and carrying the FIN of shutdown) is split by the
// window probe at the 1024 bytes the peer's window allows.
func TestProbeRemainderKeepsPsh(t *testing.T) {
	if _, err := runScript(t, openServer(1000)+`   +0 write(4, ..., 1460) = 1460
   +0 > P. 1:1461(1460) ack 1
  +.1 < . 1:1(0) ack 1461 win 8
   +0 send(4, ..., 1460, MSG_MORE) = 1460
   +0 shutdown(4, SHUT_WR) = 0
  +.3 > P. 1461:2485(1024) ack 1
  +.1 < . 1:1(0) ack 2485 win 1000
   +0 > FP. 2485:2921(436) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestRetransmitIsNotAnOutSeg: __tcp_transmit_skb counts
// TCP_MIB_OUTSEGS only for a segment that sends new sequence space or
// none at all (net/ipv4/tcp_output.c:1455-1457: after(end_seq, snd_nxt)
// || seq == end_seq); a retransmission is counted in RETRANSSEGS
// (tcp_output.c:3414) and not in OutSegs. Here: the SYN-ACK (counted in
// tcp_make_synack, tcp_output.c:3848) and the first transmission of the
// data are OutSegs, its retransmission is not.
func TestRetransmitIsNotAnOutSeg(t *testing.T) {
	r, err := runScript(t, accepted+`   +0 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1
  +.3 > P. 1:1001(1000) ack 1
  +.1 < . 1:1(0) ack 1001 win 512
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.TCP_MIB_RETRANSSEGS, 1)
	mibIs(t, r, stack.TCP_MIB_OUTSEGS, 2)
}

// TestProbeMovesPushedSeq: tcp_write_wakeup moves pushed_seq up
// to the end of the skb it sends (net/ipv4/tcp_output.c:4361-4362), so
// forced_push (tcp.c:671-674: write_seq after pushed_seq + max_window/2)
// counts from there. The peer's largest window is 2048 bytes (half:
// 1024, which also bounds the MSS to 1024: tcp_bound_to_half_wnd). A
// 1000-byte MSG_MORE write waits corked and goes with the window probe; after it pushed_seq is 2461, and a 100-byte MSG_MORE
// write (write_seq 2561) is not forced: no PSH (tcp_push, tcp.c:728-729).
// The previous build left pushed_seq at 1461 and marked PSH.
func TestProbeMovesPushedSeq(t *testing.T) {
	if _, err := runScript(t, openServer(16)+`   +0 write(4, ..., 1460) = 1460
   +0 > . 1:1025(1024) ack 1
   +0 > P. 1025:1461(436) ack 1
  +.1 < . 1:1(0) ack 1461 win 8
   +0 send(4, ..., 1000, MSG_MORE) = 1000
  +.3 > P. 1461:2461(1000) ack 1
 +.01 send(4, ..., 100, MSG_MORE) = 100
 +.09 < . 1:1(0) ack 2461 win 8
   +0 > . 2461:2561(100) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestProbeLeavesFinOutsideWindow: tcp_write_wakeup splits the head
// skb when the window room is less than its sequence space, FIN included
// (net/ipv4/tcp_output.c:4368: seg_size < end_seq - seq), so 1024 bytes
// + FIN in a 1024-byte window become 1024 bytes with PSH (sent by the
// probe) and a FIN-only skb (tcp_fragment gives the FIN to the second
// part), which waits until the window takes its sequence number. The
// previous build compared the room with the payload length only and sent
// the FIN past the window's right edge.
func TestProbeLeavesFinOutsideWindow(t *testing.T) {
	if _, err := runScript(t, openServer(1000)+`   +0 write(4, ..., 1460) = 1460
   +0 > P. 1:1461(1460) ack 1
  +.1 < . 1:1(0) ack 1461 win 8
   +0 send(4, ..., 1024, MSG_MORE) = 1024
   +0 shutdown(4, SHUT_WR) = 0
  +.3 > P. 1461:2485(1024) ack 1
  +.1 < . 1:1(0) ack 2485 win 8
   +0 > FP. 2485:2485(0) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestShortHeadGrowsFromNext: 6.12's tcp_write_xmit calls
// tcp_grow_skb (net/ipv4/tcp_output.c:2801-2804, 2713-2735) before it
// sends the head skb: a head shorter than cwnd_quota * mss (one MSS
// without GSO, sk_gso_max_segs being 1) takes bytes from the skb after
// it, eating that one (and its flags) if it empties. Here the window
// probe left a 436-byte head (the rest of a 1460-byte skb split to the
// 1024-byte window) before a 1460 and an 80-byte skb. When the window
// opens, 6.12 sends 1460 + 516 (the 80-byte skb eaten by the second);
// the previous build sent the 436-byte piece, then 1460, and held the
// last 80 bytes (Minshall: the 436 was an unacknowledged small segment).
func TestShortHeadGrowsFromNext(t *testing.T) {
	if _, err := runScript(t, openServer(1000)+`   +0 write(4, ..., 1460) = 1460
   +0 > P. 1:1461(1460) ack 1
  +.1 < . 1:1(0) ack 1461 win 8
   +0 write(4, ..., 3000) = 3000
  +.3 > P. 1461:2485(1024) ack 1
  +.1 < . 1:1(0) ack 2485 win 1000
   +0 > P. 2485:3945(1460) ack 1
   +0 > P. 3945:4461(516) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestEndOfRecordKeepsWritesApart: a write with MSG_EOR marks its last
// skb (TCP_SKB_CB(skb)->eor), and no later write joins it
// (tcp_skb_can_collapse_to). Here the record waits under MSG_MORE, the
// next write starts a new skb instead of filling it, the record goes as a
// segment of its own, and Nagle holds the second small one until the
// first is acknowledged.
func TestEndOfRecordKeepsWritesApart(t *testing.T) {
	if _, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
  +.1 send(4, ..., 10, MSG_MORE|MSG_EOR) = 10
   +0 send(4, ..., 10, 0) = 10
   +0 > . 1:11(10) ack 1
  +.1 < . 1:1(0) ack 11 win 257
   +0 > P. 11:21(10) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestUrgentDataOnTheWire: send(MSG_OOB) marks the end of its data as
// urgent (tcp_mark_urg: snd_up = write_seq), and every segment sent below
// snd_up carries URG with the urgent pointer, until the ACK of the urgent
// byte ends urgent mode: the next write goes without it.
func TestUrgentDataOnTheWire(t *testing.T) {
	if _, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
  +.1 send(4, ..., 10, MSG_OOB) = 10
   +0 > PU. 1:11(10) ack 1
  +.1 < . 1:1(0) ack 11 win 257
   +0 send(4, ..., 10, 0) = 10
   +0 > P. 11:21(10) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestUrgentPointerPerSegment: each segment of an urgent write points at
// the same end of the urgent data: snd_up less the segment's own sequence
// number (3000, 1540 and 80 for a 3000-byte write with MSS 1460).
func TestUrgentPointerPerSegment(t *testing.T) {
	var ptrs []int
	if _, err := runScriptTapped(t, func(p stack.PacketRecord) {
		b := p.Skb.Bytes[p.Skb.Data:]
		if p.Dir != stack.PacketOut || len(b) < 40 || b[9] != 6 {
			return
		}
		ihl := int(b[0]&0xf) * 4
		if th := b[ihl:]; th[13]&0x20 != 0 { // URG
			ptrs = append(ptrs, int(th[18])<<8|int(th[19]))
		}
	}, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
  +.1 send(4, ..., 3000, MSG_OOB) = 3000
   +0 > U. 1:1461(1460) ack 1
   +0 > U. 1461:2921(1460) ack 1
   +0 > PU. 2921:3001(80) ack 1
`); err != nil {
		t.Fatal(err)
	}
	if want := []int{3000, 1540, 80}; !slices.Equal(ptrs, want) {
		t.Errorf("urgent pointers %v, want %v", ptrs, want)
	}
}
