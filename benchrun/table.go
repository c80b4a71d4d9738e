package benchrun

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Cell is one figure of the table, or why it is missing.
type Cell struct {
	Value float64
	Err   string // set when the measurement failed
	NA    string // set when the figure does not apply (veth's memory row, the /dev/null recorder and the disk load off the throughput rows)
}

// Results is everything the table shows.
type Results struct {
	Machine  string        // one line: CPU, cores, kernel, Go
	Duration time.Duration // per row, peer and round
	Rounds   int           // rounds; each figure is the median of its rounds
	MaxMTU   int           // the largest MTU the TUN device took (0: not probed)
	Conns    int           // idle connections of the memory row
	Peers    []string      // peers measured, in column order
	Rows     []string      // rows measured
	// DiskBuffered says the disk load's writer went through the page
	// cache at least once: the file system refused O_DIRECT.
	DiskBuffered bool
	cells        map[string]map[string]Cell
	diskRates    map[string]float64 // line -> the disk load's writer rate, MB/s
	diskKept     map[string]float64 // line -> the share of the transfer's bytes it wrote (0: not paced)
}

// SetDiskRate records the rate (MB/s) the disk load's writer reached
// while the disk-load peer's figure of line was measured, and the share
// of the bytes the transfer moved that it wrote meanwhile (0 when it did
// not follow the transfer).
func (r *Results) SetDiskRate(line string, mbps, kept float64) {
	if r.diskRates == nil {
		r.diskRates, r.diskKept = map[string]float64{}, map[string]float64{}
	}
	r.diskRates[line] = mbps
	r.diskKept[line] = kept
}

// DiskRate returns the disk load's writer rate on line, if it has one.
func (r *Results) DiskRate(line string) (float64, bool) {
	v, ok := r.diskRates[line]
	return v, ok
}

// Set records a figure: line is a Line's ID, peer a peer name.
func (r *Results) Set(line, peer string, v float64) { r.put(line, peer, Cell{Value: v}) }

// Fail records that a figure could not be measured.
func (r *Results) Fail(line, peer string, err error) { r.put(line, peer, Cell{Err: err.Error()}) }

// NotApplicable records that a figure has no meaning for a peer.
func (r *Results) NotApplicable(line, peer, why string) { r.put(line, peer, Cell{NA: why}) }

func (r *Results) put(line, peer string, c Cell) {
	if r.cells == nil {
		r.cells = map[string]map[string]Cell{}
	}
	if r.cells[line] == nil {
		r.cells[line] = map[string]Cell{}
	}
	r.cells[line][peer] = c
}

// Get returns a line's figure for a peer; ok is false unless it has a
// value.
func (r *Results) Get(line, peer string) (float64, bool) {
	c, found := r.cells[line][peer]
	if !found || c.Err != "" || c.NA != "" {
		return 0, false
	}
	return c.Value, true
}

// Failures counts the figures that could not be measured.
func (r *Results) Failures() int {
	n := 0
	for _, byPeer := range r.cells {
		for _, c := range byPeer {
			if c.Err != "" {
				n++
			}
		}
	}
	return n
}

// cell returns the cell as recorded, and whether there is one.
func (r *Results) cell(line, peer string) (Cell, bool) {
	c, ok := r.cells[line][peer]
	return c, ok
}

// lines returns the table's lines for the rows measured.
func (r *Results) lines() []Line {
	var out []Line
	for _, l := range Lines {
		if slices.Contains(r.Rows, l.Row) {
			out = append(out, l)
		}
	}
	return out
}

func (r *Results) has(peer string) bool { return slices.Contains(r.Peers, peer) }

