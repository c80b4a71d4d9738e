package live

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// service is a built-in server running as a process of the model kernel.
type service struct {
	name string
	stop func()
}

// Services lists the built-in services: name, transport, port, what it does.
var Services = []struct {
	Name, Proto string
	Port        uint16
	Doc         string
}{
	{"echo", "udp", 7, "echoes every datagram back (RFC 862)"},
	{"discard", "udp", 9, "reads datagrams and throws them away (RFC 863)"},
	{"echo", "tcp", 7, "sends every byte back (RFC 862)"},
	{"discard", "tcp", 9, "reads and throws away everything (RFC 863)"},
	{"chargen", "tcp", 19, "sends lines of printable characters until the client closes (RFC 864)"},
	{"http", "tcp", 80, "Go's net/http, serving a page that shows the connection's own sock and its tcp_info"},
}

// ServiceNames are the names --services accepts.
func ServiceNames() []string {
	var out []string
	for _, s := range Services {
		if !slices.Contains(out, s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

func (s *Session) startServices(which []string) error {
	for _, name := range which {
		if !slices.Contains(ServiceNames(), name) {
			return fmt.Errorf("unknown service %q (known: %s)", name, strings.Join(ServiceNames(), ", "))
		}
	}
	streams := NewStreamServices()
	for _, svc := range Services {
		if which != nil && !slices.Contains(which, svc.Name) {
			continue
		}
		p, err := s.K.NewProcess(svc.Name + "-" + svc.Proto)
		if err != nil {
			return err
		}
		addr := netip.AddrPortFrom(netip.IPv4Unspecified(), svc.Port)
		if svc.Proto == "udp" {
			pc, err := p.ListenUDP(addr)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", svc.Name, svc.Proto, err)
			}
			echo := svc.Name == "echo"
			s.services = append(s.services, service{name: svc.Name, stop: func() { _ = pc.Close() }})
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				serveUDP(pc, echo)
			}()
			continue
		}
		l, err := p.ListenTCP(addr, 128)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", svc.Name, svc.Proto, err)
		}
		if svc.Name == "http" {
			srv := &http.Server{Handler: s.pageHandler(), ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				return context.WithValue(ctx, connKey{}, c)
			}}
			s.services = append(s.services, service{name: svc.Name, stop: func() { _ = srv.Close() }})
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				_ = srv.Serve(l)
			}()
			continue
		}
		handle := map[string]func(net.Conn){"echo": serveEcho, "discard": streams.Discard, "chargen": streams.Chargen}[svc.Name]
		var conns sync.WaitGroup
		s.services = append(s.services, service{name: svc.Name, stop: func() { _ = l.Close() }})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					break
				}
				conns.Add(1)
				go func() {
					defer conns.Done()
					defer c.Close()
					handle(c)
				}()
			}
			conns.Wait()
		}()
	}
	return nil
}

// serveUDP is the service's main loop: read, and echo back if asked.
func serveUDP(pc net.PacketConn, echo bool) {
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if echo {
			if _, err := pc.WriteTo(buf[:n], from); err != nil {
				return
			}
		}
	}
}

func serveEcho(c net.Conn) { _, _ = io.Copy(c, c) }

// discardReadSize is how much the discard service asks for per read:
// 128 KiB, as iperf3 reads by default. (io.Copy into io.Discard would read
// 8 KiB at a time, which makes a bulk transfer mostly system calls.)
const discardReadSize = 128 << 10

// chargenWrite is the most the chargen service writes per call: 128 KiB,
// as iperf3 writes by default (one 7030-byte cycle per call made a bulk
// transfer mostly system calls).
const chargenWrite = 128 << 10

// StreamServices holds what the discard and chargen services share between
// their connections (live mode's, and the bench's Linux peer's), so that a connection costs no 128 KiB allocation of
// its own: a short connection (connect, then close) would otherwise spend
// more of its time in the Go allocator and garbage collector than in the
// model kernel.
type StreamServices struct {
	bufs  sync.Pool // *[]byte of discardReadSize, for discard's reads
	block []byte    // chargen's pattern, read-only once built
}

