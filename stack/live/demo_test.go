package live

import (
	"testing"
	"time"
)

// TestDemoMovesDataWithoutPrivileges: the demo needs no device but lo;
// its clients make connections and move bytes within a few seconds, and a
// SYN burst fills the HTTP listener's SYN queue until SYN cookies start.
func TestDemoMovesDataWithoutPrivileges(t *testing.T) {
	s, err := StartDemo(DemoConfig{Seed: 1, Every: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sum, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if sum.TxPackets > 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo moved only %d packets over lo in 10 s", sum.TxPackets)
		}
		time.Sleep(50 * time.Millisecond)
	}
	msg, err := s.SynBurst()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(msg)
	deadline = time.Now().Add(5 * time.Second)
	for {
		snap, err := s.K.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		var qlen uint32
		for _, sk := range snap.Socks {
			if sk.SockCommon.SkcState == "LISTEN" && sk.SockCommon.SkcNum == 80 {
				qlen = sk.Icsk.AcceptQueue.Qlen
			}
		}
		if qlen == 129 { // backlog 128 + 1: full
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the http listener's SYN queue holds %d after the burst, want 129", qlen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