// Format writes the table, its ratios, the targets with a verdict
// for each, the method, and any errors.
func Format(w io.Writer, r *Results) {
	fmt.Fprintf(w, "stackscope bench: %s\n", r.Machine)
	mtu := "not probed"
	if r.MaxMTU > 0 {
		mtu = fmt.Sprint(r.MaxMTU)
	}
	rounds := "one round"
	if r.Rounds > 1 {
		rounds = fmt.Sprintf("median of %d rounds", r.Rounds)
	}
	fmt.Fprintf(w, "%s per row and peer, peers taking turns row by row, %s; largest TUN MTU %s; %d idle connections for the memory row\n\n",
		r.Duration, rounds, mtu, r.Conns)

	var errs []string
	errRef := func(peer string, l Line, msg string) string {
		errs = append(errs, fmt.Sprintf("[%d] %s, %s: %s", len(errs)+1, peerColumn(peer), l.Label, msg))
		return fmt.Sprintf("error[%d]", len(errs))
	}
	head := []string{"", "unit"}
	for _, p := range r.Peers {
		head = append(head, peerColumn(p))
	}
	ratioPeers := []string{}
	if r.has(PeerStackscope) {
		for _, p := range []string{PeerGvisor, PeerVeth} {
			if r.has(p) {
				ratioPeers = append(ratioPeers, p)
				head = append(head, "stk/"+peerColumn(p))
			}
		}
	}
	withCost := r.has(PeerStackscope) && r.has(PeerRecorder)
	if withCost {
		head = append(head, "recorder cost")
	}
	withNullCost := r.has(PeerStackscope) && r.has(PeerRecorderNull)
	if withNullCost {
		head = append(head, nullCostColumn)
	}
	withDiskCost := r.has(PeerStackscope) && r.has(PeerDiskLoad)
	if withDiskCost {
		head = append(head, diskCostColumn)
	}
	table := [][]string{head}
	for _, l := range r.lines() {
		row := []string{l.Label, l.Unit}
		for _, p := range r.Peers {
			c, ok := r.cell(l.ID, p)
			switch {
			case !ok:
				row = append(row, "-")
			case c.Err != "":
				row = append(row, errRef(p, l, c.Err))
			case c.NA != "":
				row = append(row, "n/a")
			default:
				row = append(row, formatValue(l, c.Value))
			}
		}
		for _, p := range ratioPeers {
			row = append(row, r.ratio(l, p))
		}
		if withCost {
			row = append(row, r.recorderCost(l, PeerRecorder))
		}
		if withNullCost {
			row = append(row, r.recorderCost(l, PeerRecorderNull))
		}
		if withDiskCost {
			row = append(row, r.recorderCost(l, PeerDiskLoad))
		}
		table = append(table, row)
	}
	writeAligned(w, table)

	fmt.Fprintln(w)
	if len(ratioPeers) > 0 {
		fmt.Fprintln(w, "stk/X is stackscope's figure divided by X's: above 1 is better for throughput and conn/s, below 1 for latency and memory.")
	}
	if withCost {
		fmt.Fprintln(w, "recorder cost: how much worse stackscope's figure is with the recorder on (negative: better, which is noise).")
	}
	if withNullCost {
		fmt.Fprintln(w, nullCostColumn+": the same with the recorder writing to /dev/null: what recording costs apart from the disk.")
	}
	if withDiskCost {
		fmt.Fprintln(w, diskCostColumn+": the same for stackscope with no recorder beside a plain disk writer: what the disk alone costs.")
	}
	fmt.Fprintln(w, "\ntargets (issue 8):")
	for _, t := range r.targets() {
		fmt.Fprintf(w, "  %s\n", t)
	}
	fmt.Fprintln(w, "\nmethod:")
	for _, p := range Peers {
		if r.has(p.Name) {
			writeWrapped(w, fmt.Sprintf("%-10s  ", p.Column), p.Doc, 100)
		}
	}
	for _, row := range Rows {
		if slices.Contains(r.Rows, row.Name) {
			writeWrapped(w, fmt.Sprintf("%-10s  ", row.Name), row.Doc, 100)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range errs {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// peerColumn is a peer's column heading.
func peerColumn(peer string) string {
	for _, p := range Peers {
		if p.Name == peer {
			return p.Column
		}
	}
	return peer
}

func formatValue(l Line, v float64) string {
	switch l.Unit {
	case "µs", "KiB":
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// ratio is stackscope's figure over peer's.
func (r *Results) ratio(l Line, peer string) string {
	s, ok1 := r.Get(l.ID, PeerStackscope)
	o, ok2 := r.Get(l.ID, peer)
	if !ok1 || !ok2 || o == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", s/o)
}

// nullCostColumn heads the cost of the /dev/null recorder: the recorder's
// cost without the disk's.
const nullCostColumn = "cost w/o disk"

// diskCostColumn heads the cost of the disk load: the disk's share of the
// recorder's cost, with no recorder.
const diskCostColumn = "disk-load cost"

// recorderCost is how much worse a recording peer (the recorder, or the
// one writing to /dev/null) or the disk load makes a figure, in percent.
func (r *Results) recorderCost(l Line, peer string) string {
	c, ok := r.costOf(l, peer)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", c*100)
}

// costOf is how much worse peer's figure is than stackscope's, as a
// fraction of stackscope's.
func (r *Results) costOf(l Line, peer string) (float64, bool) {
	s, ok1 := r.Get(l.ID, PeerStackscope)
	rec, ok2 := r.Get(l.ID, peer)
	if !ok1 || !ok2 || s == 0 {
		return 0, false
	}
	if l.Higher {
		return (s - rec) / s, true
	}
	return (rec - s) / s, true
}

// MemTargetKiB is the bound on memory per idle connection.
const MemTargetKiB = 16

// RecorderTarget is the bound on what the recorder may cost.
const RecorderTarget = 0.30

// targets says, for each of the targets, whether this run met it.
func (r *Results) targets() []string {
	var out []string
	// stackscope at least matches gVisor on throughput, rate and latency.
	var below, compared []string
	for _, l := range r.lines() {
		if !(l.Tput || l.ID == RowCPS || l.ID == "rtt-p50") {
			continue
		}
		s, ok1 := r.Get(l.ID, PeerStackscope)
		g, ok2 := r.Get(l.ID, PeerGvisor)
		if !ok1 || !ok2 || g == 0 {
			continue
		}
		compared = append(compared, l.ID)
		if (l.Higher && s < g) || (!l.Higher && s > g) {
			below = append(below, fmt.Sprintf("%s %.2f", l.Label, s/g))
		}
	}
	switch {
	case len(compared) == 0:
		out = append(out, "stackscope >= gVisor on throughput, conn/s and median latency: not measured")
	case len(below) == 0:
		out = append(out, fmt.Sprintf("stackscope >= gVisor on throughput, conn/s and median latency: met (%d lines compared)", len(compared)))
	default:
		out = append(out, fmt.Sprintf("stackscope >= gVisor on throughput, conn/s and median latency: NOT MET on %d of %d lines (stk/gVisor: %s)",
			len(below), len(compared), strings.Join(below, "; ")))
	}
	if m, ok := r.Get(RowMem, PeerStackscope); ok {
		verdict := "met"
		if m >= MemTargetKiB {
			verdict = "NOT MET"
		}
		out = append(out, fmt.Sprintf("memory per idle connection under %d KiB: %s (%.1f KiB)", MemTargetKiB, verdict, m))
	} else {
		out = append(out, fmt.Sprintf("memory per idle connection under %d KiB: not measured", MemTargetKiB))
	}
	worst, worstLine, n := r.worstCost(PeerRecorder)
	switch {
	case n == 0:
		out = append(out, "recorder costs under 30% of throughput: not measured")
	case worst < RecorderTarget:
		out = append(out, fmt.Sprintf("recorder costs under 30%% of throughput: met (worst %.0f%%, %s)", worst*100, worstLine.Label))
	default:
		out = append(out, fmt.Sprintf("recorder costs under 30%% of throughput: NOT MET (worst %.0f%%, %s)", worst*100, worstLine.Label))
	}
	// Not targets: how much of the above is the recorder's own work, and
	// what the disk alone costs.
	if r.has(PeerRecorderNull) {
		const what = "  of which the recorder's own work (recording to /dev/null)"
		if worst, worstLine, n := r.worstCost(PeerRecorderNull); n == 0 {
			out = append(out, what+": not measured")
		} else {
			out = append(out, fmt.Sprintf("%s: worst %.0f%% (%s)", what, worst*100, worstLine.Label))
		}
	}
	if r.has(PeerDiskLoad) {
		out = append(out, r.diskLoadLine())
	}
	return out
}

// diskLoadLine is the information line on the disk load: its worst cost
// on the throughput lines and the rate its writer reached on that line.
func (r *Results) diskLoadLine() string {
	what := "  the disk alone (stackscope beside a plain O_DIRECT writer writing the transfer's bytes to the trace's file system)"
	if r.DiskBuffered {
		what = "  the disk alone (stackscope beside a plain writer writing the transfer's bytes to the trace's file system, " +
			"through the page cache: it refused O_DIRECT)"
	}
	worst, l, n := r.worstCost(PeerDiskLoad)
	if n == 0 {
		return what + ": not measured"
	}
	s := fmt.Sprintf("%s: worst %.0f%% (%s)", what, worst*100, l.Label)
	if rate, ok := r.DiskRate(l.ID); ok {
		s += fmt.Sprintf("; the writer reached %.0f MB/s there", rate)
		if kept := r.diskKept[l.ID]; kept > 0 {
			s += fmt.Sprintf(", %.0f%% of what the transfer moved", kept*100)
		}
	}
	return s
}

// worstCost is the largest cost of a recording peer (or the disk load) on
// the throughput lines, the line it is on, and on how many lines it was
// measured.
func (r *Results) worstCost(peer string) (worst float64, line Line, n int) {
	for _, l := range r.lines() {
		if c, ok := r.costOf(l, peer); ok && l.Tput {
			n++
			if n == 1 || c > worst {
				worst, line = c, l
			}
		}
	}
	return worst, line, n
}

// writeAligned writes rows of cells in columns: the first left-aligned,
// the others right-aligned, two spaces apart.
func writeAligned(w io.Writer, rows [][]string) {
	var width []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
				continue
			}
			b.WriteString("  " + pad + c)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// writeWrapped writes text after a two-space indent and prefix, wrapped
// at width, continuation lines indented to the prefix's end.
func writeWrapped(w io.Writer, prefix, text string, width int) {
	indent := "  " + strings.Repeat(" ", utf8.RuneCountInString(prefix))
	line := "  " + prefix
	start := true
	for _, word := range strings.Fields(text) {
		if !start && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			fmt.Fprintln(w, line)
			line, start = indent, true
		}
		if !start {
			line += " "
		}
		line += word
		start = false
	}
	fmt.Fprintln(w, line)
}
