package tracing

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// OpenStream opens path, something other than a regular file (a device, a
// FIFO, a terminal), for writing as it is. A FIFO that no process has open
// for reading is refused at once: open(2) would wait for a reader, and
// the command would hang with nothing said.
func OpenStream(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) {
		return nil, fmt.Errorf("%s is a FIFO that no process reads: start its reader first", path)
	}
	if err != nil {
		return nil, err
	}
	// Writes block again: a slow reader slows the writer, and nothing is
	// dropped.
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
