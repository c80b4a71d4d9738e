package tracing

import (
	"bytes"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// countingWriter counts the bytes written through it. The writer
// goroutine writes; the benchmark reads after Close.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.w.Write(p)
}

// realisticEvents builds n events shaped like a kernel receive and send
// path: nested entry/exit pairs with one to three arguments, skb and sock
// addresses that move a little, a few tracepoints, times that advance by
// tens to hundreds of nanoseconds, and occasional task switches.
func realisticEvents(n int) []Event {
	rng := rand.New(rand.NewPCG(42, 7))
	evs := make([]Event, 0, n)
	var seq uint64
	now := int64(1_000_000_000)
	skbBase := uint64(0xffff888004a3c000)
	socks := []uint64{0xffff888003b10000, 0xffff888003b10800, 0xffff888003b11000}
	task := uint32(0)
	emit := func(k Kind, fn FuncID, depth uint16, ret Arg, args ...Arg) {
		seq++
		now += int64(20 + rng.IntN(300))
		evs = append(evs, Event{Seq: seq, Time: now, Task: task, Func: fn, Depth: depth, Kind: k}.WithArgs(ret, args...))
	}
	// A call path is a list of functions with their argument builders.
	type call struct {
		fn   FuncID
		args func(skb, sk uint64) []Arg
		ret  func(skb, sk uint64) Arg
	}
	skbArg := func(skb, sk uint64) []Arg { return []Arg{Skb(skb)} }
	skbSock := func(skb, sk uint64) []Arg { return []Arg{Sock(sk), Skb(skb)} }
	skbLen := func(skb, sk uint64) []Arg { return []Arg{Skb(skb), Size(uint64(40 + rng.IntN(1460)))} }
	three := func(skb, sk uint64) []Arg { return []Arg{Sock(sk), Skb(skb), Int(int64(rng.IntN(3000)))} }
	zero := func(skb, sk uint64) Arg { return Errno(0) }
	none := func(skb, sk uint64) Arg { return Arg{} }
	retSkb := func(skb, sk uint64) Arg { return Skb(skb) }
	rx := []call{
		{11, skbArg, zero},   // __netif_receive_skb
		{12, skbLen, zero},   // ip_rcv
		{13, skbArg, zero},   // ip_rcv_finish
		{14, skbArg, zero},   // ip_local_deliver
		{15, skbArg, zero},   // tcp_v4_rcv
		{16, skbSock, none},  // tcp_rcv_established
		{17, three, none},    // tcp_queue_rcv
		{18, skbSock, none},  // sk_data_ready
		{19, skbArg, retSkb}, // skb_clone
	}
	tx := []call{
		{31, three, zero},    // tcp_sendmsg
		{32, skbLen, retSkb}, // alloc_skb
		{33, skbSock, zero},  // tcp_transmit_skb
		{34, skbArg, zero},   // ip_queue_xmit
		{35, skbArg, zero},   // ip_output
		{36, skbArg, zero},   // dev_queue_xmit
	}
	for len(evs) < n {
		path := rx
		if rng.IntN(2) == 0 {
			path = tx
		}
		if rng.IntN(8) == 0 {
			task = uint32(rng.IntN(2)) * 1201
		}
		skb := skbBase + uint64(rng.IntN(32))*0x100
		sk := socks[rng.IntN(len(socks))]
		depth := uint16(rng.IntN(3))
		deep := 2 + rng.IntN(len(path)-1)
		for i, c := range path[:deep] {
			emit(Entry, c.fn, depth+uint16(i), Arg{}, c.args(skb, sk)...)
		}
		if rng.IntN(10) == 0 {
			emit(Point, 90, depth+uint16(deep), Arg{}, Skb(skb), Reason(uint64(2+rng.IntN(5))))
		}
		for i := deep - 1; i >= 0; i-- {
			c := path[i]
			emit(Exit, c.fn, depth+uint16(i), c.ret(skb, sk))
		}
	}
	return evs[:n]
}

