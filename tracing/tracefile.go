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
}

// TraceOptions tunes a TraceWriter. The zero value is a sensible default.
type TraceOptions struct {
	// Compress compresses everything after the header frame with zstd.
	Compress bool
	// BufferSize is the size in bytes of the blocks handed to the writer
	// goroutine (input payloads, and room for BufferSize/128 events); 0
	// means 1 MiB. Values below 8 KiB are raised to 8 KiB.
	BufferSize int
	// Blocks is how many full blocks may wait for the writer goroutine;
	// 0 means 8. When that many wait, the recording caller waits too:
	// nothing is ever dropped.
	Blocks int
}

const (
	defaultBlockSize = 1 << 20
	minBlockSize     = 8 << 10
	defaultBlocks    = 8
	// zstdWindow is the compression window. A reader accepts up to
	// maxZstdWindow, which bounds its memory whatever the file says.
	zstdWindow    = 256 << 10
	maxZstdWindow = 1 << 20
)

// rawRec is one input or event as the recording goroutine left it: a copy
// of the event, or the input's opcode, time and where its payload lies in
// the block's data. Encoding waits for the writer goroutine.
type rawRec struct {
	ev       Event
	input    bool
	op       uint8
	time     int64
	off, end int
}

// rawBlock is what the recording goroutine fills and hands to the writer
// goroutine: records in the order they happened and the inputs' payloads.
// A sync block asks the goroutine to acknowledge it on ack once it and
// everything before it is written; the last one carries the counts for
// the end frame.
type rawBlock struct {
	recs   []rawRec
	data   []byte
	sync   bool
	last   bool
	inputs uint64
	events uint64
}

// TraceWriter records inputs and events into a trace file.
//
// Recording happens on the kernel loop, which is what limits how fast the
// kernel runs, so it does as little as it can there: Input copies the
// payload and Event copies the event into a block, with no allocation and
// no encoding. Full blocks go to a writer goroutine over a bounded
// channel; it encodes them (the delta encoding of events, the frames and
// their checksums, zstd) and writes them out. The caller waits only when
// that channel is full. Input, InputAppend, Event, Flush, Close and
// Counts must be called from one goroutine at a time (the one that
// records); Err may be called from any goroutine. Close must be called to
// stop the writer goroutine.
type TraceWriter struct {
	name string
	file *os.File // closed by Close when CreateTrace opened it

	// Owned by the recording goroutine.
	raw       *rawBlock // the block being filled
	blockSize int       // payload bytes a block holds before it is handed over
	recCap    int       // records a block holds
	nalloc    int       // blocks allocated so far
	maxAlloc  int       // blocks that may exist at once
	inputs    uint64    // inputs recorded
	events    uint64    // events recorded
	closed    bool      // Close was called
	closeErr  error     // what Close returned
	full      chan *rawBlock
	free      chan *rawBlock
	ack       chan error // answers sync blocks
	done      chan error // the writer goroutine's last word

	// Owned by the writer goroutine.
	enc traceEncoder
	out io.Writer
	zw  *zstd.Encoder

	failed atomic.Bool // err is set: checked on the recording fast path
	mu     sync.Mutex  // guards err
	err    error
}

