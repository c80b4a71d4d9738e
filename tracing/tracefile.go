package tracing

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// TraceMagic is the first 8 bytes of every trace file.
//
// A trace file is the magic followed by frames (see tracefile_codec.go for
// the byte layout): a header frame, then input and events frames in the
// order they happened, then an end frame with the counts. The magic and
// the framing of the header frame never change; the format number inside
// the header tells a reader whether it can read the rest. When the header
// says Compressed, everything after the header frame is one zstd stream
// holding the remaining frames.
const TraceMagic = "STKTRACE"

// TraceFormatVersion is the version of the trace file format this package
// writes, and the newest it reads.
const TraceFormatVersion = 1

// TraceHeader describes a recording. It is the first frame of a trace
// file, encoded as JSON.
type TraceHeader struct {
	// Format is the file format version (TraceFormatVersion when written).
	Format int `json:"format"`
	// Version is the stackscope version that wrote the file.
	Version string `json:"version"`
	// Mode is how the kernel ran: "live", "demo", "run", "pair", ...
	Mode string `json:"mode"`
	// Funcs maps a FuncID (the index) to a kernel function name, so a file
	// stays readable when a later build numbers its functions differently.
	// The writer fills it from the registry when it is nil.
	Funcs []string `json:"funcs"`
	// Kernel is the stack package's boot description, opaque here.
	Kernel json.RawMessage `json:"kernel,omitempty"`
	// Source is the scenario that ran, if any.
	Source *TraceSource `json:"source,omitempty"`
	// Compressed says everything after the header frame is a zstd
	// stream. The writer sets it from TraceOptions.Compress.
	Compressed bool `json:"compressed"`
}

// TraceSource is the scenario a recording ran: its name and script text.
type TraceSource struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// Input is one kernel input as recorded: an opcode the stack package
// defines, the kernel clock time when the loop handled it, and an opaque
// payload.
type Input struct {
	Op   uint8
	Time int64
	Data []byte
	// Parts, when not nil, is the payload in pieces (Data is then
	// ignored): the payload is their concatenation. A recorder copies
	// the pieces once, into its own buffer, so that a caller with the
	// payload scattered (received frames) need not gather it first. A
	// reader always returns the payload whole, in Data.
	Parts [][]byte
}

// Len returns the length of the payload.
func (in *Input) Len() int {
	if in.Parts == nil {
		return len(in.Data)
	}
	n := 0
	for _, p := range in.Parts {
		n += len(p)
	}
	return n
}

// TraceOptions tunes a TraceWriter. The zero value is a sensible default.
type TraceOptions struct {
	// Compress compresses everything after the header frame with zstd.
	Compress bool
	// BufferSize is the size in bytes of the blocks handed to the writer
	// goroutine; 0 means 64 KiB (1 MiB for a file written with O_DIRECT,
	// whose blocks are rounded up to a multiple of 4 KiB). Values below
	// 8 KiB are raised to 8 KiB.
	BufferSize int
	// Blocks is how many full blocks may wait for the writer goroutine;
	// 0 means 8 (4 with O_DIRECT). When that many wait, the recording
	// caller waits too: nothing is ever dropped.
	Blocks int
}

const (
	defaultBlockSize = 64 << 10
	minBlockSize     = 8 << 10
	defaultBlocks    = 8
	directBlocks     = 4
	// zstdWindow is the compression window. A reader accepts up to
	// maxZstdWindow, which bounds its memory whatever the file says.
	zstdWindow    = 256 << 10
	maxZstdWindow = 1 << 20
)

// traceBlock is a block of the stream on its way to the writer goroutine.
// A sync block asks the goroutine to acknowledge it on ack once it and
// everything before it is written. A tail block is the filled part of the
// block the recording goroutine goes on filling (a file written with
// O_DIRECT takes only whole blocks): it is written through the page cache
// and not recycled.
type traceBlock struct {
	buf  []byte
	sync bool
	tail bool
}

