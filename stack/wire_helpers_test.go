package stack

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
)

// pairFix is two kernels on a wire with one process each.
type pairFix struct {
	t      testing.TB
	p      *Pair
	pa, pb *Process
}

const sec = int64(1e9)

func newPairFix(t testing.TB, cfg PairConfig) *pairFix {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	p, err := NewPair(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	f := &pairFix{t: t, p: p}
	if f.pa, err = p.A.NewProcess("a"); err != nil {
		t.Fatal(err)
	}
	if f.pb, err = p.B.NewProcess("b"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.checkFrames() })
	return f
}

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

func sa(a netip.Addr, port uint16) sockets.SockaddrIn {
	return sockets.SockaddrIn{Family: sockets.AF_INET, Addr: a, Port: port}
}

// call issues a syscall and runs the pair until it returns (at most
// limit of virtual time).
func (f *pairFix) call(proc *Process, sc Syscall, limit int64) (*Pending, error) {
	f.t.Helper()
	pd := proc.Start(sc)
	if err := f.p.RunUntil(pd.Ready, limit); err != nil {
		f.t.Fatalf("%s: %v", sc.Name, err)
	}
	_, err := pd.Wait()
	return pd, err
}

func (f *pairFix) socket(proc *Process) int {
	f.t.Helper()
	fd, err := proc.Socket(sockets.AF_INET, sockets.SOCK_STREAM, sockets.IPPROTO_TCP)
	if err != nil {
		f.t.Fatal(err)
	}
	return fd
}

// listen makes a listener on proc's kernel at a:port.
func (f *pairFix) listen(proc *Process, a netip.Addr, port uint16, backlog int) int {
	f.t.Helper()
	fd := f.socket(proc)
	if err := proc.Bind(fd, sa(a, port)); err != nil {
		f.t.Fatal(err)
	}
	if err := proc.Listen(fd, backlog); err != nil {
		f.t.Fatal(err)
	}
	return fd
}

// listenRcvbuf makes a listener whose SO_RCVBUF (set before listen, so
// that its children inherit it) is rcvbuf.
func (f *pairFix) listenRcvbuf(proc *Process, a netip.Addr, port uint16, rcvbuf int64) int {
	f.t.Helper()
	fd := f.socket(proc)
	if err := proc.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_RCVBUF, sockets.Optval{Int: rcvbuf}); err != nil {
		f.t.Fatal(err)
	}
	if err := proc.Bind(fd, sa(a, port)); err != nil {
		f.t.Fatal(err)
	}
	if err := proc.Listen(fd, 8); err != nil {
		f.t.Fatal(err)
	}
	return fd
}

func (f *pairFix) connect(proc *Process, fd int, to sockets.SockaddrIn, limit int64) error {
	f.t.Helper()
	_, err := f.call(proc, Syscall{Name: "connect", Args: [4]int64{int64(fd), 16}, Addr: to}, limit)
	return err
}

func (f *pairFix) accept(proc *Process, lfd int, limit int64) int {
	f.t.Helper()
	pd, err := f.call(proc, Syscall{Name: "accept4", Args: [4]int64{int64(lfd)}}, limit)
	if err != nil {
		f.t.Fatalf("accept: %v", err)
	}
	r, _ := pd.Wait()
	return int(r)
}

// dial makes a connection from B to a listener on A and returns (client
// fd on B, server fd on A).
func (f *pairFix) dial(lfd int, port uint16) (int, int) {
	f.t.Helper()
	cfd := f.socket(f.pb)
	if err := f.connect(f.pb, cfd, sa(addrA, port), 5*sec); err != nil {
		f.t.Fatalf("connect: %v", err)
	}
	return cfd, f.accept(f.pa, lfd, 5*sec)
}

