package live

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/stackscope/stackscope/stack/netdev"
)

// startInNetns starts a live session in a namespace of its own, or skips
// the test where the machine does not allow TUN devices or namespaces.
func startInNetns(t testing.TB) (*Session, string) {
	t.Helper()
	return startInNetnsWith(t, "stktest", nil)
}

// startInNetnsWith is startInNetns with the namespace's name prefix and
// a change to the session's configuration (nil: none).
func startInNetnsWith(t testing.TB, prefix string, adjust func(*Config)) (*Session, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live mode needs root (CAP_NET_ADMIN) for TUN devices and network namespaces; skipped")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no /dev/net/tun on this machine (%v); skipped", err)
	}
	ns := fmt.Sprintf("%s%d", prefix, os.Getpid()%100000)
	cfg := Config{Tun: DefaultTun(), Seed: 1}
	cfg.Tun.Netns = ns
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := Start(cfg)
	if errors.Is(err, netdev.ErrNoPrivilege) {
		t.Skipf("TUN or namespaces not permitted here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if _, err := netns.GetFromName(ns); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	})
	return s, ns
}

// inNetns runs fn on a thread inside the namespace.
func inNetns(t testing.TB, name string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the thread is dropped afterwards: it stays in the namespace
		ns, err := netns.GetFromName(name)
		if err != nil {
			t.Error(err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			t.Error(err)
			return
		}
		fn()
	}()
	<-done
}

func TestHostPingsTheStack(t *testing.T) {
	s, ns := startInNetns(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping is not installed (Debian: iputils-ping); skipped")
	}
	out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3 received") {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	sum, err := s.Stats()
	if err != nil || sum.TxPackets < 3 {
		t.Errorf("stats %+v %v", sum, err)
	}
}

func TestHostTalksToUDPEcho(t *testing.T) {
	_, ns := startInNetns(t)
	inNetns(t, ns, func() {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort("10.77.0.2:7")))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		for i := 0; i < 20; i++ {
			msg := []byte(fmt.Sprintf("datagram %d %s", i, strings.Repeat("x", i*70)))
			if _, err := c.Write(msg); err != nil {
				t.Error(err)
				return
			}
			buf := make([]byte, 4096)
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != string(msg) {
				t.Errorf("echo %d: %q, %v", i, buf[:n], err)
				return
			}
		}
		// A 4000-byte datagram is fragmented by the host and reassembled by
		// the stack, then fragmented again on the way back.
		big := []byte(strings.Repeat("0123456789", 400))
		if _, err := c.Write(big); err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, 8192)
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != string(big) {
			t.Errorf("big echo: %d bytes, %v", n, err)
		}
	})
}

func TestHostTalksToTCPServices(t *testing.T) {
	s, ns := startInNetns(t)
	inNetns(t, ns, func() {
		// echo: 10 MB there and back, byte for byte.
		c, err := net.DialTimeout("tcp4", "10.77.0.2:7", 5*time.Second)
		if err != nil {
			t.Error(err)
			return
		}
		payload := make([]byte, 10<<20)
		for i := range payload {
			payload[i] = byte(i ^ i>>9)
		}
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
		errc := make(chan error, 1)
		go func() {
			_, err := c.Write(payload)
			_ = c.(*net.TCPConn).CloseWrite()
			errc <- err
		}()
		got, err := io.ReadAll(c)
		if werr := <-errc; werr != nil || err != nil || !bytes.Equal(got, payload) {
			t.Errorf("echo: wrote (%v), read %d of %d bytes (%v)", werr, len(got), len(payload), err)
		}
		c.Close()
		// discard: 5 MB in, then an orderly close.
		d, err := net.DialTimeout("tcp4", "10.77.0.2:9", 5*time.Second)
		if err != nil {
			t.Error(err)
			return
		}
		_ = d.SetDeadline(time.Now().Add(60 * time.Second))
		if n, err := d.Write(make([]byte, 5<<20)); err != nil || n != 5<<20 {
			t.Errorf("discard: %d, %v", n, err)
		}
		d.Close()
		// chargen: the RFC 864 pattern.
		g, err := net.DialTimeout("tcp4", "10.77.0.2:19", 5*time.Second)
		if err != nil {
			t.Error(err)
			return
		}
		_ = g.SetDeadline(time.Now().Add(10 * time.Second))
		line := make([]byte, 74)
		if _, err := io.ReadFull(g, line); err != nil || string(line[:5]) != " !\"#$" || string(line[72:]) != "\r\n" {
			t.Errorf("chargen: %q %v", line, err)
		}
		g.Close()
	})
	if _, err := exec.LookPath("curl"); err != nil {
		t.Log("curl is not installed (Debian: curl); the HTTP check uses Go's client only")
	} else {
		out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-sS", "-m", "10", "http://10.77.0.2/").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "state            ESTABLISHED") || !strings.Contains(string(out), "remote           10.77.0.1:") {
			t.Errorf("curl: %v\n%s", err, out)
		}
	}
	// The stack's side of the closed connections is gone or closing
	// (LAST_ACK ends when the host's ACK arrives, which it has by now).
	time.Sleep(200 * time.Millisecond)
	snap, err := s.K.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, sk := range snap.Socks {
		if st := sk.SockCommon.SkcState; st != "LISTEN" && st != "CLOSE" && st != "ESTABLISHED" && st != "TIME_WAIT" {
			t.Errorf("sock %s left in %s", sk.Sk, st)
		}
	}
}

// TestStackClientReachesTheHost: a process on the stack connects out to
// a listener on the host's side of the TUN link, sends 1 MB and closes
// first; the host reads it all and closes; the stack keeps the
// four-tuple in TIME_WAIT (a tw sock in ehash).
func TestStackClientReachesTheHost(t *testing.T) {
	s, ns := startInNetns(t)
	var ln net.Listener
	inNetns(t, ns, func() {
		var err error
		if ln, err = net.Listen("tcp4", "10.77.0.1:0"); err != nil {
			t.Error(err)
		}
	})
	if ln == nil {
		return
	}
	defer ln.Close()
	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = byte(i*7 ^ i>>11)
	}
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(c)
		c.Close()
		got <- b
	}()
	p, err := s.K.NewProcess("client")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.DialTCP(netip.MustParseAddrPort(ln.Addr().String()))
	if err != nil {
		t.Fatalf("the stack's connect to the host: %v", err)
	}
	if n, err := c.Write(payload); err != nil || n != len(payload) {
		t.Fatalf("write: %d, %v", n, err)
	}
	local := c.LocalAddr().String()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatalf("the host read %d of %d bytes, or different ones", len(b), len(payload))
	}
	// The host's FIN reaches the stack, whose FIN_WAIT2 becomes TIME_WAIT.
	deadline := time.Now().Add(5 * time.Second)
	for {
		snap, err := s.K.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tw := range snap.Timewait {
			found = found || (tw.Local == local && tw.Substate == "TIME_WAIT" && strings.HasPrefix(tw.SkcNode, "ehash["))
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TIME_WAIT for %s in the snapshot: %+v", local, snap.Timewait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
