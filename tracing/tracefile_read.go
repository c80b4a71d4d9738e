package tracing

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// RecordKind says what a Record holds.
type RecordKind uint8

const (
	// RecordInput is a kernel input (Record.Input).
	RecordInput RecordKind = iota + 1
	// RecordEvent is a trace event (Record.Event).
	RecordEvent
)

// String names the kind.
func (k RecordKind) String() string {
	switch k {
	case RecordInput:
		return "input"
	case RecordEvent:
		return "event"
	}
	return fmt.Sprintf("record(%d)", uint8(k))
}

// Record is one input or one event read from a trace, in file order.
type Record struct {
	Kind  RecordKind
	Input Input // when Kind is RecordInput; Data belongs to the caller
	Event Event // when Kind is RecordEvent
}

// TraceError describes a trace file that cannot be read (further): what is
// wrong and where. Every record before it was good.
type TraceError struct {
	// Name is the file name.
	Name string
	// Offset is the byte offset in the (decompressed) stream where the
	// problem starts: the magic and the header frame count, and for a
	// compressed file the offsets after them are in the decompressed data.
	Offset int64
	// Frame is the number of the frame with the problem (1 = header), or
	// 0 for a problem with the file as a whole (empty, not a trace, a
	// format this package does not read).
	Frame uint64
	// Problem says what is wrong, for a person.
	Problem string
	// Truncated is true when the data simply stops (a cut file, a killed
	// recorder): everything before it is usable. It is false for damage.
	Truncated bool

	err error // underlying error, if any
}

// Error formats the problem as one line: "NAME: byte OFFSET, frame N:
// PROBLEM", without the parts that do not apply.
func (e *TraceError) Error() string {
	var b strings.Builder
	if e.Name != "" {
		b.WriteString(e.Name)
		b.WriteString(": ")
	}
	if e.Frame > 0 {
		fmt.Fprintf(&b, "byte %d, frame %d: ", e.Offset, e.Frame)
	}
	b.WriteString(strings.ReplaceAll(e.Problem, "\n", " "))
	return b.String()
}

// Unwrap returns the underlying error (a zstd or JSON error), if any.
func (e *TraceError) Unwrap() error { return e.err }

// TraceReader reads a trace file record by record.
type TraceReader struct {
	name  string
	file  *os.File // closed by Close when OpenTrace opened it
	under sourceReader
	raw   *bufio.Reader
	zr    *zstd.Decoder
	src   io.Reader // raw, or zr after the header of a compressed file
	hdr   TraceHeader

	off   int64  // offset in the (decompressed) stream of the next byte
	frame uint64 // frames read completely
	buf   []byte // the last frame's type and payload, reused

	batch  []byte     // payload of the events frame being returned
	bpos   int        // next event in batch
	bstart int64      // stream offset of batch[0]
	delta  deltaState // decoder state of batch

	inputs, events uint64 // records returned
	err            error  // sticky: io.EOF or the error that stopped reading
}

// OpenTrace opens a trace file and reads its header.
func OpenTrace(path string) (*TraceReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trace: %w", err)
	}
	r, err := NewTraceReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewTraceReader reads a trace from r and reads its header. name is used
// in error messages. Problems with the file are *TraceError values.
func NewTraceReader(r io.Reader, name string) (*TraceReader, error) {
	tr := &TraceReader{name: name, under: sourceReader{r: r}}
	tr.raw = bufio.NewReaderSize(&tr.under, 64<<10)
	tr.src = tr.raw
	if err := tr.readMagic(); err != nil {
		return nil, err
	}
	typ, payload, err := tr.readFrame()
	if err != nil {
		return nil, err
	}
	if typ != frameHeader {
		return nil, tr.damaged(int64(len(TraceMagic)), 1, fmt.Sprintf("the first frame is an %s frame, not the header", frameTypeName(typ)), nil)
	}
	var v struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, tr.damaged(int64(len(TraceMagic)), 1, "the header is not valid JSON: "+err.Error(), err)
	}
	switch {
	case v.Format == nil:
		return nil, tr.damaged(int64(len(TraceMagic)), 1, "the header has no format version", nil)
	case *v.Format > TraceFormatVersion:
		return nil, &TraceError{Name: name, Offset: int64(len(TraceMagic)),
			Problem: fmt.Sprintf("format version %d is newer than this stackscope reads (%d)", *v.Format, TraceFormatVersion)}
	case *v.Format < 1:
		return nil, &TraceError{Name: name, Offset: int64(len(TraceMagic)),
			Problem: fmt.Sprintf("format version %d is not a valid version", *v.Format)}
	}
	if err := json.Unmarshal(payload, &tr.hdr); err != nil {
		return nil, tr.damaged(int64(len(TraceMagic)), 1, "the header does not decode: "+err.Error(), err)
	}
	if tr.hdr.Compressed {
		tr.zr, err = zstd.NewReader(tr.raw,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, fmt.Errorf("read trace %s: start zstd: %w", name, err)
		}
		tr.src = tr.zr
	}
	return tr, nil
}

