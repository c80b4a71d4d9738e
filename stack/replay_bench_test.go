package stack

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stackscope/stackscope/tracing"
)

// bigTrace is one side of a pair session of about a million events,
// recorded once for the replay benchmarks.
var bigTrace = sync.OnceValues(func() ([]byte, uint64) {
	var t testing.T
	tr := recordPairN(&t, 6_000_000, tracing.TraceOptions{})[0]
	tl, err := ScanTrace(opener(tr))
	if err != nil {
		panic(err)
	}
	return tr, tl.Total()
})

// BenchmarkRecordOverhead is what recording costs the kernel: the same
// pair session (300 kB one way) run alternately without a recorder
// (tracing off) and with one, the difference per recorded event, and the
// bytes each event takes on disk (before compression; the inputs, frames
// included, are counted in). Targets: < 100 ns and < 32 B per event.
func BenchmarkRecordOverhead(b *testing.B) {
	session := func(rec bool) (events, size uint64, d time.Duration) {
		var buf bytes.Buffer
		var w *tracing.TraceWriter
		cfg := PairConfig{Seed: 3, AB: wireDelay(1e6), BA: wireDelay(1e6)}
		cfg.Record = func(side int, cfg Config) (InputRecorder, error) {
			if side != 0 || !rec {
				return nil, nil
			}
			boot, _ := json.Marshal(DescribeBoot(cfg))
			var err error
			w, err = tracing.NewTraceWriter(&buf, tracing.TraceHeader{Mode: "pair", Kernel: boot}, tracing.TraceOptions{})
			return w, err
		}
		f := newPairFix(b, cfg)
		lfd := f.listen(f.pa, addrA, 9, 8)
		cfd, sfd := f.dial(lfd, 9)
		start := time.Now()
		f.transfer(f.pb, cfd, f.pa, sfd, pattern(300_000, 1), 300*sec)
		d = time.Since(start)
		f.p.Stop()
		if w != nil {
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			_, events = w.Counts()
		}
		return events, uint64(buf.Len()), d
	}
	var plain, recorded time.Duration
	var events, size uint64
	for i := 0; i < b.N; i++ {
		_, _, d := session(false)
		plain += d
		ev, sz, d := session(true)
		recorded += d
		events += ev
		size += sz
	}
	b.ReportMetric(float64((recorded-plain).Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(size)/float64(events), "B/event")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}

// BenchmarkReplaySpeed replays a recording of about a million events from
// the boot, checking every event. Target: >= 1,000,000 events/s.
func BenchmarkReplaySpeed(b *testing.B) {
	tr, total := bigTrace()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := tracing.NewTraceReader(bytes.NewReader(tr), "big.trace")
		if err != nil {
			b.Fatal(err)
		}
		rp, err := NewReplay(r, ReplayOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if err := rp.Run(); err != nil {
			b.Fatal(err)
		}
		rp.Close()
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(total), "events")
}

// BenchmarkStepBack is one step backwards near the end of a recording of
// about a million events: a seek to the event before, through the
// keyframes. Target: < 50 ms.
func BenchmarkStepBack(b *testing.B) {
	tr, total := bigTrace()
	s, err := NewSeeker(opener(tr), 0, ReplayOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.waitKeyframes()
	b.ResetTimer()
	seq := total
	for i := 0; i < b.N; i++ {
		seq--
		pos, err := s.Seek(seq, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		pos.Replay.Close()
		s.waitKeyframes() // the user reads the screen meanwhile
		b.StartTimer()
	}
	b.ReportMetric(float64(total), "events")
}
