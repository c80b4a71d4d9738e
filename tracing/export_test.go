package tracing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ngPacket is one packet as gopacket's pcapng reader reads it back.
type ngPacket struct {
	data []byte
	ci   gopacket.CaptureInfo
	opts pcapgo.NgPacketOptions
}

// readPcapng reads a pcapng with gopacket's reader (an independent decoder
// of what the writer wrote): the section, the interfaces and the packets.
func readPcapng(t *testing.T, data []byte) (pcapgo.NgSectionInfo, []pcapgo.NgInterface, []ngPacket) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatalf("pcapgo reads the file: %v", err)
	}
	var pkts []ngPacket
	for {
		d, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("pcapgo reads packet %d: %v", len(pkts)+1, err)
		}
		pkts = append(pkts, ngPacket{append([]byte(nil), d...), ci, opts})
	}
	var ifaces []pcapgo.NgInterface
	for i := 0; i < r.NInterfaces(); i++ {
		intf, err := r.Interface(i)
		if err != nil {
			t.Fatal(err)
		}
		ifaces = append(ifaces, intf)
	}
	return r.SectionInfo(), ifaces, pkts
}

func testPackets() []PcapngPacket {
	syn := []byte{0x45, 0, 0, 20, 0, 1, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 168, 0, 2}
	return []PcapngPacket{
		{TimeNs: 100_000_000, Interface: "tun0", InterfaceDescription: "tun device", Direction: Inbound,
			Comment: "received by netif_receive_skb on tun0", Data: syn},
		{TimeNs: 100_000_123, Interface: "tun0", Direction: Outbound,
			Comment: "sent by dev_queue_xmit on tun0", Data: []byte{0x45, 1, 2}},
		{TimeNs: 2_500_000_000, Interface: "lo", InterfaceDescription: "loopback device", Direction: Outbound,
			Comment: "sent by dev_queue_xmit on lo", Data: []byte{0x45, 9, 9, 9, 9}},
	}
}

func writePcapng(t *testing.T, opt PcapngOptions, pkts []PcapngPacket) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewPcapngWriter(&buf, opt)
	for _, p := range pkts {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Packets() != len(pkts) {
		t.Errorf("Packets() = %d, want %d", w.Packets(), len(pkts))
	}
	return buf.Bytes()
}

func TestPcapngHasAnInterfacePerDeviceAndEachPacketsDirectionCommentAndBytes(t *testing.T) {
	pkts := testPackets()
	data := writePcapng(t, PcapngOptions{Application: "stackscope test", Comment: "a section"}, pkts)
	sec, ifaces, got := readPcapng(t, data)
	if sec.Application != "stackscope test" || sec.Comment != "a section" {
		t.Errorf("section: application %q, comment %q", sec.Application, sec.Comment)
	}
	if sec.Hardware != "" || sec.OS != "" {
		t.Errorf("the section names the host (%q, %q): the output would depend on it", sec.Hardware, sec.OS)
	}
	if len(ifaces) != 2 {
		t.Fatalf("%d interfaces, want 2 (tun0, lo)", len(ifaces))
	}
	for i, w := range []struct{ name, desc string }{{"tun0", "tun device"}, {"lo", "loopback device"}} {
		intf := ifaces[i]
		if intf.Name != w.name || intf.Description != w.desc || intf.LinkType != layers.LinkTypeRaw || intf.SnapLength != 0 {
			t.Errorf("interface %d: %q %q link type %d snap %d; want %q %q RAW 0", i, intf.Name, intf.Description, intf.LinkType, intf.SnapLength, w.name, w.desc)
		}
		if intf.TimestampResolution != 9 {
			t.Errorf("interface %d: resolution %d, want 9 (nanoseconds)", i, intf.TimestampResolution)
		}
	}
	if len(got) != len(pkts) {
		t.Fatalf("%d packets read back, want %d", len(got), len(pkts))
	}
	for i, p := range pkts {
		g := got[i]
		wantIface := 0
		if p.Interface == "lo" {
			wantIface = 1
		}
		if g.ci.InterfaceIndex != wantIface || g.ci.Timestamp.UnixNano() != p.TimeNs || g.ci.CaptureLength != len(p.Data) || g.ci.Length != len(p.Data) {
			t.Errorf("packet %d: %+v; want interface %d, time %d, length %d", i, g.ci, wantIface, p.TimeNs, len(p.Data))
		}
		if !bytes.Equal(g.data, p.Data) {
			t.Errorf("packet %d: bytes % x, want % x", i, g.data, p.Data)
		}
		if fmt.Sprint(g.opts.Comments) != "["+p.Comment+"]" {
			t.Errorf("packet %d: comments %q, want %q", i, g.opts.Comments, p.Comment)
		}
		wantDir := pcapgo.NgEpbFlagDirectionInbound
		if p.Direction == Outbound {
			wantDir = pcapgo.NgEpbFlagDirectionOutbound
		}
		if g.opts.Flags == nil || g.opts.Flags.Direction != wantDir {
			t.Errorf("packet %d: flags %+v, want direction %d", i, g.opts.Flags, wantDir)
		}
	}
}