// readMagic checks the first 8 bytes.
func (r *TraceReader) readMagic() error {
	var m [len(TraceMagic)]byte
	n, err := io.ReadFull(r.raw, m[:])
	r.off = int64(n)
	switch {
	case err != nil && !isEnd(err):
		return fmt.Errorf("read trace %s: %w", r.name, err)
	case n == 0:
		return &TraceError{Name: r.name, Problem: "empty file, not a stackscope trace", Truncated: true}
	case n < len(m) && string(m[:n]) == TraceMagic[:n]:
		return &TraceError{Name: r.name, Truncated: true,
			Problem: fmt.Sprintf("truncated: the file ends after %d bytes, inside the %d-byte stackscope signature", n, len(m))}
	case string(m[:n]) != TraceMagic:
		return &TraceError{Name: r.name, Problem: fmt.Sprintf("not a stackscope trace (it starts with %q)", m[:n])}
	}
	return nil
}

// Header returns the trace's header.
func (r *TraceReader) Header() TraceHeader { return r.hdr }

// Next returns the next record in file order. At a clean end frame it
// returns io.EOF. On a damaged or cut file it returns a *TraceError (the
// records before it were all good); on a read error, that error wrapped.
// After an error, Next keeps returning it.
func (r *TraceReader) Next() (Record, error) {
	for r.err == nil {
		if r.bpos < len(r.batch) {
			ev, n, err := r.delta.decodeEvent(r.batch[r.bpos:])
			if err != nil {
				r.err = r.damaged(r.bstart+int64(r.bpos), r.frame, "damaged event: "+err.Error(), nil)
				break
			}
			r.bpos += n
			r.events++
			return Record{Kind: RecordEvent, Event: ev}, nil
		}
		start := r.off
		typ, payload, err := r.readFrame()
		if err != nil {
			r.err = err
			break
		}
		switch typ {
		case frameEvents:
			r.batch, r.bpos, r.bstart = payload, 0, start+framePrefix
			r.delta.reset()
		case frameInput:
			in, ok := decodeInput(payload)
			if !ok {
				r.err = r.damaged(start, r.frame, "damaged input frame", nil)
				break
			}
			r.inputs++
			return Record{Kind: RecordInput, Input: in}, nil
		case frameEnd:
			r.err = r.checkEnd(start, payload)
		case frameHeader:
			r.err = r.damaged(start, r.frame, "a second header frame", nil)
		}
	}
	return Record{}, r.err
}

// decodeInput decodes an input frame's payload, copying the data.
func decodeInput(p []byte) (Input, bool) {
	if len(p) < 2 {
		return Input{}, false
	}
	t, n := binary.Varint(p[1:])
	if n <= 0 {
		return Input{}, false
	}
	return Input{Op: p[0], Time: t, Data: bytes.Clone(p[1+n:])}, true
}

// checkEnd checks the end frame's counts against what was read and returns
// io.EOF if they agree.
func (r *TraceReader) checkEnd(start int64, p []byte) error {
	inputs, i, ok := uvarint(p, 0)
	events, j, ok2 := uvarint(p, i)
	if !ok || !ok2 || j != len(p) {
		return r.damaged(start, r.frame, "damaged end frame", nil)
	}
	if inputs != r.inputs || events != r.events {
		return r.damaged(start, r.frame, fmt.Sprintf("the end frame counts %d inputs and %d events, but the file holds %d and %d",
			inputs, events, r.inputs, r.events), nil)
	}
	return io.EOF
}

