package benchrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stopWithin stops w, failing the test if Stop hangs.
func stopWithin(t *testing.T, w *diskWriter, limit time.Duration) (diskRun, error) {
	t.Helper()
	type stopped struct {
		run diskRun
		err error
	}
	ch := make(chan stopped, 1)
	go func() {
		run, err := w.Stop()
		ch <- stopped{run, err}
	}()
	select {
	case s := <-ch:
		return s.run, s.err
	case <-time.After(limit):
		t.Fatalf("the disk writer did not stop within %s", limit)
		return diskRun{}, nil
	}
}

// The writer appends whole blocks from offset 0 and, each time the next
// block would take the file past the wrap size, truncates it and starts
// again: the file never grows past the wrap size, and its final size is
// what the count of blocks written says it is.
func TestDiskWriterWrapsAtItsSize(t *testing.T) {
	const wrap = 4 * diskBlock
	path := filepath.Join(t.TempDir(), "disk-load")
	w, err := startDiskWriter(path, wrap, nil)
	if err != nil {
		t.Fatal(err)
	}
	var largest int64
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
		if fi, err := os.Stat(path); err == nil {
			largest = max(largest, fi.Size())
		}
		time.Sleep(time.Millisecond)
	}
	run, err := stopWithin(t, w, 5*time.Second)
	if err != nil {
		t.Fatalf("stopped with an error: %v", err)
	}
	if run.bytes <= 0 || run.bytes%diskBlock != 0 {
		t.Fatalf("wrote %d bytes, want a positive count of %d-byte blocks", run.bytes, diskBlock)
	}
	if largest > wrap || run.maxSize > wrap {
		t.Errorf("the file grew to %d bytes (seen %d), past the wrap size %d", run.maxSize, largest, wrap)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := run.bytes / diskBlock
	if want := ((blocks-1)%(wrap/diskBlock) + 1) * diskBlock; fi.Size() != want {
		t.Errorf("after %d blocks the file holds %d bytes, want %d", blocks, fi.Size(), want)
	}
	if run.elapsed < 100*time.Millisecond || run.MBps() <= 0 {
		t.Errorf("ran %s at %.0f MB/s: want at least the 100 ms it was left running, at a positive rate", run.elapsed, run.MBps())
	}
	t.Logf("%d MiB in %s: %.0f MB/s, O_DIRECT %v", run.bytes>>20, run.elapsed, run.MBps(), run.direct)
	// Stopping twice is harmless and says the same.
	if again, err := w.Stop(); err != nil || again != run {
		t.Errorf("a second Stop: %+v, %v; want %+v", again, err, run)
	}
}

func TestDiskWriterWantsAWrapOfABlockAtLeast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk-load")
	if _, err := startDiskWriter(path, diskBlock-1, nil); err == nil {
		t.Fatal("a wrap size under one block was taken")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused writer left a file: %v", err)
	}
}

// A write that fails ends the writer, and Stop returns the error, for the
// row's cell. /dev/full refuses every write with ENOSPC.
func TestDiskWriterReportsAWriteError(t *testing.T) {
	w, err := startDiskWriter("/dev/full", 4*diskBlock, nil)
	if err != nil {
		t.Skipf("cannot open /dev/full: %v", err)
	}
	<-w.done // it ends by itself
	run, err := stopWithin(t, w, 5*time.Second)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Stop: %v, want ENOSPC", err)
	}
	if want := "disk writer, at offset 0: write /dev/full: no space left on device"; err.Error() != want {
		t.Errorf("the error says %q, want %q", err, want)
	}
	if run.bytes != 0 {
		t.Errorf("counted %d bytes of failed writes", run.bytes)
	}
}

// The disk load's file sits beside the recorder's traces, is removed by
// the stage's cleanup, and carries the bench's process id, so that the
// next bench removes it once that process is gone.
func TestDiskLoadFileIsCleanedUp(t *testing.T) {
	dir := t.TempDir()
	b := &bench{o: Options{TraceDir: dir}}
	path := b.diskLoadPath()
	if filepath.Dir(path) != filepath.Dir(b.tracePath()) || filepath.Dir(path) != dir {
		t.Fatalf("the disk load's file %s is not beside the traces in %s", path, dir)
	}
	w, err := startDiskWriter(path, 2*diskBlock, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := stopWithin(t, w, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no file after a run: %v", err)
	}
	b.removeDiskLoad()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file is still there after the cleanup: %v", err)
	}

	// A dead bench's file goes; this process's stays. Linux's pids are
	// below pid_max, at most 1<<22: no process has that id.
	stale := filepath.Join(dir, fmt.Sprintf("%s%d-disk-load", filePrefix, 1<<22))
	for _, p := range []string{stale, path} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleFiles(dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a gone bench's disk load file was left: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("this bench's own file was removed: %v", err)
	}
}

// A paced writer follows the transfer's byte count and never gets ahead
// of it: with 3.5 blocks' worth moved it writes three blocks and waits for
// the fourth, and its run says what share of the moved bytes it wrote.
func TestDiskWriterFollowsTheTransfer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk-load")
	moved := new(atomic.Int64)
	w, err := startDiskWriter(path, 16*diskBlock, moved)
	if err != nil {
		t.Fatal(err)
	}
	moved.Add(3*diskBlock + diskBlock/2)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := os.Stat(path)
		if err == nil && st.Size() >= 3*diskBlock || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // time enough for a fourth block, were it allowed
	run, err := stopWithin(t, w, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if run.bytes != 3*diskBlock {
		t.Errorf("wrote %d bytes with %d moved, want %d", run.bytes, moved.Load(), 3*diskBlock)
	}
	if want := 3.0 / 3.5; run.kept() != want {
		t.Errorf("kept %.4f of the transfer, want %.4f", run.kept(), want)
	}
}
