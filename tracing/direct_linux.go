//go:build linux

package tracing

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// Writing a trace with O_DIRECT. A recording of a fast transfer writes as
// many bytes as the transfer carries, and through the page cache each byte
// costs a copy into a cache page, dirty accounting and, once the dirty
// limits are reached, the writer's share of writeback: on a 2-core machine
// at 2 GB/s that is most of a core. With O_DIRECT the device reads the
// bytes straight from the writer's buffer. O_DIRECT wants the buffer, the
// length and the file offset aligned, so the trace writer's blocks are
// aligned chunks, filled to the last byte before they are written; the
// part of a chunk that is filled when the recording is flushed goes
// through the page cache, and is written again, aligned, once its chunk
// fills.

// directAlign is the alignment O_DIRECT gets: the page size, a multiple of
// every logical block size Linux file systems use.
const directAlign = 4096

// directChunk is the size of one O_DIRECT write (the trace writer's block
// size on such a file). Fewer, smaller writes leave the device idle
// between them: a 64 KiB O_DIRECT write reaches about a quarter of a
// 1 MiB one's speed.
const directChunk = 1 << 20

// directWriter writes whole aligned chunks of a file opened with
// O_DIRECT, one after the other from offset 0, and the filled part of the
// next chunk through the page cache when asked. It is used by one
// goroutine, the trace's writer goroutine.
type directWriter struct {
	f   *os.File
	fd  int
	off int64 // file offset of the next chunk
	// direct is false after the file system refused an O_DIRECT write:
	// then everything goes through the page cache.
	direct bool
}

// openDirect opens path for writing with O_DIRECT, creating or truncating
// it with mode perm. It returns a nil writer and no error where the file
// system does not take O_DIRECT (some FUSE and network file systems, tmpfs
// before Linux 6.6): the caller then opens the file the ordinary way.
func openDirect(path string, perm os.FileMode) (*directWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_DIRECT, perm)
	if errors.Is(err, syscall.EINVAL) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &directWriter{f: f, fd: int(f.Fd()), direct: true}, nil
}

// alignedBlock allocates an empty block of size bytes (a multiple of
// directAlign) whose memory starts at a directAlign boundary.
func alignedBlock(size int) []byte {
	raw := make([]byte, size+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(&raw[0]))&(directAlign-1))) & (directAlign - 1)
	return raw[skip : skip : skip+size]
}

// writeChunk writes a whole chunk (aligned, its length a multiple of
// directAlign) at the next chunk's offset and moves past it.
func (d *directWriter) writeChunk(p []byte) error {
	err := d.pwrite(p, d.off, d.direct)
	if err != nil && d.direct && errors.Is(err, syscall.EINVAL) {
		// Opened with O_DIRECT but refused at the write: go on buffered.
		if err = d.setDirect(false); err == nil {
			d.direct = false
			err = d.pwrite(p, d.off, false)
		}
	}
	if err != nil {
		return err
	}
	d.off += int64(len(p))
	return nil
}

// writeTail writes the filled part of the next chunk through the page
// cache, so that the file holds everything recorded so far. The chunk is
// written again, whole, by writeChunk once it fills.
func (d *directWriter) writeTail(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if !d.direct {
		return d.pwrite(p, d.off, false)
	}
	if err := d.setDirect(false); err != nil {
		return err
	}
	err := d.pwrite(p, d.off, false)
	if err2 := d.setDirect(true); err == nil {
		err = err2
	}
	return err
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