// readFrame reads one whole frame and checks it. It returns the type and
// the payload (valid until the next call).
func (r *TraceReader) readFrame() (byte, []byte, error) {
	start := r.off
	num := r.frame + 1
	var h [framePrefix]byte
	n, err := io.ReadFull(r.src, h[:])
	r.off += int64(n)
	if err != nil {
		if n == 0 && isEnd(err) {
			return 0, nil, &TraceError{Name: r.name, Offset: start, Frame: num, Truncated: true,
				Problem: fmt.Sprintf("ends without an end frame (the recording was cut off after frame %d)", r.frame)}
		}
		return 0, nil, r.readError(start, num, err)
	}
	size := binary.LittleEndian.Uint32(h[:4])
	if size == 0 {
		return 0, nil, r.damaged(start, num, "frame of 0 bytes (a frame holds at least its type)", nil)
	}
	if size > maxFrameSize {
		return 0, nil, r.damaged(start, num, fmt.Sprintf("frame of %d bytes is larger than the %d MiB limit", size, maxFrameSize>>20), nil)
	}
	// Read type+payload+checksum into buf, growing it only as data
	// arrives, so a cut file that claims a big frame costs little.
	want := int(size) + frameSuffix
	buf := append(r.buf[:0], h[4])
	for len(buf) < want && err == nil {
		chunk := min(want-len(buf), max(64<<10, len(buf)))
		buf = slices.Grow(buf, chunk)
		n, err = io.ReadFull(r.src, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+n]
		r.off += int64(n)
	}
	r.buf = buf
	if err != nil {
		return 0, nil, r.readError(start, num, err)
	}
	body := buf[:size]
	sum := binary.LittleEndian.Uint32(buf[size:])
	if crc32.Update(0, castagnoli, body) != sum {
		return 0, nil, r.damaged(start, num, "checksum mismatch", nil)
	}
	typ := body[0]
	switch typ {
	case frameHeader, frameInput, frameEvents, frameEnd:
	default:
		return 0, nil, r.damaged(start, num, fmt.Sprintf("unknown frame type 0x%02x", typ), nil)
	}
	r.frame = num
	return typ, body[1:], nil
}

// readError turns an error met inside frame num into a TraceError: the
// data stopped (truncated), the compressed stream is damaged, or a read
// error from below.
func (r *TraceReader) readError(start int64, num uint64, err error) error {
	if isEnd(err) {
		return &TraceError{Name: r.name, Offset: start, Frame: num, Truncated: true,
			Problem: fmt.Sprintf("truncated: the file ends inside frame %d (the recording stopped before it was complete)", num)}
	}
	if r.zr != nil && r.under.err == nil {
		return r.damaged(start, num, "compressed data is damaged: "+err.Error(), err)
	}
	return fmt.Errorf("read trace %s: byte %d, frame %d: %w", r.name, start, num, err)
}

// sourceReader passes reads through and remembers the first error other
// than io.EOF, so that a failing disk is not mistaken for damaged
// compressed data.
type sourceReader struct {
	r   io.Reader
	err error
}

// Read reads from the underlying reader.
func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// damaged builds a TraceError for corruption.
func (r *TraceReader) damaged(off int64, frame uint64, problem string, err error) *TraceError {
	return &TraceError{Name: r.name, Offset: off, Frame: frame, Problem: problem, err: err}
}

// isEnd reports whether err means the data stopped.
func isEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Close releases the reader and closes the file if OpenTrace opened it.
func (r *TraceReader) Close() error {
	if r.zr != nil {
		r.zr.Close()
		r.zr = nil
	}
	r.src = nil
	r.err = fmt.Errorf("read trace %s: the reader is closed", r.name)
	if r.file != nil {
		f := r.file
		r.file = nil
		if err := f.Close(); err != nil {
			return fmt.Errorf("close trace %s: %w", r.name, err)
		}
	}
	return nil
}

// CopyRecords copies every record left in r into w, in order, up to r's
// end: a trace rewritten under another header (tools, tests). It stops at
// the first error of r.
func CopyRecords(r *TraceReader, w *TraceWriter) error {
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Kind == RecordInput {
			w.Input(rec.Input)
		} else {
			w.Event(&rec.Event)
		}
	}
}
