package tracing

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// recordMixed records the same mixture of inputs (whole and in pieces,
// small and larger than a block), events and flushes onto w.
func recordMixed(t *testing.T, w *TraceWriter, flush bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	seq := uint64(0)
	for i := range 400 {
		n := rng.IntN(3000)
		if i%37 == 0 {
			n = 200_000 + rng.IntN(1<<20) // spans blocks and O_DIRECT chunks
		}
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		in := Input{Op: uint8(1 + i%5), Time: int64(i) * 1000}
		if i%2 == 0 {
			cut := n / 3
			in.Parts = [][]byte{data[:cut], nil, data[cut:]}
		} else {
			in.Data = data
		}
		w.Input(in)
		for range rng.IntN(50) {
			seq++
			ev := Event{Seq: seq, Time: int64(i) * 1000, Kind: Point, Func: 2}.WithArgs(Int(int64(rng.Uint32())))
			w.Event(&ev)
		}
		if flush && i%23 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatalf("flush %d: %v", i, err)
			}
		}
	}
}

// TestCreateTraceDirectMatchesBuffer checks that a trace file written by
// CreateTrace (with O_DIRECT where the file system takes it, aligned
// chunks plus tails flushed through the page cache) holds exactly the
// bytes a writer onto memory produces, with flushes anywhere, and that
// the file is complete after every flush.
func TestCreateTraceDirectMatchesBuffer(t *testing.T) {
	// The working directory's file system, and tmpfs where there is one
	// (tmpfs takes O_DIRECT since Linux 6.6; before, the plain path runs).
	dirs := []string{"."}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dirs = append(dirs, "/dev/shm")
	}
	for _, base := range dirs {
		for _, opt := range []TraceOptions{
			{}, {Compress: true},
			// Small blocks and one waiting: many chunk boundaries,
			// frames across them, and flushes in the middle of chunks.
			{BufferSize: 8 << 10, Blocks: 1},
		} {
			checkCreateTrace(t, base, opt)
		}
	}
}