func TestPcapngIsTheSameBytesEveryTimeAndTheEpochMovesTimestamps(t *testing.T) {
	a := writePcapng(t, PcapngOptions{}, testPackets())
	b := writePcapng(t, PcapngOptions{}, testPackets())
	if !bytes.Equal(a, b) {
		t.Fatal("two exports of the same packets differ")
	}
	if !bytes.Contains(a, []byte("stackscope")) {
		t.Error("the default application name is missing")
	}
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, pkts := readPcapng(t, writePcapng(t, PcapngOptions{Epoch: epoch}, testPackets()))
	if want := epoch.UnixNano() + 100_000_000; pkts[0].ci.Timestamp.UnixNano() != want {
		t.Errorf("timestamp %d with the epoch, want %d", pkts[0].ci.Timestamp.UnixNano(), want)
	}
}

func TestPcapngWithoutPacketsIsAValidEmptyCapture(t *testing.T) {
	data := writePcapng(t, PcapngOptions{Comment: "nothing"}, nil)
	sec, ifaces, pkts := readPcapng(t, data)
	if sec.Comment != "nothing" || len(pkts) != 0 || len(ifaces) != 1 || ifaces[0].Name != "none" {
		t.Fatalf("section %+v, interfaces %+v, %d packets", sec, ifaces, len(pkts))
	}
	tsharkReads(t, data, "", 0)
}

func TestPcapngRefusesWhatItCannotWriteAndKeepsTheFirstError(t *testing.T) {
	w := NewPcapngWriter(&bytes.Buffer{}, PcapngOptions{})
	if err := w.WritePacket(PcapngPacket{Data: []byte{0x45}}); err == nil || !strings.Contains(err.Error(), "no interface") {
		t.Errorf("a packet without an interface: %v", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close forgot the error")
	}

	fw := &failWriter{after: 10}
	w = NewPcapngWriter(fw, PcapngOptions{})
	var err error
	for i := 0; i < 2000 && err == nil; i++ { // more than the buffer holds
		err = w.WritePacket(PcapngPacket{Interface: "tun0", Data: make([]byte, 1000)})
	}
	if err == nil {
		err = w.Close()
	}
	if !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "pcapng: ") {
		t.Errorf("a failing writer: %v", err)
	}
	if err2 := w.Close(); !errors.Is(err2, errDiskFull) {
		t.Errorf("Close after the failure: %v", err2)
	}
	if err := w.WritePacket(PcapngPacket{Interface: "tun0"}); !errors.Is(err, errDiskFull) {
		t.Errorf("a packet after the failure: %v", err)
	}
}

var errDiskFull = errors.New("disk full")

// failWriter accepts after writes, then fails.
type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errDiskFull
	}
	f.after--
	return len(p), nil
}

