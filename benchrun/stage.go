package benchrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
)

// stage is a set of rows measured against one start of every peer, at
// one MTU.
type stage struct {
	mtu  int
	rows []string
}

func (b *bench) stages() []stage {
	var small, large, mem []string
	for _, r := range b.o.Rows {
		switch r {
		case RowH2SMax, RowS2HMax:
			large = append(large, r)
		case RowMem:
			// Fresh peers of their own: memory that earlier rows left in
			// a peer's caches would hide what new connections cost.
			mem = append(mem, r)
		default:
			small = append(small, r)
		}
	}
	var out []stage
	for _, st := range []stage{{1500, small}, {b.maxMTU, large}, {1500, mem}} {
		if len(st.rows) > 0 {
			out = append(out, st)
		}
	}
	return out
}

// runStage starts every peer at the stage's MTU, then measures each row
// for each peer in turn (the peers' order rotating from round to round),
// so that a row's figures for all peers are taken close together in time
// on a machine whose load changes. It stops the peers at the end.
// Failures go into the results, cell by cell.
func (b *bench) runStage(ctx context.Context, st stage) {
	b.stageNo++
	running := map[string]*peerProc{}
	defer func() {
		for _, peer := range b.o.Peers { // in order, for the messages
			if p := running[peer]; p != nil {
				if err := p.Stop(); err != nil && ctx.Err() == nil {
					b.progress("%s at MTU %d stopped with an error: %v", peer, st.mtu, err)
				}
			}
		}
		b.removeTrace(st)
		b.removeDiskLoad()
	}()
	var peers []string
	rowsOf := map[string][]string{} // the stage's rows each running peer is measured on
	for _, peer := range b.o.Peers {
		rows := b.peerRows(peer, st.rows)
		if len(rows) == 0 {
			continue // nothing to measure here: not started
		}
		p, err := b.startPeer(ctx, peer, st.mtu)
		if err != nil {
			b.failRows(peer, rows, err)
			b.progress("%s at MTU %d: %v", peer, st.mtu, err)
			continue
		}
		running[peer] = p
		rowsOf[peer] = rows
		peers = append(peers, peer)
	}
	rounds := b.o.Rounds
	if slices.Contains(st.rows, RowMem) {
		rounds = 1 // a holder keeps what it took: one round
	}
	samples := map[string]map[string][]float64{} // line -> peer -> one per round
	diskRates := map[string][]float64{}          // line -> the disk load's writer rate, one per round
	diskKept := map[string][]float64{}           // line -> the share of the transfer's bytes it wrote, one per round
	failed := map[string]map[string]bool{}
	for round := 0; round < rounds; round++ {
		for _, row := range st.rows {
			for i := range peers {
				peer := peers[(i+round)%len(peers)]
				if ctx.Err() != nil {
					return
				}
				if !slices.Contains(rowsOf[peer], row) {
					continue
				}
				for _, m := range b.measure(ctx, peer, running[peer], row, round) {
					if failed[m.line][peer] {
						continue
					}
					if m.err != nil {
						b.res.Fail(m.line, peer, m.err)
						setIn(failed, m.line, peer, true)
						continue
					}
					samples[m.line] = appendIn(samples[m.line], peer, m.v)
					b.res.Set(m.line, peer, median(samples[m.line][peer]))
					if m.disk != nil {
						diskRates[m.line] = append(diskRates[m.line], m.disk.MBps())
						diskKept[m.line] = append(diskKept[m.line], m.disk.kept())
						b.res.SetDiskRate(m.line, median(diskRates[m.line]), median(diskKept[m.line]))
						b.res.DiskBuffered = b.res.DiskBuffered || !m.disk.direct
					}
				}
			}
		}
	}
}

func setIn(m map[string]map[string]bool, a, b string, v bool) {
	if m[a] == nil {
		m[a] = map[string]bool{}
	}
	m[a][b] = v
}

func appendIn(m map[string][]float64, k string, v float64) map[string][]float64 {
	if m == nil {
		m = map[string][]float64{}
	}
	m[k] = append(m[k], v)
	return m
}

// median of the values (the mean of the middle two for an even count).
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// failRows marks every line of rows as failed for peer.
func (b *bench) failRows(peer string, rows []string, err error) {
	for _, r := range rows {
		for _, l := range Lines {
			if l.Row == r {
				b.res.Fail(l.ID, peer, err)
			}
		}
	}
}

// peerRows returns the rows peer is measured on, of a stage's rows, and
// marks the lines of the others not applicable to it.
func (b *bench) peerRows(peer string, rows []string) []string {
	var out []string
	for _, r := range rows {
		why := notApplicable(peer, r)
		if why == "" {
			out = append(out, r)
			continue
		}
		for _, l := range Lines {
			if l.Row == r {
				b.res.NotApplicable(l.ID, peer, why)
			}
		}
	}
	return out
}

// figure is one measured value of a line, or why there is none.
type figure struct {
	line string
	v    float64
	err  error
	disk *diskRun // what the disk load's writer did meanwhile (the disk-load peer only)
}

