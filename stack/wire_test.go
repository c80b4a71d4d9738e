package stack

import (
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