// TraceWriter records inputs and events into a trace file.
//
// Recording happens on the kernel loop: Input and Event append to an
// in-memory block and cost no allocation; the stream fills every block to
// its last byte (a frame may span blocks), and full blocks go to a writer
// goroutine over a bounded channel; the caller waits only when that
// channel is full. Input, Event, Flush, Close and Counts must be called
// from one goroutine at a time (the one that records); Err may be called
// from any goroutine. Close must be called to stop the writer goroutine.
type TraceWriter struct {
	name string
	file *os.File // synced and closed by Close when CreateTrace opened it
	// stream is what CreateTrace opened when the path is not a regular
	// file: closed by Close, not synced.
	stream *os.File

	// Owned by the recording goroutine.
	cur       []byte                                      // the block being filled
	evf       []byte                                      // the open events frame, empty if none
	delta     deltaState                                  // encoder state of the open events frame
	blockSize int                                         // capacity of every block
	nalloc    int                                         // blocks allocated so far
	maxAlloc  int                                         // blocks that may exist at once
	inputs    uint64                                      // inputs recorded
	events    uint64                                      // events recorded
	closed    bool                                        // Close was called
	closeErr  error                                       // what Close returned
	ihead     [4 + 1 + 1 + binary.MaxVarintLen64 + 4]byte // an input frame's head, and its checksum
	full      chan traceBlock
	free      chan []byte
	ack       chan error // answers sync blocks
	done      chan error // the writer goroutine's last word

	// Owned by the writer goroutine.
	out io.Writer
	zw  *zstd.Encoder
	dw  *directWriter // the file, when it is written with O_DIRECT

	failed atomic.Bool // err is set: checked on the recording fast path
	// wfailed is a write error: the writer goroutine writes nothing more.
	wfailed atomic.Bool
	mu      sync.Mutex // guards err
	err     error
}