// measure runs one row for one peer and returns its lines' figures. For
// the disk-load peer, the disk writer runs from just before the row's
// client starts until just after it stops.
func (b *bench) measure(ctx context.Context, peer string, p *peerProc, row string, round int) []figure {
	var disk *diskWriter
	var moved *atomic.Int64 // the transfer's bytes, which the disk writer follows
	if peer == PeerDiskLoad {
		moved = new(atomic.Int64)
		var err error
		if disk, err = startDiskWriter(b.diskLoadPath(), diskWrap, moved); err != nil {
			return b.reportFigures(peer, row, round, rowFailed(row, err))
		}
	}
	out := b.runRow(ctx, peer, p, row, moved)
	if disk != nil {
		run, err := disk.Stop()
		for i := range out {
			if out[i].err == nil {
				out[i].err = err
			}
			if out[i].err == nil {
				out[i].disk = &run
			}
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted: not a failure of the row
	}
	return b.reportFigures(peer, row, round, out)
}

// rowFailed is a figure with err for each of row's lines.
func rowFailed(row string, err error) []figure {
	var out []figure
	for _, l := range Lines {
		if l.Row == row {
			out = append(out, figure{line: l.ID, err: err})
		}
	}
	return out
}

// runRow runs one row's client against a peer; a throughput row counts
// the bytes it moves in moved, if not nil.
func (b *bench) runRow(ctx context.Context, peer string, p *peerProc, row string, moved *atomic.Int64) []figure {
	addr := links[peer].peer.Addr()
	d := b.o.Duration
	var out []figure
	switch row {
	case RowH2S, RowH2SMax:
		v, err := measureH2S(ctx, b.client, addr, d, moved)
		out = []figure{{line: row, v: v, err: err}}
	case RowS2H, RowS2HMax:
		v, err := measureS2H(ctx, b.client, addr, d, moved)
		out = []figure{{line: row, v: v, err: err}}
	case RowCPS:
		v, err := measureCPS(ctx, b.client, addr, d)
		out = []figure{{line: row, v: v, err: err}}
	case RowRTT:
		p50, p99, err := measureRTT(ctx, b.client, addr, d)
		out = []figure{{line: "rtt-p50", v: p50, err: err}, {line: "rtt-p99", v: p99, err: err}}
	case RowMem:
		v, err := measureMem(ctx, b.client, addr, p, b.o.Conns)
		out = []figure{{line: RowMem, v: v, err: err}}
	}
	return out
}

// reportFigures says each figure of a row on the progress stream and
// returns them.
func (b *bench) reportFigures(peer, row string, round int, out []figure) []figure {
	tag := ""
	if b.o.Rounds > 1 && row != RowMem {
		tag = fmt.Sprintf(" (round %d)", round+1)
	}
	for _, f := range out {
		l := lineByID(f.line)
		if f.err != nil {
			b.progress("%-13s %-28s error: %v%s", peer, l.Label, f.err, tag)
			continue
		}
		b.progress("%-13s %-28s %s %s%s", peer, l.Label, formatValue(l, f.v), l.Unit, tag)
		if f.disk != nil {
			how := "O_DIRECT"
			if !f.disk.direct {
				how = "buffered: the file system refused O_DIRECT"
			}
			b.progress("%-13s %-28s %.0f MB/s, %.0f%% of the transfer's bytes (%s)%s", peer, "the disk writer meanwhile",
				f.disk.MBps(), f.disk.kept()*100, how, tag)
		}
	}
	return out
}

func lineByID(id string) Line {
	for _, l := range Lines {
		if l.ID == id {
			return l
		}
	}
	return Line{ID: id, Label: id}
}

// traceDir is where the recorder's traces and the disk load's file go.
func (b *bench) traceDir() string {
	if b.o.TraceDir != "" {
		return b.o.TraceDir
	}
	return b.tmp
}

// tracePath is where the recorder peer of the current stage records (the
// /dev/null recorder has no file: nothing to report or remove).
func (b *bench) tracePath() string {
	return filepath.Join(b.traceDir(), fmt.Sprintf("%s%d-%d.sst", filePrefix, os.Getpid(), b.stageNo))
}

// diskLoadPath is the disk load's file, beside the recorder's traces. Its
// name carries the bench's process id, as theirs do, so that removeStale
// finds it after a bench killed outright.
func (b *bench) diskLoadPath() string {
	return filepath.Join(b.traceDir(), fmt.Sprintf("%s%d-disk-load", filePrefix, os.Getpid()))
}

// removeDiskLoad removes the disk load's file, if a measurement left one.
func (b *bench) removeDiskLoad() {
	_ = os.Remove(b.diskLoadPath())
}

// removeTrace removes the recorder's trace of the stage, saying how large
// it grew.
func (b *bench) removeTrace(st stage) {
	trace := b.tracePath()
	if fi, err := os.Stat(trace); err == nil {
		b.progress("%-13s the trace of the MTU %d stage: %d MiB", PeerRecorder, st.mtu, fi.Size()>>20)
	}
	_ = os.Remove(trace)
}
