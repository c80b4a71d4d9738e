package benchrun

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/live"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// Peer kinds that `stackscope bench peer` serves (gVisor's is its own
// program, bench/gvisor).
const (
	KindStackscope = "stackscope"
	KindLinux      = "linux"
)

// PeerConfig is what a peer child is told on its command line.
type PeerConfig struct {
	Kind    string       // KindStackscope or KindLinux
	Tun     string       // the TUN device to create (stackscope)
	MTU     int          // its MTU (stackscope)
	Host    netip.Prefix // the host's end of the TUN link (stackscope)
	Addr    netip.Prefix // the peer's own address
	Record  string       // record a trace to this file (stackscope; "" for none)
	Holders int          // holder ports, from HoldPort up
	Version string       // stackscope's version, for the trace's header
}

// ServePeer runs a peer in the calling process's network namespace until
// stdin closes: stackscope's live mode on a TUN device with its echo,
// discard and chargen services, or the same services on the host
// kernel's sockets. Both add the holder on HoldPort.
func ServePeer(cfg PeerConfig, stdin io.Reader, stdout io.Writer) error {
	switch cfg.Kind {
	case KindStackscope:
		return serveStackscope(cfg, stdin, stdout)
	case KindLinux:
		return serveLinux(cfg, stdin, stdout)
	}
	return fmt.Errorf("unknown peer kind %q (want %s or %s)", cfg.Kind, KindStackscope, KindLinux)
}

func serveStackscope(cfg PeerConfig, stdin io.Reader, stdout io.Writer) (err error) {
	lc := live.Config{
		Tun:      netdev.TunConfig{Name: cfg.Tun, HostAddr: cfg.Host, StackAddr: cfg.Addr, MTU: cfg.MTU},
		Seed:     1,
		Services: []string{"echo", "discard", "chargen"},
	}
	var trace *tracing.TraceWriter
	if cfg.Record != "" {
		lc.Record = func(kc stack.Config) (stack.InputRecorder, error) {
			boot, err := json.Marshal(stack.DescribeBoot(kc))
			if err != nil {
				return nil, err
			}
			h := tracing.TraceHeader{Version: cfg.Version, Mode: "live", Kernel: boot}
			trace, err = tracing.CreateTrace(cfg.Record, h, tracing.TraceOptions{})
			return trace, err
		}
	}
	s, err := live.Start(lc)
	if err != nil {
		if trace != nil {
			_ = trace.Close()
		}
		return fmt.Errorf("start live mode: %w", err)
	}
	defer func() {
		err = errors.Join(err, s.Close())
		if trace != nil { // after the kernel stopped: nothing records any more
			err = errors.Join(err, trace.Close())
		}
	}()
	h := &holder{}
	for i := 0; i < max(1, cfg.Holders); i++ {
		p, err := s.K.NewProcess(fmt.Sprintf("holder%d", i))
		if err != nil {
			return err
		}
		l, err := p.ListenTCP(netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(HoldPort+i)), 4096)
		if err != nil {
			return fmt.Errorf("holder: %w", err)
		}
		go acceptLoop(l, h.keep)
	}
	fmt.Fprintln(stdout, "ready")
	return control(stdin, stdout, h)
}

func serveLinux(cfg PeerConfig, stdin io.Reader, stdout io.Writer) error {
	h := &holder{}
	type service struct {
		port  int
		serve func(net.Conn)
	}
	// The same discard and chargen as stackscope's live mode.
	streams := live.NewStreamServices()
	svcs := []service{{7, serveEcho}, {9, closing(streams.Discard)}, {19, closing(streams.Chargen)}}
	for i := 0; i < max(1, cfg.Holders); i++ {
		svcs = append(svcs, service{HoldPort + i, h.keep})
	}
	for _, svc := range svcs {
		l, err := net.Listen("tcp4", netip.AddrPortFrom(cfg.Addr.Addr(), uint16(svc.port)).String())
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		defer l.Close()
		go acceptLoop(l, svc.serve)
	}
	fmt.Fprintln(stdout, "ready")
	return control(stdin, stdout, h)
}

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
		switch req := strings.TrimSpace(sc.Text()); req {
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
			fmt.Fprintf(stdout, "error unknown request %q\n", req)
		}
	}
	if err := sc.Err(); err != nil {
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

// The services on the host kernel's sockets, as stackscope's live mode
// and bench/gvisor serve them.

func serveEcho(c net.Conn) {
	defer c.Close()
	_, _ = io.Copy(c, c)
}

// closing wraps a service so that it closes the connection when done, as
// acceptLoop's services must.
func closing(serve func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		serve(c)
	}
}
