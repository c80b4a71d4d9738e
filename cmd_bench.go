package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/benchrun"
)

// benchFlags are bench's command line, checked by check before anything
// is created.
type benchFlags struct {
	duration  time.Duration
	rounds    int
	rows      string
	peers     string
	conns     int
	mtuMax    int
	gvisorBin string
	gvisorSrc string
	traceDir  string
}

// check validates the flags and returns the run's options (without Self,
// Version and Progress, which the command fills in).
func (f benchFlags) check() (benchrun.Options, error) {
	var o benchrun.Options
	if f.duration < 10*time.Millisecond || f.duration > 10*time.Minute {
		return o, fmt.Errorf("--duration %s: use 10ms to 10m per row", f.duration)
	}
	if f.rounds < 1 || f.rounds > 20 {
		return o, fmt.Errorf("--rounds %d: use 1 to 20", f.rounds)
	}
	if f.conns < 1 || f.conns > 20000 {
		return o, fmt.Errorf("--conns %d: use 1 to 20000 idle connections", f.conns)
	}
	if f.mtuMax != 0 && (f.mtuMax < 1500 || f.mtuMax > 65535) {
		return o, fmt.Errorf("--mtu-max %d: use 1500 to 65535, or 0 to find the largest the TUN device takes", f.mtuMax)
	}
	rows, err := benchrun.ParseRows(f.rows)
	if err != nil {
		return o, err
	}
	peers, err := benchrun.ParsePeers(f.peers)
	if err != nil {
		return o, err
	}
	if f.gvisorBin != "" && f.gvisorSrc != "" {
		return o, fmt.Errorf("--gvisor-bin and --gvisor-src: give one (a built peer, or the module to build it from)")
	}
	if f.gvisorBin != "" {
		if st, err := os.Stat(f.gvisorBin); err != nil || st.IsDir() {
			return o, fmt.Errorf("--gvisor-bin %s: not a file (build it with: cd bench/gvisor && go build)", f.gvisorBin)
		}
	}
	if f.traceDir != "" {
		if st, err := os.Stat(f.traceDir); err != nil || !st.IsDir() {
			return o, fmt.Errorf("--trace-dir %s: not a directory", f.traceDir)
		}
	}
	return benchrun.Options{Duration: f.duration, Rounds: f.rounds, Rows: rows, Peers: peers, Conns: f.conns, MaxMTU: f.mtuMax,
		GvisorBin: f.gvisorBin, GvisorSrc: f.gvisorSrc, TraceDir: f.traceDir}, nil
}

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	var f benchFlags
	var rowDoc, peerDoc []string
	for _, r := range benchrun.Rows {
		rowDoc = append(rowDoc, wrapHelp(fmt.Sprintf("  %-8s ", r.Name), r.Doc, 78))
	}
	for _, p := range benchrun.Peers {
		peerDoc = append(peerDoc, wrapHelp(fmt.Sprintf("  %-13s ", p.Name), p.Doc, 78))
	}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure stackscope's TCP speed against gVisor's netstack and the host kernel, in one table",
		Long: `bench measures how fast stackscope's TCP is, next to gVisor's netstack and the
host kernel talking to itself, and prints one table with the ratios and the
targets of issue 8. It is separate from go test and needs root (or
CAP_NET_ADMIN and CAP_SYS_ADMIN): it creates a network namespace, and in it a
TUN device per peer (a veth pair into a second namespace for the host kernel),
so that all its traffic stays inside namespaces it made. It removes them, and
stops its child processes, on every way out, Ctrl-C included.

The host's own Linux TCP, inside the namespace, is the client of every row.
Each peer runs as a child process on a link of its own and serves echo (7),
discard (9) and chargen (19), as live mode does, and a holder that keeps idle
connections. All peers run at once and take turns row by row, so that a row's
figures are taken close together even on a machine whose load changes
(--peers picks some, by these names; all by default):

` + strings.Join(peerDoc, "\n") + `

Rows (--rows picks some, by these names):

` + strings.Join(rowDoc, "\n") + `

The two recorders split what recording costs throughput: recorder-null does all
of the recorder's own work (encoding every event, copying every frame, the
checksums, the writer goroutine, the write system calls) and throws the trace
away, so the recorder's cost beyond it is the disk's. The table gives both
costs next to each other.

disk-load measures the disk's share alone, apart from anything the recorder
does: it is plain stackscope, and while it is measured on a throughput row,
bench itself writes 1 MiB blocks of zeros with O_DIRECT to a file where the
recorder's traces go (--trace-dir), as many bytes as the row's transfer has
moved so far (never ahead of it), starting the file again every 1 GiB. With
recorder-null it splits the recorder's cost in two: the recorder's own work
and the disk's share. The writer copies and encodes nothing, and where the disk
is slower than the transfer it falls behind instead of slowing the stack down,
so its cost is a floor for any recorder that keeps every byte on that disk.
The table gives that cost, the rate the writer reached and the share of the
transfer's bytes it managed to write.

The gVisor peer is bench/gvisor, a Go module of its own (stackscope's module
does not depend on gVisor). bench builds it with go build into a temporary
directory, finding bench/gvisor from the current directory upwards; or give a
built one with --gvisor-bin, or leave it out with --peers.

Figures on a shared or busy machine are noisy: give rows more time with
--duration, or repeat them with --rounds (the table shows medians). Progress
goes to stderr, the table to stdout; a figure that could not be measured shows
as error[n] with its message, and bench then exits 1.

  sudo stackscope bench
  sudo stackscope bench --duration 5s --rounds 3 --peers stackscope,gvisor
  sudo stackscope bench --peers stackscope,recorder,recorder-null --rows h2s,s2h,h2s-max,s2h-max
  sudo stackscope bench --peers stackscope,recorder,recorder-null,disk-load --rows h2s-max,s2h-max
  sudo stackscope bench --rows rtt,mem --conns 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.check()
			if err != nil {
				return err
			}
			if err := benchrun.CheckPrivilege(); err != nil {
				return err
			}
			if slices.Contains(o.Peers, benchrun.PeerGvisor) && o.GvisorBin == "" && o.GvisorSrc == "" {
				if o.GvisorSrc, err = benchrun.FindGvisorSource("."); err != nil {
					return err
				}
			}
			if o.Self, err = os.Executable(); err != nil {
				return fmt.Errorf("find the stackscope binary to start the peers from: %w", err)
			}
			o.Version, o.Progress = version, stderr
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := benchrun.Run(ctx, o)
			if res != nil {
				benchrun.Format(stdout, res)
			}
			if err != nil && ctx.Err() != nil {
				return fmt.Errorf("bench interrupted: namespaces, devices and peers removed; the table shows what was measured")
			}
			if err == nil && res.Failures() > 0 {
				return fmt.Errorf("%d measurements failed (listed under the table)", res.Failures())
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.duration, "duration", 3*time.Second, "how long each bulk, connect and latency row runs, per peer")
	fl.StringVar(&f.rows, "rows", "all", "comma-separated rows to measure (see above), or all")
	fl.StringVar(&f.peers, "peers", "all", "comma-separated peers to measure (see above), or all")
	fl.IntVar(&f.rounds, "rounds", 1, "times each row runs per peer; the table shows medians")
	fl.IntVar(&f.conns, "conns", 1000, "idle connections the memory row opens")
	fl.IntVar(&f.mtuMax, "mtu-max", 0, "MTU of the *-max rows (0: the largest the TUN device takes)")
	fl.StringVar(&f.gvisorBin, "gvisor-bin", "", "a built gVisor peer (cd bench/gvisor && go build); default: build it")
	fl.StringVar(&f.gvisorSrc, "gvisor-src", "", "the gVisor peer's module (default: bench/gvisor, here or above)")
	fl.StringVar(&f.traceDir, "trace-dir", "", "where the recorder's traces and disk-load's file go (removed afterwards)")
	cmd.AddCommand(newBenchPeerCmd(benchrun.ServePeer))
	return cmd
}

// newBenchPeerCmd is the child side of bench: a peer it starts inside its
// namespace (hidden: it speaks the bench's line protocol on stdin/stdout).
// serve runs the peer (benchrun.ServePeer).
func newBenchPeerCmd(serve func(benchrun.PeerConfig, io.Reader, io.Writer) error) *cobra.Command {
	var kind, addr, tun, host, record, traceVersion string
	var mtu, holders int
	cmd := &cobra.Command{
		Use:    "peer",
		Short:  "A peer of stackscope bench (started by it inside its namespace)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := peerConfig(kind, addr, tun, host, record, traceVersion, mtu)
			cfg.Holders = holders
			if err != nil {
				return err
			}
			stop, err := peerProfile(os.Getenv("STACKSCOPE_BENCH_CPUPROFILE"), cfg)
			if err != nil {
				return err
			}
			defer stop()
			return serve(cfg, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", benchrun.KindStackscope, "stackscope (live mode on a TUN device) or linux (the host kernel's sockets)")
	fl.StringVar(&addr, "addr", "10.77.0.2/24", "the peer's address and prefix")
	fl.StringVar(&tun, "tun", "stkb0", "the TUN device to create (stackscope)")
	fl.StringVar(&host, "host", "10.77.0.1/24", "the host's end of the TUN link (stackscope)")
	fl.IntVar(&mtu, "mtu", 1500, "the TUN device's MTU (stackscope)")
	fl.StringVar(&record, "record", "", "record a trace of every input and event to this file (stackscope)")
	fl.IntVar(&holders, "holders", 1, "holder ports, from 5001 up, each keeping up to 1000 idle connections")
	fl.StringVar(&traceVersion, "trace-version", version, "the version written into the trace's header")
	return cmd
}

// peerProfile starts a CPU profile of a peer when dir is set (the
// STACKSCOPE_BENCH_CPUPROFILE environment variable, which bench's children
// inherit): a developer's aid, written to dir/peer-KIND-TUN-PID.pprof. The
// returned function stops it.
func peerProfile(dir string, cfg benchrun.PeerConfig) (func(), error) {
	if dir == "" {
		return func() {}, nil
	}
	name := filepath.Join(dir, fmt.Sprintf("peer-%s-%s-%d.pprof", cfg.Kind, cfg.Tun, os.Getpid()))
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("CPU profile %s: %w", name, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// peerConfig checks a peer's flags.
func peerConfig(kind, addr, tun, host, record, traceVersion string, mtu int) (benchrun.PeerConfig, error) {
	cfg := benchrun.PeerConfig{Kind: kind, Tun: tun, MTU: mtu, Record: record, Version: traceVersion}
	var err error
	if cfg.Addr, err = netip.ParsePrefix(addr); err != nil || !cfg.Addr.Addr().Is4() {
		return cfg, fmt.Errorf("--addr %q: want an IPv4 prefix such as 10.77.0.2/24", addr)
	}
	if cfg.Host, err = netip.ParsePrefix(host); err != nil || !cfg.Host.Addr().Is4() {
		return cfg, fmt.Errorf("--host %q: want an IPv4 prefix such as 10.77.0.1/24", host)
	}
	if mtu < 576 || mtu > 65535 {
		return cfg, fmt.Errorf("--mtu %d: use 576 to 65535", mtu)
	}
	if kind != benchrun.KindStackscope && kind != benchrun.KindLinux {
		return cfg, fmt.Errorf("--kind %q: want %s or %s", kind, benchrun.KindStackscope, benchrun.KindLinux)
	}
	return cfg, nil
}

// wrapHelp wraps text after prefix at width, continuation lines indented
// to the prefix's end.
func wrapHelp(prefix, text string, width int) string {
	var b strings.Builder
	line := prefix
	indent := strings.Repeat(" ", len(prefix))
	fresh := true
	for _, word := range strings.Fields(text) {
		if !fresh && len(line)+1+len(word) > width {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line, fresh = indent, true
		}
		if !fresh {
			line += " "
		}
		line += word
		fresh = false
	}
	b.WriteString(line)
	return b.String()
}