// CreateTrace creates (or truncates) the file at path with mode 0600 and
// starts recording into it: it writes the magic and the header frame. If
// h.Funcs is nil it is filled from the function registry; h.Format and
// h.Compressed are set by the writer. An uncompressed trace is written
// with O_DIRECT where the file system takes it (direct_linux.go). A path
// that names something other than a regular file (/dev/null, a FIFO, a
// terminal) is written as a stream: opened as it is, its mode left alone,
// never synced.
func CreateTrace(path string, h TraceHeader, opt TraceOptions) (*TraceWriter, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return nil, fmt.Errorf("create trace: %s is a directory", path)
		}
		f, err := OpenStream(path)
		if err != nil {
			return nil, fmt.Errorf("create trace: %w", err)
		}
		w, err := newTraceWriter(f, nil, nil, path, h, opt)
		if err != nil {
			f.Close()
			return nil, err
		}
		w.stream = f
		return w, nil
	}
	var out io.Writer
	var dw *directWriter
	var err error
	if !opt.Compress {
		if dw, err = openDirect(path, 0o600); err != nil {
			return nil, fmt.Errorf("create trace: %w", err)
		}
	}
	var f *os.File
	if dw != nil {
		f = dw.file()
	} else {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create trace: %w", err)
		}
		out = f
	}
	// The mode given to OpenFile only applies to a new file, and the
	// umask may have changed it: a trace can hold a whole session's
	// traffic, so it is private whatever was there before.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("create trace %s: %w", path, err)
	}
	w, err := newTraceWriter(out, f, dw, path, h, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// NewTraceWriter starts recording onto any writer, as CreateTrace does onto
// a file. Close flushes it but does not close it.
func NewTraceWriter(w io.Writer, h TraceHeader, opt TraceOptions) (*TraceWriter, error) {
	return newTraceWriter(w, nil, nil, "trace", h, opt)
}

// newTraceWriter starts the writer goroutine and writes the header: onto
// out, or with dw, whole aligned blocks onto the file opened with
// O_DIRECT; file, if not nil, is synced and closed by Close.
func newTraceWriter(out io.Writer, file *os.File, dw *directWriter, name string, h TraceHeader, opt TraceOptions) (*TraceWriter, error) {
	h.Format = TraceFormatVersion
	h.Compressed = opt.Compress
	if h.Funcs == nil {
		h.Funcs = registeredFuncNames()
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("write trace %s: encode header: %w", name, err)
	}
	if 1+len(js) > maxFrameSize {
		return nil, fmt.Errorf("write trace %s: the header is %d bytes, more than the %d MiB frame limit", name, len(js), maxFrameSize>>20)
	}
	head := appendFrame([]byte(TraceMagic), frameHeader, js)

	blockSize, blocks := opt.BufferSize, opt.Blocks
	if dw != nil {
		if blockSize <= 0 {
			blockSize = directChunk
		}
		blockSize = (max(blockSize, minBlockSize) + directAlign - 1) &^ (directAlign - 1)
		if blocks <= 0 {
			blocks = directBlocks
		}
	}
	if blockSize <= 0 {
		blockSize = defaultBlockSize
	}
	blockSize = max(blockSize, minBlockSize)
	if blocks <= 0 {
		blocks = defaultBlocks
	}
	w := &TraceWriter{
		name:      name,
		file:      file,
		blockSize: blockSize,
		// blocks waiting, one being written, one being filled
		maxAlloc: blocks + 2,
		full:     make(chan traceBlock, blocks),
		free:     make(chan []byte, blocks+2),
		ack:      make(chan error, 1),
		done:     make(chan error, 1),
		out:      out,
		dw:       dw,
	}
	w.evf = make([]byte, 0, framePrefix+batchLimit+maxEventSize+frameSuffix)
	w.cur = w.newBlock()
	if opt.Compress {
		// The header stays outside the zstd stream.
		if _, err := out.Write(head); err != nil {
			return nil, fmt.Errorf("write trace %s: header: %w", name, err)
		}
		w.zw, err = zstd.NewWriter(out,
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			return nil, fmt.Errorf("write trace %s: start zstd: %w", name, err)
		}
		go w.run()
		return w, nil
	}
	go w.run()
	// The header starts the first block, and is written at once, so that
	// a file that cannot be written fails here.
	w.put(head)
	if err := w.handOff(true); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// registeredFuncNames lists the registry's function names indexed by
// FuncID (index 0 is the "no function" entry).
func registeredFuncNames() []string {
	fs := Funcs()
	names := make([]string, len(fs)+1)
	names[0] = FuncByID(0).Name
	for _, f := range fs {
		if int(f.ID) < len(names) {
			names[f.ID] = f.Name
		}
	}
	return names
}

// Input appends an input frame. It copies the payload. An input too large
// for a frame (16 MiB) is a write error: it stops the recording.
func (w *TraceWriter) Input(in Input) {
	if w.closed || w.failed.Load() {
		return
	}
	if len(w.evf) > 0 {
		w.closeBatch()
	}
	head := w.ihead[:] // length, type, op, time
	head[4] = frameInput
	head[5] = in.Op
	hn := 6 + binary.PutVarint(head[6:], in.Time)
	plen := len(in.Data)
	if in.Parts != nil {
		plen = in.Len()
	}
	size := hn - 4 + plen // type + payload
	if size > maxFrameSize {
		// Refused here, not a write error: what was recorded before it
		// is still written.
		w.mu.Lock()
		if w.err == nil {
			w.err = fmt.Errorf("write trace %s: input %d of %d bytes is larger than the %d MiB frame limit",
				w.name, w.inputs+1, plen, maxFrameSize>>20)
			w.failed.Store(true)
		}
		w.mu.Unlock()
		return
	}
	binary.LittleEndian.PutUint32(head[:], uint32(size))
	w.put(head[:hn])
	crc := crc32.Update(0, castagnoli, head[4:hn])
	if in.Parts == nil {
		w.put(in.Data)
		crc = crc32.Update(crc, castagnoli, in.Data)
	}
	for _, p := range in.Parts {
		w.put(p)
		crc = crc32.Update(crc, castagnoli, p)
	}
	sum := w.ihead[len(w.ihead)-4:]
	binary.LittleEndian.PutUint32(sum, crc)
	w.put(sum)
	w.inputs++
}

// Event appends an event. It has the Subscriber signature, so a writer can
// be passed to Tracer.Subscribe directly. It does not keep ev.
func (w *TraceWriter) Event(ev *Event) { w.eventN(ev, argCount(ev)) }

// record is Event for an event a Tracer built, whose argument slots past
// NArg are empty (Tracer.SubscribeTrace): the encoder need not look.
func (w *TraceWriter) record(ev *Event) { w.eventN(ev, int(min(ev.NArg, MaxArgs))) }

// eventN appends ev, whose argument slots from n on are empty.
func (w *TraceWriter) eventN(ev *Event, n int) {
	if w.closed || w.failed.Load() {
		return
	}
	if len(w.evf) == 0 {
		w.openBatch()
	}
	w.evf = w.delta.appendEventN(w.evf, ev, n)
	w.events++
	if len(w.evf)-framePrefix >= batchLimit {
		w.closeBatch()
	}
}

// openBatch starts an events frame.
func (w *TraceWriter) openBatch() {
	w.evf = append(w.evf, 0, 0, 0, 0, frameEvents)
	w.delta.reset()
}

// closeBatch completes the open events frame (its length and checksum)
// and appends it to the stream.
func (w *TraceWriter) closeBatch() {
	f := w.evf
	binary.LittleEndian.PutUint32(f, uint32(len(f)-4))
	f = binary.LittleEndian.AppendUint32(f, crc32.Update(0, castagnoli, f[4:]))
	w.put(f)
	w.evf = f[:0]
}

// put appends p to the stream, handing each block over as it fills.
func (w *TraceWriter) put(p []byte) {
	for {
		k := copy(w.cur[len(w.cur):cap(w.cur)], p)
		w.cur = w.cur[:len(w.cur)+k]
		p = p[k:]
		if len(w.cur) < cap(w.cur) {
			return
		}
		w.handOff(false)
		if len(p) == 0 {
			return
		}
	}
}

// handOff gives the current block to the writer goroutine, waiting while
// Blocks blocks already wait, and takes a fresh one. With sync it also
// waits until the goroutine has written it, and returns the first write
// error; a block that is not full then stays the current block where the
// file takes only whole ones (O_DIRECT).
func (w *TraceWriter) handOff(sync bool) error {
	if sync && w.dw != nil && len(w.cur) < cap(w.cur) {
		w.full <- traceBlock{buf: w.cur, sync: true, tail: true}
		return <-w.ack
	}
	w.full <- traceBlock{buf: w.cur, sync: sync}
	var err error
	if sync {
		err = <-w.ack
	}
	w.cur = w.takeBlock()
	return err
}

// takeBlock returns an empty block: a recycled one, a new one while fewer
// than maxAlloc exist, or else the next one the writer goroutine frees.
func (w *TraceWriter) takeBlock() []byte {
	select {
	case b := <-w.free:
		return b
	default:
	}
	if w.nalloc < w.maxAlloc {
		return w.newBlock()
	}
	return <-w.free
}

// newBlock allocates a block, aligned for O_DIRECT where it is used.
func (w *TraceWriter) newBlock() []byte {
	w.nalloc++
	if w.dw != nil {
		return alignedBlock(w.blockSize)
	}
	return make([]byte, 0, w.blockSize)
}

// run is the writer goroutine: it writes blocks in order, recycles them,
// and at the end finishes the zstd stream and the file.
func (w *TraceWriter) run() {
	for blk := range w.full {
		if len(blk.buf) > 0 && !w.wfailed.Load() {
			w.write(blk)
		}
		if !blk.tail {
			w.free <- blk.buf[:0]
		}
		if blk.sync {
			w.ack <- w.Err()
		}
	}
	if w.zw != nil {
		if err := w.zw.Close(); err != nil {
			w.fail(fmt.Errorf("write trace %s: finish zstd stream: %w", w.name, err))
		}
	}
	if w.file != nil {
		if err := w.file.Sync(); err != nil {
			w.fail(fmt.Errorf("write trace %s: sync: %w", w.name, err))
		}
		if err := w.file.Close(); err != nil {
			w.fail(fmt.Errorf("write trace %s: close: %w", w.name, err))
		}
	}
	w.done <- w.Err()
}

// write writes one block. Compressed, it flushes the encoder after it, so
// that what is in the file always decodes up to the last complete block.
// With O_DIRECT a full block is one aligned write, and a part of one (a
// flush, the end of the recording) goes through the page cache.
func (w *TraceWriter) write(blk traceBlock) {
	p := blk.buf
	switch {
	case w.dw != nil:
		var err error
		if len(p) == cap(p) && !blk.tail {
			err = w.dw.writeChunk(p)
		} else {
			err = w.dw.writeTail(p)
		}
		if err != nil {
			w.fail(fmt.Errorf("write trace %s: %w", w.name, err))
		}
	case w.zw != nil:
		if _, err := w.zw.Write(p); err != nil {
			w.fail(fmt.Errorf("write trace %s: compress: %w", w.name, err))
			return
		}
		if err := w.zw.Flush(); err != nil {
			w.fail(fmt.Errorf("write trace %s: compress: %w", w.name, err))
		}
	default:
		if _, err := w.out.Write(p); err != nil {
			w.fail(fmt.Errorf("write trace %s: %w", w.name, err))
		}
	}
}

// fail records the first error.
func (w *TraceWriter) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
		w.failed.Store(true)
	}
	w.wfailed.Store(true)
}

