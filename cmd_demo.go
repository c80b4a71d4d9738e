package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/stack/live"
	"github.com/stackscope/stackscope/ui"
)

func newDemoCmd(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var kf kernelFlags
	var rec recordFlags
	var (
		headless bool
		duration time.Duration
		every    time.Duration
		snapshot string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Open the inspector on the built-in demo: live activity without privileges",
		Long: `demo runs the model kernel on the machine's clock with no real device: the
built-in services (echo, discard, chargen, HTTP) run as its processes, and a
client process of its own connects to them in turn over lo (an HTTP fetch, a
64 kB echo round trip, 1 MB to discard, a chargen read, a UDP echo), one
activity every --every. A second device, burst0 (10.99.0.2/24), leads to a
subnet where nobody answers: in the inspector, S sends 200 SYNs through it to
port 80, which fill the HTTP listener's SYN queue until SYN cookies start.

No privileges are needed. --headless prints a summary line per second instead
of opening the inspector.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if every <= 0 {
				return fmt.Errorf("--every %s: want a positive duration such as 1s", every)
			}
			if !headless {
				if err := ui.CanDraw(stdout); err != nil {
					return err
				}
			}
			defer func() { err = rec.finish(err, sayTo(cmd.ErrOrStderr())) }()
			dc := live.DemoConfig{Seed: kf.seed, ThashEntries: kf.thash, CPUs: kf.cpus, Every: every, Record: rec.recorder("demo", nil)}
			if !headless {
				dc.Spool = rec.spool("demo", nil)
			}
			s, err := live.StartDemo(dc)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			if !headless {
				return runInspector(ui.DemoSource(s, ""), stdin, stdout)
			}
			defer s.Close()
			return reportHeadless(s, stdout, "stackscope demo: clients talk to the built-in services over lo (Ctrl-C to stop)", duration, snapshot)
		},
	}
	kf.add(cmd)
	rec.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&headless, "headless", false, "print a summary line per second instead of opening the inspector")
	f.DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.DurationVar(&every, "every", time.Second, "pause between the demo client's activities")
	f.StringVar(&snapshot, "snapshot", "", "write the kernel's final state as JSON to this file (see docs/snapshot.md)")
	return cmd
}

// runInspector opens the inspector on src in the terminal (stdout must be
// one) and closes src when the user quits.
func runInspector(src ui.Source, stdin io.Reader, stdout io.Writer) error {
	out, ok := stdout.(*os.File)
	if !ok {
		src.Close()
		return ui.ErrNoTerminal
	}
	return ui.Run(src, stdin, out, ui.Options{Stepping: true, Dark: true})
}

// reportHeadless prints a header line, then a summary line per second
// until Ctrl-C, SIGTERM or the duration, and writes the final snapshot if
// asked.
func reportHeadless(s *live.Session, stdout io.Writer, header string, duration time.Duration, snapshot string) error {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	fmt.Fprintln(out, header)
	out.Flush()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	s.Report(ctx, &flushWriter{w: out}, time.Second)
	if snapshot != "" {
		return writeSnapshot(s.K, snapshot)
	}
	return nil
}
