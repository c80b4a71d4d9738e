package stack

import (
	"testing"
	"time"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

const (
	pollIn  = sockets.POLLIN | sockets.POLLRDNORM
	pollOut = sockets.POLLOUT | sockets.POLLWRNORM
	pollAll = pollIn | pollOut | sockets.POLLRDHUP
)

// pollNow polls one fd without waiting and returns its revents.
func pollNow(t *testing.T, p *Process, fd int, events uint16) uint16 {
	t.Helper()
	fds := []PollFd{{Fd: int32(fd), Events: events}}
	n, err := p.Poll(fds, 0)
	if err != nil {
		t.Fatal(err)
	}
	if (n == 1) != (fds[0].Revents != 0) {
		t.Fatalf("poll returned %d with revents %s", n, sockets.PollString(uint32(fds[0].Revents)))
	}
	return fds[0].Revents
}

func wantRevents(t *testing.T, what string, got, want uint16) {
	t.Helper()
	if got != want {
		t.Errorf("%s: revents %s, want %s", what, sockets.PollString(uint32(got)), sockets.PollString(uint32(want)))
	}
}

// TestPollListenerReadableWithConnectionWaiting: a listener is readable
// exactly while its accept queue holds a connection.
func TestPollListenerReadableWithConnectionWaiting(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	lfd := f.socket(t)
	_ = p.Bind(lfd, addr("127.0.0.1:8080"))
	_ = p.Listen(lfd, 4)
	wantRevents(t, "empty accept queue", pollNow(t, p, lfd, pollAll), 0)
	m := f.mark()
	if err := p.Connect(f.socket(t), addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	wantRevents(t, "a connection waiting", pollNow(t, p, lfd, pollAll), pollIn)
	want := []string{"do_sys_poll", "sock_poll", "tcp_poll"}
	if got := f.entries(m); !inOrder(got, want) {
		t.Errorf("poll path %v, want %v in order", only(got, want...), want)
	}
	if _, _, err := p.Accept4(lfd, 0); err != nil {
		t.Fatal(err)
	}
	wantRevents(t, "after accept", pollNow(t, p, lfd, pollAll), 0)
}

// TestPollConnectedSocket: a fresh socket is hung up (CLOSE); once
// connected it is writable at once, readable after the peer writes,
// POLLRDHUP|POLLIN after the peer's FIN, and POLLHUP once both directions
// are shut down. A negative fd is skipped; a closed one is POLLNVAL.
func TestPollConnectedSocket(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fresh := f.socket(t)
	wantRevents(t, "fresh socket", pollNow(t, p, fresh, pollAll), sockets.POLLHUP|pollOut)
	_, cfd, afd := f.loopbackPair(t, 9000)
	wantRevents(t, "connected", pollNow(t, p, cfd, pollAll), pollOut)
	wantRevents(t, "connected, POLLIN only asked", pollNow(t, p, cfd, sockets.POLLIN), 0)
	if _, err := p.Sendto(afd, []byte("hello"), 0, nil); err != nil {
		t.Fatal(err)
	}
	wantRevents(t, "data waiting", pollNow(t, p, cfd, pollAll), pollIn|pollOut)
	wantRevents(t, "data waiting, POLLIN asked", pollNow(t, p, cfd, sockets.POLLIN), sockets.POLLIN)
	_, _, _ = p.Recvfrom(cfd, 100, 0)
	wantRevents(t, "data read", pollNow(t, p, cfd, pollAll), pollOut)
	if err := p.Shutdown(afd, sockets.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	wantRevents(t, "peer's FIN", pollNow(t, p, cfd, pollAll), pollIn|pollOut|sockets.POLLRDHUP)
	if err := p.Shutdown(cfd, sockets.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	wantRevents(t, "both shut down", pollNow(t, p, cfd, pollAll), pollIn|pollOut|sockets.POLLRDHUP|sockets.POLLHUP)
	// POLLHUP is reported even when not asked for.
	wantRevents(t, "both shut down, nothing asked", pollNow(t, p, cfd, 0), sockets.POLLHUP)

	_ = p.Close(fresh)
	fds := []PollFd{{Fd: -1, Events: sockets.POLLIN}, {Fd: int32(fresh), Events: sockets.POLLIN}}
	n, err := p.Poll(fds, 0)
	if err != nil || n != 1 || fds[0].Revents != 0 || fds[1].Revents != sockets.POLLNVAL {
		t.Errorf("poll(-1, closed fd) = %d %v, revents %v", n, err, fds)
	}
}

// TestPollConnectInProgressNotWritable: a non-blocking connect to a peer
// that does not answer leaves the socket in SYN_SENT, neither readable nor
// writable; a RST makes it POLLERR|POLLHUP.
func TestPollConnectInProgressNotWritable(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	fd := f.socket(t)
	_, _ = f.p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK)
	if err := f.p.Connect(fd, addr("192.0.2.1:80")); errnoOf(err) != tracing.EINPROGRESS {
		t.Fatal(err)
	}
	wantRevents(t, "SYN_SENT", pollNow(t, f.p, fd, pollAll), 0)
	syn := tcpOf(t, c.Take()[0])
	_ = f.k.Receive(dev, peerTCP(t, 80, uint16(syn.SrcPort), 0, syn.Seq+1, "RA", nil, nil))
	_ = f.k.Sync()
	wantRevents(t, "refused", pollNow(t, f.p, fd, pollAll), sockets.POLLERR|sockets.POLLHUP|sockets.POLLRDHUP|pollIn|pollOut)
}

// TestPollTimeoutOnVirtualClock: nothing to report; poll sleeps until
// the virtual clock passes its timeout and returns 0.
func TestPollTimeoutOnVirtualClock(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	_, cfd, _ := f.loopbackPair(t, 9001)
	pd := p.Start(Syscall{Name: "poll", Args: [4]int64{1, 250}, Fds: []PollFd{{Fd: int32(cfd), Events: sockets.POLLIN}}})
	_ = f.k.Sync()
	if pd.Ready() {
		t.Fatal("poll returned before its timeout")
	}
	_ = f.k.AdvanceTo(249e6)
	if pd.Ready() {
		t.Fatal("poll returned 1 ms before its timeout")
	}
	_ = f.k.AdvanceTo(250e6)
	n, err := pd.Wait()
	if n != 0 || err != nil || pd.PollFds()[0].Revents != 0 {
		t.Errorf("poll after its timeout: %d %v %v", n, err, pd.PollFds())
	}
	if now, _ := f.k.Now(); now != 250e6 {
		t.Errorf("clock %d", now)
	}
}

// TestPollBlockedWakesOnData: a poll waiting for ever on two sockets wakes
// when data arrives on the second, and reports only it.
func TestPollBlockedWakesOnData(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	_, c1, _ := f.loopbackPair(t, 9002)
	_, c2, a2 := f.loopbackPair(t, 9003)
	fds := []PollFd{{Fd: int32(c1), Events: sockets.POLLIN}, {Fd: int32(c2), Events: sockets.POLLIN}}
	pd := p.Start(Syscall{Name: "poll", Args: [4]int64{2, -1}, Fds: fds})
	_ = f.k.Sync()
	if pd.Ready() {
		t.Fatal("poll returned with nothing to read")
	}
	waiters, _ := f.k.Do("waiters", func(k *Kernel) any {
		return []int{f.p.Fdt.Get(c1).PrivateData.Wq.Len(), f.p.Fdt.Get(c2).PrivateData.Wq.Len()}
	})
	if w := waiters.([]int); w[0] != 1 || w[1] != 1 {
		t.Errorf("poll sleeps on %v wait queue entries, want one on each socket", w)
	}
	if _, err := p.Sendto(a2, []byte("x"), 0, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = pd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("poll did not wake")
	}
	n, err := pd.Wait()
	got := pd.PollFds()
	if n != 1 || err != nil || got[0].Revents != 0 || got[1].Revents != sockets.POLLIN {
		t.Errorf("poll = %d %v %v", n, err, got)
	}
	waiters, _ = f.k.Do("waiters", func(k *Kernel) any {
		return []int{f.p.Fdt.Get(c1).PrivateData.Wq.Len(), f.p.Fdt.Get(c2).PrivateData.Wq.Len()}
	})
	if w := waiters.([]int); w[0] != 0 || w[1] != 0 {
		t.Errorf("poll left %v wait queue entries", w)
	}
}

// TestPollInterrupted: a signal ends a poll with nothing ready: EINTR.
func TestPollInterrupted(t *testing.T) {
	f := boot(t, Config{})
	_, cfd, _ := f.loopbackPair(t, 9004)
	pd := f.p.Start(Syscall{Name: "poll", Args: [4]int64{1, -1}, Fds: []PollFd{{Fd: int32(cfd), Events: sockets.POLLIN}}})
	_ = f.k.Sync()
	if err := f.p.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := pd.Wait(); errnoOf(err) != tracing.EINTR {
		t.Errorf("interrupted poll: %v, want EINTR", err)
	}
}

// TestPollUDP: a UDP socket is writable at once and readable while a
// datagram waits.
func TestPollUDP(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd, err := p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Bind(fd, addr("127.0.0.1:5353"))
	wantRevents(t, "UDP, empty", pollNow(t, p, fd, pollAll), pollOut)
	to := addr("127.0.0.1:5353")
	if _, err := p.Sendto(fd, []byte("ping"), 0, &to); err != nil {
		t.Fatal(err)
	}
	wantRevents(t, "UDP, a datagram waiting", pollNow(t, p, fd, pollAll), pollIn|pollOut)
	m := f.mark()
	_ = pollNow(t, p, fd, pollAll)
	if got := f.entries(m); !inOrder(got, []string{"sock_poll", "udp_poll", "datagram_poll"}) {
		t.Errorf("UDP poll path %v", got)
	}
}
