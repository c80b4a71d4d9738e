//go:build !linux

package tracing

import "os"

// directWriter is Linux's O_DIRECT trace writer (direct_linux.go); other
// systems write traces through the page cache.
type directWriter struct{ f *os.File }

func openDirect(string, os.FileMode) (*directWriter, error) { return nil, nil }

func (d *directWriter) Write(p []byte) (int, error) { return d.f.Write(p) }
func (d *directWriter) flushTail() error            { return nil }
func (d *directWriter) file() *os.File              { return d.f }
