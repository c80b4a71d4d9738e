package tracing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
)

// FuzzTraceReader feeds arbitrary bytes to the trace reader: reading every
// record must terminate without a panic, and every problem must be a
// *TraceError (the bytes come from memory, so there are no read errors).
// Each input is read twice: as it is, and with the checksums of its
// frames recomputed, so that mutations reach the event and input decoders
// behind the checksum.
func FuzzTraceReader(f *testing.F) {
	recs := genRecords(40, 11)
	plain := writeRecords(f, recs, TraceOptions{}, 9)
	packed := writeRecords(f, recs, TraceOptions{Compress: true}, 9)
	f.Add(plain)
	f.Add(packed)
	f.Add(plain[:len(plain)/2])
	f.Add(plain[:len(plain)-3])
	f.Add(packed[:len(packed)/2])
	f.Add(packed[:len(packed)-20])
	f.Add(plain[:len(TraceMagic)+20])
	f.Add([]byte{})
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
	f.Add([]byte(`{"traceEvents":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		readToEnd(t, data)
		if fixed, ok := fixChecksums(data); ok {
			readToEnd(t, fixed)
		}
	})
}

// readToEnd reads every record of data and checks how reading stopped.
func readToEnd(t *testing.T, data []byte) {
	r, err := NewTraceReader(bytes.NewReader(data), "fuzz")
	if err != nil {
		var te *TraceError
		if !errors.As(err, &te) {
			t.Fatalf("NewTraceReader: %v is not a TraceError", err)
		}
		if te.Error() == "" {
			t.Fatal("empty message")
		}
		return
	}
	defer r.Close()
	// Compressed data can expand far beyond its size, but it cannot go
	// on for ever: every record uses at least a byte of the stream.
	for n := 0; n < 1<<26; n++ {
		rec, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var te *TraceError
			if !errors.As(err, &te) {
				t.Fatalf("Next: %v is not a TraceError", err)
			}
			if _, again := r.Next(); again != err {
				t.Fatalf("Next after an error returned %v, then %v", err, again)
			}
			return
		}
		if rec.Kind != RecordEvent && rec.Kind != RecordInput {
			t.Fatalf("record of kind %v", rec.Kind)
		}
	}
	t.Fatal("reading did not end")
}

// fixChecksums rewrites the checksum of every complete frame of an
// uncompressed trace so that it matches. ok is false when data does not
// start like a trace.
func fixChecksums(data []byte) ([]byte, bool) {
	if !bytes.HasPrefix(data, []byte(TraceMagic)) {
		return nil, false
	}
	out := bytes.Clone(data)
	for off := len(TraceMagic); off+4 < len(out); {
		size := int(binary.LittleEndian.Uint32(out[off:]))
		end := off + 4 + size + 4
		if size == 0 || size > maxFrameSize || end > len(out) {
			break
		}
		binary.LittleEndian.PutUint32(out[end-4:], crc32.Update(0, castagnoli, out[off+4:end-4]))
		off = end
	}
	return out, true
}

// FuzzEventBatch decodes arbitrary bytes as the payload of an events frame
// and checks that whatever decodes re-encodes to the same events.
func FuzzEventBatch(f *testing.F) {
	var s deltaState
	var b []byte
	for _, r := range genRecords(50, 12) {
		if r.Kind == RecordEvent {
			b = s.appendEvent(b, &r.Event)
		}
	}
	f.Add(b)
	f.Add([]byte{0x00, 9, 7, 1, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d deltaState
		var evs []Event
		for p := data; len(p) > 0; {
			ev, n, err := d.decodeEvent(p)
			if err != nil {
				break
			}
			if n <= 0 || n > len(p) {
				t.Fatalf("decodeEvent used %d of %d bytes", n, len(p))
			}
			evs = append(evs, ev)
			p = p[n:]
		}
		var e, d2 deltaState
		var enc []byte
		for i := range evs {
			enc = e.appendEvent(enc, &evs[i])
		}
		for i, p := 0, enc; len(p) > 0; i++ {
			ev, n, err := d2.decodeEvent(p)
			if err != nil || ev != evs[i] {
				t.Fatalf("event %d: re-decoded %+v (%v), want %+v", i, ev, err, evs[i])
			}
			p = p[n:]
		}
	})
}