// benchmarkRecord records b.N events from a realistic stream and reports
// the bytes each takes in the file.
func benchmarkRecord(b *testing.B, opt TraceOptions) {
	// A million events (about 7 MB encoded): longer than the zstd
	// window, so the compressed figure is not flattered by the stream
	// repeating within it.
	const stream = 1 << 20
	evs := realisticEvents(stream)
	last := evs[len(evs)-1]
	cw := &countingWriter{w: io.Discard}
	w, err := NewTraceWriter(cw, TraceHeader{Funcs: []string{}}, opt)
	if err != nil {
		b.Fatal(err)
	}
	head := cw.n.Load()
	b.ReportAllocs()
	b.ResetTimer()
	var ev Event
	for i := 0; i < b.N; i++ {
		// Cycle through the stream, moving it on in seq and time each
		// round so the recorder sees one long recording.
		round := uint64(i / stream)
		ev = evs[i%stream]
		ev.Seq += round * last.Seq
		ev.Time += int64(round) * (last.Time - evs[0].Time)
		w.Event(&ev)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(cw.n.Load()-head)/float64(b.N), "B/event")
}

// BenchmarkTraceRecordEvent measures recording one event, uncompressed.
func BenchmarkTraceRecordEvent(b *testing.B) { benchmarkRecord(b, TraceOptions{}) }

// BenchmarkTraceRecordEventZstd measures recording one event, compressed.
func BenchmarkTraceRecordEventZstd(b *testing.B) { benchmarkRecord(b, TraceOptions{Compress: true}) }

// BenchmarkTraceReadEvents decodes a trace of 1,000,000 events per
// iteration.
func BenchmarkTraceReadEvents(b *testing.B) {
	const n = 1_000_000
	evs := realisticEvents(n)
	var buf bytes.Buffer
	w, err := NewTraceWriter(&buf, TraceHeader{Funcs: []string{}}, TraceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range evs {
		w.Event(&evs[i])
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := NewTraceReader(bytes.NewReader(data), "bench")
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rec.Event.Seq == 0 {
				b.Fatal("event without a seq")
			}
			count++
		}
		if count != n {
			b.Fatalf("read %d events, want %d", count, n)
		}
		r.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTraceFileInputs records received frames (64 KiB and 1500-byte
// inputs, each in two pieces, as recBeginRx hands them over) into a trace
// file on the working directory's file system, as live --record does, and
// reports the CPU time the recording adds per byte recorded (the
// recording goroutine, the writer goroutine, the write system calls): what
// a recording takes from a machine whose CPUs are busy moving the
// traffic. Between inputs the loop does work of its own (it sums the
// frame, as a stack verifies a checksum), so that, as in a real
// recording, the device keeps up; the same loop without the recorder is
// the baseline subtracted. Wall time is not the figure: it is the work.
func BenchmarkTraceFileInputs(b *testing.B) {
	for _, size := range []int{65535, 1500} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			frame := make([]byte, size)
			rng := rand.New(rand.NewPCG(1, 1))
			for i := range frame {
				frame[i] = byte(rng.Uint32())
			}
			parts := [][]byte{frame[:40], frame[40:]}
			var sink uint64
			work := func() {
				for range 4 {
					for _, c := range frame {
						sink += uint64(c)
					}
				}
			}
			b.SetBytes(int64(size))
			cpu0 := processCPU(b)
			for range b.N {
				work()
			}
			base := processCPU(b) - cpu0

			w, err := CreateTrace(filepath.Join(b.TempDir(), "b.trace"), TraceHeader{Mode: "bench"}, TraceOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0 = processCPU(b)
			for i := range b.N {
				work()
				w.Input(Input{Op: 1, Time: int64(i), Parts: parts})
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			rec := processCPU(b) - cpu0
			b.ReportMetric(float64(rec-base)/float64(b.N*size), "rec-cpu-ns/B")
			b.ReportMetric(float64(base)/float64(b.N*size), "work-cpu-ns/B")
			if sink == 1 {
				b.Log(sink)
			}
		})
	}
}

// processCPU returns the process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
