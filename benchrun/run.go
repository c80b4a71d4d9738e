package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Options configure a bench run.
type Options struct {
	Duration  time.Duration // per row
	Rows      []string      // from ParseRows
	Peers     []string      // from ParsePeers
	Conns     int           // idle connections of the memory row
	MaxMTU    int           // the large MTU; 0 finds it by setting it on a TUN device
	Self      string        // the stackscope binary, started as `bench peer`
	GvisorBin string        // a built gVisor peer; "" builds GvisorSrc
	GvisorSrc string        // bench/gvisor, when GvisorBin is ""
	TraceDir  string        // where the recorder's traces go ("": a temporary directory)
	Version   string        // stackscope's version, for trace headers
	Progress  io.Writer     // a line per figure as it is measured
}

// The addresses of the two links: the TUN link of stackscope and gVisor
// (as live mode's default), and the veth pair.
var (
	tunHost  = netip.MustParsePrefix("10.77.0.1/24")
	tunPeer  = netip.MustParsePrefix("10.77.0.2/24")
	vethHost = netip.MustParsePrefix("10.78.0.1/24")
	vethPeer = netip.MustParsePrefix("10.78.0.2/24")
)

// Device names in the namespaces.
const (
	tunStackscope = "stkb0"
	tunGvisor     = "gvb0"
	vethHostName  = "stkbv0"
	vethPeerName  = "stkbv1"
)

// peerStart is how long a peer may take to say ready.
const peerStart = 30 * time.Second

// bench is one run's state.
type bench struct {
	o       Options
	res     *Results
	client  *nsThread // the host's side: every row's client
	server  *nsThread // the veth peer's namespace (nil without veth)
	tmp     string
	gvisor  string // the gVisor peer binary
	maxMTU  int
	stageNo int
}

// Run measures every chosen row against every chosen peer and returns the
// results. It creates its namespaces, devices and child processes and
// removes them again on every way out, including ctx's cancellation
// (then the results hold what was measured, and the error is ctx's).
func Run(ctx context.Context, o Options) (res *Results, err error) {
	if err := CheckPrivilege(); err != nil {
		return nil, err
	}
	b := &bench{o: o, res: &Results{Machine: Machine(), Duration: o.Duration, Conns: o.Conns, Peers: o.Peers, Rows: o.Rows}}
	if b.needs(PeerStackscope, PeerRecorder, PeerGvisor) {
		if _, err := os.Stat("/dev/net/tun"); err != nil {
			return nil, fmt.Errorf("no TUN driver (/dev/net/tun: %v): the stackscope and gVisor rows need it; try --peers veth", err)
		}
	}
	removeStale(o.TraceDir)
	if b.tmp, err = os.MkdirTemp("", fmt.Sprintf("%s%d-", filePrefix, os.Getpid())); err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(b.tmp)) }()
	if slices.Contains(o.Peers, PeerGvisor) {
		b.gvisor = o.GvisorBin
		if b.gvisor == "" {
			b.progress("building the gVisor peer (%s)", o.GvisorSrc)
			if b.gvisor, err = BuildGvisor(o.GvisorSrc, b.tmp); err != nil {
				return nil, err
			}
		}
	}
	name := nsPrefix + strconv.Itoa(os.Getpid())
	if b.client, err = newNamespace(name); err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, b.client.Close()) }()
	if err := b.tuneClient(); err != nil {
		return nil, err
	}
	if slices.Contains(o.Peers, PeerVeth) {
		if b.server, err = newNamespace(name + "v"); err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, b.server.Close()) }()
		if err := b.setupVeth(); err != nil {
			return nil, err
		}
	}
	if slices.Contains(o.Rows, RowH2SMax) || slices.Contains(o.Rows, RowS2HMax) {
		b.maxMTU = o.MaxMTU
		if b.maxMTU == 0 {
			if b.maxMTU, err = probeMaxMTU(b.client); err != nil {
				return nil, err
			}
		}
		b.res.MaxMTU = b.maxMTU
		b.progress("largest MTU the TUN device takes: %d", b.maxMTU)
	}
	for _, peer := range o.Peers {
		for _, st := range b.stages() {
			if err := ctx.Err(); err != nil {
				return b.res, err
			}
			b.runStage(ctx, peer, st)
		}
	}
	return b.res, ctx.Err()
}

func (b *bench) needs(peers ...string) bool {
	for _, p := range peers {
		if slices.Contains(b.o.Peers, p) {
			return true
		}
	}
	return false
}

