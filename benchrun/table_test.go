package benchrun

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// sampleResults is a full table with round figures.
func sampleResults() *Results {
	r := &Results{Machine: "Test CPU, 2 cores, Linux 6.12, go1.26", Duration: 3 * time.Second, Rounds: 3, MaxMTU: 65535, Conns: 1000,
		Peers: []string{PeerStackscope, PeerRecorder, PeerRecorderNull, PeerDiskLoad, PeerGvisor, PeerVeth},
		Rows:  []string{RowH2S, RowS2H, RowH2SMax, RowS2HMax, RowCPS, RowRTT, RowMem}}
	for _, f := range []struct {
		line            string
		stk, rec, gv, v float64
	}{
		{RowH2S, 1000, 800, 500, 10000},
		{RowS2H, 1000, 900, 2000, 10000},
		{RowH2SMax, 4000, 3000, 4000, 20000},
		{RowS2HMax, 4000, 2000, 3000, 20000},
		{RowCPS, 5000, 4000, 2500, 10000},
		{"rtt-p50", 40, 50, 80, 20},
		{"rtt-p99", 400, 500, 200, 100},
	} {
		r.Set(f.line, PeerStackscope, f.stk)
		r.Set(f.line, PeerRecorder, f.rec)
		r.Set(f.line, PeerGvisor, f.gv)
		r.Set(f.line, PeerVeth, f.v)
	}
	r.Set(RowMem, PeerStackscope, 2)
	r.Set(RowMem, PeerRecorder, 2.5)
	r.Set(RowMem, PeerGvisor, 4)
	r.NotApplicable(RowMem, PeerVeth, "kernel memory")
	// The /dev/null recorder: the throughput lines only, its worst cost
	// (30%) on another line than the recorder's (50%).
	for _, f := range []struct {
		line string
		v    float64
	}{{RowH2S, 900}, {RowS2H, 1000}, {RowH2SMax, 2800}, {RowS2HMax, 3000}} {
		r.Set(f.line, PeerRecorderNull, f.v)
	}
	// The disk load: the throughput lines only, its worst cost (37%) where
	// its writer was slowest (1050 MB/s).
	for _, f := range []struct {
		line       string
		v, writeMB float64
	}{{RowH2S, 950, 1900}, {RowS2H, 1000, 2000}, {RowH2SMax, 2520, 1050}, {RowS2HMax, 3000, 1300}} {
		r.Set(f.line, PeerDiskLoad, f.v)
		r.SetDiskRate(f.line, f.writeMB, 0)
	}
	for _, line := range []string{RowCPS, "rtt-p50", "rtt-p99", RowMem} {
		r.NotApplicable(line, PeerRecorderNull, "throughput rows only")
		r.NotApplicable(line, PeerDiskLoad, "throughput rows only")
	}
	return r
}

