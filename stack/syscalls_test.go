package stack

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// TestSocketCallChainIsLinux6 checks socket()'s function graph against
// KERNEL.md section 1, step by step.
func TestSocketCallChainIsLinux6(t *testing.T) {
	f := boot(t, Config{})
	m := f.mark()
	if fd := f.socket(t); fd != 3 {
		t.Fatalf("first socket got fd %d, want 3 (0-2 are the terminal)", fd)
	}
	want := []string{
		"__sys_socket", "__sys_socket_create", "sock_create", "__sock_create", "security_socket_create",
		"sock_alloc", "new_inode_pseudo", "sock_alloc_inode", "kmem_cache_alloc",
		"try_module_get", "inet_create", "sk_alloc", "sk_prot_alloc", "kmem_cache_alloc",
		"security_sk_alloc", "try_module_get", "sock_lock_init", "sock_init_data",
		"tcp_v4_init_sock", "tcp_init_sock", "security_socket_post_create",
		"sock_map_fd", "get_unused_fd_flags", "sock_alloc_file", "alloc_file_pseudo", "kmem_cache_alloc", "fd_install",
	}
	got := only(f.entries(m), want...)
	if !slices.Equal(got, want) {
		t.Errorf("socket() ran\n%s\nwant\n%s", strings.Join(got, " "), strings.Join(want, " "))
	}
}

