package scenario

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack"
)

func runConsole(t *testing.T, seed uint64, input string) (string, *Console) {
	t.Helper()
	k, err := stack.New(stack.Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	defer k.Stop()
	var out bytes.Buffer
	c, err := NewConsole(k, &out, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(strings.NewReader(input), ""); err != nil {
		t.Fatal(err)
	}
	return out.String(), c
}

// TestSocketLinePrintsTheCallGraph is acceptance item 1.
func TestSocketLinePrintsTheCallGraph(t *testing.T) {
	out, c := runConsole(t, 1, "socket(..., SOCK_STREAM, IPPROTO_TCP)\n")
	want := []string{"__sys_socket(", "__sock_create(", "sock_alloc(", "inet_create(", "sk_alloc(",
		"sk_prot_alloc(", "sock_lock_init(", "sock_init_data(", "tcp_v4_init_sock(", "sock_map_fd(", "fd_install(", "\n= 3\n"}
	pos := 0
	for _, w := range want {
		i := strings.Index(out[pos:], w)
		if i < 0 {
			t.Fatalf("%q missing or out of order in:\n%s", w, out)
		}
		pos += i + len(w)
	}
	if c.Errors != 0 || c.Mismatches != 0 {
		t.Errorf("errors %d mismatches %d", c.Errors, c.Mismatches)
	}
	if !strings.Contains(out, "kmem_cache_alloc(s=TCP)") || !strings.Contains(out, "kmem_cache_alloc(s=sock_inode_cache)") {
		t.Error("the graph does not name the slab caches")
	}
}

// TestListenSessionShowsBindAndHash is acceptance item 2's call graph.
func TestListenSessionShowsBindAndHash(t *testing.T) {
	out, _ := runConsole(t, 1, "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\nbind(3, 127.0.0.1:8080) = 0\nlisten(3, 100000) = 0\n")
	for _, w := range []string{"__inet_bind(sk=", "addr=127.0.0.1, port=8080", "inet_csk_get_port(", "inet_listen(sock=",
		"backlog=4096", "inet_csk_listen_start(", "__inet_hash(sk=", "lhash2="} {
		if !strings.Contains(out, w) {
			t.Errorf("%q missing from:\n%s", w, out)
		}
	}
}

func TestErrorsAndExpectations(t *testing.T) {
	out, c := runConsole(t, 1, strings.Join([]string{
		"// a comment, then a blank line",
		"",
		"socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
		"bind(3, 127.0.0.1:8080) = 0",
		"socket(..., SOCK_STREAM, IPPROTO_TCP) = 4",
		"bind(4, 127.0.0.1:8080) = -1 EADDRINUSE (Address already in use)",
		"listen(4 5)",
		"frobnicate(3)",
		"bind(3, nowhere)",
		"close(3) = -1 EBADF",
		"listen(4, 5)",
		"accept(4, ..., ...)",
		"sysctl net.core.somaxconn=64",
		"sysctl net.core.somaxconn=lots",
		"+1 close(4) = 0",
	}, "\n"))
	for _, w := range []string{
		"= -1 EADDRINUSE (Address already in use)",
		"error: line 7, column 10: expected \",\" after the fd",
		"  listen(4 5)\n           ^",
		"error: line 8, column 1: the console does not know \"frobnicate\"",
		"error: line 9, column 9: expected an address such as 127.0.0.1:8080",
		"mismatch: the line expects = -1 EBADF",
		"note: accept4 sleeps and nothing in this session can wake it",
		"= -1 EINTR (Interrupted system call)",
		"net.core.somaxconn = 64",
		"sysctl: net.core.somaxconn takes an integer",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("%q missing from:\n%s", w, out)
		}
	}
	if c.Errors != 4 || c.Mismatches != 1 {
		t.Errorf("errors %d mismatches %d", c.Errors, c.Mismatches)
	}
}

// TestSameInputSameOutput: the kernel is deterministic, so a console
// session replays byte for byte; another seed moves the hash buckets.
func TestSameInputSameOutput(t *testing.T) {
	input := "socket(..., SOCK_STREAM, IPPROTO_TCP)\nbind(3, 127.0.0.1:0)\nlisten(3, 5)\n" +
		"socket(..., SOCK_STREAM, IPPROTO_TCP)\nlisten(4, 5)\ngetsockname(4, ..., ...)\naccept(3, ..., ...)\nclose(3)\nclose(4)\n"
	a, _ := runConsole(t, 7, input)
	b, _ := runConsole(t, 7, input)
	if a != b {
		t.Fatal("two runs with the same seed printed different output")
	}
	c, _ := runConsole(t, 8, input)
	if a == c {
		t.Error("a different seed changed nothing (ports and hash buckets depend on it)")
	}
}

func TestParseLine(t *testing.T) {
	cmd, err := ParseLine("x.pkt", 3, "+0.5 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=2}, 8) = 0")
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Time == nil || !cmd.Time.Relative || cmd.Time.Ns != 5e8 || !cmd.Syscall.Opt.LingerOnoff || cmd.Syscall.Opt.LingerSecs != 2 {
		t.Errorf("parsed %+v %+v", cmd.Time, cmd.Syscall)
	}
	if _, err := ParseLine("x.pkt", 4, "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK|BOGUS)"); err == nil ||
		err.Error() != `x.pkt:4:19: unknown fcntl argument "BOGUS"` {
		t.Errorf("bad flag: %v", err)
	}
	cmd, err = ParseLine("", 1, "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK)")
	if err != nil || cmd.Syscall.Args[2] != 0x802 {
		t.Errorf("flags: %v %+v", err, cmd)
	}
	cmd, err = ParseLine("", 1, "getsockopt(3, SOL_SOCKET, SO_RCVBUF, [...], [4]) = 0")
	if err != nil || cmd.Syscall.Args[2] != 8 || cmd.Expect.Ret != 0 {
		t.Errorf("getsockopt: %v %+v", err, cmd)
	}
	cmd, err = ParseLine("", 1, "accept4(3, ..., ..., SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)")
	if err != nil || cmd.Syscall.Args[1] != 0x800 || cmd.Expect.Errno != "EAGAIN" {
		t.Errorf("accept4: %v %+v", err, cmd)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"socket(..., SOCK_STREAM, IPPROTO_TCP) = 3", "bind(3, 127.0.0.1:8080)", "+.1 listen(3, 5)",
		"setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8)", "sysctl a=b", "accept4(3, ..., ..., 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmd, err := ParseLine("f", 1, s)
		if err == nil && cmd != nil && cmd.Syscall == nil && cmd.Sysctl == nil {
			t.Fatalf("%q parsed to an empty command", s)
		}
	})
}