// tsharkReads runs tshark over a pcapng (when it is installed) with the
// fields given, checks it reads it cleanly, and returns its lines.
func tsharkReads(t *testing.T, data []byte, fields string, packets int) []string {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark is not installed: the pcapng is checked by the test decoder only")
		return nil
	}
	p := filepath.Join(t.TempDir(), "t.pcapng")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-r", p}
	if fields != "" {
		args = append(args, "-T", "fields")
		for _, f := range strings.Fields(fields) {
			args = append(args, "-e", f)
		}
	}
	cmd := exec.Command("tshark", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	for _, bad := range []string{"malformed", "warning", "error", "appears to be damaged", "cut short"} {
		if strings.Contains(strings.ToLower(stdout.String()+stderr.String()), bad) {
			t.Errorf("tshark says %q:\n%s%s", bad, stdout.String(), stderr.String())
		}
	}
	out := strings.TrimSuffix(stdout.String(), "\n")
	var lines []string
	if out != "" {
		lines = strings.Split(out, "\n")
	}
	if len(lines) != packets {
		t.Errorf("tshark shows %d packets, want %d:\n%s", len(lines), packets, out)
	}
	return lines
}

func TestTsharkReadsTheInterfacesDirectionsAndComments(t *testing.T) {
	data := writePcapng(t, PcapngOptions{}, testPackets())
	lines := tsharkReads(t, data, "frame.interface_name frame.packet_flags_direction frame.comment frame.len", 3)
	if lines == nil {
		return
	}
	want := []string{
		"tun0\t0x00000001\treceived by netif_receive_skb on tun0\t20",
		"tun0\t0x00000002\tsent by dev_queue_xmit on tun0\t3",
		"lo\t0x00000002\tsent by dev_queue_xmit on lo\t5",
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("packet %d: tshark shows %q, want %q", i+1, lines[i], want[i])
		}
	}
}

// chromeFile is the JSON a ChromeWriter writes.
type chromeFile struct {
	TraceEvents     []chromeEvent `json:"traceEvents"`
	DisplayTimeUnit string        `json:"displayTimeUnit"`
}

type chromeEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Ph   string         `json:"ph"`
	Ts   *float64       `json:"ts"`
	Pid  int            `json:"pid"`
	Tid  uint32         `json:"tid"`
	S    string         `json:"s"`
	Args map[string]any `json:"args"`
}

// writeChrome writes events through a ChromeWriter and parses the JSON.
func writeChrome(t *testing.T, funcs []string, evs []Event) (chromeFile, []byte, *ChromeWriter) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewChromeWriter(&buf, funcs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		w.Event(&evs[i])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("not valid JSON:\n%s", buf.Bytes())
	}
	var f chromeFile
	if err := json.Unmarshal(buf.Bytes(), &f); err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	return f, buf.Bytes(), w
}

// ev builds an event of the test trace's function table.
func ev(seq uint64, ns int64, task uint32, fn FuncID, kind Kind, ret Arg, args ...Arg) Event {
	return Event{Seq: seq, Time: ns, Task: task, Func: fn, Kind: kind}.WithArgs(ret, args...)
}

// The trace's function table: its own numbering, not the registry's.
var chromeFuncs = []string{"(none)", "tracing_test_fn", "unregistered_fn", "odd \"name\"\n"}