// CreateTrace creates (or truncates) the file at path with mode 0600 and
// starts recording into it: it writes the magic and the header frame. If
// h.Funcs is nil it is filled from the function registry; h.Format and
// h.Compressed are set by the writer.
func CreateTrace(path string, h TraceHeader, opt TraceOptions) (*TraceWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create trace: %w", err)
	}
	// The mode given to OpenFile only applies to a new file, and the
	// umask may have changed it: a trace can hold a whole session's
	// traffic, so it is private whatever was there before.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("create trace %s: %w", path, err)
	}
	w, err := newTraceWriter(f, f, path, h, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// NewTraceWriter starts recording onto any writer, as CreateTrace does onto
// a file. Close flushes it but does not close it.
func NewTraceWriter(w io.Writer, h TraceHeader, opt TraceOptions) (*TraceWriter, error) {
	return newTraceWriter(w, nil, "trace", h, opt)
}

// newTraceWriter writes the header onto out and starts the writer
// goroutine; file, if not nil, is synced and closed by Close.
func newTraceWriter(out io.Writer, file *os.File, name string, h TraceHeader, opt TraceOptions) (*TraceWriter, error) {
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
	if _, err := out.Write(head); err != nil {
		return nil, fmt.Errorf("write trace %s: header: %w", name, err)
	}

	blockSize := opt.BufferSize
	if blockSize <= 0 {
		blockSize = defaultBlockSize
	}
	blockSize = max(blockSize, minBlockSize)
	blocks := opt.Blocks
	if blocks <= 0 {
		blocks = defaultBlocks
	}
	w := &TraceWriter{
		name:      name,
		file:      file,
		blockSize: blockSize,
		recCap:    blockSize / rawRecBytes,
		nalloc:    1,
		// blocks waiting, one being encoded, one being filled
		maxAlloc: blocks + 2,
		full:     make(chan *rawBlock, blocks),
		free:     make(chan *rawBlock, blocks+2),
		ack:      make(chan error, 1),
		done:     make(chan error, 1),
		out:      out,
	}
	w.raw = w.newBlock()
	w.enc = traceEncoder{w: w, batch: -1, cur: make([]byte, 0, blockSize)}
	if opt.Compress {
		w.zw, err = zstd.NewWriter(out,
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			return nil, fmt.Errorf("write trace %s: start zstd: %w", name, err)
		}
	}
	go w.run()
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

// Input records an input. It copies in.Data. An input too large for a
// frame (16 MiB) is a write error: it stops the recording.
func (w *TraceWriter) Input(in Input) {
	w.InputAppend(in.Op, in.Time, func(b []byte) []byte { return append(b, in.Data...) })
}

// InputAppend records an input whose payload payload appends to the
// slice it is given, so that a caller that builds the payload from pieces
// writes it straight into the recording, with no copy of its own. payload
// must only append.
func (w *TraceWriter) InputAppend(op uint8, at int64, payload func([]byte) []byte) {
	if w.closed || w.failed.Load() {
		return
	}
	if len(w.raw.recs) == w.recCap || len(w.raw.data) >= w.blockSize {
		w.handOff(false)
	}
	rb := w.raw
	off := len(rb.data)
	rb.data = payload(rb.data)
	if n := len(rb.data) - off; 2+binary.MaxVarintLen64+n > maxFrameSize {
		rb.data = rb.data[:off]
		w.fail(fmt.Errorf("write trace %s: input %d of %d bytes is larger than the %d MiB frame limit",
			w.name, w.inputs+1, n, maxFrameSize>>20))
		return
	}
	rb.recs = append(rb.recs, rawRec{input: true, op: op, time: at, off: off, end: len(rb.data)})
	w.inputs++
}

// Event records an event. It has the Subscriber signature, so a writer can
// be passed to Tracer.Subscribe directly. It does not keep ev.
func (w *TraceWriter) Event(ev *Event) {
	if w.closed || w.failed.Load() {
		return
	}
	if len(w.raw.recs) == w.recCap {
		w.handOff(false)
	}
	n := len(w.raw.recs)
	w.raw.recs = w.raw.recs[:n+1]
	r := &w.raw.recs[n]
	r.ev, r.input = *ev, false
	w.events++
}

// handOff gives the current block to the writer goroutine, waiting while
// Blocks blocks already wait, and takes a fresh one. With sync it also
// waits until the goroutine has written it, and returns the first write
// error.
func (w *TraceWriter) handOff(sync bool) error {
	w.raw.sync = sync
	w.full <- w.raw
	var err error
	if sync {
		err = <-w.ack
	}
	w.raw = w.takeBlock()
	return err
}

// rawRecBytes is about what one record costs in a block, which sets how
// many records a block of blockSize bytes holds.
const rawRecBytes = 128

// newBlock allocates an empty block.
func (w *TraceWriter) newBlock() *rawBlock {
	return &rawBlock{recs: make([]rawRec, 0, max(w.recCap, 1)), data: make([]byte, 0, w.blockSize)}
}

// takeBlock returns an empty block: a recycled one, a new one while fewer
// than maxAlloc exist, or else the next one the writer goroutine frees.
func (w *TraceWriter) takeBlock() *rawBlock {
	select {
	case b := <-w.free:
		return b
	default:
	}
	if w.nalloc < w.maxAlloc {
		w.nalloc++
		return w.newBlock()
	}
	return <-w.free
}

// run is the writer goroutine: it encodes and writes blocks in order,
// recycles them, and at the end finishes the zstd stream and the file.
func (w *TraceWriter) run() {
	for rb := range w.full {
		if !w.failed.Load() {
			w.enc.block(rb)
		}
		sync := rb.sync
		rb.recs, rb.sync, rb.last = rb.recs[:0], false, false
		if cap(rb.data) > 4*w.blockSize {
			rb.data = make([]byte, 0, w.blockSize) // one huge input: do not keep its room
		}
		rb.data = rb.data[:0]
		w.free <- rb
		if sync {
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

// write writes encoded frames. Compressed, it flushes the encoder after
// them, so that what is in the file always decodes up to the last
// complete write.
func (w *TraceWriter) write(p []byte) {
	if w.zw == nil {
		if _, err := w.out.Write(p); err != nil {
			w.fail(fmt.Errorf("write trace %s: %w", w.name, err))
		}
		return
	}
	if _, err := w.zw.Write(p); err != nil {
		w.fail(fmt.Errorf("write trace %s: compress: %w", w.name, err))
		return
	}
	if err := w.zw.Flush(); err != nil {
		w.fail(fmt.Errorf("write trace %s: compress: %w", w.name, err))
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
}

// Flush hands what has been recorded to the writer goroutine and waits
// until it is all written to the file (the file is not fsynced; Close
// does that). It returns the first write error.
func (w *TraceWriter) Flush() error {
	if w.closed {
		if w.closeErr != nil {
			return w.closeErr
		}
		return fmt.Errorf("flush trace %s: the writer is closed", w.name)
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
	w.raw.last, w.raw.inputs, w.raw.events = true, w.inputs, w.events
	w.full <- w.raw
	w.raw = nil
	close(w.full)
	w.closeErr = <-w.done
	return w.closeErr
}

// traceEncoder turns blocks of raw records into frames, on the writer
// goroutine: inputs become input frames, runs of events become events
// frames of up to batchLimit bytes, delta-encoded.
type traceEncoder struct {
	w     *TraceWriter
	cur   []byte     // encoded frames not written yet
	batch int        // offset in cur of the open events frame, -1 if none
	delta deltaState // encoder state of the open events frame
}

// block encodes a block's records and writes them out, closing any open
// events frame, so that the file ends with whole frames after every block.
func (e *traceEncoder) block(rb *rawBlock) {
	for i := range rb.recs {
		r := &rb.recs[i]
		if r.input {
			e.input(r.op, r.time, rb.data[r.off:r.end])
		} else {
			e.event(&r.ev)
		}
	}
	if e.batch >= 0 {
		e.closeBatch()
	}
	if rb.last {
		var p [2 * binary.MaxVarintLen64]byte
		n := binary.PutUvarint(p[:], rb.inputs)
		n += binary.PutUvarint(p[n:], rb.events)
		if cap(e.cur)-len(e.cur) < framePrefix+n+frameSuffix {
			e.writeOut()
		}
		e.cur = appendFrame(e.cur, frameEnd, p[:n])
	}
	e.writeOut()
}

// writeOut writes what is encoded and empties the buffer.
func (e *traceEncoder) writeOut() {
	if len(e.cur) > 0 && !e.w.failed.Load() {
		e.w.write(e.cur)
	}
	e.cur = e.cur[:0]
}

// input appends an input frame.
func (e *traceEncoder) input(op uint8, at int64, data []byte) {
	if e.batch >= 0 {
		e.closeBatch()
	}
	var head [1 + 1 + binary.MaxVarintLen64]byte // type, op, time
	head[0] = frameInput
	head[1] = op
	hn := 2 + binary.PutVarint(head[2:], at)
	size := hn + len(data) // type + payload
	total := 4 + size + frameSuffix
	if cap(e.cur)-len(e.cur) < total && len(e.cur) > 0 && total <= cap(e.cur) {
		e.writeOut()
	}
	if cap(e.cur)-len(e.cur) >= total {
		start := len(e.cur)
		e.cur = binary.LittleEndian.AppendUint32(e.cur, uint32(size))
		e.cur = append(e.cur, head[:hn]...)
		e.cur = append(e.cur, data...)
		crc := crc32.Update(0, castagnoli, e.cur[start+4:])
		e.cur = binary.LittleEndian.AppendUint32(e.cur, crc)
		return
	}
	// Larger than the buffer: the frame goes out in pieces, which the
	// stream does not mind, and its payload is written from where it is.
	crc := crc32.Update(0, castagnoli, head[:hn])
	crc = crc32.Update(crc, castagnoli, data)
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(size))
	e.spill(n[:])
	e.spill(head[:hn])
	e.writeOut()
	if !e.w.failed.Load() {
		e.w.write(data)
	}
	binary.LittleEndian.PutUint32(n[:], crc)
	e.spill(n[:])
}

// event appends an event to the open events frame, opening one if none is.
func (e *traceEncoder) event(ev *Event) {
	if e.batch < 0 {
		e.openBatch()
	}
	e.cur = e.delta.appendEvent(e.cur, ev)
	if len(e.cur)-e.batch >= batchLimit {
		e.closeBatch()
	}
}

// openBatch starts an events frame in a buffer with room for all of it.
func (e *traceEncoder) openBatch() {
	if cap(e.cur)-len(e.cur) < framePrefix+batchLimit+maxEventSize+frameSuffix {
		e.writeOut()
	}
	e.batch = len(e.cur)
	e.cur = append(e.cur, 0, 0, 0, 0, frameEvents)
	e.delta.reset()
}

// closeBatch completes the open events frame: its length and checksum.
func (e *traceEncoder) closeBatch() {
	b := e.batch
	binary.LittleEndian.PutUint32(e.cur[b:], uint32(len(e.cur)-b-4))
	crc := crc32.Update(0, castagnoli, e.cur[b+4:])
	e.cur = binary.LittleEndian.AppendUint32(e.cur, crc)
	e.batch = -1
}

// spill appends p, writing the buffer out whenever it fills.
func (e *traceEncoder) spill(p []byte) {
	for len(p) > 0 {
		room := cap(e.cur) - len(e.cur)
		if room == 0 {
			e.writeOut()
			continue
		}
		k := min(room, len(p))
		e.cur = append(e.cur, p[:k]...)
		p = p[k:]
	}
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
