package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/stack/live"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
	"github.com/stackscope/stackscope/ui"
)

func newLiveCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var kf kernelFlags
	var rec recordFlags
	var imp impairFlags
	def := live.DefaultTun()
	var (
		headless          bool
		name, netnsName   string
		hostAddr, stkAddr string
		mtu               int
		duration          time.Duration
		snapshot, trace   string
		services          string
	)
	var svcDoc []string
	for _, s := range live.Services {
		svcDoc = append(svcDoc, fmt.Sprintf("  %-8s %s/%d  %s", s.Name, s.Proto, s.Port, s.Doc))
	}
	cmd := &cobra.Command{
		Use:   "live",
		Short: "Run the model kernel on a TUN device so the host's programs can talk to it",
		Long: `live creates a TUN device (stk0 unless --name says otherwise), gives the host's
end 10.77.0.1/24 and answers as 10.77.0.2 with the model kernel, running on the
machine's clock. The host's own tools talk to it:

  ping 10.77.0.2
  echo hi | nc -u -w1 10.77.0.2 7
  echo hi | nc -N 10.77.0.2 7
  curl http://10.77.0.2/

Built-in services run as processes of the model kernel:
` + strings.Join(svcDoc, "\n") + `

` + impairHelp + `

Creating the device needs CAP_NET_ADMIN. --netns NAME puts it in a network
namespace (created if missing, and removed on exit if live created it), so
that nothing touches the host's own interfaces:

  stackscope live --headless --netns stk
  ip netns exec stk ping -c 3 10.77.0.2

Without --headless, live opens the inspector on the running kernel (q quits).
--headless prints a summary line every second instead (and, with --trace GLOB,
the function graph of every matching kernel function). Ctrl-C or SIGTERM stop
it and remove the device.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			cfg := live.Config{Tun: def, Seed: kf.seed, ThashEntries: kf.thash, CPUs: kf.cpus}
			cfg.Tun.Name, cfg.Tun.Netns, cfg.Tun.MTU = name, netnsName, mtu
			if cfg.Tun.HostAddr, err = netip.ParsePrefix(hostAddr); err != nil || !cfg.Tun.HostAddr.Addr().Is4() {
				return fmt.Errorf("--host-addr %q: want an IPv4 prefix such as 10.77.0.1/24", hostAddr)
			}
			if cfg.Tun.StackAddr, err = netip.ParsePrefix(stkAddr); err != nil || !cfg.Tun.StackAddr.Addr().Is4() {
				return fmt.Errorf("--stack-addr %q: want an IPv4 prefix such as 10.77.0.2/24", stkAddr)
			}
			if !cfg.Tun.HostAddr.Masked().Contains(cfg.Tun.StackAddr.Addr()) {
				return fmt.Errorf("--stack-addr %s is not on the host's subnet %s", cfg.Tun.StackAddr, cfg.Tun.HostAddr.Masked())
			}
			if mtu < 576 || mtu > 65535 {
				return fmt.Errorf("--mtu %d: use 576 to 65535", mtu)
			}
			if cfg.Tun.Impair, err = imp.impairments(); err != nil {
				return err
			}
			if services != "all" {
				cfg.Services = []string{}
				for _, s := range strings.Split(services, ",") {
					if s = strings.TrimSpace(s); s != "" {
						cfg.Services = append(cfg.Services, s)
					}
				}
			}
			if !headless {
				if err := ui.CanDraw(stdout); err != nil {
					return err
				}
			}
			cfg.Record = rec.recorder("live", nil)
			if !headless {
				cfg.Spool = rec.spool("live", nil)
			}
			defer func() { err = rec.finish(err, sayTo(cmd.ErrOrStderr())) }()
			s, err := live.Start(cfg)
			if errors.Is(err, netdev.ErrNoPrivilege) {
				return fmt.Errorf("live mode: %w", err)
			}
			if err != nil {
				return fmt.Errorf("live mode: %w", err)
			}
			if !headless {
				if trace != "" || snapshot != "" || duration != 0 {
					s.Close()
					return fmt.Errorf("--trace, --snapshot and --duration go with --headless (the inspector shows the trace itself)")
				}
				return runInspector(ui.LiveSource(s, cfg.Tun.StackAddr.String()), stdin, stdout)
			}
			defer s.Close()
			out := bufio.NewWriter(stdout)
			defer out.Flush()
			if trace != "" {
				g := tracing.NewGraph(out, s.K)
				sub, err := g.Only(trace)
				if err != nil {
					return err
				}
				if _, err := s.K.Subscribe(sub); err != nil {
					return err
				}
			}
			where := ""
			if netnsName != "" {
				where = " in network namespace " + netnsName
			}
			fmt.Fprintf(out, "stackscope live: %s%s, host %s, stack %s, MTU %d (Ctrl-C to stop)\n",
				s.Tun.Name(), where, cfg.Tun.HostAddr, cfg.Tun.StackAddr.Addr(), cfg.Tun.MTU)
			if im := cfg.Tun.Impair; im != nil {
				fmt.Fprintf(out, "impairments, each way: %s (seed %d)\n", im.Tx, im.Seed)
			}
			out.Flush()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			flushing := &flushWriter{w: out}
			s.Report(ctx, flushing, time.Second)
			if snapshot != "" {
				if err := writeSnapshot(s.K, snapshot); err != nil {
					return err
				}
			}
			return nil
		},
	}
	kf.add(cmd)
	rec.add(cmd)
	imp.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&headless, "headless", false, "print a summary line per second instead of opening the inspector")
	f.StringVar(&name, "name", def.Name, "name of the TUN device")
	f.StringVar(&netnsName, "netns", "", "create the device in this network namespace (created if missing, removed on exit if created)")
	f.StringVar(&hostAddr, "host-addr", def.HostAddr.String(), "the host's address and prefix on the link")
	f.StringVar(&stkAddr, "stack-addr", def.StackAddr.String(), "the model kernel's address and prefix")
	f.IntVar(&mtu, "mtu", def.MTU, "MTU of the link")
	f.DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.StringVar(&snapshot, "snapshot", "", "write the kernel's final state as JSON to this file (see docs/snapshot.md)")
	f.StringVar(&trace, "trace", "", "print the function graph of every kernel function matching this glob (ip_rcv, udp_*, ...)")
	f.StringVar(&services, "services", "all", "comma-separated built-in services to start, or all")
	return cmd
}

// flushWriter flushes after every write, so summaries appear as they come.
type flushWriter struct{ w *bufio.Writer }

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.w.Flush()
	}
	return n, err
}
