package tracing

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testHeader is the header the trace tests write.
func testHeader() TraceHeader {
	return TraceHeader{
		Version: "v0.0.0-test",
		Mode:    "run",
		Kernel:  json.RawMessage(`{"hostname":"stackscope","addr":"10.0.0.1"}`),
		Source:  &TraceSource{Name: "handshake.pkt", Text: "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"},
	}
}

// genRecords builds a deterministic, varied stream of n records: nested
// entry/exit pairs with skb and sock addresses that move a little,
// negative ints, errnos, gaps in seq, task switches, points, inputs with
// packets, and a few odd hand-made events the tracer would never emit but
// that must still round-trip exactly.
func genRecords(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var recs []Record
	seq := uint64(0)
	now := int64(1_000_000)
	task := uint32(0)
	depth := uint16(0)
	var stack []FuncID
	skb := uint64(0xffff888004a3c000)
	sock := uint64(0xffff888003b10000)
	for len(recs) < n {
		seq++
		if rng.IntN(50) == 0 {
			seq += uint64(rng.IntN(1000)) // events the recorder did not see
		}
		switch rng.IntN(4) {
		case 0: // same time
		case 1:
			now += int64(rng.IntN(200))
		default:
			now += int64(rng.IntN(100_000))
		}
		if rng.IntN(40) == 0 {
			task = uint32(rng.IntN(3)) * 1000
		}
		if rng.IntN(10) == 0 {
			skb += uint64(rng.IntN(16)) * 0x100
			if rng.IntN(4) == 0 {
				skb -= 0x800
			}
		}
		ev := Event{Seq: seq, Time: now, Task: task}
		switch r := rng.IntN(100); {
		case r < 6:
			data := make([]byte, rng.IntN(1500))
			for i := range data {
				data[i] = byte(rng.UintN(256))
			}
			if len(data) == 0 {
				data = nil
			}
			recs = append(recs, Record{Kind: RecordInput, Input: Input{Op: uint8(rng.IntN(8)), Time: now, Data: data}})
			seq--
			continue
		case r < 10:
			ev.Kind, ev.Func, ev.Depth = Point, FuncID(200+rng.IntN(3)), depth
			switch rng.IntN(3) {
			case 0:
				ev = ev.WithArgs(Arg{})
			case 1:
				ev = ev.WithArgs(Arg{}, Skb(skb))
			default:
				ev = ev.WithArgs(Arg{}, Skb(skb), Reason(uint64(rng.IntN(80))))
			}
		case r < 52 || len(stack) == 0:
			fn := FuncID(1 + rng.IntN(120))
			ev.Kind, ev.Func, ev.Depth = Entry, fn, depth
			args := []Arg{Skb(skb), Sock(sock + uint64(rng.IntN(4))*0x800), Int(-int64(rng.IntN(5000))),
				Size(uint64(rng.IntN(65536))), Uint(uint64(rng.Uint32())), Errno(-int64(rng.IntN(120))),
				Bool(rng.IntN(2) == 0), IPv4(0x0100000a), State(uint8(rng.IntN(12))), Cache(0xffff888001000000),
				List(sock + 0x100), Page(0xffffea0000100000 + uint64(rng.IntN(64))*64), Ptr(rng.Uint64()),
				Int(math.MinInt64), Uint(math.MaxUint64)}
			k := rng.IntN(MaxArgs + 1)
			picked := make([]Arg, k)
			for i := range picked {
				picked[i] = args[rng.IntN(len(args))]
			}
			ev = ev.WithArgs(Arg{}, picked...)
			stack = append(stack, fn)
			depth++
		default:
			fn := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			depth--
			ev.Kind, ev.Func, ev.Depth = Exit, fn, depth
			switch rng.IntN(5) {
			case 0:
				ev = ev.WithArgs(Arg{})
			case 1:
				ev = ev.WithArgs(Errno(-11))
			case 2:
				ev = ev.WithArgs(Skb(skb))
			case 3:
				ev = ev.WithArgs(Int(int64(rng.IntN(3000)) - 100))
			default:
				ev = ev.WithArgs(Errno(0))
			}
		}
		switch rng.IntN(300) {
		case 0: // a clock step backwards
			ev.Time -= 5_000_000
			now = ev.Time
		case 1: // a kind the tracer does not make
			ev.Kind = Kind(rng.IntN(2) * 9)
		case 2: // NArg past MaxArgs
			ev.NArg = 7
		case 3: // an argument slot past NArg that is not empty
			ev = ev.WithArgs(Errno(-4), Skb(skb), Sock(sock))
			ev.NArg = 1
		case 4: // a seq going backwards (two tracers into one file)
			ev.Seq = seq / 2
		case 5: // a kernel clock that is negative
			ev.Time = -ev.Time
		}
		recs = append(recs, Record{Kind: RecordEvent, Event: ev})
	}
	return recs
}