// checkCreateTrace records the mixture into a trace file in a new
// directory under base and compares it with a recording onto memory.
func checkCreateTrace(t *testing.T, base string, opt TraceOptions) {
	t.Helper()
	compress := opt.Compress
	{
		var want bytes.Buffer
		mw, err := NewTraceWriter(&want, TraceHeader{Mode: "test"}, opt)
		if err != nil {
			t.Fatal(err)
		}
		recordMixed(t, mw, false)
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		dir, err := os.MkdirTemp(base, "direct-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		path := filepath.Join(dir, "t.trace")
		fw, err := CreateTrace(path, TraceHeader{Mode: "test"}, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s, %+v: O_DIRECT %v", base, opt, fw.dw != nil)
		recordMixed(t, fw, true)
		if err := fw.Flush(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Before Close the file has everything but the end frame (and,
		// compressed, the end of the stream).
		if !compress && !bytes.HasPrefix(want.Bytes(), got) {
			t.Fatalf("after flush the file's %d bytes are not a prefix of the %d expected", len(got), want.Len())
		}
		if !compress && want.Len()-len(got) > 64 {
			t.Fatalf("after flush the file has %d of %d bytes", len(got), want.Len())
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		got, err = os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if compress {
			// Flush points differ, so the zstd streams do: compare what
			// they hold.
			got, want := readAll(t, got), readAll(t, want.Bytes())
			if !strings.HasPrefix(want, "400 inputs") || got != want {
				t.Fatalf("compressed: the file reads as %s, memory as %s", got, want)
			}
			return
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("the file has %d bytes, memory %d; equal %v", len(got), want.Len(), bytes.Equal(got, want.Bytes()))
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v; want 0600", st.Mode().Perm(), err)
		}
	}
}

// readAll reads a trace in memory and summarises its records: counts and
// a checksum of every input's payload and every event.
func readAll(t *testing.T, b []byte) string {
	t.Helper()
	r, err := NewTraceReader(bytes.NewReader(b), "t")
	if err != nil {
		t.Fatal(err)
	}
	var inputs, events, sum uint64
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind == RecordInput {
			inputs++
			for _, c := range rec.Input.Data {
				sum = sum*31 + uint64(c)
			}
		} else {
			events++
			sum = sum*31 + rec.Event.Seq + rec.Event.Arg(0).Val
		}
	}
	return fmt.Sprintf("%d inputs, %d events, sum %x", inputs, events, sum)
}

// TestDirectWriteFallsBackWhenRefused checks the writer's way out when a
// file opened with O_DIRECT refuses an O_DIRECT write (EINVAL, as some
// file systems answer only at the write): the chunk goes through the page
// cache, and so does everything after it. A chunk at a misaligned address
// makes any O_DIRECT file refuse it.
func TestDirectWriteFallsBackWhenRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.trace")
	d, err := openDirect(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil {
		t.Skip("this file system does not take O_DIRECT")
	}
	defer d.file().Close()
	block := alignedBlock(3 * directAlign)
	for i := range cap(block) {
		block = append(block, byte(i*7))
	}
	misaligned := block[1 : 1+directAlign]
	if err := d.writeChunk(misaligned); err != nil {
		t.Fatalf("write: %v", err)
	}
	if d.direct {
		t.Fatal("still writing with O_DIRECT after the file refused it")
	}
	if err := d.writeTail(block[:10]); err != nil {
		t.Fatalf("tail: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, misaligned...), block[:10]...); !bytes.Equal(got, want) {
		t.Fatalf("the file holds %d bytes, want %d; equal %v", len(got), len(want), bytes.Equal(got, want))
	}
}

// TestCreateTraceOntoDeviceOrPipe checks that a trace recorded onto a path
// that is not a regular file (a FIFO read by another goroutine, a copy of
// /dev/null made with mknod) is written as a stream: the bytes are those
// of a recording onto memory, and the node's mode is left as it was
// (recording as root onto /dev/null once made it 0600).
func TestCreateTraceOntoDeviceOrPipe(t *testing.T) {
	var want bytes.Buffer
	mw, err := NewTraceWriter(&want, TraceHeader{Mode: "test"}, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recordMixed(t, mw, false)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	// The reader is there first (CreateTrace refuses a FIFO nobody
	// reads); it reads once the writer has opened, until the writer
	// closes.
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := CreateTrace(fifo, TraceHeader{Mode: "test"}, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, err := io.ReadAll(r)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	recordMixed(t, w, true)
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("the FIFO carried %d bytes, memory holds %d", len(b), want.Len())
	}
	if st, err := os.Stat(fifo); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("the FIFO's mode is %v (%v), want 0644", st.Mode().Perm(), err)
	}

	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Logf("no device node (mknod: %v): the FIFO is the only check", err)
		return
	}
	if err := os.Chmod(null, 0o666); err != nil {
		t.Fatal(err)
	}
	w, err = CreateTrace(null, TraceHeader{Mode: "test"}, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recordMixed(t, w, true)
	if err := w.Close(); err != nil {
		t.Fatalf("close onto a null device: %v", err)
	}
	if st, err := os.Stat(null); err != nil || st.Mode().Perm() != 0o666 {
		t.Fatalf("the device's mode is %v (%v), want 0666", st.Mode().Perm(), err)
	}
	if _, err := CreateTrace(dir, TraceHeader{Mode: "test"}, TraceOptions{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("a directory: %v", err)
	}
}

// TestOversizeInputKeepsWhatCameBefore: an input larger than a frame may
// be stops the recording with an error, and what was recorded before it
// is still written (a frame of exactly the limit, here). The file then
// ends without an end frame, as a recording cut off does. Before, the
// refusal also stopped the writer goroutine, and the blocks still queued
// were thrown away.
func TestOversizeInputKeepsWhatCameBefore(t *testing.T) {
	d := make([]byte, maxFrameSize-3) // type, op and a one-byte time: the limit
	for i := range d {
		d[i] = byte(i * 13)
	}
	for _, opt := range []TraceOptions{{}, {BufferSize: 1, Blocks: 1}} {
		path := filepath.Join(t.TempDir(), "x.trace")
		w, err := CreateTrace(path, TraceHeader{Mode: "test"}, opt)
		if err != nil {
			t.Fatal(err)
		}
		w.Input(Input{Op: 1, Data: d})
		w.Input(Input{Op: 1, Parts: [][]byte{d[:5], d[5:], {1}}})
		if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "frame limit") {
			t.Fatalf("%+v: an input one byte over the limit: flush says %v", opt, err)
		}
		if err := w.Close(); err == nil {
			t.Fatalf("%+v: close says nothing of the refused input", opt)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewTraceReader(f, "x.trace")
		if err != nil {
			t.Fatal(err)
		}
		inputs := 0
		for {
			rec, err := r.Next()
			if err != nil {
				if !strings.Contains(err.Error(), "without an end frame") {
					t.Errorf("%+v: the file ends with %v", opt, err)
				}
				break
			}
			if rec.Kind == RecordInput {
				inputs++
				if !bytes.Equal(rec.Input.Data, d) {
					t.Errorf("%+v: the input read back differs", opt)
				}
			}
		}
		f.Close()
		if inputs != 1 {
			t.Errorf("%+v: %d inputs read back, want the one recorded before the refused one", opt, inputs)
		}
	}
}

// TestInputDoesNotAllocate: recording an input, whole or in pieces, costs
// no allocation on the kernel loop.
func TestInputDoesNotAllocate(t *testing.T) {
	w, err := NewTraceWriter(io.Discard, TraceHeader{Mode: "test"}, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	d := make([]byte, 1500)
	parts := [][]byte{d[:40], d[40:]}
	if n := testing.AllocsPerRun(1000, func() { w.Input(Input{Op: 1, Time: 5, Parts: parts}) }); n != 0 {
		t.Errorf("an input in pieces: %v allocations", n)
	}
	if n := testing.AllocsPerRun(1000, func() { w.Input(Input{Op: 1, Time: 5, Data: d}) }); n != 0 {
		t.Errorf("a whole input: %v allocations", n)
	}
}

// TestCreateTraceOntoAFIFONobodyReads: a FIFO with no reader is refused at
// once, with a message that says so, instead of open(2) waiting for a
// reader with nothing said.
func TestCreateTraceOntoAFIFONobodyReads(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		w, err := CreateTrace(fifo, TraceHeader{Mode: "test"}, TraceOptions{})
		if err == nil {
			w.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no process reads") {
			t.Fatalf("CreateTrace onto a FIFO nobody reads: %v", err)
		}
	case <-time.After(10 * time.Second):
		// Unblock the open so that the goroutine ends with the test.
		if r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			defer r.Close()
		}
		t.Fatal("CreateTrace waited for a reader")
	}
}
