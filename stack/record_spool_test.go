package stack

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// loopbackExchange makes a connection over lo on port and moves n bytes
// across it, then closes both ends.
func loopbackExchange(t *testing.T, srv, cli *Process, port uint16, n int) {
	t.Helper()
	lfd, err := srv.Socket(sockets.AF_INET, sockets.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Bind(lfd, addr("127.0.0.1:"+itoa(int(port)))); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(lfd, 4); err != nil {
		t.Fatal(err)
	}
	cfd, err := cli.Socket(sockets.AF_INET, sockets.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Connect(cfd, addr("127.0.0.1:"+itoa(int(port)))); err != nil {
		t.Fatal(err)
	}
	afd, _, err := srv.Accept4(lfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(n, byte(port))
	if k, err := cli.Sendto(cfd, data, 0, nil); err != nil || k != n {
		t.Fatalf("send: %d, %v", k, err)
	}
	var got []byte
	for len(got) < n {
		b, _, err := srv.Recvfrom(afd, 1<<20, 0)
		if err != nil || len(b) == 0 {
			t.Fatalf("recv after %d bytes: %v", len(got), err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the data differs")
	}
	for _, c := range []struct {
		p  *Process
		fd int
	}{{cli, cfd}, {srv, afd}, {srv, lfd}} {
		if err := c.p.Close(c.fd); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n int) string {
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestRecordingStartedMidSession: a kernel that spools its inputs starts a
// recording after a first connection and stops it after a second; the
// trace replays (the first connection's inputs rebuild the state, the
// second's events are checked), and the spool is gone once the kernel
// stops.
func TestRecordingStartedMidSession(t *testing.T) {
	dir := t.TempDir()
	k, err := New(Config{Seed: 5, Spool: &SpoolConfig{Dir: dir, Header: tracing.TraceHeader{Mode: "test"}}})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	// Someone watches for a while (the inspector, say): the tracer counts
	// events before the recording begins.
	watch, err := k.Subscribe(func(*tracing.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := k.NewProcess("server")
	cli, _ := k.NewProcess("client")
	loopbackExchange(t, srv, cli, 8080, 50_000)
	if _, err := k.Do("unwatch", func(k *Kernel) any { k.tr.Unsubscribe(watch); return nil }); err != nil {
		t.Fatal(err)
	}
	loopbackExchange(t, srv, cli, 8083, 5_000) // unwatched: the tracer does not count these
	if st, err := k.Recording(); err != nil || st.On || !st.Spooled {
		t.Fatalf("before: %+v, %v; want not recording, spooled", st, err)
	}
	trace := filepath.Join(dir, "mid.trace")
	if err := k.StartRecording(trace, tracing.TraceOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := k.StartRecording(trace+"2", tracing.TraceOptions{}); err == nil || !strings.Contains(err.Error(), "already recording") {
		t.Errorf("a second recording: %v", err)
	}
	loopbackExchange(t, srv, cli, 8081, 70_000)
	st, err := k.StopRecording()
	if err != nil || st.Events == 0 || st.Inputs == 0 {
		t.Fatalf("stop: %+v, %v", st, err)
	}
	loopbackExchange(t, srv, cli, 8082, 1000) // after the recording: not in it
	k.Stop()
	if names, _ := filepath.Glob(filepath.Join(dir, "stackscope-spool-*")); len(names) != 0 {
		t.Errorf("spool left behind: %v", names)
	}

	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ScanTrace(opener(data))
	if err != nil {
		t.Fatal(err)
	}
	if tl.First <= 1 || tl.Total() != st.Events || tl.InputEnd[1] != tl.First-1 {
		t.Fatalf("the recording begins at event #%d and holds %d events; want a later start and %d events", tl.First, tl.Total(), st.Events)
	}
	lines, err := replayAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if got := uint64(len(lines)); got != tl.Total() {
		t.Errorf("the replay reported %d events, want the recording's %d", got, tl.Total())
	}
	if !strings.HasPrefix(lines[0], "#"+itoa(int(tl.First))+" ") {
		t.Errorf("the replay's first event is %q, want #%d", lines[0], tl.First)
	}
	// Sent to an event of the second connection, the replay is there.
	s, err := NewSeeker(opener(data), 0, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Seek(tl.First-1, nil); err == nil {
		t.Error("a seek before the recording began should fail")
	}
	pos, err := s.Seek(tl.First+100, nil)
	if err != nil {
		t.Fatal(err)
	}
	pos.Replay.Close()
}

// TestSpoolLimit: once a session's inputs outgrow its spool, the spool is
// dropped and a recording can no longer begin in the middle; it says why.
func TestSpoolLimit(t *testing.T) {
	dir := t.TempDir()
	k, err := New(Config{Seed: 6, Spool: &SpoolConfig{Dir: dir, Limit: 20_000}})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	defer k.Stop()
	srv, _ := k.NewProcess("server")
	cli, _ := k.NewProcess("client")
	loopbackExchange(t, srv, cli, 8080, 50_000)
	if st, err := k.Recording(); err != nil || st.Spooled {
		t.Fatalf("after 50 kB through a 20 kB spool: %+v, %v; want the spool given up", st, err)
	}
	err = k.StartRecording(filepath.Join(dir, "late.trace"), tracing.TraceOptions{})
	if err == nil || !strings.Contains(err.Error(), "outgrew") || !strings.Contains(err.Error(), "--record") {
		t.Fatalf("starting a recording: %v, want it refused with the reason and the way out", err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 0 {
		t.Errorf("files left: %v", names)
	}
}

// TestRecordingMidSessionWithASleeper: a server already asleep in accept()
// when the recording begins (with nobody tracing before, so the tracer
// kept no depths) wakes during it; the replay's events match, depths
// included.
func TestRecordingMidSessionWithASleeper(t *testing.T) {
	dir := t.TempDir()
	k, err := New(Config{Seed: 8, Spool: &SpoolConfig{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	srv, _ := k.NewProcess("server")
	cli, _ := k.NewProcess("client")
	lfd, _ := srv.Socket(sockets.AF_INET, sockets.SOCK_STREAM, 0)
	if err := srv.Bind(lfd, addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(lfd, 4); err != nil {
		t.Fatal(err)
	}
	acc := srv.Start(Syscall{Name: "accept4", Args: [4]int64{int64(lfd)}})
	if err := k.Sync(); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(dir, "sleeper.trace")
	if err := k.StartRecording(trace, tracing.TraceOptions{}); err != nil {
		t.Fatal(err)
	}
	cfd, _ := cli.Socket(sockets.AF_INET, sockets.SOCK_STREAM, 0)
	if err := cli.Connect(cfd, addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.StopRecording(); err != nil {
		t.Fatal(err)
	}
	k.Stop()
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replayAll(t, data); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedSysctlIsNotRecorded: a sysctl write the kernel refuses
// changes nothing and is not an input; the recording still replays.
func TestRefusedSysctlIsNotRecorded(t *testing.T) {
	var buf bytes.Buffer
	w, err := tracing.NewTraceWriter(&buf, tracing.TraceHeader{Mode: "test", Kernel: mustBoot(t, Config{Seed: 9})}, tracing.TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := New(Config{Seed: 9, Record: w})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	bad := "banana"
	if _, err := k.Sysctl("net.ipv4.tcp_sack", &bad); err == nil {
		t.Fatal("the kernel took tcp_sack=banana")
	}
	good := "0"
	if _, err := k.Sysctl("net.ipv4.tcp_sack", &good); err != nil {
		t.Fatal(err)
	}
	k.Stop()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if in, _ := w.Counts(); in != 2 { // the good write and the shutdown
		t.Errorf("%d inputs recorded, want 2", in)
	}
	if _, err := replayAll(t, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// mustBoot is the boot description of cfg as JSON.
func mustBoot(t *testing.T, cfg Config) []byte {
	t.Helper()
	b, err := json.Marshal(DescribeBoot(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
