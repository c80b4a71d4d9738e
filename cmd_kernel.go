package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/scenario"
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/stack"
)

// kernelFlags are the boot parameters every command that boots a kernel
// takes.
type kernelFlags struct {
	seed  uint64
	thash int
	cpus  int
}

func (f *kernelFlags) add(cmd *cobra.Command) {
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "seed for every random choice the kernel makes (hash secrets, ports); the same seed gives the same run")
	cmd.Flags().IntVar(&f.thash, "thash-entries", stack.DefaultThashEntries,
		"buckets in each TCP hash table (ehash, bhash, bhash2, lhash2), like the kernel's thash_entries boot parameter; "+
			"the default is small so that collisions show with a handful of sockets (a 24 GiB machine has 262144)")
	cmd.Flags().IntVar(&f.cpus, "cpus", slab.DefaultCPUs, "CPU count SLUB's slab geometry assumes")
}

func (f *kernelFlags) boot() (*stack.Kernel, error) {
	if f.thash < 1 || f.thash > 1<<24 {
		return nil, fmt.Errorf("--thash-entries %d: use 1 to %d", f.thash, 1<<24)
	}
	if f.cpus < 1 || f.cpus > 8192 {
		return nil, fmt.Errorf("--cpus %d: use 1 to 8192", f.cpus)
	}
	return stack.New(stack.Config{Seed: f.seed, ThashEntries: f.thash, CPUs: f.cpus})
}

func newConsoleCmd(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var kf kernelFlags
	var headless bool
	var snapshot string
	cmd := &cobra.Command{
		Use:   "console [FILE]",
		Short: "Run system calls against the model kernel and print every kernel function they ran",
		Long: `console reads system calls, one per line, in packetdrill's syntax, runs them as
a process of a freshly booted kernel (virtual clock, seeded), and prints for
each an ftrace-style function graph of the kernel functions that ran, with the
slab objects and hash buckets they touched, and the result.

Lines look like:

  socket(..., SOCK_STREAM, IPPROTO_TCP)      # ... is AF_INET
  bind(3, 127.0.0.1:8080)
  listen(3, 5)
  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4)
  setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8)
  getsockopt(3, SOL_SOCKET, SO_RCVBUF, [...], [4])
  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK)
  accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)
  getsockname(3, ..., ...)
  connect(4, 127.0.0.1:8080)
  write(4, ..., 1000)                        # sends 1000 bytes of a-z
  send(4, ..., 10, MSG_DONTWAIT)
  sendto(6, ..., 100, 0, 127.0.0.1:53)       # UDP
  read(5, ..., 2000)                         # = 0 at end of file
  recv(5, ..., 100, MSG_PEEK)
  getsockopt(4, SOL_TCP, TCP_INFO, [...], [...])   # struct tcp_info
  setsockopt(4, SOL_TCP, TCP_CONGESTION, "reno", 4)
  setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [2000], 4)
  ioctl(4, SIOCINQ, [...])                   # bytes waiting to be read
  poll([{fd=3, events=POLLIN}, {fd=4, events=POLLOUT}], 2, 1000)
  shutdown(3, SHUT_RD)
  close(3) = 0
  sysctl net.core.somaxconn=64

An optional packetdrill time in front (0, +.1) advances the virtual clock; an
optional "= ..." at the end is checked, and a mismatch is reported. A call
that would sleep forever (accept with nothing to wake it) is interrupted as
Ctrl-C would interrupt it. A malformed line is reported with its column and
the session goes on. The exit status is 1 if any line failed to parse or did
not return what it expected.

console prints text. To type the same lines with the kernel's insides in
view, open the inspector (stackscope demo, or stackscope live) and use its
console pane (9). --headless asks for text explicitly and is what scripts
should pass.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, name := stdin, ""
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("console: %w", err)
				}
				defer f.Close()
				in, name = f, args[0]
			}
			k, err := kf.boot()
			if err != nil {
				return err
			}
			k.Start()
			defer k.Stop()
			out := bufio.NewWriter(stdout)
			defer out.Flush()
			c, err := scenario.NewConsole(k, out, name)
			if err != nil {
				return err
			}
			prompt := ""
			if !headless && name == "" && isTerminal(stdin) {
				prompt = "stackscope> "
			}
			if err := c.Run(in, prompt); err != nil {
				return err
			}
			if snapshot != "" {
				if err := writeSnapshot(k, snapshot); err != nil {
					return err
				}
			}
			if c.Errors > 0 || c.Mismatches > 0 {
				out.Flush()
				return fmt.Errorf("%d malformed lines, %d results not as expected", c.Errors, c.Mismatches)
			}
			return nil
		},
	}
	kf.add(cmd)
	cmd.Flags().BoolVar(&headless, "headless", false, "print text only (what console always does; the inspector has its own console pane)")
	cmd.Flags().StringVar(&snapshot, "snapshot", "", "write the kernel's final state as JSON to this file (see docs/snapshot.md)")
	return cmd
}

func writeSnapshot(k *stack.Kernel, path string) error {
	s, err := k.Snapshot()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := s.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	return f.Close()
}

// isTerminal reports whether r or w (an *os.File) is a terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newSlabinfoCmd(stdout io.Writer) *cobra.Command {
	var kf kernelFlags
	var top bool
	var sortBy string
	cmd := &cobra.Command{
		Use:   "slabinfo",
		Short: "Print the slab caches of a freshly booted kernel as /proc/slabinfo (2.1) does",
		Long: `slabinfo boots the model kernel and prints its slab caches in the format of
/proc/slabinfo version 2.1 (newest cache first, as the kernel lists them), or
with --top as a slabtop-style summary. Object sizes follow a 6.x x86-64
machine; every cache is listed under its own name, as with slab_nomerge.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			by, err := slab.ParseSlabtopSort(sortBy)
			if err != nil {
				return err
			}
			k, err := kf.boot()
			if err != nil {
				return err
			}
			if top {
				return k.Mem().WriteSlabtop(stdout, by)
			}
			return k.Mem().WriteSlabinfo(stdout)
		},
	}
	kf.add(cmd)
	cmd.Flags().BoolVar(&top, "top", false, "print a slabtop-style summary instead")
	cmd.Flags().StringVar(&sortBy, "sort", "o", "with --top, sort by: o objects, a active, c cache size, n name, s slabs, S object size, u use")
	return cmd
}