// NewStreamServices builds chargen's pattern and discard's buffer pool.
func NewStreamServices() *StreamServices {
	s := &StreamServices{block: chargenBlock()}
	s.bufs.New = func() any {
		b := make([]byte, discardReadSize)
		return &b
	}
	return s
}

// chargenBlock is what the chargen service writes per call: the RFC 864
// pattern (72-character lines, each starting one character further along
// the 95 printable ASCII characters, ending in CRLF) in as many whole
// 95-line cycles as fit in chargenWrite, so that it runs on unbroken from
// one write to the next.
func chargenBlock() []byte {
	var cycle []byte
	for i := 0; i < 95; i++ {
		for j := 0; j < 72; j++ {
			cycle = append(cycle, byte(' '+(i+j)%95))
		}
		cycle = append(cycle, '\r', '\n')
	}
	return bytes.Repeat(cycle, chargenWrite/len(cycle))
}

// Discard reads and throws away everything until the client closes.
func (s *StreamServices) Discard(c net.Conn) {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	for {
		if _, err := c.Read(*bp); err != nil {
			return
		}
	}
}

// Chargen writes the RFC 864 pattern until the client goes away.
func (s *StreamServices) Chargen(c net.Conn) {
	go func() { _, _ = io.Copy(io.Discard, c) }() // the client's bytes are ignored
	for {
		if _, err := c.Write(s.block); err != nil {
			return
		}
	}
}

type connKey struct{}

// pageHandler serves a page describing the connection it travels on, as
// the model kernel's snapshot shows it.
func (s *Session) pageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var b strings.Builder
		fmt.Fprintf(&b, "stackscope: this page came to you through a model of the Linux TCP/IP stack.\n\n")
		c, _ := r.Context().Value(connKey{}).(*stack.Conn)
		snap, err := s.K.Snapshot()
		if c == nil || err != nil {
			fmt.Fprintf(&b, "(the connection's sock could not be read: %v)\n", err)
			_, _ = io.WriteString(w, b.String())
			return
		}
		var skAddr string
		for _, p := range snap.Processes {
			if p.Pid == c.Process().Pid {
				for _, fd := range p.Fds {
					if fd.Fd == c.Fd() {
						skAddr = fd.Sk
					}
				}
			}
		}
		for _, sk := range snap.Socks {
			if sk.Sk != skAddr {
				continue
			}
			sc := sk.SockCommon
			fmt.Fprintf(&b, "Your connection is fd %d of process %d (%s), struct sock at %s, from the %s cache.\n",
				c.Fd(), c.Process().Pid, c.Process().Comm, sk.Sk, sk.Cache)
			fmt.Fprintf(&b, "  state            %s\n", sc.SkcState)
			fmt.Fprintf(&b, "  local            %s:%d\n", sc.SkcRcvSaddr, sc.SkcNum)
			fmt.Fprintf(&b, "  remote           %s:%d\n", sc.SkcDaddr, sc.SkcDport)
			fmt.Fprintf(&b, "  ehash            %s\n", sc.SkcNode)
			fmt.Fprintf(&b, "  sk_rcvbuf        %d   sk_rmem_alloc  %d\n", sk.SkRcvbuf, sk.SkRmemAlloc)
			fmt.Fprintf(&b, "  sk_sndbuf        %d   sk_wmem_queued %d\n", sk.SkSndbuf, sk.SkWmemQueued)
			fmt.Fprintf(&b, "  sk_receive_queue %d skbs\n", sk.SkReceiveQueue.Qlen)
			fmt.Fprintf(&b, "  sk_write_queue   %d skbs\n", sk.SkWriteQueue.Qlen)
		}
		if info, err := c.Process().TCPInfo(c.Fd()); err != nil {
			fmt.Fprintf(&b, "\n(tcp_info could not be read: %v)\n", err)
		} else {
			fmt.Fprintf(&b, "\nIts struct tcp_info, as getsockopt(%d, SOL_TCP, TCP_INFO) returned it while this page was written:\n", c.Fd())
			writeTCPInfo(&b, info)
		}
		fmt.Fprintf(&b, "\nThe kernel holds %d socks now.\n", len(snap.Socks))
		_, _ = io.WriteString(w, b.String())
	})
}

