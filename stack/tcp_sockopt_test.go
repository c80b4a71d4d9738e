package stack

import (
	"bytes"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// caOf reads the congestion control algorithm of proc's socket fd.
func caOf(t testing.TB, proc *Process, fd int) string {
	t.Helper()
	r, err := proc.k.Do("ca", func(k *Kernel) any {
		return tcpSk(proc.Fdt.Get(fd).PrivateData.Sk).ops().name
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.(string)
}

func congestion(name string) sockets.Optval { return sockets.Optval{Bytes: []byte(name)} }

// TestTcpCongestionOptionChoosesTheAlgorithm: getsockopt(TCP_CONGESTION)
// copies out the name, NUL-padded to the buffer (at most 16 bytes);
// setsockopt takes a name of up to 15 characters ending at the first NUL
// and refuses an unknown one with ENOENT, as tcp_set_congestion_control
// does, and an empty buffer with EINVAL.
func TestTcpCongestionOptionChoosesTheAlgorithm(t *testing.T) {
	f := boot(t, Config{Seed: 1})
	fd := f.socket(t)
	get := func(optlen int) []byte {
		t.Helper()
		pd := f.p.Start(Syscall{Name: "getsockopt", Args: [4]int64{int64(fd), sockets.SOL_TCP, sockets.TCP_CONGESTION, int64(optlen)}})
		if _, err := pd.Wait(); err != nil {
			t.Fatal(err)
		}
		return pd.Opt().Bytes
	}
	if got, want := get(0), append([]byte("cubic"), make([]byte, 11)...); !bytes.Equal(got, want) {
		t.Fatalf("getsockopt(TCP_CONGESTION) = %q, want %q (the default, NUL-padded to TCP_CA_NAME_MAX)", got, want)
	}
	if got := get(3); string(got) != "cub" {
		t.Errorf("getsockopt with optlen 3 = %q, want \"cub\"", got)
	}
	for _, c := range []struct {
		val  []byte
		want int
	}{
		{[]byte("vegas"), tracing.ENOENT},
		{[]byte("renoreno"), tracing.ENOENT},
		{[]byte{}, tracing.EINVAL},
		{[]byte("reno\x00cubic"), 0},
		{[]byte("cubicxxxxxxxxxxxreno"), tracing.ENOENT}, // read as "cubicxxxxxxxxxx", 15 bytes
	} {
		err := f.p.Setsockopt(fd, sockets.SOL_TCP, sockets.TCP_CONGESTION, sockets.Optval{Bytes: c.val})
		if int(errnoOf(err)) != c.want {
			t.Errorf("setsockopt(TCP_CONGESTION, %q) = %v, want errno %d", c.val, err, c.want)
		}
	}
	if got := get(4); string(got) != "reno" {
		t.Errorf("after choosing reno, getsockopt = %q", got)
	}
	if got := caOf(t, f.p, fd); got != "reno" {
		t.Errorf("the socket runs %s, want reno", got)
	}
}

// TestTcpCongestionOnAConnection: choosing an algorithm on an established
// connection starts it at once (tcp_reinit_congestion_control), and a
// listener's choice passes to its children, while a listener that chose
// nothing gives each child the system default of the moment the child is
// made (tcp_ca_openreq_child).
func TestTcpCongestionOnAConnection(t *testing.T) {
	f := newPairFix(t, PairConfig{})
	chosen := f.listen(f.pa, addrA, 80, 8)
	if err := f.pa.Setsockopt(chosen, sockets.SOL_TCP, sockets.TCP_CONGESTION, congestion("reno")); err != nil {
		t.Fatal(err)
	}
	plain := f.listen(f.pa, addrA, 81, 8)
	cfd, child := f.dial(chosen, 80)
	if got := caOf(t, f.pa, child); got != "reno" {
		t.Errorf("child of a listener that chose reno runs %s", got)
	}
	if got := caOf(t, f.pb, cfd); got != "cubic" {
		t.Errorf("the client runs %s, want the default, cubic", got)
	}
	// The default changes after listen(): the next child follows it.
	v := "reno"
	if _, err := f.p.A.Sysctl("net.ipv4.tcp_congestion_control", &v); err != nil {
		t.Fatal(err)
	}
	_, child2 := f.dial(plain, 81)
	if got := caOf(t, f.pa, child2); got != "reno" {
		t.Errorf("child of a listener that chose nothing runs %s, want the default when it was made (reno)", got)
	}
	// On the established client, the new algorithm takes over at once.
	if err := f.pb.Setsockopt(cfd, sockets.SOL_TCP, sockets.TCP_CONGESTION, congestion("reno")); err != nil {
		t.Fatal(err)
	}
	if got := caOf(t, f.pb, cfd); got != "reno" {
		t.Errorf("after setsockopt the client runs %s", got)
	}
	f.transfer(f.pb, cfd, f.pa, child, pattern(200_000, 3), 10*sec)
}

// ioctlOf is ioctl(fd, cmd) on proc, with its errno.
func ioctlOf(proc *Process, fd, cmd int) (int, sockets.Errno) {
	v, err := proc.Ioctl(fd, cmd)
	return v, errnoOf(err)
}

// TestIoctlQueueSizes: SIOCOUTQ counts what is not yet acknowledged (sent
// or not), SIOCOUTQNSD what is not yet sent, SIOCINQ what is not yet read
// (the peer's FIN not included); a listener answers EINVAL, an unknown
// command ENOTTY, a file that is not a socket ENOTTY.
func TestIoctlQueueSizes(t *testing.T) {
	link := netdev.Impairments{Delay: 10e6}
	f := newPairFix(t, PairConfig{AB: link, BA: link})
	lfd := f.listen(f.pa, addrA, 80, 8)
	for _, cmd := range []int{sockets.SIOCINQ, sockets.SIOCOUTQ, sockets.SIOCOUTQNSD} {
		if _, e := ioctlOf(f.pa, lfd, cmd); e != tracing.EINVAL {
			t.Errorf("ioctl(listener, %#x): errno %v, want EINVAL", cmd, e)
		}
	}
	if _, e := ioctlOf(f.pa, lfd, 0x5401); e != tracing.ENOTTY { // TCGETS
		t.Errorf("ioctl(listener, TCGETS): errno %v, want ENOTTY", e)
	}
	if _, e := ioctlOf(f.pa, 0, sockets.SIOCINQ); e != tracing.ENOTTY {
		t.Errorf("ioctl(0, SIOCINQ) on the terminal: errno %v, want ENOTTY", e)
	}
	if _, e := ioctlOf(f.pa, 99, sockets.SIOCINQ); e != tracing.EBADF {
		t.Errorf("ioctl(99, SIOCINQ): errno %v, want EBADF", e)
	}
	cfd, sfd := f.dial(lfd, 80)

	// The client writes 3000 bytes; the window lets them all leave at
	// once, and for one RTT (20 ms) none is acknowledged.
	f.send(f.pb, cfd, pattern(3000, 1), sec)
	if v, _ := ioctlOf(f.pb, cfd, sockets.SIOCOUTQ); v != 3000 {
		t.Errorf("SIOCOUTQ right after the write = %d, want 3000", v)
	}
	if v, _ := ioctlOf(f.pb, cfd, sockets.SIOCOUTQNSD); v != 0 {
		t.Errorf("SIOCOUTQNSD right after the write = %d, want 0 (all sent)", v)
	}
	if err := f.p.RunFor(100e6); err != nil {
		t.Fatal(err)
	}
	if v, _ := ioctlOf(f.pb, cfd, sockets.SIOCOUTQ); v != 0 {
		t.Errorf("SIOCOUTQ once acknowledged = %d, want 0", v)
	}
	if v, _ := ioctlOf(f.pa, sfd, sockets.SIOCINQ); v != 3000 {
		t.Errorf("SIOCINQ before reading = %d, want 3000", v)
	}
	if _, err := f.call(f.pa, Syscall{Name: "recvfrom", Args: [4]int64{int64(sfd), 1000}}, sec); err != nil {
		t.Fatal(err)
	}
	if v, _ := ioctlOf(f.pa, sfd, sockets.SIOCINQ); v != 2000 {
		t.Errorf("SIOCINQ after reading 1000 = %d, want 2000", v)
	}
	// The client closes: its FIN takes a sequence number but is no byte
	// to read.
	if err := f.pb.Shutdown(cfd, sockets.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RunFor(100e6); err != nil {
		t.Fatal(err)
	}
	left, _ := ioctlOf(f.pa, sfd, sockets.SIOCINQ)
	rest := f.recvAll(f.pa, sfd, 1<<20, sec)
	if left != len(rest) || left != 2000 {
		t.Errorf("SIOCINQ after the FIN = %d, but %d bytes were left to read", left, len(rest))
	}
	if v, _ := ioctlOf(f.pa, sfd, sockets.SIOCINQ); v != 0 {
		t.Errorf("SIOCINQ after reading to the end = %d, want 0", v)
	}
}

// TestRecordedSyscallKeepsAStringOption: a recording carries the bytes of
// setsockopt(TCP_CONGESTION), so that a replay chooses the same algorithm.
func TestRecordedSyscallKeepsAStringOption(t *testing.T) {
	sc := Syscall{Name: "setsockopt", Args: [4]int64{3, sockets.SOL_TCP, sockets.TCP_CONGESTION}, Opt: congestion("reno\x00")}
	b, at := appendSyscall(nil, 7, 1, &sc)
	d := &recDecoder{b: append(append(b[:at:at], sc.Data...), b[at:]...)}
	if id, pid := d.uvarint(), d.uvarint(); id != 7 || pid != 1 {
		t.Fatalf("id %d pid %d", id, pid)
	}
	got, err := d.syscall()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Opt.Bytes, sc.Opt.Bytes) || got.Args != sc.Args {
		t.Errorf("decoded %+v, recorded %+v", got, sc)
	}
}

// TestUDPIoctl: on a UDP socket SIOCINQ is the length of the next
// datagram, not the bytes queued (two datagrams of 5 and 300 bytes: 5,
// then 300 once the first is read, then 0); SIOCOUTQ is 0 once sent
// datagrams have left; another command is ENOTTY.
func TestUDPIoctl(t *testing.T) {
	f := boot(t, Config{})
	rfd, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Bind(rfd, addr("127.0.0.1:7000")); err != nil {
		t.Fatal(err)
	}
	sfd, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	to := addr("127.0.0.1:7000")
	if v, e := ioctlOf(f.p, rfd, sockets.SIOCINQ); v != 0 || e != 0 {
		t.Errorf("SIOCINQ with nothing queued: %d, errno %v", v, e)
	}
	for _, n := range []int{5, 300} {
		if _, err := f.p.Sendto(sfd, make([]byte, n), 0, &to); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{5, 300, 0} {
		if v, e := ioctlOf(f.p, rfd, sockets.SIOCINQ); v != want || e != 0 {
			t.Errorf("SIOCINQ: %d, errno %v; want %d", v, e, want)
		}
		if want > 0 {
			if _, _, err := f.p.Recvfrom(rfd, 1000, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if v, e := ioctlOf(f.p, sfd, sockets.SIOCOUTQ); v != 0 || e != 0 {
		t.Errorf("SIOCOUTQ after the datagrams left: %d, errno %v", v, e)
	}
	if _, e := ioctlOf(f.p, rfd, 0x5401); e != tracing.ENOTTY {
		t.Errorf("ioctl(udp, TCGETS): errno %v, want ENOTTY", e)
	}
}