// state reads a socket's TCP state.
func (f *pairFix) state(proc *Process, fd int) sockets.State {
	f.t.Helper()
	r, err := proc.k.Do("state", func(k *Kernel) any {
		file := proc.Fdt.Get(fd)
		if file == nil || file.PrivateData.Sk == nil {
			return sockets.State(0)
		}
		return file.PrivateData.Sk.SkcState
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return r.(sockets.State)
}

// ehashStates lists the states of everything in a kernel's ehash, in
// bucket order (established socks, TIME_WAIT socks, request socks).
func (f *pairFix) ehashStates(k *Kernel) []string {
	f.t.Helper()
	s, err := k.Snapshot()
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, b := range s.Hashinfo.Ehash {
		for _, e := range b.Chain {
			out = append(out, e.State)
		}
	}
	return out
}

func (f *pairFix) mib(k *Kernel, m Mib) uint64 {
	f.t.Helper()
	v, err := k.Mib(m)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// pattern is n bytes that differ from any shifted copy of themselves
// within a window, so a lost, repeated or misplaced segment shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// send writes all of data on fd (as many write calls as it takes),
// running the pair while the writes block.
func (f *pairFix) send(proc *Process, fd int, data []byte, limit int64) {
	f.t.Helper()
	for off := 0; off < len(data); {
		pd, err := f.call(proc, Syscall{Name: "sendto", Args: [4]int64{int64(fd)}, Data: data[off:]}, limit)
		if err != nil {
			f.t.Fatalf("write at %d: %v", off, err)
		}
		n, _ := pd.Wait()
		off += int(n)
	}
}

// recvAll reads fd until end of file or n bytes.
func (f *pairFix) recvAll(proc *Process, fd, n int, limit int64) []byte {
	f.t.Helper()
	var out []byte
	for len(out) < n {
		pd, err := f.call(proc, Syscall{Name: "recvfrom", Args: [4]int64{int64(fd), 1 << 20}}, limit)
		if err != nil {
			f.t.Fatalf("read after %d bytes: %v", len(out), err)
		}
		if len(pd.Data()) == 0 {
			break
		}
		out = append(out, pd.Data()...)
	}
	return out
}

// transfer sends data from (sp, sfd) while (rp, rfd) reads it, both in
// flight at once, and checks the bytes that arrive.
func (f *pairFix) transfer(sp *Process, sfd int, rp *Process, rfd int, data []byte, limit int64) {
	f.t.Helper()
	var got []byte
	off := 0
	var wr, rd *Pending
	end := f.p.Now() + limit
	for off < len(data) || len(got) < len(data) {
		if wr == nil && off < len(data) {
			wr = sp.Start(Syscall{Name: "sendto", Args: [4]int64{int64(sfd)}, Data: data[off:]})
		}
		if rd == nil && len(got) < len(data) {
			rd = rp.Start(Syscall{Name: "recvfrom", Args: [4]int64{int64(rfd), 1 << 20}})
		}
		err := f.p.RunUntil(func() bool { return (wr != nil && wr.Ready()) || (rd != nil && rd.Ready()) }, end-f.p.Now())
		if err != nil {
			f.t.Fatalf("transfer stalled after %d of %d bytes sent, %d received: %v", off, len(data), len(got), err)
		}
		if wr != nil && wr.Ready() {
			n, err := wr.Wait()
			if err != nil {
				f.t.Fatalf("write: %v", err)
			}
			off += int(n)
			wr = nil
		}
		if rd != nil && rd.Ready() {
			if _, err := rd.Wait(); err != nil {
				f.t.Fatalf("read: %v", err)
			}
			if len(rd.Data()) == 0 {
				f.t.Fatalf("end of file after %d of %d bytes", len(got), len(data))
			}
			got = append(got, rd.Data()...)
			rd = nil
		}
	}
	if !bytes.Equal(got, data) {
		f.t.Fatalf("data differs: sha256 sent %x, received %x (%d bytes)", sha256.Sum256(data), sha256.Sum256(got), len(got))
	}
}

// checkFrames decodes every frame put on the wire with gopacket and checks
// the IP and TCP/UDP/ICMP checksums (the frames before any impairment).
func (f *pairFix) checkFrames() {
	f.t.Helper()
	for i, wf := range f.p.Frames() {
		if err := checkFrame(wf.Frame); err != nil {
			f.t.Errorf("frame %d (dir %d, t=%d): %v", i, wf.Dir, wf.At, err)
			return
		}
	}
}

func checkFrame(frame []byte) error {
	p := gopacket.NewPacket(frame, layers.LayerTypeIPv4, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		return fmt.Errorf("gopacket cannot decode % x: %v", frame, el.Error())
	}
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil {
		return fmt.Errorf("not IPv4")
	}
	var sum uint32
	for i := 0; i+1 < len(ip.Contents); i += 2 {
		sum += uint32(ip.Contents[i])<<8 | uint32(ip.Contents[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		return fmt.Errorf("bad IP header checksum")
	}
	if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		_ = tcp.SetNetworkLayerForChecksum(ip)
		if c, err := tcp.ComputeChecksum(); err != nil || c != 0 {
			return fmt.Errorf("bad TCP checksum (%v)", err)
		}
	}
	return nil
}

// tcpFrames decodes the TCP segments sent in direction dir.
func (f *pairFix) tcpFrames(dir int) []*layers.TCP {
	var out []*layers.TCP
	for _, wf := range f.p.Frames() {
		if wf.Dir != dir {
			continue
		}
		p := gopacket.NewPacket(wf.Frame, layers.LayerTypeIPv4, gopacket.Default)
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			out = append(out, tcp)
		}
	}
	return out
}

// sockCount counts the TCP socks and request socks a kernel holds (in
// their slab caches), for leak checks.
func (f *pairFix) inUse(k *Kernel, cache string) uint64 {
	f.t.Helper()
	r, err := k.Do("caches", func(k *Kernel) any {
		for _, c := range k.mem.Caches() {
			if c.Name() == cache {
				return c.Stats().InUse
			}
		}
		return uint64(0)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return r.(uint64)
}

var _ = skb.SkbQueueLen

type netdevImpairments = netdev.Impairments

// mssOption returns the MSS option of a segment (0 if none).
func mssOption(seg *layers.TCP) int {
	for _, o := range seg.Options {
		if o.OptionType == layers.TCPOptionKindMSS && len(o.OptionData) == 2 {
			return int(o.OptionData[0])<<8 | int(o.OptionData[1])
		}
	}
	return 0
}

func tcpOfFrame(frame []byte) *layers.TCP {
	p := gopacket.NewPacket(frame, layers.LayerTypeIPv4, gopacket.Default)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	return tcp
}

// flagsOf renders segments' flags for error messages.
func flagsOf(segs []*layers.TCP) []string {
	var out []string
	for _, s := range segs {
		f := ""
		for _, x := range []struct {
			on bool
			c  string
		}{{s.SYN, "S"}, {s.FIN, "F"}, {s.RST, "R"}, {s.PSH, "P"}, {s.ACK, "."}} {
			if x.on {
				f += x.c
			}
		}
		out = append(out, fmt.Sprintf("%s%d", f, len(s.Payload)))
	}
	return out
}
