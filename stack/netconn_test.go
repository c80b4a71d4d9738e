package stack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stackscope/stackscope/tracing"
)

func TestListenerAdapter(t *testing.T) {
	f := boot(t, Config{})
	l, err := f.p.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 128)
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr().String() != "127.0.0.1:8080" {
		t.Errorf("Addr %s", l.Addr())
	}
	if _, err := f.p.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8080"), 1); err == nil ||
		errnoOf(errors.Unwrap(errors.Unwrap(err))) != tracing.EADDRINUSE {
		t.Errorf("second listener on the port: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	// Wait until accept sleeps in the kernel, then close the listener.
	for {
		s := f.snapshot(t)
		if len(s.Processes[1].Sleeping) == 1 {
			break
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if s := f.snapshot(t); len(s.Socks) != 0 {
		t.Errorf("%d socks left after Close", len(s.Socks))
	}
}

func TestPacketConnAdapter(t *testing.T) {
	f := boot(t, Config{})
	client, err := f.k.NewProcess("client")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := f.p.ListenUDP(netip.MustParseAddrPort("127.0.0.1:5353"))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := client.ListenUDP(netip.MustParseAddrPort("0.0.0.0:0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.WriteTo([]byte("question"), srv.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, from, err := srv.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "question" {
		t.Fatalf("server read %q from %v: %v", buf[:n], from, err)
	}
	if _, err := srv.WriteTo([]byte("answer"), from); err != nil {
		t.Fatal(err)
	}
	n, from2, err := cli.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "answer" || from2.String() != "127.0.0.1:5353" {
		t.Fatalf("client read %q from %v: %v", buf[:n], from2, err)
	}
	if err := srv.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after the deadline: %v", err)
	}
	_ = srv.Close()
	_ = cli.Close()
}

// TestHTTPOverTheModelStack: Go's net/http server on a Listener of one
// process and its client dialling through another, every byte crossing
// the model's TCP over loopback.
func TestHTTPOverTheModelStack(t *testing.T) {
	f := boot(t, Config{Clock: NewRealClock()})
	l, err := f.p.ListenTCP(netip.MustParseAddrPort("127.0.0.1:80"), 16)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("stackscope ", 20000) // 220 kB: several windows' worth
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path+"\n"+body)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	client, err := f.k.NewProcess("curl")
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		return client.DialTCP(netip.MustParseAddrPort(a))
	}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	for _, path := range []string{"/one", "/two"} {
		resp, err := hc.Get("http://127.0.0.1" + path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(got) != path+"\n"+body {
			t.Fatalf("GET %s: %d, %d bytes, %v", path, resp.StatusCode, len(got), err)
		}
	}
	if got := f.mib(t, TCP_MIB_ACTIVEOPENS); got != 1 {
		t.Errorf("%d connections for two requests; keep-alive should reuse one", got)
	}
}

// TestConnCloseWrite: CloseWrite sends our FIN but keeps reading, as
// net.TCPConn's does: the peer reads end of file and can still answer;
// our writes fail afterwards.
func TestConnCloseWrite(t *testing.T) {
	f := boot(t, Config{})
	l, err := f.p.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8081"), 8)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.p.DialTCP(netip.MustParseAddrPort("127.0.0.1:8081"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	var cw interface{ CloseWrite() error } = c
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(sc); len(b) != 0 || err != nil {
		t.Fatalf("server read %q, %v; want end of file", b, err)
	}
	if _, err := sc.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	_ = sc.Close()
	if b, err := io.ReadAll(c); string(b) != "bye" || err != nil {
		t.Errorf("client read %q, %v after its CloseWrite", b, err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Errorf("write after CloseWrite succeeded")
	}
	_ = c.Close()
	_ = l.Close()
}

// TestReadDeadlineInterruptsAWaitingRead: a deadline set in the past while
// a Read waits makes that Read return os.ErrDeadlineExceeded at once, as
// net/http expects when it stops its background read; a later deadline
// set while waiting applies to it.
func TestReadDeadlineInterruptsAWaitingRead(t *testing.T) {
	f := boot(t, Config{IdleAdvance: false})
	l, err := f.p.ListenTCP(netip.MustParseAddrPort("127.0.0.1:8082"), 8)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.p.DialTCP(netip.MustParseAddrPort("127.0.0.1:8082"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 10))
		done <- err
	}()
	// Wait until the read sleeps in the kernel.
	for {
		s := f.snapshot(t)
		if len(s.Processes[1].Sleeping) == 1 {
			break
		}
	}
	if err := sc.SetReadDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the waiting Read returned %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a past deadline did not end the waiting Read")
	}
	// With the deadline cleared, a Read waits again and gets the data.
	_ = sc.SetReadDeadline(time.Time{})
	go func() {
		n, err := sc.Read(make([]byte, 10))
		if err == nil && n != 2 {
			err = io.ErrShortBuffer
		}
		done <- err
	}()
	if _, err := c.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("read after clearing the deadline: %v", err)
	}
}
