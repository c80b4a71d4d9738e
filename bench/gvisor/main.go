// Command gvisor-peer is the gVisor side of `stackscope bench`: gVisor's
// netstack (pkg/tcpip) on a TUN device, serving the same TCP services
// stackscope's live mode serves (echo 7, discard 9, chargen 19) and a
// holder that keeps idle connections open for the memory row.
//
// It is a module of its own so that stackscope's module never depends on
// gVisor. `stackscope bench` builds it, starts it inside the network
// namespace it made, and speaks to it over stdin and stdout:
//
//	ready                 printed once the device is open and the services listen
//	mem   -> mem H S G    live heap and goroutine stack bytes after a GC, goroutines
//	held  -> held N       connections the holder has accepted
//
// It exits when stdin closes. The host's end of the device (address, MTU,
// up) is configured by the bench, over netlink, after "ready".
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gvisor-peer:", err)
		os.Exit(1)
	}
}

// config is what the command line says.
type config struct {
	tun      string
	addr     netip.Prefix
	mtu      int
	holdPort int
	holders  int
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("gvisor-peer", flag.ContinueOnError)
	var c config
	var addr string
	fs.StringVar(&c.tun, "tun", "gvb0", "name of the TUN device to create")
	fs.StringVar(&addr, "addr", "10.77.0.2/24", "the netstack's address and prefix on the device")
	fs.IntVar(&c.mtu, "mtu", 1500, "MTU of the device")
	fs.IntVar(&c.holdPort, "hold-port", 5001, "first port of the holder, which accepts connections and keeps them idle")
	fs.IntVar(&c.holders, "hold-ports", 1, "how many ports, from -hold-port up, the holder listens on")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil || !p.Addr().Is4() {
		return c, fmt.Errorf("-addr %q: want an IPv4 prefix such as 10.77.0.2/24", addr)
	}
	c.addr = p
	if c.mtu < 576 || c.mtu > 65535 {
		return c, fmt.Errorf("-mtu %d: use 576 to 65535", c.mtu)
	}
	return c, nil
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	fd, err := tun.Open(cfg.tun)
	if err != nil {
		return fmt.Errorf("open TUN device %s: %w", cfg.tun, err)
	}
	s, err := newStack(fd, cfg)
	if err != nil {
		return err
	}
	defer s.Destroy()
	h := &holder{}
	type service struct {
		port  int
		serve func(net.Conn)
	}
	streams := newStreamServices()
	svcs := []service{{7, serveEcho}, {9, streams.discard}, {19, streams.chargen}}
	for i := 0; i < max(1, cfg.holders); i++ {
		svcs = append(svcs, service{cfg.holdPort + i, h.keep})
	}
	for _, svc := range svcs {
		l, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: 1, Port: uint16(svc.port)}, ipv4.ProtocolNumber)
		if err != nil {
			return fmt.Errorf("listen on port %d: %w", svc.port, err)
		}
		defer l.Close()
		go acceptLoop(l, svc.serve)
	}
	fmt.Fprintln(stdout, "ready")
	return control(stdin, stdout, h)
}

// newStack builds a netstack with IPv4 and TCP on the TUN fd. TCP is set
// up as Linux's defaults are: SACK on, CUBIC, receive-buffer moderation,
// and tcp_rmem/tcp_wmem's ranges.
func newStack(fd int, cfg config) (*stack.Stack, error) {
	ep, err := fdbased.New(&fdbased.Options{FDs: []int{fd}, MTU: uint32(cfg.mtu)})
	if err != nil {
		return nil, fmt.Errorf("fdbased endpoint: %w", err)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	opts := []tcpip.SettableTransportProtocolOption{
		ptr(tcpip.TCPSACKEnabled(true)),
		ptr(tcpip.CongestionControlOption("cubic")),
		ptr(tcpip.TCPModerateReceiveBufferOption(true)),
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: 131072, Max: 6 << 20},
		&tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: 16384, Max: 4 << 20},
	}
	for _, o := range opts {
		if terr := s.SetTransportProtocolOption(tcp.ProtocolNumber, o); terr != nil {
			s.Destroy()
			return nil, fmt.Errorf("TCP option %T: %s", o, terr)
		}
	}
	if terr := s.CreateNIC(1, ep); terr != nil {
		s.Destroy()
		return nil, fmt.Errorf("create NIC: %s", terr)
	}
	addr := tcpip.AddrFrom4(cfg.addr.Addr().As4())
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: cfg.addr.Bits()}}
	if terr := s.AddProtocolAddress(1, pa, stack.AddressProperties{}); terr != nil {
		s.Destroy()
		return nil, fmt.Errorf("add address %s: %s", cfg.addr, terr)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: 1}})
	return s, nil
}

func ptr[T any](v T) *T { return &v }

func acceptLoop(l net.Listener, serve func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go serve(c)
	}
}

// control answers the bench's requests until stdin closes.
func control(stdin io.Reader, stdout io.Writer, h *holder) error {
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		switch cmd := strings.TrimSpace(sc.Text()); cmd {
		case "mem":
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(stdout, "mem %d %d %d\n", ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine())
		case "held":
			fmt.Fprintf(stdout, "held %d\n", h.count())
		case "":
		default:
			fmt.Fprintf(stdout, "error unknown request %q\n", cmd)
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("read requests: %w", err)
	}
	return nil
}

// holder keeps accepted connections open and idle: no goroutine and no
// buffer of its own per connection, so what they cost is the stack's.
type holder struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (h *holder) keep(c net.Conn) {
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
}

func (h *holder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func serveEcho(c net.Conn) {
	defer c.Close()
	_, _ = io.Copy(c, c)
}

// streamServices holds what the discard and chargen services share
// between connections, as every peer's services do: discard's 128 KiB read
// buffers come from a pool and chargen's pattern is built once, so that a
// short connection (the connect+close row) costs no 128 KiB allocation and
// the row measures the TCP stack, not the Go garbage collector.
type streamServices struct {
	bufs  sync.Pool // *[]byte of 128 KiB
	block []byte    // chargen's pattern, read-only once built
}

func newStreamServices() *streamServices {
	var lines []byte
	for i := 0; i < 95; i++ {
		for j := 0; j < 72; j++ {
			lines = append(lines, byte(' '+(i+j)%95))
		}
		lines = append(lines, '\r', '\n')
	}
	// As many whole cycles of the RFC 864 pattern (72-character lines, each
	// one character further along the printable ASCII characters) as fit in
	// 128 KiB per write, as iperf3 writes and as every peer's chargen does;
	// the pattern runs on unbroken from one write to the next.
	s := &streamServices{block: bytes.Repeat(lines, (128<<10)/len(lines))}
	s.bufs.New = func() any {
		b := make([]byte, 128<<10)
		return &b
	}
	return s
}

// discard reads 128 KiB at a time, as iperf3 does and as every peer's
// discard service does, and throws it away.
func (s *streamServices) discard(c net.Conn) {
	defer c.Close()
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	for {
		if _, err := c.Read(*bp); err != nil {
			return
		}
	}
}

// chargen writes the RFC 864 pattern until the client goes away.
func (s *streamServices) chargen(c net.Conn) {
	defer c.Close()
	go func() { _, _ = io.Copy(io.Discard, c) }()
	for {
		if _, err := c.Write(s.block); err != nil {
			return
		}
	}
}
