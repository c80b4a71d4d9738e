package scenario

import (
	"slices"
	"testing"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/tracing"
)

// TestDataAfterShutdownIsAnsweredWithAReset: after shutdown(SHUT_RDWR)
// the socket is in FIN_WAIT2 and reads nothing more. New data from the
// peer gets a reset (RFC 1122; tcp_rcv_state_process's FIN_WAIT case,
// TCPAbortOnData): tcp_reset gives the socket ECONNRESET, and the RST
// answers the segment (tcp_v4_send_reset: seq = its ACK, no ACK flag).
func TestDataAfterShutdownIsAnsweredWithAReset(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
   +0 shutdown(4, SHUT_RDWR) = 0
   +0 > F. 1:1(0) ack 1
 +.05 < . 1:1(0) ack 2 win 257
 +.05 < P. 1:11(10) ack 2 win 257
   +0 > R 2:2(0)
   +0 read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutOfOrderDuplicateOfAQueuedStart: a segment that starts where a
// queued out-of-order skb starts and ends inside it adds nothing: it is
// dropped and reported in a D-SACK block before the queued range
// (tcp_data_queue_ofo's "all the bits are present").
func TestOutOfOrderDuplicateOfAQueuedStart(t *testing.T) {
	_, err := runScript(t, passiveOpen+`
 +.05 < . 1001:2001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001>
   +0 < . 1001:1501(500) ack 1 win 257
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1001:1501 1001:2001>
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestOldDuplicateDropReason: a segment that ends before rcv_wup (the
// left edge of the window last advertised) is an old duplicate:
// tcp_sequence drops it as TCP_OLD_SEQUENCE and a duplicate ACK answers,
// with a D-SACK for it.
// A segment starting beyond the window is TCP_INVALID_SEQUENCE. Both are
// counted in the socket's sk_drops.
func TestOldDuplicateDropReason(t *testing.T) {
	s, err := Parse("test.pkt", "`../common/defaults.sh`"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
   +0 < P. 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001
   +0 < P. 1:501(500) ack 1 win 257
   +0 > . 1:1(0) ack 1001 <nop,nop,sack 1:501>
   +0 < P. 900001:901001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001
`)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	kfree, ok := tracing.Lookup("kfree_skb_reason")
	if !ok {
		t.Fatal("kfree_skb_reason is not registered")
	}
	var reasons []string
	if _, err := r.Kernel().Subscribe(func(ev *tracing.Event) {
		if ev.Func == kfree.ID && ev.Kind == tracing.Entry {
			reasons = append(reasons, skb.DropReason(ev.Arg(1).Val).String())
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	want := []string{"TCP_OLD_SEQUENCE", "TCP_INVALID_SEQUENCE"}
	if !slices.Equal(reasons, want) {
		t.Fatalf("drop reasons %v, want %v", reasons, want)
	}
	// Both count in the socket's sk_drops (tcp_drop_reason).
	snap, err := r.Kernel().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var drops []uint32
	for _, sk := range snap.Socks {
		if sk.SockCommon.SkcState == "ESTABLISHED" {
			drops = append(drops, sk.SkDrops)
		}
	}
	if !slices.Equal(drops, []uint32{2}) {
		t.Errorf("sk_drops of the established sockets %v, want [2]", drops)
	}
}
