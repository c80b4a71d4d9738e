//go:build linux

package tracing

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Writing a trace with O_DIRECT. A recording of a fast transfer writes as
// many bytes as the transfer carries, and through the page cache each byte
// costs a copy into a cache page, dirty accounting and, once the dirty
// limits are reached, the writer's share of writeback: on a 2-core machine
// at 2 GB/s that is most of a core. With O_DIRECT the device reads the
// bytes straight from the writer's buffer. O_DIRECT wants the buffer, the
// length and the file offset aligned, so the writer stages the stream in
// an aligned buffer and writes it in whole chunks; what is left over when
// the recording is flushed goes through the page cache, and is written
// again, aligned, once its chunk fills.

// directAlign is the alignment O_DIRECT gets: the page size, a multiple of
// every logical block size Linux file systems use.
const directAlign = 4096

// directChunk is the size of one O_DIRECT write, and directChunks how
// many chunks there are: one being filled while the others are written.
// Fewer, smaller writes leave the device idle between them (a 64 KiB
// O_DIRECT write reaches about a quarter of a 1 MiB one's speed).
const (
	directChunk  = 1 << 20
	directChunks = 4
)

// directWriter is an io.Writer onto a file opened with O_DIRECT, used by
// one goroutine (the trace's writer goroutine). Full chunks are written by
// a goroutine of its own, so that filling the next chunk overlaps the
// device's work on the last.
type directWriter struct {
	f   *os.File
	fd  int
	buf []byte // the chunk being filled; buf[0] belongs at off
	off int64  // file offset of buf[0], a multiple of directChunk
	// direct is false after the file system refused an O_DIRECT write:
	// then everything goes through the page cache. The I/O goroutine
	// owns it while chunks are in flight.
	direct bool

	free     chan []byte      // empty chunks
	todo     chan directBlock // full chunks for the I/O goroutine
	inflight sync.WaitGroup   // chunks sent and not yet written
	exited   chan struct{}    // the I/O goroutine ended
	mu       sync.Mutex       // guards err
	err      error            // the first write error
}

// directBlock is a full chunk and where it goes.
type directBlock struct {
	buf []byte
	off int64
}

// openDirect opens path for writing with O_DIRECT, creating or truncating
// it with mode perm. It returns a nil writer and no error where the file
// system does not take O_DIRECT (tmpfs, some FUSE and network file
// systems): the caller then opens the file the ordinary way.
func openDirect(path string, perm os.FileMode) (*directWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_DIRECT, perm)
	if errors.Is(err, syscall.EINVAL) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := &directWriter{f: f, fd: int(f.Fd()), direct: true,
		free: make(chan []byte, directChunks), todo: make(chan directBlock, directChunks), exited: make(chan struct{})}
	for range directChunks {
		d.free <- alignedChunk()
	}
	d.buf = <-d.free
	go d.run()
	return d, nil
}

// alignedChunk allocates an empty chunk whose memory starts at a
// directAlign boundary.
func alignedChunk() []byte {
	raw := make([]byte, directChunk+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(&raw[0]))&(directAlign-1))) & (directAlign - 1)
	return raw[skip : skip : skip+directChunk]
}

// Write stages p, sending each chunk that fills to be written.
func (d *directWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := d.firstErr(); err != nil {
			return n, err
		}
		k := copy(d.buf[len(d.buf):cap(d.buf)], p)
		d.buf = d.buf[:len(d.buf)+k]
		p = p[k:]
		n += k
		if len(d.buf) == cap(d.buf) {
			d.inflight.Add(1)
			d.todo <- directBlock{d.buf, d.off}
			d.off += int64(len(d.buf))
			d.buf = <-d.free
		}
	}
	return n, nil
}

// run is the I/O goroutine: it writes full chunks in order.
func (d *directWriter) run() {
	defer close(d.exited)
	for blk := range d.todo {
		if d.firstErr() == nil {
			if err := d.writeChunk(blk); err != nil {
				d.mu.Lock()
				d.err = err
				d.mu.Unlock()
			}
		}
		d.free <- blk.buf[:0]
		d.inflight.Done()
	}
}

// firstErr returns the first write error.
func (d *directWriter) firstErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// writeChunk writes a full chunk at its offset.
func (d *directWriter) writeChunk(blk directBlock) error {
	err := d.pwrite(blk.buf, blk.off, d.direct)
	if err == nil || !d.direct || !errors.Is(err, syscall.EINVAL) {
		return err
	}
	// Opened with O_DIRECT but refused at the write: go on buffered.
	if err := d.setDirect(false); err != nil {
		return err
	}
	d.direct = false
	return d.pwrite(blk.buf, blk.off, false)
}

// flushTail makes the file hold everything written so far: it waits for
// the chunks in flight, and the staged part of the next chunk goes
// through the page cache. That part stays staged, and is written again
// with the rest of its chunk.
func (d *directWriter) flushTail() error {
	d.inflight.Wait()
	if err := d.firstErr(); err != nil {
		return err
	}
	if len(d.buf) == 0 {
		return nil
	}
	if !d.direct {
		return d.pwrite(d.buf, d.off, false)
	}
	if err := d.setDirect(false); err != nil {
		return err
	}
	err := d.pwrite(d.buf, d.off, false)
	if err2 := d.setDirect(true); err == nil {
		err = err2
	}
	return err
}

// stop ends the I/O goroutine once the chunks in flight are written (call
// flushTail first to write the rest). The file stays open.
func (d *directWriter) stop() {
	close(d.todo)
	<-d.exited
}

// pwrite writes all of p at off. direct says the descriptor is in O_DIRECT
// mode (only for the error message).
func (d *directWriter) pwrite(p []byte, off int64, direct bool) error {
	for len(p) > 0 {
		n, err := syscall.Pwrite(d.fd, p, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			if direct {
				return fmt.Errorf("write (O_DIRECT) at offset %d: %w", off, err)
			}
			return fmt.Errorf("write at offset %d: %w", off, err)
		}
		if n == 0 {
			return fmt.Errorf("write at offset %d: %w", off, syscall.EIO)
		}
		p = p[n:]
		off += int64(n)
	}
	return nil
}

// setDirect turns O_DIRECT on or off on the open file.
func (d *directWriter) setDirect(on bool) error {
	flags, err := fcntl(d.fd, syscall.F_GETFL, 0)
	if err != nil {
		return fmt.Errorf("fcntl F_GETFL: %w", err)
	}
	if on {
		flags |= syscall.O_DIRECT
	} else {
		flags &^= syscall.O_DIRECT
	}
	if _, err := fcntl(d.fd, syscall.F_SETFL, flags); err != nil {
		return fmt.Errorf("fcntl F_SETFL: %w", err)
	}
	return nil
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// file returns the open file (for Chmod, Sync and Close).
func (d *directWriter) file() *os.File { return d.f }
