package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// urgFix is a connection on the wire where B has sent "hello", then "X"
// with MSG_OOB (the urgent byte), then "world", and A has received all of
// it without reading.
func urgFix(t *testing.T, inline bool) (f *pairFix, sfd int) {
	t.Helper()
	f = newPairFix(t, PairConfig{})
	lfd := f.listen(f.pa, addrA, 9, 8)
	cfd, sfd := f.dial(lfd, 9)
	if inline {
		setIntOpt(t, f.pa, sfd, sockets.SOL_SOCKET, sockets.SO_OOBINLINE, 1)
	}
	setIntOpt(t, f.pb, cfd, sockets.IPPROTO_TCP, sockets.TCP_NODELAY, 1)
	for _, w := range []struct {
		data  string
		flags int
	}{{"hello", 0}, {"X", sockets.MSG_OOB}, {"world", 0}} {
		if _, err := f.call(f.pb, Syscall{Name: "sendto", Args: [4]int64{int64(cfd), int64(w.flags)}, Data: []byte(w.data)}, sec); err != nil {
			t.Fatalf("send %q: %v", w.data, err)
		}
	}
	if err := f.p.RunFor(200e6); err != nil {
		t.Fatal(err)
	}
	return f, sfd
}

// recvFlags reads up to n bytes with flags; it returns the data, the
// result's msg_flags and the error.
func (f *pairFix) recvFlags(p *Process, fd, n, flags int) (string, int, error) {
	f.t.Helper()
	pd, err := f.call(p, Syscall{Name: "recvfrom", Args: [4]int64{int64(fd), int64(n), int64(flags)}}, sec)
	return string(pd.Data()), pd.res.msgFlags, err
}

func (f *pairFix) atMark(p *Process, fd int) int {
	f.t.Helper()
	n, err := p.Ioctl(fd, sockets.SIOCATMARK)
	if err != nil {
		f.t.Fatalf("SIOCATMARK: %v", err)
	}
	return n
}

// TestUrgentByteOutOfBand: without SO_OOBINLINE the urgent byte leaves the
// stream. Poll says POLLPRI, SIOCINQ counts only the bytes before it, a
// read stops in front of it (SIOCATMARK then says 1), recv(MSG_OOB) takes
// it once with MSG_OOB set, and the next read goes on after it.
func TestUrgentByteOutOfBand(t *testing.T) {
	f, sfd := urgFix(t, false)
	fds := []PollFd{{Fd: int32(sfd), Events: sockets.POLLIN | sockets.POLLPRI}}
	if n, err := f.pa.Poll(fds, 0); err != nil || n != 1 || fds[0].Revents&sockets.POLLPRI == 0 {
		t.Errorf("poll = %d, %v, revents %#x; want POLLPRI", n, err, fds[0].Revents)
	}
	if n, _ := f.pa.Ioctl(sfd, sockets.SIOCINQ); n != 5 {
		t.Errorf("SIOCINQ = %d, want 5 (the bytes before the urgent one)", n)
	}
	if m := f.atMark(f.pa, sfd); m != 0 {
		t.Errorf("SIOCATMARK = %d before reading, want 0", m)
	}
	if got, _, err := f.recvFlags(f.pa, sfd, 100, 0); err != nil || got != "hello" {
		t.Fatalf("first read %q, %v; want \"hello\" (stopping at the mark)", got, err)
	}
	if m := f.atMark(f.pa, sfd); m != 1 {
		t.Errorf("SIOCATMARK = %d at the mark, want 1", m)
	}
	if got, fl, err := f.recvFlags(f.pa, sfd, 10, sockets.MSG_OOB|sockets.MSG_PEEK); err != nil || got != "X" || fl&sockets.MSG_OOB == 0 {
		t.Errorf("recv(MSG_OOB|MSG_PEEK) = %q, flags %#x, %v; want \"X\" with MSG_OOB", got, fl, err)
	}
	if got, fl, err := f.recvFlags(f.pa, sfd, 10, sockets.MSG_OOB); err != nil || got != "X" || fl&sockets.MSG_OOB == 0 {
		t.Errorf("recv(MSG_OOB) = %q, flags %#x, %v; want \"X\" with MSG_OOB", got, fl, err)
	}
	if _, _, err := f.recvFlags(f.pa, sfd, 10, sockets.MSG_OOB); errnoOf(err) != tracing.EINVAL {
		t.Errorf("second recv(MSG_OOB): %v, want EINVAL (read already)", err)
	}
	fds[0].Revents = 0
	if _, err := f.pa.Poll(fds, 0); err != nil || fds[0].Revents&sockets.POLLPRI != 0 {
		t.Errorf("poll after the OOB read: revents %#x, %v; want no POLLPRI", fds[0].Revents, err)
	}
	if got, _, err := f.recvFlags(f.pa, sfd, 100, 0); err != nil || got != "world" {
		t.Fatalf("second read %q, %v; want \"world\" (the urgent byte skipped)", got, err)
	}
	if m := f.atMark(f.pa, sfd); m != 0 {
		t.Errorf("SIOCATMARK = %d past the mark, want 0", m)
	}
}

// TestUrgentByteInline: with SO_OOBINLINE the urgent byte stays in the
// stream. A read still stops at the mark; the next one reads it as data,
// and recv(MSG_OOB) says EINVAL.
func TestUrgentByteInline(t *testing.T) {
	f, sfd := urgFix(t, true)
	if got, _, err := f.recvFlags(f.pa, sfd, 100, 0); err != nil || got != "hello" {
		t.Fatalf("first read %q, %v; want \"hello\"", got, err)
	}
	if m := f.atMark(f.pa, sfd); m != 1 {
		t.Errorf("SIOCATMARK = %d at the mark, want 1", m)
	}
	if _, _, err := f.recvFlags(f.pa, sfd, 10, sockets.MSG_OOB); errnoOf(err) != tracing.EINVAL {
		t.Errorf("recv(MSG_OOB) with SO_OOBINLINE: %v, want EINVAL", err)
	}
	if got, _, err := f.recvFlags(f.pa, sfd, 100, 0); err != nil || got != "Xworld" {
		t.Fatalf("second read %q, %v; want \"Xworld\"", got, err)
	}
}

// TestUrgentByteSkippedByOneByteRead: a read of one byte standing on the
// urgent byte (not inline) steps over it and returns the byte after it,
// and having read past the mark, the urgent byte is no longer there out
// of band.
func TestUrgentByteSkippedByOneByteRead(t *testing.T) {
	f, sfd := urgFix(t, false)
	if got, _, err := f.recvFlags(f.pa, sfd, 5, 0); err != nil || got != "hello" {
		t.Fatalf("first read %q, %v", got, err)
	}
	if got, _, err := f.recvFlags(f.pa, sfd, 1, sockets.MSG_DONTWAIT); err != nil || got != "w" {
		t.Fatalf("one-byte read at the mark %q, %v; want \"w\"", got, err)
	}
	if _, _, err := f.recvFlags(f.pa, sfd, 10, sockets.MSG_OOB); errnoOf(err) != tracing.EINVAL {
		t.Errorf("recv(MSG_OOB) after reading past the mark: %v, want EINVAL", err)
	}
}
