//go:build !linux

package tracing

import (
	"errors"
	"os"
)

// directWriter is Linux's O_DIRECT trace writer (direct_linux.go); other
// systems write traces through the page cache, so openDirect never
// returns one.
type directWriter struct{ f *os.File }

const (
	directAlign = 4096
	directChunk = 1 << 20
)

var errNoDirect = errors.New("O_DIRECT is not supported here")

func openDirect(string, os.FileMode) (*directWriter, error) { return nil, nil }

func alignedBlock(size int) []byte              { return make([]byte, 0, size) }
func (d *directWriter) writeChunk([]byte) error { return errNoDirect }
func (d *directWriter) writeTail([]byte) error  { return errNoDirect }
func (d *directWriter) file() *os.File          { return d.f }
