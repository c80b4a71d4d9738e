// Command stackscope is a TCP/IPv4 stack built the way Linux builds its
// own, with a terminal inspector that shows its insides. This file is
// wiring only: flags and subcommands.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release version; builds from a checkout add the commit.
const version = "0.1.0-dev"

func main() {
	if err := newRootCmd(os.Stdin, os.Stdout, os.Stderr).Execute(); err != nil {
		code, reported := exitCode(err)
		if !reported {
			fmt.Fprintln(os.Stderr, "stackscope:", err)
		}
		os.Exit(code)
	}
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "stackscope",
		Short: "See how the Linux kernel's TCP/IP stack works, one kernel function at a time",
		Long: `stackscope is a TCP/IPv4 stack written in Go the way Linux writes its own:
struct socket and struct sock, sk_buff with head/data/tail/end, the inet hash
tables, SYN and accept queues, and slab caches, every function under its
kernel name. It is built for students, teachers and engineers who want to see
what ss, slabtop, ftrace and packetdrill are talking about.

With no arguments it opens the inspector, a terminal UI over the running
kernel: live on a TUN device (stk0, the stack at 10.77.0.2) where it may create
one (root or CAP_NET_ADMIN), and otherwise the demo, whose own clients talk to
its built-in services over lo. Press ? in it for every key.

  stackscope demo       the inspector on the demo (no privileges needed);
  stackscope live       the model on a TUN device (root) so the host's ping,
                        nc and curl reach it, with echo, discard, chargen and
                        HTTP; the inspector, or --headless for text;
  stackscope console    runs system calls (socket, bind, listen, accept, connect,
                        write, read, close, setsockopt, ...) against the model
                        kernel and prints every kernel function each call ran;
  stackscope slabinfo   prints the slab caches of a freshly booted kernel;
  stackscope run        plays a packetdrill script or a built-in scenario
                        against the model kernel and checks every packet and
                        call (--check for PASS or FAIL, --check DIR for a
                        conformance report, --check alone for every built-in);
  stackscope scenarios  lists the built-in lecture scenarios.
Trace recording is being built; see README.md for what TCP does and does not
model yet.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return openDefault(stdin, stdout)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCmd(stdout), newConsoleCmd(stdin, stdout), newSlabinfoCmd(stdout),
		newLiveCmd(stdin, stdout, stderr), newDemoCmd(stdin, stdout), newRunCmd(stdin, stdout), newScenariosCmd(stdout),
		newReplayCmd(stdin, stdout), newExportCmd(stdout), newBenchCmd(stdout, stderr))
	return root
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print stackscope's version, the Go version and the commit it was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(stdout, "stackscope %s (%s, %s/%s", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if rev := vcsRevision(); rev != "" {
				fmt.Fprintf(stdout, ", commit %s", rev)
			}
			fmt.Fprintln(stdout, ")")
			fmt.Fprintln(stdout, "models: Linux 6.12 TCP/IPv4 (x86-64)")
			return nil
		},
	}
}

// vcsRevision returns the short commit the binary was built from, if the
// build recorded it.
func vcsRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && dirty {
		rev += "+dirty"
	}
	return rev
}