// Flush hands the stream recorded so far to the writer goroutine and waits
// until it is written to the file (the file is not fsynced; Close does
// that). It returns the first write error.
func (w *TraceWriter) Flush() error {
	if w.closed {
		if w.closeErr != nil {
			return w.closeErr
		}
		return fmt.Errorf("flush trace %s: the writer is closed", w.name)
	}
	if len(w.evf) > 0 {
		w.closeBatch()
	}
	return w.handOff(true)
}

// Close writes the end frame (the counts of inputs and events), flushes,
// finishes the zstd stream, and fsyncs and closes the file if CreateTrace
// opened it. It returns the first error of the whole recording. Calling it
// again returns the same result.
func (w *TraceWriter) Close() error {
	if w.closed {
		return w.closeErr
	}
	w.closed = true
	if !w.failed.Load() {
		if len(w.evf) > 0 {
			w.closeBatch()
		}
		var p [2 * binary.MaxVarintLen64]byte
		n := binary.PutUvarint(p[:], w.inputs)
		n += binary.PutUvarint(p[n:], w.events)
		w.put(appendFrame(nil, frameEnd, p[:n]))
	}
	// The last block, full or not, is the end of the stream.
	w.full <- traceBlock{buf: w.cur, tail: w.dw != nil}
	w.cur = nil
	close(w.full)
	w.closeErr = <-w.done
	if w.stream != nil {
		if err := w.stream.Close(); err != nil && w.closeErr == nil {
			w.closeErr = fmt.Errorf("write trace %s: close: %w", w.name, err)
		}
	}
	return w.closeErr
}

// Counts returns how many inputs and events have been recorded.
func (w *TraceWriter) Counts() (inputs, events uint64) { return w.inputs, w.events }

// Err returns the first write error, if any. After one, Input and Event do
// nothing. It is safe to call from any goroutine.
func (w *TraceWriter) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