// writeTCPInfo prints the main fields of a tcp_info as a table, in the
// kernel's units, named as in struct tcp_info.
func writeTCPInfo(w io.Writer, i *sockets.TcpInfo) {
	var opts []string
	for _, o := range []struct {
		bit  uint8
		name string
	}{{sockets.TCPI_OPT_TIMESTAMPS, "TIMESTAMPS"}, {sockets.TCPI_OPT_SACK, "SACK"}, {sockets.TCPI_OPT_WSCALE, "WSCALE"}} {
		if i.TcpiOptions&o.bit != 0 {
			opts = append(opts, o.name)
		}
	}
	minRtt := fmt.Sprintf("%d us", i.TcpiMinRtt)
	if i.TcpiMinRtt == ^uint32(0) {
		minRtt = "no sample yet"
	}
	rows := [][2]string{
		{"tcpi_state", sockets.State(i.TcpiState).String()},
		{"tcpi_ca_state", sockets.CaStateName(i.TcpiCaState)},
		{"tcpi_options", strings.Join(opts, "|")},
		{"tcpi_snd_wscale/rcv", fmt.Sprintf("%d / %d", i.TcpiSndWscale, i.TcpiRcvWscale)},
		{"tcpi_rto", fmt.Sprintf("%d us", i.TcpiRto)},
		{"tcpi_rtt/rttvar", fmt.Sprintf("%d / %d us", i.TcpiRtt, i.TcpiRttvar)},
		{"tcpi_min_rtt", minRtt},
		{"tcpi_snd_mss/rcv_mss", fmt.Sprintf("%d / %d", i.TcpiSndMss, i.TcpiRcvMss)},
		{"tcpi_advmss/pmtu", fmt.Sprintf("%d / %d", i.TcpiAdvmss, i.TcpiPmtu)},
		{"tcpi_snd_cwnd", fmt.Sprint(i.TcpiSndCwnd)},
		{"tcpi_snd_ssthresh", fmt.Sprint(i.TcpiSndSsthresh)},
		{"tcpi_snd_wnd/rcv_wnd", fmt.Sprintf("%d / %d", i.TcpiSndWnd, i.TcpiRcvWnd)},
		{"tcpi_rcv_ssthresh", fmt.Sprint(i.TcpiRcvSsthresh)},
		{"tcpi_unacked", fmt.Sprint(i.TcpiUnacked)},
		{"tcpi_retrans/total", fmt.Sprintf("%d / %d", i.TcpiRetrans, i.TcpiTotalRetrans)},
		{"tcpi_bytes_sent", fmt.Sprint(i.TcpiBytesSent)},
		{"tcpi_bytes_acked", fmt.Sprint(i.TcpiBytesAcked)},
		{"tcpi_bytes_received", fmt.Sprint(i.TcpiBytesReceived)},
		{"tcpi_segs_out/in", fmt.Sprintf("%d / %d", i.TcpiSegsOut, i.TcpiSegsIn)},
		{"tcpi_data_segs_out/in", fmt.Sprintf("%d / %d", i.TcpiDataSegsOut, i.TcpiDataSegsIn)},
		{"tcpi_notsent_bytes", fmt.Sprint(i.TcpiNotsentBytes)},
		{"tcpi_last_data_recv", fmt.Sprintf("%d ms ago", i.TcpiLastDataRecv)},
		{"tcpi_last_ack_recv", fmt.Sprintf("%d ms ago", i.TcpiLastAckRecv)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-22s %s\n", r[0], r[1])
	}
}