func TestBindListenAcceptCloseCallChains(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	// A non-blocking listener, so that accept returns EAGAIN at once
	// (accept4's SOCK_NONBLOCK marks only the new file).
	if _, err := f.p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	chains := []struct {
		name string
		call func() error
		want []string
	}{
		{"bind", func() error { return f.p.Bind(fd, addr("127.0.0.1:8080")) }, []string{
			"__sys_bind", "sockfd_lookup_light", "__sys_bind_socket", "security_socket_bind", "inet_bind",
			"inet_bind_sk", "__inet_bind", "lock_sock", "inet_csk_get_port", "inet_bind_bucket_create",
			"inet_bind2_bucket_create", "inet_csk_bind_conflict", "inet_bind_hash", "release_sock"}},
		{"listen", func() error { return f.p.Listen(fd, 100000) }, []string{
			"__sys_listen", "__sys_listen_socket", "security_socket_listen", "inet_listen", "lock_sock",
			"__inet_listen_sk", "inet_csk_listen_start", "reqsk_queue_alloc", "inet_csk_get_port", "__inet_hash",
			"release_sock"}},
		{"accept (non-blocking)", func() error { _, _, err := f.p.Accept4(fd, sockets.SOCK_NONBLOCK); return err }, []string{
			"__sys_accept4", "__sys_accept4_file", "get_unused_fd_flags", "do_accept", "sock_alloc",
			"sock_alloc_file", "security_socket_accept", "inet_accept", "inet_csk_accept", "lock_sock",
			"release_sock", "__fput", "sock_close", "__sock_release", "sock_free_inode", "file_free"}},
		{"close", func() error { return f.p.Close(fd) }, []string{
			"close", "file_close_fd", "__fput", "sock_close", "__sock_release", "inet_release", "tcp_close",
			"lock_sock", "__tcp_close", "tcp_set_state", "inet_unhash", "inet_csk_listen_stop",
			"inet_csk_destroy_sock", "tcp_v4_destroy_sock", "inet_put_port", "inet_bind2_bucket_destroy",
			"inet_bind_bucket_destroy", "release_sock", "sk_free", "sk_prot_free", "sock_free_inode", "file_free"}},
	}
	for _, c := range chains {
		m := f.mark()
		err := c.call()
		if c.name == "accept (non-blocking)" {
			if errnoOf(err) != tracing.EAGAIN {
				t.Fatalf("non-blocking accept on an empty queue: %v, want EAGAIN", err)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := f.entries(m); !inOrder(got, c.want) {
			t.Errorf("%s ran\n%s\nwant in this order\n%s", c.name, strings.Join(got, " "), strings.Join(c.want, " "))
		}
	}
}

// TestListenClampsToSomaxconnAndHashes is acceptance item 2: the listener
// sits in bhash and lhash2 at the buckets the kernel's formulas give, in
// LISTEN, with sk_max_ack_backlog clamped to 4096.
func TestListenClampsToSomaxconnAndHashes(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	if err := f.p.Bind(fd, addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Listen(fd, 100000); err != nil {
		t.Fatal(err)
	}
	s := f.snapshot(t)
	if len(s.Socks) != 1 {
		t.Fatalf("%d socks", len(s.Socks))
	}
	sk := s.Socks[0]
	if sk.SockCommon.SkcState != "LISTEN" || sk.SkMaxAckBacklog != 4096 || sk.SockCommon.SkcNum != 8080 {
		t.Errorf("listener: state %s, backlog %d, port %d", sk.SockCommon.SkcState, sk.SkMaxAckBacklog, sk.SockCommon.SkcNum)
	}
	r, _ := f.k.Do("hashes", func(k *Kernel) any {
		la := sockets.Be32From(addr("127.0.0.1:8080").Addr)
		return [3]int{
			int(sockets.InetBhashfn(k.net, 8080, k.hash.BhashSize)),
			int(sockets.Ipv4PortaddrHash(k.net, la, 8080) & k.hash.Lhash2Mask),
			int(sockets.Ipv4PortaddrHash(k.net, la, 8080) & (k.hash.BhashSize - 1)),
		}
	})
	idx := r.([3]int)
	if len(s.Hashinfo.Bhash) != 1 || s.Hashinfo.Bhash[0].Index != idx[0] || s.Hashinfo.Bhash[0].Buckets[0].Port != 8080 {
		t.Errorf("bhash: %+v, want the port at bucket %d", s.Hashinfo.Bhash, idx[0])
	}
	if len(s.Hashinfo.Lhash2) != 1 || s.Hashinfo.Lhash2[0].Index != idx[1] || s.Hashinfo.Lhash2[0].Chain[0].Addr != sk.Sk {
		t.Errorf("lhash2: %+v, want the listener at bucket %d", s.Hashinfo.Lhash2, idx[1])
	}
	if len(s.Hashinfo.Bhash2) != 1 || s.Hashinfo.Bhash2[0].Index != idx[2] || s.Hashinfo.Bhash2[0].Buckets[0].Owners[0] != sk.Sk {
		t.Errorf("bhash2: %+v, want the sock at bucket %d", s.Hashinfo.Bhash2, idx[2])
	}
	if want := "lhash2[" + strconv.Itoa(idx[1]) + "]"; sk.SockCommon.SkcNode != want {
		t.Errorf("skc_node on %q, want %q", sk.SockCommon.SkcNode, want)
	}
}

func TestErrnos(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd := f.socket(t)
	cases := []struct {
		name string
		err  error
		want int
	}{}
	add := func(name string, err error, want int) {
		cases = append(cases, struct {
			name string
			err  error
			want int
		}{name, err, want})
	}
	_, err := p.Socket(sockets.AF_INET6, sockets.SOCK_STREAM, 0)
	add("socket(AF_INET6): no such family registered", err, tracing.EAFNOSUPPORT)
	_, err = p.Socket(99, sockets.SOCK_STREAM, 0)
	add("socket(99)", err, tracing.EAFNOSUPPORT)
	_, err = p.Socket(sockets.AF_INET, 99, 0)
	add("socket type out of range", err, tracing.EINVAL)
	_, err = p.Socket(sockets.AF_INET, sockets.SOCK_SEQPACKET, 0)
	add("socket(SOCK_SEQPACKET): inet has none", err, sockets.ESOCKTNOSUPPORT)
	_, err = p.Socket(sockets.AF_INET, sockets.SOCK_STREAM, sockets.IPPROTO_UDP)
	add("socket(SOCK_STREAM, IPPROTO_UDP)", err, tracing.EPROTONOSUPPORT)
	_, err = p.Socket(sockets.AF_INET, sockets.SOCK_STREAM|0x100, 0)
	add("socket with unknown type flags", err, tracing.EINVAL)
	_, err = p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, sockets.IPPROTO_ICMP)
	add("ping socket outside ping_group_range", err, tracing.EACCES)
	add("bind a bad fd", p.Bind(42, addr("127.0.0.1:1")), tracing.EBADF)
	add("bind the terminal", p.Bind(0, addr("127.0.0.1:1")), tracing.ENOTSOCK)
	add("bind an address the host does not own", p.Bind(fd, addr("10.9.8.7:80")), tracing.EADDRNOTAVAIL)
	short := addr("127.0.0.1:80")
	_, err = p.Call(Syscall{Name: "bind", Args: [4]int64{int64(fd), 8}, Addr: short})
	add("bind with a short address", err, tracing.EINVAL)
	add("bind AF_INET6 address", p.Bind(fd, sockets.SockaddrIn{Family: sockets.AF_INET6, Addr: addr("127.0.0.1:1").Addr}), tracing.EAFNOSUPPORT)
	if err := p.Bind(fd, addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	add("bind twice", p.Bind(fd, addr("127.0.0.1:8081")), tracing.EINVAL)
	fd2 := f.socket(t)
	add("bind a port in use", p.Bind(fd2, addr("127.0.0.1:8080")), tracing.EADDRINUSE)
	add("bind INADDR_ANY on a port in use", p.Bind(fd2, addr("0.0.0.0:8080")), tracing.EADDRINUSE)
	_, _, err = p.Accept4(fd, sockets.SOCK_NONBLOCK)
	add("accept on a socket that does not listen", err, tracing.EINVAL)
	_, _, err = p.Accept4(0, 0)
	add("accept on the terminal", err, tracing.ENOTSOCK)
	_, _, err = p.Accept4(fd, 0x40)
	add("accept4 with unknown flags", err, tracing.EINVAL)
	add("shutdown an unconnected socket", p.Shutdown(fd, sockets.SHUT_RDWR), tracing.ENOTCONN)
	add("shutdown with a bad how", p.Shutdown(fd, 7), tracing.EINVAL)
	_, err = p.Getpeername(fd)
	add("getpeername without a peer", err, tracing.ENOTCONN)
	_, err = p.Getsockopt(fd, sockets.SOL_SOCKET, 12345)
	add("getsockopt of an unknown option", err, tracing.ENOPROTOOPT)
	add("setsockopt SO_REUSEPORT (not modelled)", p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_REUSEPORT, sockets.Optval{Int: 1}), tracing.ENOPROTOOPT)
	add("setsockopt TCP_KEEPCNT out of range", p.Setsockopt(fd, sockets.SOL_TCP, sockets.TCP_KEEPCNT, sockets.Optval{Int: 500}), tracing.EINVAL)
	_, err = p.Fcntl(fd, 999, 0)
	add("fcntl with an unknown command", err, tracing.EINVAL)
	add("close a bad fd", p.Close(77), tracing.EBADF)
	udp, err := p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	add("listen on a datagram socket", p.Listen(udp, 5), tracing.EOPNOTSUPP)
	// A connected socket cannot exist before TCP can connect; mark one so
	// the check in __inet_listen_sk can be seen.
	fd3 := f.socket(t)
	f.k.Do("mark connected", func(k *Kernel) any {
		p.Fdt.Get(fd3).PrivateData.State = sockets.SS_CONNECTED
		return nil
	})
	add("listen on a connected socket", p.Listen(fd3, 5), tracing.EINVAL)
	for _, c := range cases {
		if got := errnoOf(c.err); int(got) != c.want {
			t.Errorf("%s: %v, want %s", c.name, c.err, sockets.Errno(c.want))
		}
	}
	// Errors read like strace.
	if err := p.Bind(fd2, addr("127.0.0.1:8080")); err == nil || err.Error() != "EADDRINUSE (Address already in use)" {
		t.Errorf("error text %q", err)
	}
}

func TestSoReuseaddrLetsTwoSocketsShareAPortUntilOneListens(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	a, b := f.socket(t), f.socket(t)
	one := sockets.Optval{Int: 1}
	for _, fd := range []int{a, b} {
		if err := p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Bind(a, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(b, addr("127.0.0.1:9000")); err != nil {
		t.Fatalf("second bind with SO_REUSEADDR on both: %v", err)
	}
	if err := p.Listen(a, 5); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(b, 5); errnoOf(err) != tracing.EADDRINUSE {
		t.Errorf("listen on the second while the first listens: %v, want EADDRINUSE", err)
	}
	c := f.socket(t)
	if err := p.Setsockopt(c, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, one); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(c, addr("127.0.0.1:9000")); errnoOf(err) != tracing.EADDRINUSE {
		t.Errorf("bind next to a listener: %v, want EADDRINUSE", err)
	}
	s := f.snapshot(t)
	if len(s.Hashinfo.Bhash2) != 1 || len(s.Hashinfo.Bhash2[0].Buckets[0].Owners) != 2 {
		t.Errorf("bhash2 owners: %+v", s.Hashinfo.Bhash2)
	}
}

// TestPortZeroPicksOddPortsFirst: bind(port 0) scans from a random odd
// offset, odd ports first, then even ones, and fails when none is left.
func TestPortZeroPicksOddPortsFirst(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	if _, err := f.k.Sysctl("net.ipv4.ip_local_port_range", ptr("40000 40003")); err != nil {
		t.Fatal(err)
	}
	var ports []int
	for i := 0; i < 4; i++ {
		fd := f.socket(t)
		if err := p.Bind(fd, addr("127.0.0.1:0")); err != nil {
			t.Fatalf("bind %d: %v", i, err)
		}
		sa, err := p.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, int(sa.Port))
	}
	if ports[0]%2 != 1 || ports[1]%2 != 1 || ports[2]%2 != 0 || ports[3]%2 != 0 {
		t.Errorf("ports in order %v: want two odd ones, then two even ones", ports)
	}
	sorted := slices.Clone(ports)
	slices.Sort(sorted)
	if !slices.Equal(sorted, []int{40000, 40001, 40002, 40003}) {
		t.Errorf("ports %v, want all of 40000-40003", ports)
	}
	fd := f.socket(t)
	if err := p.Bind(fd, addr("127.0.0.1:0")); errnoOf(err) != tracing.EADDRINUSE {
		t.Errorf("bind with the range exhausted: %v, want EADDRINUSE", err)
	}
	// listen() on an unbound socket picks a port the same way.
	if _, err := f.k.Sysctl("net.ipv4.ip_local_port_range", ptr("32768 60999")); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	sa, _ := p.Getsockname(fd)
	if sa.Port%2 != 1 || sa.Port < 32768 || sa.Port > 60999 {
		t.Errorf("listen without bind took port %d", sa.Port)
	}
}

func ptr(s string) *string { return &s }

func TestSocketOptions(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd := f.socket(t)
	get := func(level, name int) sockets.Optval {
		t.Helper()
		v, err := p.Getsockopt(fd, level, name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	set := func(level, name int, v sockets.Optval) {
		t.Helper()
		if err := p.Setsockopt(fd, level, name, v); err != nil {
			t.Fatal(err)
		}
	}
	if v := get(sockets.SOL_SOCKET, sockets.SO_RCVBUF); v.Int != 131072 {
		t.Errorf("default SO_RCVBUF of TCP %d, want tcp_rmem[1] 131072", v.Int)
	}
	if v := get(sockets.SOL_SOCKET, sockets.SO_SNDBUF); v.Int != 16384 {
		t.Errorf("default SO_SNDBUF of TCP %d, want tcp_wmem[1] 16384", v.Int)
	}
	set(sockets.SOL_SOCKET, sockets.SO_RCVBUF, sockets.Optval{Int: 65536})
	if v := get(sockets.SOL_SOCKET, sockets.SO_RCVBUF); v.Int != 131072 {
		t.Errorf("SO_RCVBUF 65536 reads %d, want it doubled", v.Int)
	}
	set(sockets.SOL_SOCKET, sockets.SO_SNDBUF, sockets.Optval{Int: 10 << 20})
	if v := get(sockets.SOL_SOCKET, sockets.SO_SNDBUF); v.Int != 2*212992 {
		t.Errorf("SO_SNDBUF 10 MiB reads %d, want wmem_max*2", v.Int)
	}
	set(sockets.SOL_SOCKET, sockets.SO_SNDBUF, sockets.Optval{Int: 1})
	if v := get(sockets.SOL_SOCKET, sockets.SO_SNDBUF); v.Int != sockets.SOCK_MIN_SNDBUF {
		t.Errorf("SO_SNDBUF 1 reads %d, want SOCK_MIN_SNDBUF %d", v.Int, sockets.SOCK_MIN_SNDBUF)
	}
	set(sockets.SOL_SOCKET, sockets.SO_KEEPALIVE, sockets.Optval{Int: 1})
	set(sockets.SOL_SOCKET, sockets.SO_REUSEADDR, sockets.Optval{Int: 1})
	set(sockets.SOL_SOCKET, sockets.SO_LINGER, sockets.Optval{LingerOnoff: true, LingerSecs: 5})
	set(sockets.SOL_TCP, sockets.TCP_NODELAY, sockets.Optval{Int: 1})
	if get(sockets.SOL_SOCKET, sockets.SO_KEEPALIVE).Int != 1 || get(sockets.SOL_SOCKET, sockets.SO_REUSEADDR).Int != 1 ||
		get(sockets.SOL_TCP, sockets.TCP_NODELAY).Int != 1 {
		t.Error("boolean options did not stick")
	}
	if l := get(sockets.SOL_SOCKET, sockets.SO_LINGER); !l.LingerOnoff || l.LingerSecs != 5 {
		t.Errorf("SO_LINGER reads %+v", l)
	}
	// A TCP option number at another level (SOL_IP) is not a TCP option.
	if _, err := p.Getsockopt(fd, 0, sockets.TCP_NODELAY); errnoOf(err) != tracing.ENOPROTOOPT {
		t.Errorf("getsockopt(SOL_IP, TCP_NODELAY's number): %v, want ENOPROTOOPT", err)
	}
	if get(sockets.SOL_SOCKET, sockets.SO_TYPE).Int != sockets.SOCK_STREAM || get(sockets.SOL_SOCKET, sockets.SO_ACCEPTCONN).Int != 0 {
		t.Error("SO_TYPE or SO_ACCEPTCONN wrong")
	}
	s := f.snapshot(t)
	flags := strings.Join(s.Socks[0].SkFlags, " ")
	if !strings.Contains(flags, "SOCK_KEEPOPEN") || !strings.Contains(flags, "SOCK_LINGER") || s.Socks[0].SkLingertimeNs != 5e9 {
		t.Errorf("snapshot flags %q, linger %d", flags, s.Socks[0].SkLingertimeNs)
	}
	if s.Socks[0].SkUserlocks&(sockets.SOCK_RCVBUF_LOCK|sockets.SOCK_SNDBUF_LOCK) != 3 || s.Socks[0].Tcp.Nonagle&TCP_NAGLE_OFF == 0 {
		t.Errorf("userlocks %d, nonagle %d", s.Socks[0].SkUserlocks, s.Socks[0].Tcp.Nonagle)
	}
}

func TestFcntlNonblockMakesAcceptReturnEagain(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd := f.socket(t)
	if err := p.Listen(fd, 5); err != nil {
		t.Fatal(err)
	}
	fl, err := p.Fcntl(fd, sockets.F_GETFL, 0)
	if err != nil || fl != sockets.O_RDWR {
		t.Fatalf("F_GETFL %#x %v", fl, err)
	}
	if _, err := p.Fcntl(fd, sockets.F_SETFL, fl|sockets.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	if fl, _ := p.Fcntl(fd, sockets.F_GETFL, 0); fl != sockets.O_RDWR|sockets.O_NONBLOCK {
		t.Errorf("F_GETFL after F_SETFL: %#x", fl)
	}
	if _, _, err := p.Accept4(fd, 0); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("accept on an O_NONBLOCK listener: %v, want EAGAIN", err)
	}
}

// TestBlockingAcceptSleepsUntilShutdown: a blocking accept sleeps on the
// listener's wait queue; shutdown(SHUT_RD) from another thread stops the
// listener and wakes it with EINVAL, as on Linux.
func TestBlockingAcceptSleepsUntilShutdown(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd := f.socket(t)
	if err := p.Listen(fd, 5); err != nil {
		t.Fatal(err)
	}
	pd := p.Start(Syscall{Name: "accept4", Args: [4]int64{int64(fd)}})
	if err := f.k.Sync(); err != nil {
		t.Fatal(err)
	}
	if pd.Ready() {
		t.Fatal("accept on an empty queue returned at once")
	}
	s := f.snapshot(t)
	if len(s.Processes[1].Sleeping) != 1 || s.Socks[0].Socket.Waiters != 1 {
		t.Fatalf("sleeping tasks %v, waiters %d", s.Processes[1].Sleeping, s.Socks[0].Socket.Waiters)
	}
	// A second thread of the same process shuts the listener down.
	if err := p.Shutdown(fd, sockets.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	if _, err := pd.Wait(); errnoOf(err) != tracing.EINVAL {
		t.Errorf("accept after shutdown: %v, want EINVAL", err)
	}
	s = f.snapshot(t)
	if s.Socks[0].SockCommon.SkcState != "CLOSE" || len(s.Hashinfo.Lhash2) != 0 || len(s.Processes[1].Sleeping) != 0 {
		t.Errorf("after shutdown: %s, lhash2 %v", s.Socks[0].SockCommon.SkcState, s.Hashinfo.Lhash2)
	}
}

func TestSignalInterruptsBlockingAccept(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd := f.socket(t)
	if err := p.Listen(fd, 5); err != nil {
		t.Fatal(err)
	}
	pd := p.Start(Syscall{Name: "accept4", Args: [4]int64{int64(fd)}})
	if err := f.k.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := pd.Wait(); errnoOf(err) != tracing.EINTR {
		t.Errorf("accept after a signal: %v, want EINTR", err)
	}
}

// TestAllFdsClosedLeavesEveryCacheAtBoot: whatever a session did, once
// every fd is closed the slab caches are back to their boot counts.
func TestAllFdsClosedLeavesEveryCacheAtBoot(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	before := f.cacheInUse(t)
	var fds []int
	for i := 0; i < 30; i++ {
		fds = append(fds, f.socket(t))
	}
	for i, fd := range fds {
		switch i % 3 {
		case 0:
			_ = p.Bind(fd, addr("127.0.0.1:"+strconv.Itoa(7000+i)))
		case 1:
			_ = p.Listen(fd, i)
			_, _ = p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK)
			_, _, _ = p.Accept4(fd, sockets.SOCK_NONBLOCK)
		}
		_ = p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, sockets.Optval{Int: 1})
	}
	udp, _ := p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0)
	raw, _ := p.Socket(sockets.AF_INET, sockets.SOCK_RAW, sockets.IPPROTO_ICMP)
	_, _ = p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, sockets.IPPROTO_ICMP) // fails: EACCES
	during := f.cacheInUse(t)
	if during["TCP"] != 30 || during["UDP"] != 1 || during["RAW"] != 1 || during["tcp_bind_bucket"] == 0 {
		t.Fatalf("while open: %v", during)
	}
	for _, fd := range append(fds, udp, raw) {
		if err := p.Close(fd); err != nil {
			t.Fatal(err)
		}
	}
	after := f.cacheInUse(t)
	for name, n := range before {
		if after[name] != n {
			t.Errorf("%s: %d objects in use after closing everything, %d at boot", name, after[name], n)
		}
	}
	if s := f.snapshot(t); len(s.Socks) != 0 || len(s.Hashinfo.Bhash) != 0 {
		t.Errorf("left over: %d socks, bhash %v", len(s.Socks), s.Hashinfo.Bhash)
	}
}

func TestEmfileAfterRlimitNofile(t *testing.T) {
	f := boot(t, Config{})
	var last error
	n := 0
	for i := 0; i < sockets.RlimitNofile; i++ {
		if _, err := f.p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM, 0); err != nil {
			last = err
			break
		}
		n++
	}
	if n != sockets.RlimitNofile-3 || errnoOf(last) != tracing.EMFILE {
		t.Errorf("%d sockets, then %v; want %d and EMFILE", n, last, sockets.RlimitNofile-3)
	}
	if inUse := f.cacheInUse(t); inUse["UDP"] != uint64(n) || inUse["sock_inode_cache"] != uint64(n) {
		t.Errorf("the failed socket() leaked: %v", inUse)
	}
}

func TestOptionFcntlShutdownCallChains(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	fd := f.socket(t)
	chains := []struct {
		name string
		call func() error
		want []string
	}{
		{"getsockname", func() error { _, err := p.Getsockname(fd); return err }, []string{
			"__sys_getsockname", "sockfd_lookup_light", "security_socket_getsockname", "inet_getname"}},
		{"setsockopt SOL_SOCKET", func() error {
			return p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_KEEPALIVE, sockets.Optval{Int: 1})
		}, []string{"__sys_setsockopt", "sockfd_lookup_light", "do_sock_setsockopt", "security_socket_setsockopt",
			"sk_setsockopt", "lock_sock", "release_sock"}},
		{"setsockopt SOL_TCP", func() error {
			return p.Setsockopt(fd, sockets.SOL_TCP, sockets.TCP_NODELAY, sockets.Optval{Int: 1})
		}, []string{"__sys_setsockopt", "do_sock_setsockopt", "tcp_setsockopt", "lock_sock", "release_sock"}},
		{"getsockopt", func() error { _, err := p.Getsockopt(fd, sockets.SOL_SOCKET, sockets.SO_RCVBUF); return err },
			[]string{"__sys_getsockopt", "do_sock_getsockopt", "security_socket_getsockopt", "sk_getsockopt"}},
		{"fcntl", func() error { _, err := p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK); return err },
			[]string{"do_fcntl", "setfl"}},
		{"listen then shutdown", func() error {
			if err := p.Listen(fd, 1); err != nil {
				return err
			}
			return p.Shutdown(fd, sockets.SHUT_RDWR)
		}, []string{"__sys_shutdown", "__sys_shutdown_sock", "security_socket_shutdown", "inet_shutdown", "lock_sock",
			"tcp_disconnect", "tcp_set_state", "inet_unhash", "inet_csk_listen_stop", "sock_def_wakeup", "release_sock"}},
	}
	for _, c := range chains {
		m := f.mark()
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := f.entries(m); !inOrder(got, c.want) {
			t.Errorf("%s ran\n%s\nwant in this order\n%s", c.name, strings.Join(got, " "), strings.Join(c.want, " "))
		}
	}
}