func TestChromeTraceHasSlicesInstantsNamesArgsAndThreads(t *testing.T) {
	evs := []Event{
		ev(1, 1_000, 0, 1, Entry, Arg{}, Skb(0xffff888004a3c000), Int(128)),
		ev(2, 1_500, 0, 2, Entry, Arg{}, Size(7), Uint(0x20), Bool(true)),
		ev(3, 2_000, 0, 2, Exit, Errno(-12)),
		ev(4, 2_250, 0, 1, Point, Arg{}, Reason(5)),
		ev(5, 3_001, 0, 1, Exit, Errno(0)),
		ev(6, 4_000, 3, 3, Entry, Arg{}, IPv4(0x0100007f)),
		ev(7, 4_000, 3, 9, Point, Arg{}), // a FuncID past the table
		ev(8, 5_000, 3, 3, Exit, Arg{}),
	}
	f, raw, w := writeChrome(t, chromeFuncs, evs)
	if f.DisplayTimeUnit != "ns" {
		t.Errorf("displayTimeUnit %q", f.DisplayTimeUnit)
	}
	if w.Events() != 8 || w.Skipped() != 0 {
		t.Errorf("Events() %d, Skipped() %d", w.Events(), w.Skipped())
	}
	count := map[string]int{}
	meta := map[string]string{}
	var trace []chromeEvent
	for _, e := range f.TraceEvents {
		count[e.Ph]++
		if e.Pid != 1 {
			t.Errorf("%s: pid %d", e.Name, e.Pid)
		}
		if e.Ph == "M" {
			meta[fmt.Sprintf("%s/%d", e.Name, e.Tid)] = fmt.Sprint(e.Args["name"])
			continue
		}
		trace = append(trace, e)
	}
	if count["B"] != 3 || count["E"] != 3 || count["i"] != 2 || count["M"] != 3 {
		t.Errorf("counts %v, want 3 B, 3 E, 2 i, 3 M", count)
	}
	wantMeta := map[string]string{"process_name/0": "stackscope kernel", "thread_name/0": "softirq", "thread_name/3": "task 3"}
	if fmt.Sprint(meta) != fmt.Sprint(wantMeta) {
		t.Errorf("metadata %v, want %v", meta, wantMeta)
	}
	if f.TraceEvents[0].Name != "process_name" {
		t.Errorf("the first event is %q, not the process name", f.TraceEvents[0].Name)
	}
	names := []string{"tracing_test_fn", "unregistered_fn", "unregistered_fn", "tracing_test_fn", "tracing_test_fn",
		"odd \"name\"\n", "func#9", "odd \"name\"\n"}
	phs := "BBEiEBiE"
	for i, e := range trace {
		if e.Name != names[i] || e.Ph != phs[i:i+1] {
			t.Errorf("event %d: %s %q, want %s %q", i, e.Ph, e.Name, phs[i:i+1], names[i])
		}
		if e.Ts == nil || *e.Ts != float64(evs[i].Time)/1000 || e.Tid != evs[i].Task {
			t.Errorf("event %d: ts %v tid %d, want %v, %d", i, e.Ts, e.Tid, float64(evs[i].Time)/1000, evs[i].Task)
		}
		if (e.Ph == "i") != (e.S == "t") {
			t.Errorf("event %d: ph %s with scope %q", i, e.Ph, e.S)
		}
	}
	if trace[0].Cat != "net/core/test.c" || trace[1].Cat != "kernel" {
		t.Errorf("categories %q, %q", trace[0].Cat, trace[1].Cat)
	}
	args := []string{
		"map[len:128 skb:0xffff888004a3c000]", // the registry's names
		"map[a0:7 a1:0x20 a2:true]",           // not registered: a0, a1, a2
		"map[ret:-12 ENOMEM]",
		"map[skb:5]",
		"map[ret:0]",
		"map[a0:127.0.0.1]",
		"map[]",
		"map[]",
	}
	for i, e := range trace {
		if got := fmt.Sprint(e.Args); got != args[i] {
			t.Errorf("event %d (%s %s): args %s, want %s", i, e.Ph, e.Name, got, args[i])
		}
	}
	if !bytes.Contains(raw, []byte(`"ts":3.001,`)) {
		t.Error(`3001 ns is not written as "ts":3.001`)
	}
}

func TestChromeTimestampsAreMonotonicPerThread(t *testing.T) {
	var evs []Event
	for i := range 200 {
		task := uint32(i % 3)
		evs = append(evs, ev(uint64(2*i+1), int64(i)*1_234_567, task, 1, Entry, Arg{}, Skb(uint64(i))),
			ev(uint64(2*i+2), int64(i)*1_234_567+999, task, 1, Exit, Errno(0)))
	}
	f, _, _ := writeChrome(t, chromeFuncs, evs)
	last := map[uint32]float64{}
	n := 0
	for _, e := range f.TraceEvents {
		if e.Ph == "M" {
			continue
		}
		if e.Ts == nil {
			t.Fatalf("%s %s without ts", e.Ph, e.Name)
		}
		if prev, ok := last[e.Tid]; ok && *e.Ts < prev {
			t.Errorf("tid %d: ts %v after %v", e.Tid, *e.Ts, prev)
		}
		last[e.Tid] = *e.Ts
		n++
	}
	if n != len(evs) {
		t.Errorf("%d events, want %d", n, len(evs))
	}
}

