package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
)

// TestCloseInFinWait2DestroysOnce: close() on a socket already in
// FIN_WAIT2 (shutdown(SHUT_WR), FIN acknowledged) hands it to a timewait
// sock, whose tcp_done destroys the full socket; tcp_close must not
// destroy it again. The previous build did, and TCP's count of sockets
// fell by two.
func TestCloseInFinWait2DestroysOnce(t *testing.T) {
	f := newPairFix(t, PairConfig{AB: wireDelay(1e6), BA: wireDelay(1e6)})
	lfd := f.listen(f.pa, addrA, 7, 8)
	cfd, _ := f.dial(lfd, 7)
	before := f.p.B.tcpProt.Sockets
	if err := f.pb.Shutdown(cfd, sockets.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(100e6); err != nil {
		t.Fatal(err)
	}
	if st := f.state(f.pb, cfd); st != sockets.TCP_FIN_WAIT2 {
		t.Fatalf("after shutdown(SHUT_WR) and the FIN's ACK: %v, want FIN_WAIT2", st)
	}
	if err := f.pb.Close(cfd); err != nil {
		t.Fatal(err)
	}
	if after := f.p.B.tcpProt.Sockets; after != before-1 {
		t.Fatalf("TCP sockets %d before close, %d after; want one fewer", before, after)
	}
}