// writeRecords records recs with NewTraceWriter and returns the bytes.
// flushEvery > 0 calls Flush after that many records.
func writeRecords(t testing.TB, recs []Record, opt TraceOptions, flushEvery int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewTraceWriter(&buf, testHeader(), opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		writeRecord(w, &recs[i])
		if flushEvery > 0 && (i+1)%flushEvery == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeRecord(w *TraceWriter, r *Record) {
	if r.Kind == RecordInput {
		w.Input(r.Input)
	} else {
		w.Event(&r.Event)
	}
}

// readRecords reads a whole trace: its header, its records, and the error
// that ended it (io.EOF for a clean end).
func readRecords(data []byte, name string) (TraceHeader, []Record, error) {
	r, err := NewTraceReader(bytes.NewReader(data), name)
	if err != nil {
		return TraceHeader{}, nil, err
	}
	defer r.Close()
	var recs []Record
	for {
		rec, err := r.Next()
		if err != nil {
			return r.Header(), recs, err
		}
		recs = append(recs, rec)
	}
}

// sameRecords compares two record lists exactly.
func sameRecords(t *testing.T, what string, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := &got[i], &want[i]
		if g.Kind != w.Kind || g.Event != w.Event || g.Input.Op != w.Input.Op || g.Input.Time != w.Input.Time ||
			!bytes.Equal(g.Input.Data, w.Input.Data) {
			t.Fatalf("%s: record %d:\n got %+v\nwant %+v", what, i, *g, *w)
		}
	}
}

func TestTraceRoundTrip(t *testing.T) {
	recs := genRecords(5000, 1)
	// A big input spans blocks; an empty one has no data at all.
	big := make([]byte, 200<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	recs = append(recs[:2500:2500], append([]Record{
		{Kind: RecordInput, Input: Input{Op: 3, Time: 77, Data: big}},
		{Kind: RecordInput, Input: Input{Op: 0, Time: -1}},
	}, recs[2500:]...)...)
	var inputs, events uint64
	for _, r := range recs {
		if r.Kind == RecordInput {
			inputs++
		} else {
			events++
		}
	}
	for _, tc := range []struct {
		name string
		opt  TraceOptions
	}{
		{"plain", TraceOptions{}},
		{"zstd", TraceOptions{Compress: true}},
		{"small-blocks", TraceOptions{BufferSize: 1, Blocks: 1}},
		{"zstd-small-blocks", TraceOptions{Compress: true, BufferSize: 9000, Blocks: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewTraceWriter(&buf, testHeader(), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			for i := range recs {
				writeRecord(w, &recs[i])
				if i == 1000 {
					if err := w.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if in, ev := w.Counts(); in != inputs || ev != events {
				t.Errorf("Counts = %d, %d; want %d, %d", in, ev, inputs, events)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if err := w.Flush(); err == nil {
				t.Error("Flush after Close succeeded")
			}
			w.Event(&recs[1].Event) // ignored
			if _, ev := w.Counts(); ev != events {
				t.Error("Event after Close counted")
			}
			if w.Err() != nil {
				t.Errorf("Err = %v", w.Err())
			}

			hdr, got, err := readRecords(buf.Bytes(), tc.name)
			if err != io.EOF {
				t.Fatalf("read: %v", err)
			}
			sameRecords(t, tc.name, got, recs)
			want := testHeader()
			if hdr.Format != TraceFormatVersion || hdr.Version != want.Version || hdr.Mode != want.Mode ||
				string(hdr.Kernel) != string(want.Kernel) || *hdr.Source != *want.Source || hdr.Compressed != tc.opt.Compress {
				t.Errorf("header: %+v", hdr)
			}
			if int(testFn) >= len(hdr.Funcs) || hdr.Funcs[testFn] != "tracing_test_fn" || hdr.Funcs[0] != "(none)" {
				t.Errorf("header funcs: %q", hdr.Funcs)
			}
			if !bytes.HasPrefix(buf.Bytes(), []byte(TraceMagic)) {
				t.Error("no magic")
			}
			t.Logf("%d records in %d bytes", len(recs), buf.Len())
		})
	}
}

func TestTraceFromTracer(t *testing.T) {
	clock := &fakeClock{now: 5}
	tr := NewTracer(clock)
	var buf bytes.Buffer
	w, err := NewTraceWriter(&buf, TraceHeader{Mode: "demo", Funcs: []string{"(none)"}}, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []Event
	tr.Subscribe(w.Event)
	tr.Subscribe(func(ev *Event) { want = append(want, *ev) })
	tr.Enter2(testFn, Skb(0xffff888004a3c000), Int(-3))
	clock.now = 9
	tr.Enter(testLeaf)
	tr.Point(testLeaf, Reason(2), Arg{})
	tr.Exit(testLeaf, Bool(true))
	tr.SetTask(42)
	tr.Exit(testFn, Errno(-104))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	hdr, recs, err := readRecords(buf.Bytes(), "tracer")
	if err != io.EOF || len(recs) != len(want) {
		t.Fatalf("read %d records, %v", len(recs), err)
	}
	for i := range want {
		if recs[i].Event != want[i] {
			t.Errorf("event %d: got %s want %s", i, recs[i].Event.String(), want[i].String())
		}
	}
	if len(hdr.Funcs) != 1 || hdr.Mode != "demo" {
		t.Errorf("header %+v", hdr)
	}
}

func TestTraceRecordingDoesNotAllocate(t *testing.T) {
	w, err := NewTraceWriter(io.Discard, TraceHeader{}, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ev := Event{Seq: 1, Time: 100, Kind: Entry, Func: 3}.WithArgs(Arg{}, Skb(0xffff888004a3c000), Int(-5))
	in := Input{Op: 1, Time: 100, Data: make([]byte, 1500)}
	allocs := testing.AllocsPerRun(20000, func() {
		ev.Seq++
		ev.Time += 100
		w.Event(&ev)
		if ev.Seq%50 == 0 {
			w.Input(in)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per event", allocs)
	}
}

func TestCreateTraceMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.trace")
	if err := os.WriteFile(path, []byte("an older, longer file that the trace replaces entirely"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := CreateTrace(path, testHeader(), TraceOptions{Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	recs := genRecords(300, 2)
	for i := range recs {
		writeRecord(w, &recs[i])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	r, err := OpenTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, "file", got, recs)

	newPath := filepath.Join(t.TempDir(), "new.trace")
	w, err = CreateTrace(newPath, TraceHeader{}, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if st, err := os.Stat(newPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("new file: %v %v", st.Mode().Perm(), err)
	}
	if _, err := OpenTrace(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := CreateTrace(filepath.Join(t.TempDir(), "no", "dir"), TraceHeader{}, TraceOptions{}); err == nil {
		t.Error("created a trace in a missing directory")
	}
}

// frameSpan is where one frame lies in an uncompressed trace and how many
// records it holds.
type frameSpan struct {
	start, end int
	typ        byte
	records    int
}

// walkFrames lists the frames of an uncompressed trace, counting the
// records of each with the codec (the reader is what is under test).
func walkFrames(t *testing.T, data []byte) []frameSpan {
	t.Helper()
	var spans []frameSpan
	for off := len(TraceMagic); off < len(data); {
		size := int(binary.LittleEndian.Uint32(data[off:]))
		s := frameSpan{start: off, end: off + 4 + size + 4, typ: data[off+4]}
		switch s.typ {
		case frameInput:
			s.records = 1
		case frameEvents:
			var d deltaState
			for p := data[off+5 : off+4+size]; len(p) > 0; {
				_, n, err := d.decodeEvent(p)
				if err != nil {
					t.Fatal(err)
				}
				p = p[n:]
				s.records++
			}
		}
		spans = append(spans, s)
		off = s.end
	}
	return spans
}

func TestTraceTruncatedAtEveryByte(t *testing.T) {
	recs := genRecords(60, 3)
	data := writeRecords(t, recs, TraceOptions{}, 7) // Flush makes many frames
	spans := walkFrames(t, data)
	if len(spans) < 10 || spans[len(spans)-1].typ != frameEnd {
		t.Fatalf("only %d frames", len(spans))
	}
	for cut := 0; cut <= len(data); cut++ {
		_, got, err := readRecords(data[:cut], "cut.trace")
		if cut == len(data) {
			if err != io.EOF {
				t.Fatalf("whole file: %v", err)
			}
			sameRecords(t, "whole", got, recs)
			continue
		}
		var te *TraceError
		if !errors.As(err, &te) || !te.Truncated {
			t.Fatalf("cut at %d: %v, want a truncation", cut, err)
		}
		want, frames := 0, 0
		for _, s := range spans {
			if s.end <= cut {
				want += s.records
				frames++
			}
		}
		sameRecords(t, fmt.Sprintf("cut at %d", cut), got, recs[:want])
		if strings.Contains(te.Error(), "\n") {
			t.Errorf("cut at %d: message on several lines: %q", cut, te.Error())
		}
		switch {
		case cut == 0:
			if te.Error() != "cut.trace: empty file, not a stackscope trace" {
				t.Errorf("empty: %q", te.Error())
			}
		case cut < len(TraceMagic):
			if te.Frame != 0 {
				t.Errorf("cut at %d: frame %d", cut, te.Frame)
			}
		case frames < len(spans) && cut == spans[frames].start:
			wantMsg := fmt.Sprintf("cut.trace: byte %d, frame %d: ends without an end frame (the recording was cut off after frame %d)",
				cut, frames+1, frames)
			if te.Error() != wantMsg {
				t.Errorf("cut at %d: %q, want %q", cut, te.Error(), wantMsg)
			}
		default:
			wantMsg := fmt.Sprintf("cut.trace: byte %d, frame %d: truncated: the file ends inside frame %d (the recording stopped before it was complete)",
				spans[frames].start, frames+1, frames+1)
			if te.Error() != wantMsg {
				t.Errorf("cut at %d: %q, want %q", cut, te.Error(), wantMsg)
			}
		}
	}
}

// TestTraceCompressedTruncated cuts a compressed trace: right after each
// Flush, and at a sample of other offsets.
func TestTraceCompressedTruncated(t *testing.T) {
	recs := genRecords(3000, 4)
	var buf bytes.Buffer
	w, err := NewTraceWriter(&buf, testHeader(), TraceOptions{Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	type mark struct{ size, records int }
	var marks []mark
	for i := range recs {
		writeRecord(w, &recs[i])
		if (i+1)%200 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			marks = append(marks, mark{buf.Len(), i + 1})
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()

	// Cut right after a flush, a killed recorder leaves every record
	// written before the flush readable.
	for _, m := range marks {
		_, got, err := readRecords(data[:m.size], "z.trace")
		var te *TraceError
		if !errors.As(err, &te) || !te.Truncated {
			t.Fatalf("cut at flush (%d bytes): %v", m.size, err)
		}
		sameRecords(t, fmt.Sprintf("cut at flush %d", m.size), got, recs[:m.records])
	}
	// Right after the header, before the recorder flushed anything.
	headEnd := len(TraceMagic) + 4 + int(binary.LittleEndian.Uint32(data[len(TraceMagic):])) + 4
	_, got, err := readRecords(data[:headEnd], "z.trace")
	wantMsg := fmt.Sprintf("z.trace: byte %d, frame 2: ends without an end frame (the recording was cut off after frame 1)", headEnd)
	if te := (*TraceError)(nil); len(got) != 0 || !errors.As(err, &te) || !te.Truncated || te.Error() != wantMsg {
		t.Errorf("cut after the header: %d records, %v", len(got), err)
	}
	// Anywhere else: a prefix of the records, and a truncation.
	step := max(1, len(data)/700)
	prev := 0
	for cut := 0; cut < len(data); cut += step {
		_, got, err := readRecords(data[:cut], "z.trace")
		var te *TraceError
		// Only the zstd epilogue missing: every frame is there.
		if !(errors.As(err, &te) && te.Truncated || err == io.EOF && len(got) == len(recs)) {
			t.Fatalf("cut at %d of %d: %v, want a truncation", cut, len(data), err)
		}
		if len(got) < prev {
			t.Fatalf("cut at %d: %d records, fewer than a shorter cut gave (%d)", cut, len(got), prev)
		}
		prev = len(got)
		sameRecords(t, fmt.Sprintf("cut at %d", cut), got, recs[:len(got)])
	}
	// The last bytes too (the zstd epilogue and checksum).
	for cut := len(data) - 12; cut < len(data); cut++ {
		_, got, err := readRecords(data[:cut], "z.trace")
		var te *TraceError
		if !(err == io.EOF || errors.As(err, &te) && te.Truncated) {
			t.Fatalf("cut at %d of %d: %v", cut, len(data), err)
		}
		sameRecords(t, fmt.Sprintf("cut at %d", cut), got, recs[:len(got)])
	}
}

func TestTraceCorruptFrames(t *testing.T) {
	recs := genRecords(60, 5)
	data := writeRecords(t, recs, TraceOptions{}, 7)
	spans := walkFrames(t, data)
	before := 0
	for i, s := range spans {
		// Flip a byte of the type, the payload or the checksum.
		for _, at := range []int{s.start + 4, (s.start + 4 + s.end) / 2, s.end - 1} {
			bad := bytes.Clone(data)
			bad[at] ^= 0x20
			_, got, err := readRecords(bad, "bad.trace")
			var te *TraceError
			if !errors.As(err, &te) {
				t.Fatalf("frame %d byte %d: %v", i+1, at, err)
			}
			wantMsg := fmt.Sprintf("bad.trace: byte %d, frame %d: checksum mismatch", s.start, i+1)
			if te.Truncated || te.Frame != uint64(i+1) || te.Offset != int64(s.start) || te.Error() != wantMsg {
				t.Errorf("flip at %d: %q (truncated %v), want %q", at, te.Error(), te.Truncated, wantMsg)
			}
			sameRecords(t, fmt.Sprintf("frame %d", i+1), got, recs[:before])
		}
		before += s.records
	}

	// Any byte at all: an error naming the frame the byte is in, and the
	// records of the frames before it.
	for at := 0; at < len(data); at++ {
		bad := bytes.Clone(data)
		bad[at] ^= 0x01
		_, got, err := readRecords(bad, "bad.trace")
		var te *TraceError
		if !errors.As(err, &te) {
			t.Fatalf("flip at %d: %v", at, err)
		}
		frame, prior := 0, 0
		for i, s := range spans {
			if at < len(TraceMagic) {
				break
			}
			if at >= s.start && at < s.end {
				frame = i + 1
				break
			}
			prior += s.records
		}
		if te.Frame != uint64(frame) {
			t.Errorf("flip at %d: %q, want frame %d", at, te.Error(), frame)
		}
		sameRecords(t, fmt.Sprintf("flip at %d", at), got, recs[:prior])
	}
}

func TestTraceCorruptCompressed(t *testing.T) {
	recs := genRecords(500, 6)
	data := writeRecords(t, recs, TraceOptions{Compress: true}, 100)
	for at := 0; at < len(data); at += 7 {
		bad := bytes.Clone(data)
		bad[at] ^= 0x10
		_, got, err := readRecords(bad, "bad.trace")
		var te *TraceError
		if err != io.EOF && !errors.As(err, &te) {
			t.Fatalf("flip at %d: %v", at, err)
		}
		if len(got) > len(recs) {
			t.Fatalf("flip at %d: %d records", at, len(got))
		}
		if err == io.EOF {
			// Only a flip zstd and the checksums cannot see (the zstd
			// frame checksum is read after the end frame) gets here.
			sameRecords(t, fmt.Sprintf("flip at %d", at), got, recs)
		}
	}
}

// frame builds one frame by hand.
func frame(typ byte, payload []byte) []byte { return appendFrame(nil, typ, payload) }

func TestTraceBadFilesMessages(t *testing.T) {
	header := func(format int) []byte {
		return frame(frameHeader, []byte(fmt.Sprintf(`{"format":%d,"version":"v9","mode":"live","funcs":null,"compressed":false}`, format)))
	}
	valid := append([]byte(TraceMagic), header(1)...)
	withFrame := func(raw []byte) []byte { return append(bytes.Clone(valid), raw...) }
	bigLen := binary.LittleEndian.AppendUint32(nil, 3_000_000_000)
	for _, tc := range []struct {
		name, data string
		want       string
		truncated  bool
	}{
		{"empty.trace", "", "empty.trace: empty file, not a stackscope trace", true},
		{"pic.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", `pic.png: not a stackscope trace (it starts with "\x89PNG\r\n\x1a\n")`, false},
		{"tiny", "PK", `tiny: not a stackscope trace (it starts with "PK")`, false},
		{"trace.json", `{"traceEvents":[]}`, `trace.json: not a stackscope trace (it starts with "{\"traceE")`, false},
		{"half", "STKT", "half: truncated: the file ends after 4 bytes, inside the 8-byte stackscope signature", true},
		{"future.trace", TraceMagic + string(header(9)), "future.trace: format version 9 is newer than this stackscope reads (1)", false},
		{"zero.trace", TraceMagic + string(header(0)), "zero.trace: format version 0 is not a valid version", false},
		{"notjson.trace", TraceMagic + string(frame(frameHeader, []byte("{not json"))),
			"notjson.trace: byte 8, frame 1: the header is not valid JSON: invalid character 'n' looking for beginning of object key string", false},
		{"noformat.trace", TraceMagic + string(frame(frameHeader, []byte(`{"mode":"x"}`))),
			"noformat.trace: byte 8, frame 1: the header has no format version", false},
		{"first.trace", TraceMagic + string(frame(frameEvents, nil)),
			"first.trace: byte 8, frame 1: the first frame is an events frame, not the header", false},
		{"unknown.trace", string(withFrame(frame('A', []byte("xyz")))),
			fmt.Sprintf("unknown.trace: byte %d, frame 2: unknown frame type 0x41", len(valid)), false},
		{"huge.trace", string(withFrame(append(bigLen, 'I'))),
			fmt.Sprintf("huge.trace: byte %d, frame 2: frame of 3000000000 bytes is larger than the 16 MiB limit", len(valid)), false},
		{"zerolen.trace", string(withFrame([]byte{0, 0, 0, 0, 'E'})),
			fmt.Sprintf("zerolen.trace: byte %d, frame 2: frame of 0 bytes (a frame holds at least its type)", len(valid)), false},
		{"second.trace", string(withFrame(header(1))),
			fmt.Sprintf("second.trace: byte %d, frame 2: a second header frame", len(valid)), false},
		{"counts.trace", string(withFrame(frame(frameEnd, []byte{1, 0}))),
			fmt.Sprintf("counts.trace: byte %d, frame 2: the end frame counts 1 inputs and 0 events, but the file holds 0 and 0", len(valid)), false},
		{"badend.trace", string(withFrame(frame(frameEnd, []byte{0, 0, 0}))),
			fmt.Sprintf("badend.trace: byte %d, frame 2: damaged end frame", len(valid)), false},
		{"badinput.trace", string(withFrame(frame(frameInput, []byte{1}))),
			fmt.Sprintf("badinput.trace: byte %d, frame 2: damaged input frame", len(valid)), false},
		{"badevent.trace", string(withFrame(frame(frameEvents, []byte{0xe1, 0x80}))),
			fmt.Sprintf("badevent.trace: byte %d, frame 2: damaged event: bad function id", len(valid)+5), false},
		{"badflags.trace", string(withFrame(frame(frameEvents, []byte{0x00, 1, 0, 0x80}))),
			fmt.Sprintf("badflags.trace: byte %d, frame 2: damaged event: unknown event flags 0x80", len(valid)+5), false},
		{"nothing.trace", string(valid),
			fmt.Sprintf("nothing.trace: byte %d, frame 2: ends without an end frame (the recording was cut off after frame 1)", len(valid)), true},
		{"badzstd.trace", TraceMagic + string(frame(frameHeader, []byte(`{"format":1,"compressed":true}`))) + "\x28\xb5\x2f\xfd garbage that is not zstd",
			"", false},
	} {
		_, _, err := readRecords([]byte(tc.data), tc.name)
		var te *TraceError
		if !errors.As(err, &te) {
			t.Errorf("%s: %v, want a TraceError", tc.name, err)
			continue
		}
		if tc.want == "" {
			if !strings.HasPrefix(te.Error(), tc.name+": byte ") || strings.Contains(te.Error(), "\n") {
				t.Errorf("%s: %q", tc.name, te.Error())
			}
			t.Logf("%s: %s", tc.name, te.Error())
			continue
		}
		if te.Error() != tc.want || te.Truncated != tc.truncated {
			t.Errorf("%s:\n got %q (truncated %v)\nwant %q (truncated %v)", tc.name, te.Error(), te.Truncated, tc.want, tc.truncated)
		}
	}
	// A future version is refused even if the header's other fields have
	// changed shape.
	future := TraceMagic + string(frame(frameHeader, []byte(`{"format":2,"funcs":{"new":"shape"}}`)))
	if _, _, err := readRecords([]byte(future), "f"); err == nil || err.Error() != "f: format version 2 is newer than this stackscope reads (1)" {
		t.Errorf("future shape: %v", err)
	}
}

// failingWriter fails once more than limit bytes were written.
type failingWriter struct{ n, limit int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.limit {
		return 0, errors.New("disk full")
	}
	f.n += len(p)
	return len(p), nil
}

func TestTraceWriteError(t *testing.T) {
	for _, compress := range []bool{false, true} {
		fw := &failingWriter{limit: 20_000}
		w, err := NewTraceWriter(fw, testHeader(), TraceOptions{Compress: compress, BufferSize: 8 << 10, Blocks: 1})
		if err != nil {
			t.Fatal(err)
		}
		recs := genRecords(20000, 7)
		for i := range recs {
			writeRecord(w, &recs[i])
		}
		err = w.Close()
		if err == nil || !strings.Contains(err.Error(), "disk full") || w.Err() == nil {
			t.Errorf("compress=%v: Close = %v, Err = %v", compress, err, w.Err())
		}
		if err2 := w.Close(); err2 != err {
			t.Errorf("second Close: %v", err2)
		}
	}
	if _, err := NewTraceWriter(&failingWriter{limit: 3}, TraceHeader{}, TraceOptions{}); err == nil {
		t.Error("header write error not reported")
	}
	w, err := NewTraceWriter(io.Discard, TraceHeader{}, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Input(Input{Data: make([]byte, maxFrameSize)})
	if w.Err() == nil || !strings.Contains(w.Err().Error(), "larger than the 16 MiB frame limit") {
		t.Errorf("oversized input: %v", w.Err())
	}
	w.Close()
}

// TestTraceEventEncodingSize keeps an eye on how compact events are.
func TestTraceEventEncodingSize(t *testing.T) {
	var s deltaState
	buf := make([]byte, 0, maxEventSize)
	ev := Event{Seq: 1, Time: 1, Kind: Entry, Func: 300}.WithArgs(Arg{}, Skb(0xffff888004a3c000), Sock(0xffff888003b10000), Int(-1))
	buf = s.appendEvent(buf, &ev)
	ev.Seq, ev.Time = 2, 150
	buf = s.appendEvent(buf[:0], &ev)
	if len(buf) > 12 {
		t.Errorf("repeated entry: %d bytes", len(buf))
	}
	// The worst case fits in maxEventSize.
	worst := Event{Seq: math.MaxUint64, Time: math.MinInt64, Task: math.MaxUint32, Func: math.MaxUint16,
		Depth: math.MaxUint16, Kind: 200, NArg: 255}.WithArgs(Arg{Kind: 255, Val: 1 << 63},
		Arg{Kind: 15, Val: 1 << 63}, Arg{Kind: 31, Val: 1 << 63}, Arg{Kind: 47, Val: 1 << 63})
	worst.NArg = 255
	s.reset()
	s.seq, s.time, s.vals = 1<<62, math.MaxInt64, [argSlots]uint64{}
	buf = s.appendEvent(buf[:0], &worst)
	if len(buf) > maxEventSize {
		t.Errorf("worst case %d bytes > %d", len(buf), maxEventSize)
	}
	var d deltaState
	d.seq, d.time = 1<<62, math.MaxInt64
	got, n, err := d.decodeEvent(buf)
	if err != nil || n != len(buf) || got != worst {
		t.Errorf("worst case: %v %d %+v", err, n, got)
	}
}

// TestTraceCRCIsCastagnoli pins the checksum to CRC-32C, as documented.
func TestTraceCRCIsCastagnoli(t *testing.T) {
	f := frame(frameEnd, []byte{0, 0})
	want := crc32.Checksum([]byte{frameEnd, 0, 0}, crc32.MakeTable(crc32.Castagnoli))
	if got := binary.LittleEndian.Uint32(f[len(f)-4:]); got != want {
		t.Errorf("crc %08x, want %08x", got, want)
	}
}
