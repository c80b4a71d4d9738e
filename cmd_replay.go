package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
	"github.com/stackscope/stackscope/ui"
)

func newReplayCmd(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var (
		headless bool
		summary  bool
	)
	cmd := &cobra.Command{
		Use:   "replay TRACE",
		Short: "Re-execute a recorded trace on a fresh kernel and check that it does the same again",
		Long: `replay boots the kernel a trace recorded (same seed, same sysctls, same
devices) with a virtual clock and feeds it the recorded inputs in their order
and at their times: system calls, received frames, timer runs, processes,
sysctl writes. Being deterministic, the kernel does exactly what it did while
recording; every event it emits is checked against the recorded one, and the
replay stops at the first difference (a trace from another stackscope
version, say) with both events in the message. No privileges and no network
are needed: a live session with curl replays anywhere.

  --headless   print each input and the events it caused, one line each,
               and a last line with the counts;
  --summary    print only that last line.

A trace cut short (the recorder was killed) replays up to its last complete
frame, then says where it ends; the exit status is then 1, as it is for a
divergence or a damaged file.

Without --headless or --summary, replay opens the inspector (status REPLAY) on
the recorded kernel, parked before its first input, with the replay pane (9)
listing the inputs. Forwards: enter runs an input, r runs on to the next
breakpoint, and the stepping keys (s, n, f, c) go one kernel function at a
time as in a live kernel. Backwards and jumps: p steps back one event, N steps
back over a whole call, [ and ] go to the previous and next packet, :goto N
goes to event N and :goto 1.5s to a time. Going back re-executes the recording
from the nearest keyframe (a replay parked every 50,000 events), so every pane
shows the state as it was at that event. B bookmarks the event (":bookmark
TITLE | NOTE"), { and } go to the previous and next bookmark; bookmarks live
in TRACE.bookmarks.json beside the trace, which never changes.

Record with --record FILE on live, demo and run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !headless && !summary {
				src, err := ui.NewReplaySource(args[0], 0)
				if err != nil {
					return fmt.Errorf("replay %s: %w", args[0], err)
				}
				return runInspector(src, stdin, stdout)
			}
			out := bufio.NewWriter(stdout)
			defer out.Flush()
			return replayHeadless(args[0], out, !summary)
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "print every input and event as text")
	cmd.Flags().BoolVar(&summary, "summary", false, "print only the counts (and any error)")
	return cmd
}

// replayHeadless replays a trace, printing events if verbose.
func replayHeadless(path string, out *bufio.Writer, verbose bool) error {
	r, err := tracing.OpenTrace(path)
	if err != nil {
		return err
	}
	defer r.Close()
	h := r.Header()
	var events uint64
	opt := stack.ReplayOptions{Events: func(ev *tracing.Event, res tracing.Resolver) {
		events++
		if verbose {
			out.WriteString(ev.Format(res))
			out.WriteByte('\n')
		}
	}}
	if verbose {
		what := h.Mode
		if h.Source != nil {
			what += " " + h.Source.Name
		}
		fmt.Fprintf(out, "stackscope replay %s: %s, recorded by stackscope %s\n", path, what, h.Version)
	}
	var boot stack.BootDescription
	if json.Unmarshal(h.Kernel, &boot) == nil && boot.CheckFrom > 0 && verbose {
		fmt.Fprintf(out, "-- the recording began in the middle of the session, at event #%d after %d inputs: those inputs rebuild the state; their events were not recorded\n",
			boot.CheckFrom, boot.CheckFromInput)
	}
	rp, err := stack.NewReplay(r, opt)
	if err != nil {
		return fmt.Errorf("replay %s: %w", path, err)
	}
	defer rp.Close()
	for {
		if in, ok := rp.Next(); ok && verbose {
			fmt.Fprintf(out, "-- input %d t=%d.%09d %s\n", rp.Inputs()+1, in.Time/1e9, in.Time%1e9, rp.DescribeInput(in))
		}
		err := rp.Step()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(out, "replayed %d inputs and %d events, then stopped\n", rp.Inputs(), events)
			return err
		}
	}
	if err := rp.EndErr(); err != nil {
		fmt.Fprintf(out, "replayed %d inputs and %d events: the trace ends early\n", rp.Inputs(), events)
		return err
	}
	fmt.Fprintf(out, "replayed %d inputs and %d events: the same events as recorded\n", rp.Inputs(), events)
	return nil
}
