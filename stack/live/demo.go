package live

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/stack/netdev"
)

// DemoConfig describes the demo: a kernel without any real device, whose
// own client processes talk to its built-in services over lo.
type DemoConfig struct {
	Seed         uint64
	ThashEntries int
	CPUs         int
	// Every is the pause between the clients' activities (default 1 s).
	Every time.Duration
	// Record, if set, records the session (see stack.RecorderFunc).
	Record stack.RecorderFunc
	// Spool, if set, keeps the session's inputs so that a recording can
	// begin at any moment (the inspector's record key).
	Spool *stack.SpoolConfig
}

// The SYN-burst device: a link to a subnet where nobody answers.
var (
	burstAddr = netip.MustParsePrefix("10.99.0.2/24")
	burstPeer = netip.MustParseAddr("10.99.0.1")
)

// burstSize is how many SYNs a burst sends: more than the HTTP listener's
// SYN queue holds (backlog 128 + 1), so it fills and SYN cookies start.
const burstSize = 200

// StartDemo boots a kernel on the machine's clock with the built-in
// services and client processes that connect to them in turn over lo
// (an HTTP fetch, an echo round trip, a bulk send to discard, a chargen
// read, a UDP echo), and a device, burst0, on which SynBurst injects
// SYNs that are never completed. No privileges are needed.
func StartDemo(cfg DemoConfig) (*Session, error) {
	if cfg.Every == 0 {
		cfg.Every = time.Second
	}
	kc, err := stack.Config{Seed: cfg.Seed, Clock: stack.NewRealClock(), ThashEntries: cfg.ThashEntries, CPUs: cfg.CPUs, Spool: cfg.Spool}.WithRecorder(cfg.Record)
	if err != nil {
		return nil, err
	}
	k, err := stack.New(kc)
	if err != nil {
		return nil, err
	}
	k.Start()
	s := &Session{K: k}
	s.burst = netdev.New("burst0", "wire", 0, 1500, burstAddr, &netdev.Discard{})
	s.burst.Peer = burstPeer
	if err := k.AddDevice(s.burst); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.startServices(nil); err != nil {
		s.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopClients = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runClients(ctx, cfg.Every)
	}()
	return s, nil
}

// runClients runs the demo's clients, one activity after another, until
// ctx ends.
func (s *Session) runClients(ctx context.Context, every time.Duration) {
	p, err := s.K.NewProcess("demo-client")
	if err != nil {
		return
	}
	lo := netip.MustParseAddr("127.0.0.1")
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
			return p.DialTCP(netip.MustParseAddrPort(addr))
		}}}
	acts := []func(){
		func() { // an HTTP fetch
			if r, err := httpc.Get("http://127.0.0.1/"); err == nil {
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		},
		func() { // 64 kB through echo, and back
			c, err := p.DialTCP(netip.AddrPortFrom(lo, 7))
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64<<10)
			go func() { _, _ = c.Write(buf) }()
			_, _ = io.ReadFull(c, buf)
		},
		func() { // 1 MB to discard
			c, err := p.DialTCP(netip.AddrPortFrom(lo, 9))
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Write(make([]byte, 1<<20))
			_ = c.Close()
		},
		func() { // 8 kB of chargen, then the client closes first
			c, err := p.DialTCP(netip.AddrPortFrom(lo, 19))
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.ReadFull(c, make([]byte, 8<<10))
			_ = c.Close()
		},
		func() { // a datagram to UDP echo
			pc, err := p.ListenUDP(netip.AddrPortFrom(lo, 0))
			if err != nil {
				return
			}
			defer pc.Close()
			_ = pc.SetDeadline(time.Now().Add(time.Second))
			if _, err := pc.WriteTo([]byte("ping"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 7))); err == nil {
				_, _, _ = pc.ReadFrom(make([]byte, 64))
			}
		},
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		acts[i%len(acts)]()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SynBurst sends burstSize SYNs from hosts on burst0's subnet to port
// 80, none of which will ever send the final ACK: the HTTP listener's SYN
// queue fills with request socks (whose SYN-ACKs are retransmitted and
// finally dropped), and once it is full the SYNs get SYN cookies.
func (s *Session) SynBurst() (string, error) {
	if s.burst == nil {
		return "", fmt.Errorf("this session has no burst device")
	}
	s.mu.Lock()
	s.bursts++
	n := s.bursts
	s.mu.Unlock()
	frames := make([][]byte, 0, burstSize)
	dst := burstAddr.Addr()
	for i := range burstSize {
		src := netip.AddrFrom4([4]byte{10, 99, byte(n), byte(1 + i%250)})
		frames = append(frames, synFrame(src, uint16(20000+i), dst, 80, uint32(i)*7919+uint32(n)*104729))
	}
	if err := s.K.Receive(s.burst, frames...); err != nil {
		return "", err
	}
	return fmt.Sprintf("sent %d SYNs from 10.99.%d.0/24 to port 80 on burst0: watch the http listener's SYN queue", burstSize, n), nil
}

// synFrame builds an IPv4 SYN with an MSS option.
func synFrame(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, seq uint32) []byte {
	opts := (&header.OptionWriter{}).MSS(1460).Bytes()
	f := make([]byte, header.IPv4MinSize+header.TCPMinSize+len(opts))
	header.IPv4(f).Encode(header.IPv4Fields{Total: len(f), ID: uint16(sport), FragOff: header.IP_DF, TTL: 64,
		Protocol: header.IPPROTO_TCP, Src: src, Dst: dst})
	header.TCP(f[header.IPv4MinSize:]).Encode(header.TCPFields{SrcPort: sport, DstPort: dport, Seq: seq,
		Flags: header.TCP_FLAG_SYN, Window: 64240, Options: opts}, src, dst)
	return f
}
