package netdev

import "sync"

// Driver is the hardware side of a device: what ndo_start_xmit reaches.
// Frames are IPv4 packets (the model's devices carry no link header, like
// TUN in IFF_TUN|IFF_NO_PI mode). Xmit may be called only from the kernel
// loop; the frame is valid only during the call.
type Driver interface {
	Xmit(frame []byte) error
}

// TxCompleter is a driver that finishes sending after Xmit returns (a
// device with TxAsync set): it calls the function SetTxDone gave it, from
// any goroutine, each time n more frames, oldest first, have left.
type TxCompleter interface {
	SetTxDone(done func(n int))
}

// Capture is a driver that keeps every frame sent through it, for tests
// and the scenario runner's script device.
type Capture struct {
	mu     sync.Mutex
	frames [][]byte
}

// Xmit records a copy of the frame.
func (c *Capture) Xmit(frame []byte) error {
	c.mu.Lock()
	c.frames = append(c.frames, append([]byte(nil), frame...))
	c.mu.Unlock()
	return nil
}

// Take returns the frames captured so far and forgets them.
func (c *Capture) Take() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.frames
	c.frames = nil
	return f
}

// Discard is a driver that drops every frame it is given, counting them:
// the far end of a link nobody answers on (the demo's SYN-burst device).
type Discard struct {
	mu sync.Mutex
	n  uint64
}

// Xmit drops the frame.
func (d *Discard) Xmit(frame []byte) error {
	d.mu.Lock()
	d.n++
	d.mu.Unlock()
	return nil
}

// Dropped returns how many frames were dropped.
func (d *Discard) Dropped() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}
