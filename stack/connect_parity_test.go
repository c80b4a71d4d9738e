package stack

import (
	"slices"
	"strconv"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// closedLoopbackPair makes a loopback connection to 127.0.0.1:9000 and
// closes it from the client's side first, so that the client's four-tuple
// ends in TIME_WAIT. It returns the client's local port and the tw's
// snd_nxt.
func closedLoopbackPair(t *testing.T, f *fixture) (port uint16, twSndNxt uint32) {
	t.Helper()
	p := f.p
	_, cfd, afd := f.loopbackPair(t, 9000)
	sa, err := p.Getsockname(cfd)
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Close(cfd)
	_ = f.k.Sync()
	_ = p.Close(afd)
	_ = f.k.Sync()
	tw := f.snapshot(t).Timewait
	if len(tw) != 1 || tw[0].State != "TIME_WAIT" {
		t.Fatalf("want the client's four-tuple in TIME_WAIT, got %+v", tw)
	}
	return sa.Port, tw[0].SndNxt
}

// sndIsn is the ISN connect() chose for fd.
func (f *fixture) sndIsn(t *testing.T, fd int) uint32 {
	var isn uint32
	f.withSock(t, fd, func(sk *sockets.Sock) { isn = tcpSk(sk).SndIsn })
	return isn
}

// With tcp_tw_reuse=2 (the default), connect() may take over a loopback
// TIME_WAIT once a second has passed since its last timestamp
// (tcp_twsk_unique): the new connection starts 65537 past the old snd_nxt,
// the tw is gone, and TWRecycled counts it. Within that second it may not.
func TestConnectReusesLoopbackTimeWait(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	port, sndNxt := closedLoopbackPair(t, f)
	rng := strconv.Itoa(int(port)) + " " + strconv.Itoa(int(port))
	if _, err := f.k.Sysctl("net.ipv4.ip_local_port_range", &rng); err != nil {
		t.Fatal(err)
	}
	early := f.socket(t)
	if err := p.Connect(early, addr("127.0.0.1:9000")); errnoOf(err) != tracing.EADDRNOTAVAIL {
		t.Fatalf("connect within a second of the tw's last timestamp: %v, want EADDRNOTAVAIL", err)
	}
	if err := f.k.AdvanceTo(5e9); err != nil {
		t.Fatal(err)
	}
	c2 := f.socket(t)
	if err := p.Connect(c2, addr("127.0.0.1:9000")); err != nil {
		t.Fatalf("connect with the only port held by a loopback TIME_WAIT: %v (tcp_tw_reuse=2 takes it over)", err)
	}
	if got, want := f.sndIsn(t, c2), sndNxt+65537; got != want {
		t.Errorf("ISN %d, want the tw's snd_nxt %d + 65537 = %d", got, sndNxt, want)
	}
	if sa, _ := p.Getsockname(c2); sa.Port != port {
		t.Errorf("local port %d, want the tw's %d", sa.Port, port)
	}
	if n := f.mib(t, LINUX_MIB_TIMEWAITRECYCLED); n != 1 {
		t.Errorf("TWRecycled = %d, want 1", n)
	}
	for _, tw := range f.snapshot(t).Timewait {
		if tw.Local == "127.0.0.1:"+strconv.Itoa(int(port)) {
			t.Errorf("the tw is still there: %+v", tw)
		}
	}
}

// tcp_tw_reuse=0 keeps connect()'s own port choice off TIME_WAIT tuples.
func TestConnectTwReuseOff(t *testing.T) {
	f := boot(t, Config{})
	port, _ := closedLoopbackPair(t, f)
	rng := strconv.Itoa(int(port)) + " " + strconv.Itoa(int(port))
	if _, err := f.k.Sysctl("net.ipv4.ip_local_port_range", &rng); err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.Sysctl("net.ipv4.tcp_tw_reuse", ptr("0")); err != nil {
		t.Fatal(err)
	}
	if err := f.k.AdvanceTo(5e9); err != nil {
		t.Fatal(err)
	}
	c2 := f.socket(t)
	if err := f.p.Connect(c2, addr("127.0.0.1:9000")); errnoOf(err) != tracing.EADDRNOTAVAIL {
		t.Fatalf("connect with tcp_tw_reuse=0: %v, want EADDRNOTAVAIL", err)
	}
}

// A socket bound (with SO_REUSEADDR, as the old one had) to the tw's port
// takes the four-tuple over whatever tcp_tw_reuse says, and at once, as
// long as the tw has timestamps.
func TestBoundConnectTakesOverTimeWait(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	one := sockets.Optval{Int: 1}
	lfd := f.listenOn(t, addr("127.0.0.1:9000"))
	cfd := f.socket(t)
	_ = p.Setsockopt(cfd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one)
	if err := p.Bind(cfd, addr("127.0.0.1:7000")); err != nil {
		t.Fatal(err)
	}
	if err := p.Connect(cfd, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	afd, _, err := p.Accept4(lfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Close(cfd)
	_ = f.k.Sync()
	_ = p.Close(afd)
	_ = f.k.Sync()
	tw := f.snapshot(t).Timewait
	if len(tw) != 1 {
		t.Fatalf("want one tw, got %+v", tw)
	}
	if _, err := f.k.Sysctl("net.ipv4.tcp_tw_reuse", ptr("0")); err != nil {
		t.Fatal(err)
	}
	c2 := f.socket(t)
	_ = p.Setsockopt(c2, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one)
	if err := p.Bind(c2, addr("127.0.0.1:7000")); err != nil {
		t.Fatalf("bind beside the tw with SO_REUSEADDR: %v", err)
	}
	if err := p.Connect(c2, addr("127.0.0.1:9000")); err != nil {
		t.Fatalf("bound connect onto the tw's four-tuple: %v", err)
	}
	if got, want := f.sndIsn(t, c2), tw[0].SndNxt+65537; got != want {
		t.Errorf("ISN %d, want %d", got, want)
	}
	if n := len(f.snapshot(t).Timewait); n != 0 {
		t.Errorf("%d timewait socks left, want 0", n)
	}
	if n := f.mib(t, LINUX_MIB_TIMEWAITRECYCLED); n != 1 {
		t.Errorf("TWRecycled = %d, want 1", n)
	}
}

// bind(0.0.0.0:P) and then connect(): the sock moves to the bhash2 bucket
// of its source address (inet_bhash2_update_saddr), so another address may
// then bind port P.
func TestConnectMovesBhash2Bucket(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	f.listenOn(t, addr("127.0.0.1:9000"))
	a := f.socket(t)
	if err := p.Bind(a, addr("0.0.0.0:7000")); err != nil {
		t.Fatal(err)
	}
	b := f.socket(t)
	if err := p.Bind(b, addr("127.0.0.2:7000")); errnoOf(err) != tracing.EADDRINUSE {
		t.Fatalf("bind(127.0.0.2:7000) next to 0.0.0.0:7000: %v, want EADDRINUSE", err)
	}
	if err := p.Connect(a, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(b, addr("127.0.0.2:7000")); err != nil {
		t.Errorf("bind(127.0.0.2:7000) once the 0.0.0.0:7000 sock connected from 127.0.0.1: %v, want success", err)
	}
	var at []string
	for _, chain := range f.snapshot(t).Hashinfo.Bhash2 {
		for _, tb2 := range chain.Buckets {
			if tb2.Port == 7000 {
				at = append(at, tb2.RcvSaddr+" owners "+strconv.Itoa(len(tb2.Owners)))
			}
		}
	}
	slices.Sort(at)
	if want := []string{"127.0.0.1 owners 1", "127.0.0.2 owners 1"}; !slices.Equal(at, want) {
		t.Errorf("port 7000's bhash2 buckets %v, want %v", at, want)
	}
}

// A connect() that fails puts the source address back to 0.0.0.0
// (inet_bhash2_reset_saddr), unless bind() chose it.
func TestFailedConnectResetsSaddr(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	l := f.socket(t)
	if err := p.Bind(l, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(l, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.Sysctl("net.ipv4.ip_local_port_range", ptr("40000 40000")); err != nil {
		t.Fatal(err)
	}
	one := sockets.Optval{Int: 1}
	a := f.socket(t)
	_ = p.Setsockopt(a, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one)
	if err := p.Connect(a, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	b := f.socket(t)
	if err := p.Connect(b, addr("127.0.0.1:9000")); errnoOf(err) != tracing.EADDRNOTAVAIL {
		t.Fatalf("second connect with one port in the range: %v, want EADDRNOTAVAIL", err)
	}
	if sa, _ := p.Getsockname(b); sa.Addr.IsValid() && !sa.Addr.IsUnspecified() {
		t.Errorf("getsockname after the failed connect: %v, want 0.0.0.0:0", sa)
	}
	// bind() chose this one: it stays.
	c := f.socket(t)
	_ = p.Setsockopt(c, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one)
	if err := p.Bind(c, addr("127.0.0.1:40000")); err != nil {
		t.Fatal(err)
	}
	if err := p.Connect(c, addr("127.0.0.1:9000")); errnoOf(err) != tracing.EADDRNOTAVAIL {
		t.Fatalf("connect on a taken four-tuple: %v, want EADDRNOTAVAIL", err)
	}
	if sa, _ := p.Getsockname(c); sa.Addr.String() != "127.0.0.1" {
		t.Errorf("getsockname of a bind()-chosen address after a failed connect: %v, want 127.0.0.1", sa)
	}
}

// The child of a listener bound to 0.0.0.0 joins the bhash2 bucket of its
// own local address (__inet_inherit_port makes it), not the listener's.
func TestChildOfWildcardListenerGetsOwnBhash2Bucket(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	lfd := f.listenOn(t, addr("0.0.0.0:9000"))
	cfd := f.socket(t)
	if err := p.Connect(cfd, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Accept4(lfd, 0); err != nil {
		t.Fatal(err)
	}
	// 0.0.0.0:9000 (the listener), 127.0.0.1:9000 (the child),
	// 127.0.0.1:ephemeral (the client).
	if n := f.cacheInUse(t)["tcp_bind2_bucket"]; n != 3 {
		t.Errorf("tcp_bind2_bucket objects in use: %d, want 3", n)
	}
	_ = p.Close(lfd)
	b := f.socket(t)
	if err := p.Bind(b, addr("127.0.0.2:9000")); err != nil {
		t.Errorf("bind(127.0.0.2:9000) while only a 127.0.0.1:9000 child holds the port: %v, want success", err)
	}
}

// Once bind() joins a port that connect() made (with SO_REUSEADDR on
// both), the bucket's fastreuseport is 0 (inet_csk_update_fastreuse) and
// connect() no longer picks that port for itself.
func TestConnectSkipsPortJoinedByBind(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	one := sockets.Optval{Int: 1}
	for _, a := range []string{"127.0.0.1:9000", "127.0.0.1:9001"} {
		l := f.socket(t)
		if err := p.Bind(l, addr(a)); err != nil {
			t.Fatal(err)
		}
		if err := p.Listen(l, 8); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.k.Sysctl("net.ipv4.ip_local_port_range", ptr("40000 40000")); err != nil {
		t.Fatal(err)
	}
	c1 := f.socket(t)
	_ = p.Setsockopt(c1, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one)
	if err := p.Connect(c1, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	b := f.socket(t)
	_ = p.Setsockopt(b, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one)
	if err := p.Bind(b, addr("127.0.0.1:40000")); err != nil {
		t.Fatalf("bind beside a connected SO_REUSEADDR sock: %v", err)
	}
	c2 := f.socket(t)
	if err := p.Connect(c2, addr("127.0.0.1:9001")); errnoOf(err) != tracing.EADDRNOTAVAIL {
		sa, _ := p.Getsockname(c2)
		t.Errorf("connect after bind() joined the only port: %v (port %d), want EADDRNOTAVAIL", err, sa.Port)
	}
}

// tcp_clear_retrans starts tcp_info's RTO totals again: a socket whose SYN
// timed out twice and was then disconnected (connect(AF_UNSPEC)) reports
// no RTOs, and no RTO time that keeps growing.
func TestDisconnectClearsRtoTotals(t *testing.T) {
	f := boot(t, Config{})
	_, _ = scriptDev(t, f, 1500)
	p := f.p
	fd := f.socket(t)
	if _, err := p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	if err := p.Connect(fd, sockets.SockaddrIn{Family: sockets.AF_INET, Addr: peerIP, Port: 80}); errnoOf(err) != tracing.EINPROGRESS {
		t.Fatalf("non-blocking connect: %v, want EINPROGRESS", err)
	}
	if err := f.k.AdvanceTo(2500e6); err != nil {
		t.Fatal(err)
	}
	if info := f.tcpInfo(t, p, fd); info.TcpiTotalRto != 2 {
		t.Fatalf("total_rto after two SYN timeouts = %d, want 2", info.TcpiTotalRto)
	}
	if err := p.Connect(fd, sockets.SockaddrIn{Family: sockets.AF_UNSPEC}); err != nil {
		t.Fatalf("connect(AF_UNSPEC): %v", err)
	}
	if err := f.k.AdvanceTo(10e9); err != nil {
		t.Fatal(err)
	}
	info := f.tcpInfo(t, p, fd)
	if info.TcpiTotalRto != 0 || info.TcpiTotalRtoRecoveries != 0 || info.TcpiTotalRtoTime != 0 {
		t.Errorf("after the disconnect: total_rto %d, recoveries %d, time %d ms; want 0, 0, 0",
			info.TcpiTotalRto, info.TcpiTotalRtoRecoveries, info.TcpiTotalRtoTime)
	}
}

// recvfrom on a TCP socket reports no address (inet_recvmsg's addr_len
// stays 0; tcp_recvmsg never fills it in), and a UDP socket's empty error
// queue answers MSG_ERRQUEUE at once with EAGAIN (ip_recv_error), leaving
// the datagram queued.
func TestRecvfromAddressesAndErrorQueue(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	_, cfd, afd := f.loopbackPair(t, 9000)
	if _, err := p.Sendto(cfd, []byte("hello"), 0, nil); err != nil {
		t.Fatal(err)
	}
	data, from, err := p.Recvfrom(afd, 100, 0)
	if err != nil || string(data) != "hello" {
		t.Fatalf("recvfrom: %q, %v", data, err)
	}
	if from.Addr.IsValid() || from.Port != 0 {
		t.Errorf("TCP recvfrom reported address %v, want none", from)
	}
	u := f.udpSocket(t)
	if err := p.Bind(u, addr("127.0.0.1:5000")); err != nil {
		t.Fatal(err)
	}
	to := addr("127.0.0.1:5000")
	if _, err := p.Sendto(u, []byte("dgram"), 0, &to); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Recvfrom(u, 100, sockets.MSG_ERRQUEUE); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("UDP recvfrom(MSG_ERRQUEUE): %v, want EAGAIN", err)
	}
	if data, _, err := p.Recvfrom(u, 100, 0); err != nil || string(data) != "dgram" {
		t.Errorf("the datagram after MSG_ERRQUEUE: %q, %v", data, err)
	}
}

// A connect() that took over a TIME_WAIT carries the tw's ts_recent_stamp,
// so tcp_connect_init quantises its first window to advmss less the
// timestamp option (12): on loopback's MTU the SYN offers 65483, not the
// 65495 of a fresh connection.
func TestTimeWaitTakeoverInitialWindow(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	port, _ := closedLoopbackPair(t, f)
	rng := strconv.Itoa(int(port)) + " " + strconv.Itoa(int(port))
	if _, err := f.k.Sysctl("net.ipv4.ip_local_port_range", &rng); err != nil {
		t.Fatal(err)
	}
	if err := f.k.AdvanceTo(5e9); err != nil {
		t.Fatal(err)
	}
	var syns []uint16
	if err := f.k.SetPacketTap(func(r PacketRecord) {
		b := r.Skb.Bytes[r.Skb.Data:]
		th := header.TCP(b[header.IPv4(b).IHL():])
		if th.Flags() == header.TCP_FLAG_SYN {
			syns = append(syns, th.Window())
		}
	}); err != nil {
		t.Fatal(err)
	}
	c2 := f.socket(t)
	if err := p.Connect(c2, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	_ = f.k.SetPacketTap(nil)
	if len(syns) != 1 || syns[0] != 65483 {
		t.Errorf("SYN windows %v, want [65483] (65495 less 12, quantised)", syns)
	}
}

// TestDisconnectResetsRtoMin: connect(AF_UNSPEC) puts icsk_rto_min back to
// TCP_RTO_MIN (200 ms), not to tcp_rto_min_us, which only a new socket
// takes.
func TestDisconnectResetsRtoMin(t *testing.T) {
	f := boot(t, Config{})
	_, _ = scriptDev(t, f, 1500)
	v := "50000"
	if _, err := f.k.Sysctl("net.ipv4.tcp_rto_min_us", &v); err != nil {
		t.Fatal(err)
	}
	p := f.p
	fd := f.socket(t)
	rtoMin := func() int64 {
		var m int64
		f.sockOfFd(t, fd, func(_ *Kernel, sk *sockets.Sock) { m = tcpSk(sk).IcskRtoMin })
		return m
	}
	if m := rtoMin(); m != 50e6 {
		t.Fatalf("icsk_rto_min of a new socket = %d ns, want 50 ms (the sysctl)", m)
	}
	if err := p.Connect(fd, sockets.SockaddrIn{Family: sockets.AF_UNSPEC}); err != nil {
		t.Fatalf("connect(AF_UNSPEC): %v", err)
	}
	if m := rtoMin(); m != TCP_RTO_MIN {
		t.Errorf("icsk_rto_min after the disconnect = %d ns, want TCP_RTO_MIN (200 ms)", m)
	}
}
