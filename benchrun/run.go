package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Options configure a bench run.
type Options struct {
	Duration  time.Duration // per row, peer and round
	Rounds    int           // how many times each row runs for each peer (the median is shown)
	Rows      []string      // from ParseRows
	Peers     []string      // from ParsePeers
	Conns     int           // idle connections of the memory row
	MaxMTU    int           // the large MTU; 0 finds it by setting it on a TUN device
	Self      string        // the stackscope binary, started as `bench peer`
	GvisorBin string        // a built gVisor peer; "" builds GvisorSrc
	GvisorSrc string        // bench/gvisor, when GvisorBin is ""
	TraceDir  string        // where the recorder's traces and the disk load's file go ("": a temporary directory)
	Version   string        // stackscope's version, for trace headers
	Progress  io.Writer     // a line per figure as it is measured
}

// link is a peer's network: the host's end and the peer's, and the
// device's name on the host's side. Every peer has its own, so that all
// of them can run at once and a row is measured for each, one after the
// other, before the next row starts.
type link struct {
	host, peer netip.Prefix
	dev        string
}

// links are the peers' networks: stackscope's is live mode's default.
var links = map[string]link{
	PeerStackscope:   {netip.MustParsePrefix("10.77.0.1/24"), netip.MustParsePrefix("10.77.0.2/24"), "stkb0"},
	PeerVeth:         {netip.MustParsePrefix("10.78.0.1/24"), netip.MustParsePrefix("10.78.0.2/24"), "stkbv0"},
	PeerRecorder:     {netip.MustParsePrefix("10.79.0.1/24"), netip.MustParsePrefix("10.79.0.2/24"), "stkr0"},
	PeerGvisor:       {netip.MustParsePrefix("10.80.0.1/24"), netip.MustParsePrefix("10.80.0.2/24"), "gvb0"},
	PeerRecorderNull: {netip.MustParsePrefix("10.81.0.1/24"), netip.MustParsePrefix("10.81.0.2/24"), "stkn0"},
	PeerDiskLoad:     {netip.MustParsePrefix("10.82.0.1/24"), netip.MustParsePrefix("10.82.0.2/24"), "stkd0"},
}

// vethPeerName is the veth pair's end in the second namespace.
const vethPeerName = "stkbv1"

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
	o.Rounds = max(1, o.Rounds)
	b := &bench{o: o, res: &Results{Machine: Machine(), Duration: o.Duration, Rounds: o.Rounds, Conns: o.Conns, Peers: o.Peers, Rows: o.Rows}}
	if b.needs(PeerStackscope, PeerRecorder, PeerRecorderNull, PeerDiskLoad, PeerGvisor) {
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
	for _, st := range b.stages() {
		if err := ctx.Err(); err != nil {
			return b.res, err
		}
		b.runStage(ctx, st)
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
	l := links[PeerVeth]
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: l.dev}, PeerName: vethPeerName, PeerNamespace: netlink.NsFd(int(sns))}
	if err := hc.LinkAdd(veth); err != nil {
		return fmt.Errorf("netlink: create the veth pair: %w", err)
	}
	if err := configureLink(hc, l.dev, l.host, 1500); err != nil {
		return err
	}
	hs, err := b.server.handle()
	if err != nil {
		return err
	}
	defer hs.Close()
	return configureLink(hs, vethPeerName, l.peer, 1500)
}