func (b *bench) progress(format string, args ...any) {
	if b.o.Progress != nil {
		fmt.Fprintf(b.o.Progress, "bench: "+format+"\n", args...)
	}
}

// tuneClient widens the client namespace's ephemeral ports and lets it
// reuse TIME_WAIT ports, so the connect+close row cannot run out of them.
func (b *bench) tuneClient() error {
	if err := b.client.writeSysctl("net/ipv4/ip_local_port_range", "1024 65535"); err != nil {
		return err
	}
	return b.client.writeSysctl("net/ipv4/tcp_tw_reuse", "1")
}

// setupVeth makes the veth pair between the two namespaces.
func (b *bench) setupVeth() error {
	hc, err := b.client.handle()
	if err != nil {
		return err
	}
	defer hc.Close()
	sns, err := netns.GetFromName(b.server.name)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", b.server.name, err)
	}
	defer sns.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: vethHostName}, PeerName: vethPeerName, PeerNamespace: netlink.NsFd(int(sns))}
	if err := hc.LinkAdd(veth); err != nil {
		return fmt.Errorf("netlink: create the veth pair: %w", err)
	}
	if err := configureLink(hc, vethHostName, vethHost, 1500); err != nil {
		return err
	}
	hs, err := b.server.handle()
	if err != nil {
		return err
	}
	defer hs.Close()
	return configureLink(hs, vethPeerName, vethPeer, 1500)
}

// stage is a set of rows measured against one start of a peer, at one MTU.
type stage struct {
	mtu  int
	rows []string
}

func (b *bench) stages() []stage {
	var small, large, mem []string
	for _, r := range b.o.Rows {
		switch r {
		case RowH2SMax, RowS2HMax:
			large = append(large, r)
		case RowMem:
			// A fresh peer of its own: memory that earlier rows left in
			// the peer's caches would hide what new connections cost.
			mem = append(mem, r)
		default:
			small = append(small, r)
		}
	}
	var out []stage
	for _, st := range []stage{{1500, small}, {b.maxMTU, large}, {1500, mem}} {
		if len(st.rows) > 0 {
			out = append(out, st)
		}
	}
	return out
}

// runStage starts the peer at the stage's MTU, measures the stage's rows
// and stops the peer. Failures go into the results, cell by cell.
func (b *bench) runStage(ctx context.Context, peer string, st stage) {
	b.stageNo++
	if peer == PeerVeth && slices.Contains(st.rows, RowMem) {
		b.res.NotApplicable(RowMem, peer, "kernel memory is no process's heap")
		st.rows = slices.DeleteFunc(slices.Clone(st.rows), func(r string) bool { return r == RowMem })
		if len(st.rows) == 0 {
			return
		}
	}
	addr := tunPeer.Addr()
	if peer == PeerVeth {
		addr = vethPeer.Addr()
	}
	p, err := b.startPeer(ctx, peer, st.mtu)
	if err != nil {
		for _, r := range st.rows {
			for _, l := range Lines {
				if l.Row == r {
					b.res.Fail(l.ID, peer, err)
				}
			}
		}
		b.progress("%s at MTU %d: %v", peer, st.mtu, err)
		return
	}
	for _, r := range st.rows {
		if ctx.Err() != nil {
			break
		}
		b.measure(ctx, peer, p, addr, r)
	}
	if err := p.Stop(); err != nil && ctx.Err() == nil {
		b.progress("%s at MTU %d stopped with an error: %v", peer, st.mtu, err)
	}
	if peer == PeerRecorder {
		trace := b.tracePath()
		if fi, err := os.Stat(trace); err == nil {
			b.progress("%-10s the trace of this MTU %d run: %d MiB", peer, st.mtu, fi.Size()>>20)
		}
		_ = os.Remove(trace)
	}
}

// tracePath is where the recorder peer of the current stage records.
func (b *bench) tracePath() string {
	dir := b.o.TraceDir
	if dir == "" {
		dir = b.tmp
	}
	return filepath.Join(dir, fmt.Sprintf("%s%d-%d.sst", filePrefix, os.Getpid(), b.stageNo))
}