// TestConsoleTCPSession: a connection over loopback driven line by line,
// each result as the script expects, the data path in the graph.
func TestConsoleTCPSession(t *testing.T) {
	script := `socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
bind(3, 127.0.0.1:8080) = 0
listen(3, 10) = 0
socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
connect(4, 127.0.0.1:8080) = 0
accept(3, ..., ...) = 5
write(4, ..., 1000) = 1000
read(5, ..., 2000) = 1000
send(5, ..., 10, 0) = 10
recv(4, ..., 100, MSG_DONTWAIT) = 10
recv(4, ..., 100, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)
close(4) = 0
read(5, ..., 2000) = 0
write(5, ..., 1) = 1
close(5) = 0
`
	out, c := runConsole(t, 1, script)
	if c.Errors != 0 || c.Mismatches != 0 {
		t.Fatalf("errors %d mismatches %d:\n%s", c.Errors, c.Mismatches, out)
	}
	for _, w := range []string{"tcp_v4_connect(", "tcp_conn_request(", "tcp_sendmsg(", "tcp_recvmsg(", "tcp_send_fin(", "tcp_fin("} {
		if !strings.Contains(out, w) {
			t.Errorf("%s is not in the graph", w)
		}
	}
	if _, c := runConsole(t, 1, "read(3, ..., 99999999)\n"); c.Errors != 1 {
		t.Errorf("an oversized read is not refused: %d errors", c.Errors)
	}
}

// TestConsolePollAndTCPInfo: poll lines in packetdrill's syntax, with
// their revents printed, and getsockopt(TCP_INFO) showing the struct.
func TestConsolePollAndTCPInfo(t *testing.T) {
	script := `socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
bind(3, 127.0.0.1:8080) = 0
listen(3, 10) = 0
poll([{fd=3, events=POLLIN}], 1, 0) = 0
socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
connect(4, 127.0.0.1:8080) = 0
poll([{fd=3, events=POLLIN, revents=POLLIN}, {fd=4, events=POLLIN|POLLOUT}], 2, 0) = 2
getsockopt(3, SOL_TCP, TCP_INFO, [...], [...]) = 0
getsockopt(4, SOL_TCP, TCP_INFO, [...], [...]) = 0
`
	out, c := runConsole(t, 1, script)
	if c.Errors != 0 || c.Mismatches != 0 {
		t.Fatalf("errors %d mismatches %d:\n%s", c.Errors, c.Mismatches, out)
	}
	for _, w := range []string{"do_sys_poll(", "tcp_poll(", "= 2 [{fd=3, revents=POLLIN}, {fd=4, revents=POLLOUT}]",
		"tcp_get_info(", "tcpi_state=LISTEN", "tcpi_unacked=1, tcpi_sacked=10",
		"tcpi_state=ESTABLISHED, tcpi_ca_state=TCP_CA_Open, tcpi_options=7"} {
		if !strings.Contains(out, w) {
			t.Errorf("%q is not in:\n%s", w, out)
		}
	}
	if _, c := runConsole(t, 1, "poll([{fd=3, event=POLLIN}], 1, 0)\n"); c.Errors != 1 {
		t.Errorf("a pollfd with a wrong field is not refused: %d errors", c.Errors)
	}
}