func TestTableShowsFiguresRatiosAndRecorderCosts(t *testing.T) {
	var b strings.Builder
	Format(&b, sampleResults())
	out := b.String()
	for _, want := range []string{
		"stackscope bench: Test CPU, 2 cores, Linux 6.12, go1.26\n",
		"3s per row and peer, peers taking turns row by row, median of 3 rounds; largest TUN MTU 65535; 1000 idle connections for the memory row\n",
		"                              unit  stackscope  +recorder  +rec→null  +disk load  gVisor   veth  stk/gVisor  stk/veth  recorder cost  cost w/o disk  disk-load cost\n",
		"host->stack bulk, MTU 1500  Mbit/s        1000        800        900         950     500  10000        2.00      0.10            20%            10%              5%\n",
		"host->stack bulk, MTU max   Mbit/s        4000       3000       2800        2520    4000  20000        1.00      0.20            25%            30%             37%\n",
		"stack->host bulk, MTU max   Mbit/s        4000       2000       3000        3000    3000  20000        1.33      0.20            50%            25%             25%\n",
		"1-byte round trip, median       µs        40.0       50.0        n/a         n/a    80.0   20.0        0.50      2.00            25%              -               -\n",
		"memory per idle connection     KiB         2.0        2.5        n/a         n/a     4.0    n/a        0.50         -            25%              -               -\n",
		"cost w/o disk: the same with the recorder writing to /dev/null: what recording costs apart from the disk.\n",
		"disk-load cost: the same for stackscope with no recorder beside a plain disk writer: what the disk alone costs.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestTargetsSayWhichAreMet(t *testing.T) {
	var b strings.Builder
	Format(&b, sampleResults())
	out := b.String()
	for _, want := range []string{
		// s2h (0.50) is below gVisor; rtt-p99 is not a target line.
		"stackscope >= gVisor on throughput, conn/s and median latency: NOT MET on 1 of 6 lines (stk/gVisor: stack->host bulk, MTU 1500 0.50)",
		"memory per idle connection under 16 KiB: met (2.0 KiB)",
		"recorder costs under 30% of throughput: NOT MET (worst 50%, stack->host bulk, MTU max)\n" +
			"    of which the recorder's own work (recording to /dev/null): worst 30% (host->stack bulk, MTU max)\n" +
			"    the disk alone (stackscope beside a plain O_DIRECT writer writing the transfer's bytes to the trace's file system): " +
			"worst 37% (host->stack bulk, MTU max); the writer reached 1050 MB/s there\n\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// The /dev/null recorder's line is information under the recorder's
// target, never a verdict of its own, and says so when it has no figure.
func TestRecorderNullLineIsNoTarget(t *testing.T) {
	r := &Results{Peers: []string{PeerStackscope, PeerRecorder, PeerRecorderNull}, Rows: []string{RowH2S, RowRTT}}
	r.Set(RowH2S, PeerStackscope, 1000)
	r.Set(RowH2S, PeerRecorder, 900)
	r.Set(RowH2S, PeerRecorderNull, 960)
	r.Set("rtt-p50", PeerStackscope, 40)
	r.Set("rtt-p50", PeerRecorder, 80) // a 100% cost, but not a throughput line
	r.NotApplicable("rtt-p50", PeerRecorderNull, "throughput rows only")
	var b strings.Builder
	Format(&b, r)
	out := b.String()
	want := "  recorder costs under 30% of throughput: met (worst 10%, host->stack bulk, MTU 1500)\n" +
		"    of which the recorder's own work (recording to /dev/null): worst 4% (host->stack bulk, MTU 1500)\n\n"
	if !strings.Contains(out, want) {
		t.Errorf("missing %q in:\n%s", want, out)
	}
	if !strings.Contains(out, "1-byte round trip, median       µs        40.0       80.0        n/a           100%              -\n") {
		t.Errorf("the round trip's cells:\n%s", out)
	}

	r = &Results{Peers: []string{PeerStackscope, PeerRecorderNull}, Rows: []string{RowH2S}}
	r.Set(RowH2S, PeerStackscope, 1000)
	r.Fail(RowH2S, PeerRecorderNull, errors.New("did not start"))
	b.Reset()
	Format(&b, r)
	out = b.String()
	for _, want := range []string{
		"                            unit  stackscope  +rec→null  cost w/o disk\n",
		"host->stack bulk, MTU 1500  Mbit/s        1000   error[1]              -\n",
		"  recorder costs under 30% of throughput: not measured\n" +
			"    of which the recorder's own work (recording to /dev/null): not measured\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "recorder cost:") {
		t.Errorf("a recorder cost column without the recorder:\n%s", out)
	}
}

// The /dev/null recorder is started and measured on the throughput rows
// only; on the others its cells are not applicable, and a stage with
// none of its rows (the memory row's) does not start it.
func TestRecorderNullRunsOnThroughputRowsOnly(t *testing.T) {
	b := &bench{res: &Results{Peers: []string{PeerStackscope, PeerRecorderNull, PeerVeth}, Rows: []string{RowH2S, RowCPS, RowRTT, RowMem}}}
	for _, c := range []struct {
		peer string
		rows []string
		want string
	}{
		{PeerRecorderNull, []string{RowH2S, RowCPS, RowRTT}, "h2s"},
		{PeerRecorderNull, []string{RowH2SMax, RowS2HMax}, "h2s-max,s2h-max"},
		{PeerRecorderNull, []string{RowMem}, ""},
		{PeerStackscope, []string{RowH2S, RowCPS, RowRTT}, "h2s,cps,rtt"},
		{PeerStackscope, []string{RowMem}, "mem"},
		{PeerVeth, []string{RowMem}, ""},
	} {
		if got := strings.Join(b.peerRows(c.peer, c.rows), ","); got != c.want {
			t.Errorf("%s on %v: measured on %q, want %q", c.peer, c.rows, got, c.want)
		}
	}
	for _, line := range []string{RowCPS, "rtt-p50", "rtt-p99", RowMem} {
		if c, ok := b.res.cell(line, PeerRecorderNull); !ok || c.NA == "" {
			t.Errorf("%s: the /dev/null recorder's cell is %+v, want not applicable", line, c)
		}
	}
	if _, ok := b.res.cell(RowH2S, PeerRecorderNull); ok {
		t.Error("h2s: a cell set before it was measured")
	}
	if c, _ := b.res.cell(RowMem, PeerVeth); c.NA == "" {
		t.Errorf("veth's memory cell is %+v, want not applicable", c)
	}
	if _, ok := b.res.cell(RowMem, PeerStackscope); ok {
		t.Error("stackscope's memory cell set before it was measured")
	}
	var out strings.Builder
	Format(&out, b.res)
	if !strings.Contains(out.String(), "connect+close               conn/s           -        n/a     -         -              -\n") {
		t.Errorf("the not applicable cells do not print as n/a:\n%s", out.String())
	}
}

// The disk load's line is information under the recorder's target, as
// the /dev/null recorder's is: its worst cost on the throughput lines and
// the rate its writer reached on that line, "not measured" when it has no
// figure, and a word on the page cache when O_DIRECT was refused.
func TestDiskLoadLineIsNoTarget(t *testing.T) {
	r := &Results{Peers: []string{PeerStackscope, PeerRecorder, PeerDiskLoad}, Rows: []string{RowH2S, RowS2H, RowRTT}}
	r.Set(RowH2S, PeerStackscope, 1000)
	r.Set(RowH2S, PeerRecorder, 900)
	r.Set(RowH2S, PeerDiskLoad, 880)
	r.SetDiskRate(RowH2S, 1400, 0.97)
	r.Set(RowS2H, PeerStackscope, 2000)
	r.Set(RowS2H, PeerRecorder, 1000)
	r.Set(RowS2H, PeerDiskLoad, 1900)
	r.SetDiskRate(RowS2H, 900, 0) // the slowest writer, but not the worst cost
	r.Set("rtt-p50", PeerStackscope, 40)
	r.Set("rtt-p50", PeerRecorder, 80)
	r.NotApplicable("rtt-p50", PeerDiskLoad, "throughput rows only")
	var b strings.Builder
	Format(&b, r)
	out := b.String()
	for _, want := range []string{
		"                              unit  stackscope  +recorder  +disk load  recorder cost  disk-load cost\n",
		"host->stack bulk, MTU 1500  Mbit/s        1000        900         880            10%             12%\n",
		"stack->host bulk, MTU 1500  Mbit/s        2000       1000        1900            50%              5%\n",
		"1-byte round trip, median       µs        40.0       80.0         n/a           100%               -\n",
		"  recorder costs under 30% of throughput: NOT MET (worst 50%, stack->host bulk, MTU 1500)\n" +
			"    the disk alone (stackscope beside a plain O_DIRECT writer writing the transfer's bytes to the trace's file system): " +
			"worst 12% (host->stack bulk, MTU 1500); the writer reached 1400 MB/s there, 97% of what the transfer moved\n\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "of which") || strings.Contains(out, "w/o disk") {
		t.Errorf("the /dev/null recorder's column or line without it:\n%s", out)
	}

	r.DiskBuffered = true
	b.Reset()
	Format(&b, r)
	if want := "    the disk alone (stackscope beside a plain writer writing the transfer's bytes to the trace's file system, through the page cache: " +
		"it refused O_DIRECT): worst 12%"; !strings.Contains(b.String(), want) {
		t.Errorf("missing %q in:\n%s", want, b.String())
	}

	r = &Results{Peers: []string{PeerStackscope, PeerRecorder, PeerRecorderNull, PeerDiskLoad}, Rows: []string{RowH2S}}
	r.Set(RowH2S, PeerStackscope, 1000)
	r.Set(RowH2S, PeerRecorder, 900)
	r.Set(RowH2S, PeerRecorderNull, 950)
	r.Fail(RowH2S, PeerDiskLoad, errors.New("disk writer, at offset 0: no space left on device"))
	b.Reset()
	Format(&b, r)
	out = b.String()
	for _, want := range []string{
		"host->stack bulk, MTU 1500  Mbit/s        1000        900        950    error[1]            10%             5%               -\n",
		"  recorder costs under 30% of throughput: met (worst 10%, host->stack bulk, MTU 1500)\n" +
			"    of which the recorder's own work (recording to /dev/null): worst 5% (host->stack bulk, MTU 1500)\n" +
			"    the disk alone (stackscope beside a plain O_DIRECT writer writing the transfer's bytes to the trace's file system): not measured\n",
		"  [1] +disk load, host->stack bulk, MTU 1500: disk writer, at offset 0: no space left on device\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// The disk load is started and measured on the throughput rows only, as
// the /dev/null recorder is: n/a elsewhere, and not started for a stage
// without them (the memory row's).
func TestDiskLoadRunsOnThroughputRowsOnly(t *testing.T) {
	b := &bench{res: &Results{Peers: []string{PeerStackscope, PeerDiskLoad}, Rows: []string{RowH2S, RowS2H, RowCPS, RowRTT, RowMem}}}
	for _, c := range []struct {
		rows []string
		want string
	}{
		{[]string{RowH2S, RowS2H, RowCPS, RowRTT}, "h2s,s2h"},
		{[]string{RowH2SMax, RowS2HMax}, "h2s-max,s2h-max"},
		{[]string{RowMem}, ""},
	} {
		if got := strings.Join(b.peerRows(PeerDiskLoad, c.rows), ","); got != c.want {
			t.Errorf("disk-load on %v: measured on %q, want %q", c.rows, got, c.want)
		}
	}
	for _, line := range []string{RowCPS, "rtt-p50", "rtt-p99", RowMem} {
		if c, ok := b.res.cell(line, PeerDiskLoad); !ok || c.NA == "" {
			t.Errorf("%s: the disk load's cell is %+v, want not applicable", line, c)
		}
	}
	for _, line := range []string{RowH2S, RowS2H} {
		if _, ok := b.res.cell(line, PeerDiskLoad); ok {
			t.Errorf("%s: a cell set before it was measured", line)
		}
	}
	var out strings.Builder
	Format(&out, b.res)
	if !strings.Contains(out.String(), "connect+close               conn/s           -         n/a               -\n") {
		t.Errorf("the not applicable cells do not print as n/a:\n%s", out.String())
	}
}

func TestTargetsMetAndUnmeasured(t *testing.T) {
	r := &Results{Peers: []string{PeerStackscope, PeerGvisor}, Rows: []string{RowH2S, RowRTT, RowMem}}
	r.Set(RowH2S, PeerStackscope, 900)
	r.Set(RowH2S, PeerGvisor, 800)
	r.Set("rtt-p50", PeerStackscope, 30)
	r.Set("rtt-p50", PeerGvisor, 30)
	r.Set(RowMem, PeerStackscope, 20)
	var b strings.Builder
	Format(&b, r)
	out := b.String()
	for _, want := range []string{
		"median latency: met (2 lines compared)",
		"memory per idle connection under 16 KiB: NOT MET (20.0 KiB)",
		"recorder costs under 30% of throughput: not measured",
		"one round; largest TUN MTU not probed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "recorder cost:") || strings.Contains(out, "stk/veth") || strings.Contains(out, "w/o disk") ||
		strings.Contains(out, "of which") || strings.Contains(out, "disk-load cost") || strings.Contains(out, "the disk alone") {
		t.Errorf("columns or lines for peers not measured:\n%s", out)
	}
}

func TestFailedCellsPointToTheirError(t *testing.T) {
	r := &Results{Peers: []string{PeerStackscope, PeerGvisor}, Rows: []string{RowCPS}}
	r.Set(RowCPS, PeerStackscope, 100)
	r.Fail(RowCPS, PeerGvisor, errors.New("connection 7: connection refused"))
	var b strings.Builder
	Format(&b, r)
	out := b.String()
	if !strings.Contains(out, "connect+close  conn/s         100  error[1]           -\n") {
		t.Errorf("the failed cell is not marked:\n%s", out)
	}
	if !strings.Contains(out, "errors:\n  [1] gVisor, connect+close: connection 7: connection refused\n") {
		t.Errorf("the error is not listed:\n%s", out)
	}
	if n := r.Failures(); n != 1 {
		t.Errorf("%d failures counted, want 1", n)
	}
	if !strings.Contains(out, "median latency: not measured") {
		t.Errorf("a failed comparison counts as measured:\n%s", out)
	}
}

func TestMethodExplainsOnlyTheRowsMeasured(t *testing.T) {
	r := &Results{Peers: []string{PeerStackscope}, Rows: []string{RowMem}}
	r.Set(RowMem, PeerStackscope, 3)
	var b strings.Builder
	Format(&b, r)
	out := b.String()
	if !strings.Contains(out, "  mem         memory per idle established connection: the growth of the peer process's live heap") {
		t.Errorf("no memory method:\n%s", out)
	}
	if strings.Contains(out, "  h2s ") || strings.Contains(out, "gVisor's netstack") {
		t.Errorf("method of rows or peers not measured:\n%s", out)
	}
}

func TestParseRowsAndPeers(t *testing.T) {
	rows, err := ParseRows("mem, h2s,mem")
	if err != nil || strings.Join(rows, ",") != "h2s,mem" {
		t.Errorf("ParseRows: %v %v", rows, err)
	}
	if rows, _ := ParseRows("all"); len(rows) != len(Rows) {
		t.Errorf("all rows: %v", rows)
	}
	if _, err := ParseRows("h2s,fast"); err == nil || !strings.Contains(err.Error(), `--rows: unknown name "fast"`) {
		t.Errorf("unknown row: %v", err)
	}
	if _, err := ParsePeers(" , "); err == nil || !strings.Contains(err.Error(), "--peers: empty") {
		t.Errorf("empty peers: %v", err)
	}
	peers, err := ParsePeers("veth,stackscope")
	if err != nil || strings.Join(peers, ",") != "stackscope,veth" {
		t.Errorf("ParsePeers: %v %v", peers, err)
	}
	// --peers' default, all, takes the /dev/null recorder and the disk
	// load beside the recorder.
	if peers, _ := ParsePeers("all"); strings.Join(peers, ",") != "stackscope,recorder,recorder-null,disk-load,gvisor,veth" {
		t.Errorf("all peers: %v", peers)
	}
	if peers, err := ParsePeers("disk-load,recorder-null,recorder"); err != nil ||
		strings.Join(peers, ",") != "recorder,recorder-null,disk-load" {
		t.Errorf("ParsePeers: %v %v", peers, err)
	}
}

func TestLargestAcceptedFindsTheBound(t *testing.T) {
	for _, bound := range []int{1500, 1501, 9000, 65534, 65535} {
		calls := 0
		got, err := largestAccepted(1500, 65535, func(m int) bool { calls++; return m <= bound })
		if err != nil || got != bound {
			t.Errorf("bound %d: got %d, %v", bound, got, err)
		}
		if calls > 18 {
			t.Errorf("bound %d: %d tries, a binary search needs at most 18", bound, calls)
		}
	}
	if _, err := largestAccepted(1500, 65535, func(int) bool { return false }); err == nil {
		t.Error("a device that refuses 1500 gave no error")
	}
}

func TestEffectiveCapsAndCPUModel(t *testing.T) {
	caps, ok := effectiveCaps("Name:\tx\nCapPrm:\t0000000000000000\nCapEff:\t0000000000201000\n")
	if !ok || caps&(1<<capNetAdmin) == 0 || caps&(1<<capSysAdmin) == 0 {
		t.Errorf("caps %x %v", caps, ok)
	}
	if _, ok := effectiveCaps("Name:\tx\n"); ok {
		t.Error("no CapEff line read as a mask")
	}
	if err := privilegeIn("CapEff:\t0000000000001000\n"); !errors.Is(err, ErrNoPrivilege) {
		t.Errorf("CAP_NET_ADMIN without CAP_SYS_ADMIN: %v", err)
	}
	if err := privilegeIn("CapEff:\t000001ffffffffff\n"); err != nil {
		t.Errorf("root's capabilities: %v", err)
	}
	if m := cpuModel("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n"); m != "AMD EPYC 7B13" {
		t.Errorf("cpu model %q", m)
	}
}

func TestStalePidReadsOnlyOurNames(t *testing.T) {
	for _, c := range []struct {
		name, prefix string
		pid          int
		ok           bool
	}{
		{"stkbench4242", nsPrefix, 4242, true},
		{"stkbench4242v", nsPrefix, 4242, true},
		{"stkint4242", nsPrefix, 0, false},
		{"stkbench", nsPrefix, 0, false},
		{"stackscope-bench-77-123456", filePrefix, 77, true},
		{"stackscope-bench-77-3.sst", filePrefix, 77, true},
		{"stackscope-bench-77-disk-load", filePrefix, 77, true},
		{"stackscope-bench-x", filePrefix, 0, false},
		{fmt.Sprintf("stkbench%d", os.Getpid()), nsPrefix, 0, false},
	} {
		pid, ok := stalePid(c.name, c.prefix)
		if pid != c.pid || ok != c.ok {
			t.Errorf("%s: %d %v, want %d %v", c.name, pid, ok, c.pid, c.ok)
		}
	}
	if !alive(os.Getpid()) {
		t.Error("this process is not alive")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}, {nil, 0}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
