package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stackscope/stackscope/tracing"
)

// recordHandshake records the built-in handshake scenario into dir and
// returns the trace's path.
func recordHandshake(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "t.trace")
	out, err := runCLI(t, "run", "handshake", "--check", "--record", p)
	if err != nil || !strings.HasPrefix(out, "PASS ") {
		t.Fatalf("recording the handshake: %v\n%s", err, out)
	}
	return p
}

// dirNames lists a directory's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// tshark runs tshark with args, fails the test if it does not exit 0 or
// says anything is malformed or wrong, and returns its standard output.
func tshark(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("tshark", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	all := strings.ToLower(stdout.String() + stderr.String())
	for _, bad := range []string{"malformed", "warning", "error", "appears to be damaged", "cut short"} {
		if strings.Contains(all, bad) {
			t.Errorf("tshark %s says %q:\n%s%s", strings.Join(args, " "), bad, stdout.String(), stderr.String())
		}
	}
	return stdout.String()
}

func TestExportPcapngIsReadByTshark(t *testing.T) {
	dir := t.TempDir()
	trace := recordHandshake(t, dir)
	out := filepath.Join(dir, "hs.pcapng")
	stdout, err := runCLI(t, "export", trace, "--format", "pcapng", "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "wrote 5 packets to "+out+"\n" {
		t.Errorf("stdout %q", stdout)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Deterministic: the same trace gives the same bytes.
	if _, err := runCLI(t, "export", trace, "--format", "pcapng", "-o", out); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(first, again) {
		t.Error("two exports of the same trace differ")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"hs.pcapng", "t.trace"}) {
		t.Errorf("the directory holds %q", names)
	}

	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (apt-get install tshark; CI installs it): the pcapng is not checked by an independent reader")
	}
	summary := tshark(t, "-r", out)
	if n := strings.Count(summary, "\n"); n != 5 {
		t.Errorf("tshark shows %d packets, want 5:\n%s", n, summary)
	}
	fields := tshark(t, "-r", out, "-T", "fields", "-E", "separator=|",
		"-e", "tcp.flags", "-e", "ip.src", "-e", "frame.interface_name", "-e", "frame.packet_flags_direction", "-e", "frame.comment")
	lines := strings.Split(strings.TrimSpace(fields), "\n")
	want := []string{
		"0x0002|192.0.2.1|tun0|0x00000001|received by netif_receive_skb on tun0", // SYN
		"0x0012|192.168.0.2|tun0|0x00000002|sent by dev_queue_xmit on tun0",      // SYN-ACK
		"0x0010|192.0.2.1|tun0|0x00000001|received by netif_receive_skb on tun0", // ACK
		"0x0018|192.168.0.2|tun0|0x00000002|sent by dev_queue_xmit on tun0",      // the data
		"0x0010|192.0.2.1|tun0|0x00000001|received by netif_receive_skb on tun0"} // its ACK
	if len(lines) != len(want) {
		t.Fatalf("tshark fields:\n%s", fields)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("packet %d: %q, want %q", i+1, lines[i], want[i])
		}
	}
	// The script's times: the SYN at 0.1 s, the ACK at 0.2 s after boot.
	times := tshark(t, "-r", out, "-T", "fields", "-e", "frame.time_epoch")
	if !strings.HasPrefix(times, "0.100000000\n0.100000000\n0.200000000\n") {
		t.Errorf("times since boot:\n%s", times)
	}
}