// measure runs one row and records its lines.
func (b *bench) measure(ctx context.Context, peer string, p *peerProc, addr netip.Addr, row string) {
	d := b.o.Duration
	set := func(line string, v float64, err error) {
		l := lineByID(line)
		if err != nil {
			if ctx.Err() == nil {
				b.res.Fail(line, peer, err)
				b.progress("%-10s %-28s error: %v", peer, l.Label, err)
			}
			return
		}
		b.res.Set(line, peer, v)
		b.progress("%-10s %-28s %s %s", peer, l.Label, formatValue(l, v), l.Unit)
	}
	switch row {
	case RowH2S, RowH2SMax:
		v, err := measureH2S(ctx, b.client, addr, d)
		set(row, v, err)
	case RowS2H, RowS2HMax:
		v, err := measureS2H(ctx, b.client, addr, d)
		set(row, v, err)
	case RowCPS:
		v, err := measureCPS(ctx, b.client, addr, d)
		set(row, v, err)
	case RowRTT:
		p50, p99, err := measureRTT(ctx, b.client, addr, d)
		set("rtt-p50", p50, err)
		set("rtt-p99", p99, err)
	case RowMem:
		v, err := measureMem(ctx, b.client, addr, p, b.o.Conns)
		set(RowMem, v, err)
	}
}

func lineByID(id string) Line {
	for _, l := range Lines {
		if l.ID == id {
			return l
		}
	}
	return Line{ID: id, Label: id}
}

// startPeer starts a peer at an MTU and waits until the host reaches it.
func (b *bench) startPeer(ctx context.Context, peer string, mtu int) (*peerProc, error) {
	var p *peerProc
	var err error
	switch peer {
	case PeerStackscope, PeerRecorder:
		cfg := PeerConfig{Kind: KindStackscope, Tun: tunStackscope, MTU: mtu, Host: tunHost, Addr: tunPeer,
			Holders: holdPorts(b.o.Conns), Version: b.o.Version}
		if peer == PeerRecorder {
			cfg.Record = b.tracePath()
		}
		p, err = startPeer(b.client, peer, b.o.Self, PeerArgs(cfg), peerStart)
	case PeerGvisor:
		args := []string{"-tun", tunGvisor, "-addr", tunPeer.String(), "-mtu", strconv.Itoa(mtu),
			"-hold-port", strconv.Itoa(HoldPort), "-hold-ports", strconv.Itoa(holdPorts(b.o.Conns))}
		if p, err = startPeer(b.client, peer, b.gvisor, args, peerStart); err == nil {
			err = b.configureGvisorLink(mtu)
		}
	case PeerVeth:
		if err = b.setVethMTU(mtu); err == nil {
			p, err = startPeer(b.server, peer, b.o.Self, PeerArgs(PeerConfig{Kind: KindLinux, Addr: vethPeer, Holders: holdPorts(b.o.Conns)}), peerStart)
		}
	default:
		err = fmt.Errorf("unknown peer %q", peer)
	}
	if err == nil {
		addr := tunPeer.Addr()
		if peer == PeerVeth {
			addr = vethPeer.Addr()
		}
		err = waitReachable(ctx, b.client, addr)
	}
	if err != nil {
		if p != nil {
			_ = p.Stop()
		}
		return nil, err
	}
	return p, nil
}

// configureGvisorLink gives the host's end of gVisor's TUN device its
// address and MTU (stackscope's live mode does this for its own).
func (b *bench) configureGvisorLink(mtu int) error {
	h, err := b.client.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	return configureLink(h, tunGvisor, tunHost, mtu)
}

func (b *bench) setVethMTU(mtu int) error {
	for _, side := range []struct {
		ns   *nsThread
		name string
	}{{b.client, vethHostName}, {b.server, vethPeerName}} {
		h, err := side.ns.handle()
		if err != nil {
			return err
		}
		err = setMTU(h, side.name, mtu)
		h.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// PeerArgs is the command line that starts a peer of cfg's kind from the
// stackscope binary: `stackscope bench peer ...`.
func PeerArgs(cfg PeerConfig) []string {
	args := []string{"bench", "peer", "--kind", cfg.Kind, "--addr", cfg.Addr.String(), "--holders", strconv.Itoa(cfg.Holders)}
	if cfg.Kind == KindStackscope {
		args = append(args, "--tun", cfg.Tun, "--mtu", strconv.Itoa(cfg.MTU), "--host", cfg.Host.String())
		if cfg.Record != "" {
			args = append(args, "--record", cfg.Record)
		}
		if cfg.Version != "" {
			args = append(args, "--trace-version", cfg.Version)
		}
	}
	return args
}
