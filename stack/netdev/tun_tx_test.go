package netdev

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestTunTxWritesInOrderAndCopies: frames queued on the transmit ring are
// written in order, each as it was when queued (the caller may reuse its
// buffer at once), and refused writes are counted; stop ends the writer
// and later sends are dropped without blocking or panicking.
func TestTunTxWritesInOrderAndCopies(t *testing.T) {
	var mu sync.Mutex
	var got [][]byte
	gate := make(chan struct{})
	x := newTunTx(4, 64, func(b []byte) error {
		<-gate
		mu.Lock()
		defer mu.Unlock()
		got = append(got, append([]byte(nil), b...))
		if b[0] == 3 {
			return errors.New("refused")
		}
		return nil
	})
	buf := make([]byte, 10)
	for i := range 6 {
		buf[0] = byte(i)
		if i == 5 {
			buf = make([]byte, 200) // larger than the ring's buffers
			buf[0] = 5
		}
		if i == 2 {
			close(gate) // the ring holds 4: let the writer run
		}
		x.send(buf)
	}
	written := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	for deadline := time.Now().Add(5 * time.Second); written() < 6 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	x.stop()
	x.send([]byte{9}) // after stop: dropped
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 6 {
		t.Fatalf("%d frames written, want 6", len(got))
	}
	for i, b := range got {
		if b[0] != byte(i) {
			t.Fatalf("frame %d starts %d: out of order or overwritten", i, b[0])
		}
	}
	if !bytes.Equal(got[5][1:], make([]byte, 199)) {
		t.Errorf("the large frame was not copied whole")
	}
	if x.errors.Load() != 1 {
		t.Errorf("%d refused writes counted, want 1", x.errors.Load())
	}
}
