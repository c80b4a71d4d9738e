package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/scenario"
	"github.com/stackscope/stackscope/tracing"
	"github.com/stackscope/stackscope/ui"
)

// exitError ends the program with a status and no further message: the
// command has printed what there is to say.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRunCmd(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var (
		seed     uint64
		headless bool
		check    bool
		rec      recordFlags
	)
	cmd := &cobra.Command{
		Use:   "run FILE.pkt|NAME | --check [FILE.pkt|NAME|DIR]",
		Short: "Run a packetdrill script against the model kernel and check every packet and system call",
		Long: `run plays a packetdrill script against a freshly booted kernel with a virtual
clock: the script is the remote peer. Its system calls run as a process of the
kernel; its inbound packets (<) are injected on a script device; the packets
the kernel sends there are compared, field by field and in time, with its
outbound lines (>). The script's time column is the kernel's time, so a run
takes milliseconds and two runs are identical.

The script device and its peer use packetdrill's defaults: the kernel is
192.168.0.2/16 (gateway 192.168.0.1), the peer 192.0.2.1; "..." in bind is
port 8080, in connect 192.0.2.1:8080; a peer that opens the connection comes
from port 48879 with ISN 1000000. Sequence numbers in the script count from
each side's ISN, as in packetdrill. An inbound ICMP error comes from the peer
and names the kernel's segment it quotes, counted from the kernel's ISN:
"< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]". The model has no
TSO: when a line expects
a bigger segment than the kernel sent, back-to-back segments sent at the same
moment are taken together as one TSO segment. Timing uses packetdrill's
tolerance (4 ms, or 12.5% of the time since the line before; a script's
--tolerance_usecs line changes it).

A backtick line runs no shell: the sysctls of packetdrill's common/defaults.sh
and of "sysctl -q name=value" lines are applied where the model has them;
everything else is reported and ignored. %{ }% blocks evaluate
"assert tcpi_FIELD OP VALUE" against TCP_INFO.

  --headless   print each script line as it runs, the function graph of the
               kernel functions it ran, and the packets it matched;
  --check      print only PASS or FAIL with the reason (the line, the field,
               expected versus actual), and exit 1 on failure. Given a
               directory, run every .pkt under it in name order and end with
               "N passed, N failed" and each failing script's first error.

A NAME that is not a file is a built-in lecture scenario (stackscope
scenarios lists them): "stackscope run handshake --headless". A file of that
name wins. "run --check" with no argument checks every built-in scenario and
ends with the same "N passed, N failed" line as a directory.

Without either flag, run opens the inspector (a terminal is needed) on the
script's kernel, focused on the script pane: enter runs the next line, r the
rest, and the stepping keys (after ":break FUNCTION") stop inside a line, one
kernel function at a time. The status bar says SCRIPT.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			out := bufio.NewWriter(stdout)
			defer out.Flush()
			if rec.path != "" && (len(args) == 0 || isDir(args[0])) {
				return errors.New("run: --record records one script; name a script or a built-in scenario")
			}
			if len(args) == 0 {
				if !check {
					return errors.New("run: name a script or a built-in scenario (stackscope scenarios lists them), or pass --check to check every built-in scenario")
				}
				return checkBuiltins(out, seed)
			}
			src, err := openSource(args[0])
			if err != nil {
				return err
			}
			if src.dir {
				if !check {
					return fmt.Errorf("run: %s is a directory: pass --check to run every script in it", args[0])
				}
				return checkDir(out, args[0], seed)
			}
			if !check && !headless {
				if err := ui.CanDraw(stdout); err != nil {
					return err
				}
			}
			var opts []scenario.RunOption
			text, err := src.text()
			if err != nil {
				return err
			}
			tsrc := &tracing.TraceSource{Name: src.name, Text: text}
			if rec.path != "" {
				opts = append(opts, scenario.WithRecorder(rec.recorder("run", tsrc)))
				defer func() { err = rec.finish(err, sayTo(cmd.ErrOrStderr())) }()
			}
			if !check && !headless {
				opts = append(opts, scenario.WithSpool(rec.spool("run", tsrc)))
				s, err := src.parse()
				if err != nil {
					return err
				}
				r, err := scenario.NewRunner(s, append(opts, scenario.WithSeed(seed))...)
				if err != nil {
					return err
				}
				return runInspector(ui.NewScriptSource(r), stdin, stdout)
			}
			var view io.Writer
			if !check {
				view = out
			}
			if err := runSource(src, seed, view, opts...); err != nil {
				fmt.Fprintf(out, "FAIL %s\n", indentRest(err.Error()))
				return exitError{1}
			}
			fmt.Fprintf(out, "PASS %s\n", src.name)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for every random choice the kernel makes (ISNs, hash secrets, ports); the same seed gives the same run")
	cmd.Flags().BoolVar(&headless, "headless", false, "print the script lines interleaved with the kernel's function graph")
	cmd.Flags().BoolVar(&check, "check", false, "print only PASS or FAIL with the reason; exit 1 on failure; a directory runs every .pkt in it")
	rec.add(cmd)
	return cmd
}

// source is what run was asked to run: a script file, a directory of
// them, or a built-in scenario.
type source struct {
	name    string // as PASS and FAIL print it
	dir     bool
	builtin *scenario.Builtin
}

// openSource resolves run's argument: an existing file or directory first,
// then a built-in scenario of that name.
func openSource(arg string) (source, error) {
	st, statErr := os.Stat(arg)
	if statErr == nil {
		return source{name: arg, dir: st.IsDir()}, nil
	}
	if b, ok := scenario.LookupBuiltin(arg); ok {
		return source{name: b.Name, builtin: &b}, nil
	}
	if !errors.Is(statErr, fs.ErrNotExist) {
		return source{}, fmt.Errorf("run: %w", statErr)
	}
	list, err := scenario.Builtins()
	if err != nil {
		return source{}, fmt.Errorf("run: %w", err)
	}
	names := make([]string, len(list))
	for i, b := range list {
		names[i] = b.Name
	}
	return source{}, fmt.Errorf("run: %s is neither a file nor a built-in scenario (built-in: %s)", arg, strings.Join(names, ", "))
}

// runSource runs a script file or a built-in scenario.
func runSource(src source, seed uint64, out io.Writer, opts ...scenario.RunOption) error {
	s, err := src.parse()
	if err != nil {
		return err
	}
	return runParsed(s, seed, out, opts...)
}

// text is the script's text, for a recording's header.
func (src source) text() (string, error) {
	if src.builtin != nil {
		return src.builtin.Text, nil
	}
	b, err := os.ReadFile(src.name)
	if err != nil {
		return "", fmt.Errorf("run: %w", err)
	}
	return string(b), nil
}

// isDir reports whether path is a directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// parse reads the script of a file or a built-in scenario.
func (src source) parse() (*scenario.Script, error) {
	if src.builtin == nil {
		return scenario.ParseFile(src.name)
	}
	return src.builtin.Parse()
}

// runScript parses and runs one script; out, if not nil, gets the
// headless view.
func runScript(path string, seed uint64, out io.Writer) error {
	s, err := scenario.ParseFile(path)
	if err != nil {
		return err
	}
	return runParsed(s, seed, out)
}

// runParsed runs a parsed script on a fresh kernel.
func runParsed(s *scenario.Script, seed uint64, out io.Writer, extra ...scenario.RunOption) error {
	opts := append([]scenario.RunOption{scenario.WithSeed(seed)}, extra...)
	if out != nil {
		opts = append(opts, scenario.WithOutput(out))
	}
	r, err := scenario.NewRunner(s, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Run()
}

// checkDir runs every .pkt under dir, in name order.
func checkDir(out io.Writer, dir string, seed uint64) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".pkt") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	sort.Strings(files)
	srcs := make([]source, len(files))
	for i, f := range files {
		srcs[i] = source{name: f}
	}
	return checkAll(out, srcs, seed)
}

// checkBuiltins runs every built-in scenario, in name order.
func checkBuiltins(out io.Writer, seed uint64) error {
	list, err := scenario.Builtins()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	srcs := make([]source, len(list))
	for i := range list {
		srcs[i] = source{name: list[i].Name, builtin: &list[i]}
	}
	return checkAll(out, srcs, seed)
}

// checkAll runs each script, prints PASS or FAIL for each, then the
// "N passed, N failed" line and each failure's first line.
func checkAll(out io.Writer, srcs []source, seed uint64) error {
	var failed []string
	for _, src := range srcs {
		if err := runSource(src, seed, nil); err != nil {
			fmt.Fprintf(out, "FAIL %s\n", indentRest(err.Error()))
			first, _, _ := strings.Cut(err.Error(), "\n")
			failed = append(failed, first)
			continue
		}
		fmt.Fprintf(out, "PASS %s\n", src.name)
	}
	fmt.Fprintf(out, "\n%d passed, %d failed\n", len(srcs)-len(failed), len(failed))
	for _, f := range failed {
		fmt.Fprintf(out, "  %s\n", f)
	}
	if len(failed) > 0 {
		return exitError{1}
	}
	return nil
}

// indentRest indents every line of s but the first.
func indentRest(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// exitCode is the status an error from a command asks for, and whether
// the command has already reported it.
func exitCode(err error) (int, bool) {
	var e exitError
	if errors.As(err, &e) {
		return e.code, true
	}
	return 1, false
}