func TestExportChromeHasTheKernelFunctions(t *testing.T) {
	dir := t.TempDir()
	trace := recordHandshake(t, dir)
	for _, format := range []string{"chrome", "json", ""} { // "" takes it from .json
		out := filepath.Join(dir, "hs-"+format+".json")
		args := []string{"export", trace, "-o", out}
		if format != "" {
			args = append(args, "--format", format)
		}
		stdout, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("--format %q: %v", format, err)
		}
		if !strings.HasPrefix(stdout, "wrote ") || !strings.HasSuffix(stdout, " events to "+out+"\n") {
			t.Errorf("--format %q: stdout %q", format, stdout)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			TraceEvents []struct {
				Name string         `json:"name"`
				Ph   string         `json:"ph"`
				Ts   float64        `json:"ts"`
				Tid  uint32         `json:"tid"`
				Args map[string]any `json:"args"`
			} `json:"traceEvents"`
			DisplayTimeUnit string `json:"displayTimeUnit"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("--format %q: %v", format, err)
		}
		var begins, ends int
		threads := map[uint32]string{}
		rcv := false
		for _, e := range f.TraceEvents {
			switch e.Ph {
			case "B":
				begins++
				rcv = rcv || e.Name == "tcp_v4_rcv" && e.Tid == 0 && e.Ts >= 100000 && e.Args["skb"] != nil
			case "E":
				ends++
			case "M":
				if e.Name == "thread_name" {
					threads[e.Tid] = e.Args["name"].(string)
				}
			}
		}
		if !rcv {
			t.Errorf("--format %q: no tcp_v4_rcv slice on the softirq thread at 0.1 s with its skb", format)
		}
		if begins == 0 || begins != ends {
			t.Errorf("--format %q: %d begins, %d ends", format, begins, ends)
		}
		if threads[0] != "softirq" || len(threads) < 2 {
			t.Errorf("--format %q: threads %v", format, threads)
		}
		if f.DisplayTimeUnit != "ns" {
			t.Errorf("--format %q: displayTimeUnit %q", format, f.DisplayTimeUnit)
		}
	}
}

func TestExportRefusesBadTracesAndLeavesNothing(t *testing.T) {
	good, err := os.ReadFile(recordHandshake(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(good)
	damaged[len(damaged)*2/3] ^= 0x55
	inputs := []struct {
		name, problem string
		data          []byte
	}{
		{"empty.trace", "empty file", nil},
		{"image.trace", "not a stackscope trace", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
		{"cut-header.trace", "truncated", good[:100]},
		// Cut near the end: the replay runs, then the trace stops short.
		{"cut.trace", "truncated", good[:len(good)-200]},
		{"damaged.trace", "", damaged},
	}
	for _, in := range inputs {
		for _, format := range []string{"pcapng", "chrome"} {
			dir := t.TempDir()
			trace := filepath.Join(dir, in.name)
			if err := os.WriteFile(trace, in.data, 0o600); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out."+format)
			stdout, err := runCLI(t, "export", trace, "--format", format, "-o", out)
			if err == nil {
				t.Errorf("%s as %s: no error; stdout %q", in.name, format, stdout)
				continue
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "export ") || !strings.Contains(msg, trace) ||
				!strings.Contains(msg, in.problem) {
				t.Errorf("%s as %s: error %q; want one line naming %s and %q", in.name, format, msg, trace, in.problem)
			}
			if stdout != "" {
				t.Errorf("%s as %s: stdout %q", in.name, format, stdout)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{in.name}) {
				t.Errorf("%s as %s: the directory holds %q (a partial output or a temporary file)", in.name, format, names)
			}
		}
	}

	// A failed export leaves an existing OUT as it was.
	dir := t.TempDir()
	trace := filepath.Join(dir, "cut.trace")
	out := filepath.Join(dir, "old.pcapng")
	if err := os.WriteFile(trace, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "export", trace, "--format", "pcapng", "-o", out); err == nil {
		t.Error("a cut trace exported")
	}
	if data, _ := os.ReadFile(out); string(data) != "old" {
		t.Errorf("OUT became %q", data)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"cut.trace", "old.pcapng"}) {
		t.Errorf("the directory holds %q", names)
	}
}

// rewriteTrace copies a trace with its header changed by edit.
func rewriteTrace(t *testing.T, from, to string, edit func(*tracing.TraceHeader)) {
	t.Helper()
	r, err := tracing.OpenTrace(from)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := r.Header()
	h.Funcs = slices.Clone(h.Funcs)
	edit(&h)
	w, err := tracing.CreateTrace(to, h, tracing.TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tracing.CopyRecords(r, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestExportPcapngStopsAtADivergence(t *testing.T) {
	dir := t.TempDir()
	good := recordHandshake(t, dir)
	// A trace from a "later" stackscope whose tcp_v4_rcv has another name:
	// the replay cannot match it.
	trace := filepath.Join(dir, "renamed.trace")
	rewriteTrace(t, good, trace, func(h *tracing.TraceHeader) {
		i := slices.Index(h.Funcs, "tcp_v4_rcv")
		if i < 0 {
			t.Fatal("the trace has no tcp_v4_rcv")
		}
		h.Funcs[i] = "tcp_v4_rcv_v2"
	})
	out := filepath.Join(dir, "out.pcapng")
	_, err := runCLI(t, "export", trace, "--format", "pcapng", "-o", out)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "export "+trace+": replay diverged") ||
		!strings.Contains(err.Error(), "tcp_v4_rcv_v2") {
		t.Errorf("error %v", err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"renamed.trace", "t.trace"}) {
		t.Errorf("the directory holds %q", names)
	}
	// The Chrome export reads the events as they are: the name is the
	// trace's own.
	out = filepath.Join(dir, "out.json")
	if _, err := runCLI(t, "export", trace, "--format", "chrome", "-o", out); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(out); !bytes.Contains(data, []byte(`"name":"tcp_v4_rcv_v2","cat":"kernel","ph":"B"`)) {
		t.Error("the renamed function is not in the Chrome trace")
	}

	// An output directory that does not exist: nothing to clean up, and
	// the error names the trace.
	_, err = runCLI(t, "export", good, "--format", "pcapng", "-o", filepath.Join(dir, "no", "such", "dir.pcapng"))
	if err == nil || !strings.HasPrefix(err.Error(), "export "+good+": ") {
		t.Errorf("a missing output directory: %v", err)
	}
}

func TestExportFlags(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "t.trace")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", trace, "--format", "pcap", "-o", filepath.Join(dir, "x")}, `unknown format "pcap": the formats are pcapng, chrome`},
		{[]string{"export", trace, "--format", "pcapng"}, "-o OUT"},
		{[]string{"export", trace, "-o", filepath.Join(dir, "x.bin")}, "--format (pcapng, chrome, markdown)"},
		{[]string{"export", "--format", "pcapng", "-o", filepath.Join(dir, "x")}, "accepts 1 arg"},
		{[]string{"export", trace, "--format", "chrome", "-o", trace}, "no such file"},
	} {
		if _, err := runCLI(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.args, err, c.want)
		}
	}
	// The trace itself as the output is refused before anything is read.
	if err := os.WriteFile(trace, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "export", trace, "--format", "chrome", "-o", trace); err == nil || !strings.Contains(err.Error(), "the trace itself") {
		t.Errorf("OUT = TRACE: %v", err)
	}
	if data, _ := os.ReadFile(trace); string(data) != "keep" {
		t.Errorf("the trace became %q", data)
	}
	help, err := runCLI(t, "export", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"tshark -r", "ui.perfetto.dev", "chrome://tracing", "--format", "-o, --output"} {
		if !strings.Contains(help, w) {
			t.Errorf("--help lacks %q", w)
		}
	}
}

// TestExportToStdoutAndDevices checks the outputs that are not regular
// files: "-o -" puts the export on stdout and the summary on stderr, a
// device node is written as it is (its mode and kind unchanged; before,
// the temporary file was renamed over it, so -o /dev/null as root would
// have replaced /dev/null), and a directory is refused by name.
func TestExportToStdoutAndDevices(t *testing.T) {
	dir := t.TempDir()
	trace := recordHandshake(t, dir)
	file := filepath.Join(dir, "x.pcapng")
	if _, err := runCLI(t, "export", trace, "-o", file); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	cmd := newRootCmd(strings.NewReader(""), &out, &errOut)
	cmd.SetArgs([]string{"export", trace, "--format", "pcapng", "-o", "-"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("-o - wrote %d bytes to stdout, the file has %d", out.Len(), len(want))
	}
	if !strings.Contains(errOut.String(), "wrote 5 packets to standard output") {
		t.Errorf("stderr: %q", errOut.String())
	}

	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Logf("no device node (mknod: %v): stdout is the only check", err)
	} else {
		if err := os.Chmod(null, 0o666); err != nil {
			t.Fatal(err)
		}
		if _, err := runCLI(t, "export", trace, "--format", "pcapng", "-o", null); err != nil {
			t.Fatalf("export onto a null device: %v", err)
		}
		if st, err := os.Stat(null); err != nil || st.Mode()&os.ModeCharDevice == 0 || st.Mode().Perm() != 0o666 {
			t.Fatalf("the device is now %v (%v)", st.Mode(), err)
		}
		if names := dirNames(t, dir); len(names) != 3 {
			t.Errorf("the directory holds %q, want the trace, the pcapng and the device", names)
		}
	}
	if _, err := runCLI(t, "export", trace, "--format", "pcapng", "-o", dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("-o DIR: %v", err)
	}
}

// TestOutputsThatAreStdoutOrLinks: a path that is this process's standard
// output (/dev/stdout, the file stdout is redirected to) is written as -o -
// is, with the summary on stderr, not replaced by a renamed file (which
// replaced /dev/stdout itself, or put the summary into the export); and
// --record refuses it, since the command's messages go there too (a
// recording onto stdout read back as "not a stackscope trace"). Through a
// symbolic link, export replaces the file the link names, not the link,
// even when that file does not exist yet.
func TestOutputsThatAreStdoutOrLinks(t *testing.T) {
	dir := t.TempDir()
	trace := recordHandshake(t, dir)
	want, err := runCLI(t, "export", trace, "--format", "chrome", "-o", filepath.Join(dir, "want.json"))
	if err != nil {
		t.Fatal(err, want)
	}
	wantJSON, err := os.ReadFile(filepath.Join(dir, "want.json"))
	if err != nil {
		t.Fatal(err)
	}

	redirected := filepath.Join(dir, "stdout.txt")
	f, err := os.Create(redirected)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f // as if the shell had redirected stdout to the file
	defer func() { os.Stdout = saved }()

	var out, errOut bytes.Buffer
	cmd := newRootCmd(strings.NewReader(""), &out, &errOut)
	cmd.SetArgs([]string{"export", trace, "--format", "chrome", "-o", redirected})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), wantJSON) || !strings.Contains(errOut.String(), "to standard output") {
		t.Errorf("-o STDOUT-FILE: %d bytes on stdout (want %d), stderr %q", out.Len(), len(wantJSON), errOut.String())
	}
	if st, err := os.Stat(redirected); err != nil || !os.SameFile(st, mustStat(t, f)) {
		t.Errorf("the file stdout goes to was replaced (%v)", err)
	}

	msg, err := runCLI(t, "run", "handshake", "--check", "--record", redirected)
	if err == nil || !strings.Contains(msg+err.Error(), "is this command's standard output") {
		t.Errorf("--record onto stdout's file: %v %q", err, msg)
	}
	if b, _ := os.ReadFile(redirected); len(b) != 0 {
		t.Errorf("--record onto stdout's file wrote %d bytes into it", len(b))
	}

	link := filepath.Join(dir, "link.json")
	if err := os.Symlink("target.json", link); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the target made, then replaced
		if _, err := runCLI(t, "export", trace, "--format", "chrome", "-o", link); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("the link is now %v (%v)", st.Mode(), err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "target.json")); err != nil || !bytes.Equal(b, wantJSON) {
			t.Fatalf("the link's target holds %d bytes (%v), want %d", len(b), err, len(wantJSON))
		}
	}
}

func mustStat(t *testing.T, f *os.File) os.FileInfo {
	t.Helper()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return st
}