func TestChromeTraceCutInsideCallsIsStillValidJSON(t *testing.T) {
	// The recording starts inside calls (Exits with no Entry before them)
	// and ends inside one (an Entry with no Exit).
	evs := []Event{
		ev(1, 10, 0, 1, Exit, Errno(0)),
		ev(2, 20, 4, 2, Exit, Arg{}),
		ev(3, 30, 0, 1, Entry, Arg{}, Skb(1)),
		ev(4, 40, 0, 2, Entry, Arg{}),
		ev(5, 50, 0, 2, Exit, Arg{}),
		ev(6, 60, 4, 1, Entry, Arg{}),
		ev(7, 70, 0, 1, Exit, Errno(0)),
		ev(8, 80, 0, 3, Exit, Errno(0)), // tid 0 has nothing open now
	}
	f, _, w := writeChrome(t, chromeFuncs, evs)
	count := map[string]int{}
	var seqTs []float64
	for _, e := range f.TraceEvents {
		count[e.Ph]++
		if e.Ph != "M" {
			seqTs = append(seqTs, *e.Ts)
		}
	}
	if count["B"] != 3 || count["E"] != 2 || w.Skipped() != 3 || w.Events() != 5 {
		t.Errorf("counts %v, skipped %d, events %d; want 3 B, 2 E, 3 skipped, 5 events", count, w.Skipped(), w.Events())
	}
	if fmt.Sprint(seqTs) != "[0.03 0.04 0.05 0.06 0.07]" {
		t.Errorf("the events kept are at %v µs", seqTs)
	}

	// Nothing at all is valid JSON too.
	f, _, _ = writeChrome(t, nil, nil)
	if len(f.TraceEvents) != 1 || f.TraceEvents[0].Name != "process_name" {
		t.Errorf("an empty trace: %+v", f.TraceEvents)
	}
}

func TestChromeStreamsAndReportsWriteErrors(t *testing.T) {
	// A writer that counts: the JSON must reach it while events are still
	// coming, not all at Close.
	cw := &countWriter{}
	w, err := NewChromeWriter(cw, chromeFuncs)
	if err != nil {
		t.Fatal(err)
	}
	e := ev(1, 1, 0, 1, Point, Arg{}, Skb(1))
	for range 100_000 {
		w.Event(&e)
	}
	if cw.n < 1<<20 {
		t.Errorf("only %d bytes reached the writer before Close: the JSON is not streamed", cw.n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w, err = NewChromeWriter(&failWriter{after: 2}, chromeFuncs)
	if err != nil {
		t.Fatal(err)
	}
	for range 100_000 {
		w.Event(&e)
	}
	if err := w.Close(); !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "chrome trace: ") {
		t.Errorf("a failing writer: %v", err)
	}
	if w.Err() == nil || w.Close() == nil {
		t.Error("the error is forgotten")
	}
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

func TestAppendMicrosAndJSONStrings(t *testing.T) {
	for ns, want := range map[int64]string{0: "0.000", 1: "0.001", 999: "0.999", 1000: "1.000", 123456789: "123456.789", -1500: "-1.500"} {
		if got := string(appendMicros(nil, ns)); got != want {
			t.Errorf("appendMicros(%d) = %s, want %s", ns, got, want)
		}
	}
	for _, s := range []string{"", "plain", `q"b\`, "nl\ntab\tcr\r", "\x00\x1f\x7f", "é✓", "bad\xffutf8"} {
		enc := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Errorf("%q encodes as %s: %v", s, enc, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("%q round-trips as %q", s, back)
		}
	}
}
