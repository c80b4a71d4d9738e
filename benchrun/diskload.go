package benchrun

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The disk-load peer's writer: while plain stackscope serves a throughput
// row, the bench writes to the file system the recorder's traces go to
// as many bytes as the row's transfer has moved so far, a block at a time,
// and nothing else: what a recorder keeping every byte must write at the
// least. The cost it puts on stackscope is the disk's alone: the guest
// kernel's work for the writes and the device's on the same cores, with no
// recorder in the stack's process. It writes zeros from one buffer, with no
// copying of its own, and when the disk is slower than the transfer it
// falls behind instead of holding the stack back as a recorder would, so
// what it costs is a floor for any recorder that keeps every byte on that
// disk.

// diskBlock is one write: 1 MiB, as the trace writer's O_DIRECT chunks.
const diskBlock = 1 << 20

// diskAlign is what O_DIRECT wants the buffer's address aligned to: the
// page size, a multiple of every logical block size.
const diskAlign = 4096

// paceWait is how long a paced writer that has caught up with the
// transfer waits before it looks again: at 20 Gbit/s a block's worth of
// bytes moves in 0.4 ms.
const paceWait = 100 * time.Microsecond

// diskWrap is how large the writer lets its file grow before it truncates
// it and starts again at offset 0.
const diskWrap = 1 << 30

// diskRun is what one run of the writer did.
type diskRun struct {
	bytes   int64         // written
	moved   int64         // what the transfer moved meanwhile (0 when it did not pace by one)
	elapsed time.Duration // from the start to the stop
	direct  bool          // every write went with O_DIRECT
	maxSize int64         // the largest the file grew
}

// MBps is the writer's rate in MB/s (10^6 bytes a second, as dd gives it).
func (r diskRun) MBps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.bytes) / 1e6 / r.elapsed.Seconds()
}

// kept is the share of the transfer's bytes the writer wrote (0 when it
// did not follow a transfer).
func (r diskRun) kept() float64 {
	if r.moved <= 0 {
		return 0
	}
	return float64(r.bytes) / float64(r.moved)
}

// diskWriter writes blocks of zeros to a file, appending one after the
// other from offset 0 and truncating the file to nothing each time it
// would grow past wrap, until stopped. One goroutine writes; Stop ends it.
// With a pace, it writes a block only once the transfer has moved that
// many bytes; without one, as fast as it can.
type diskWriter struct {
	pace *atomic.Int64 // bytes the transfer has moved (nil: no pacing)
	stop chan struct{}
	done chan struct{}
	run  diskRun
	err  error // the write error that ended the writer, if any
}

// startDiskWriter creates (or truncates) path and starts writing to it
// with O_DIRECT, or through the page cache where the file system refuses
// O_DIRECT. wrap is the largest the file may grow, at least one block;
// pace, if not nil, is the count of bytes the transfer has moved, which
// the writer never gets ahead of.
func startDiskWriter(path string, wrap int64, pace *atomic.Int64) (*diskWriter, error) {
	if wrap < diskBlock {
		return nil, fmt.Errorf("disk writer: wrap size %d is less than one block (%d)", wrap, diskBlock)
	}
	f, direct, err := openDiskFile(path, os.O_TRUNC)
	if err != nil {
		return nil, err
	}
	w := &diskWriter{pace: pace, stop: make(chan struct{}), done: make(chan struct{})}
	w.run.direct = direct
	go w.loop(f, path, wrap)
	return w, nil
}

// openDiskFile opens path for writing (creating it, with extra flags such
// as O_TRUNC), with O_DIRECT unless the file system refuses it (EINVAL).
func openDiskFile(path string, extra int) (f *os.File, direct bool, err error) {
	flags := os.O_WRONLY | os.O_CREATE | extra
	f, err = os.OpenFile(path, flags|syscall.O_DIRECT, 0o600)
	if errors.Is(err, syscall.EINVAL) {
		f, err = os.OpenFile(path, flags, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("disk writer: %w", err)
		}
		return f, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("disk writer: %w", err)
	}
	return f, true, nil
}

// loop is the writer goroutine: it writes until stopped or until a write
// fails, then closes the file (which stays, for the stage's cleanup to
// remove).
func (w *diskWriter) loop(f *os.File, path string, wrap int64) {
	defer close(w.done)
	block := zeroBlock(diskBlock)
	start := time.Now()
	var off int64
	defer func() {
		w.run.elapsed = time.Since(start)
		if w.pace != nil {
			w.run.moved = w.pace.Load()
		}
		if err := f.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("disk writer: %w", err)
		}
	}()
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		if w.pace != nil && w.run.bytes+diskBlock > w.pace.Load() {
			time.Sleep(paceWait) // caught up with the transfer
			continue
		}
		if off+diskBlock > wrap {
			if err := f.Truncate(0); err != nil {
				w.err = fmt.Errorf("disk writer: %w", err)
				return
			}
			off = 0
		}
		_, err := f.WriteAt(block, off)
		if err != nil && w.run.direct && errors.Is(err, syscall.EINVAL) {
			// Opened with O_DIRECT, refused at the write: go on through
			// the page cache.
			var g *os.File
			if g, err = os.OpenFile(path, os.O_WRONLY, 0); err == nil {
				_ = f.Close()
				f, w.run.direct = g, false
				_, err = f.WriteAt(block, off)
			}
		}
		if err != nil {
			w.err = fmt.Errorf("disk writer, at offset %d: %w", off, err)
			return
		}
		off += diskBlock
		w.run.bytes += diskBlock
		w.run.maxSize = max(w.run.maxSize, off)
	}
}

// Stop ends the writer after the write it is in and returns what it did,
// and the write error that ended it early, if one did.
func (w *diskWriter) Stop() (diskRun, error) {
	select {
	case <-w.done:
	default:
		close(w.stop)
		<-w.done
	}
	return w.run, w.err
}

// zeroBlock returns size bytes of zeros whose memory starts at a
// diskAlign boundary, as O_DIRECT wants.
func zeroBlock(size int) []byte {
	raw := make([]byte, size+diskAlign)
	skip := (diskAlign - int(uintptr(unsafe.Pointer(&raw[0]))%diskAlign)) % diskAlign
	return raw[skip : skip+size : skip+size]
}
