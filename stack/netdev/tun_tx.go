package netdev

import (
	"os"
	"sync"
	"sync/atomic"
)

// tunTx is the TUN driver's transmit ring: the kernel loop copies each
// frame into a free buffer and queues it; a goroutine writes the queue
// to the device. A write(2) to a TUN device runs the host's whole receive
// path for the frame (its TCP takes the ACK or the data right there), so
// writing on the loop made the loop wait for the host. A NIC's TX ring
// decouples the two the same way. When the ring is full the loop waits
// for a slot, as a stopped TX queue holds the qdisc.
type tunTx struct {
	queue   chan []byte
	free    chan []byte
	size    int
	done    chan struct{}
	mu      sync.RWMutex // send holds it shared; stop takes it to close the queue
	stopped atomic.Bool
	errors  atomic.Uint64 // writes the host refused (tx_errors)
	// onDone, once set, hears how many more frames have been written
	// (or refused): the device's transmit completions.
	onDone atomic.Pointer[func(n int)]
}

// txDoneBatch is how many written frames the writer reports at most in
// one completion while more wait in the ring; an empty ring reports at
// once.
const txDoneBatch = 32

// newTunTx starts the writer; write is the device's write (one frame).
func newTunTx(depth, size int, write func([]byte) error) *tunTx {
	x := &tunTx{queue: make(chan []byte, depth), free: make(chan []byte, depth), size: size, done: make(chan struct{})}
	go func() {
		defer close(x.done)
		written := 0
		for b := range x.queue {
			if !x.stopped.Load() {
				if err := write(b); err != nil {
					x.errors.Add(1)
				}
			}
			select {
			case x.free <- b[:0]:
			default: // an oversized buffer made for one frame
			}
			written++
			if done := x.onDone.Load(); done != nil && (len(x.queue) == 0 || written >= txDoneBatch) {
				(*done)(written)
				written = 0
			}
		}
	}()
	return x
}

// send queues a copy of frame (the caller's buffer is the kernel's to
// reuse at once); once the ring is stopped it refuses the frame, which
// will never be written or reported done.
func (x *tunTx) send(frame []byte) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.stopped.Load() {
		return os.ErrClosed
	}
	var b []byte
	select {
	case b = <-x.free:
	default:
		b = make([]byte, 0, x.size)
	}
	if cap(b) < len(frame) {
		b = make([]byte, 0, len(frame))
	}
	x.queue <- append(b, frame...)
	return nil
}

// stop discards what is still queued and waits for the writer to end.
func (x *tunTx) stop() {
	x.stopped.Store(true) // the writer discards from now on, so a waiting send gets its slot
	x.mu.Lock()
	close(x.queue)
	x.mu.Unlock()
	<-x.done
}
