package scenario

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// maxTimerSteps bounds how many timers the console fires while waiting for
// a blocked call before it gives up and interrupts the call.
const maxTimerSteps = 10000

// Console runs syscall lines as one process ("console") of a kernel and
// prints what each did.
type Console struct {
	k          *stack.Kernel
	p          *stack.Process
	out        io.Writer
	file       string
	graph      bytes.Buffer
	g          *tracing.Graph
	Mismatches int
	Errors     int
}

// Option changes how a console works.
type Option func(*consoleOpts)

type consoleOpts struct{ noGraph bool }

// WithoutGraph makes a console that does not print the function graph of
// its calls (the inspector's console: its trace pane shows the graph).
func WithoutGraph() Option { return func(o *consoleOpts) { o.noGraph = true } }

// NewConsole starts a console process on a running kernel; output goes to
// out. file names the input in error messages ("" for standard input).
func NewConsole(k *stack.Kernel, out io.Writer, file string, opts ...Option) (*Console, error) {
	var o consoleOpts
	for _, opt := range opts {
		opt(&o)
	}
	p, err := k.NewProcess("console")
	if err != nil {
		return nil, err
	}
	c := &Console{k: k, p: p, out: out, file: file}
	if o.noGraph {
		return c, nil
	}
	c.g = tracing.NewGraph(&c.graph, k)
	if _, err := k.Subscribe(c.g.Event); err != nil {
		return nil, err
	}
	return c, nil
}

// Process returns the console's process.
func (c *Console) Process() *stack.Process { return c.p }

// Run executes every line of in, reporting malformed lines and going on.
// prompt, if not empty, is printed before each line is read.
func (c *Console) Run(in io.Reader, prompt string) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for {
		if prompt != "" {
			fmt.Fprint(c.out, prompt)
		}
		if !sc.Scan() {
			break
		}
		n++
		if err := c.ExecLine(n, sc.Text()); err != nil {
			if errors.Is(err, stack.ErrStopped) {
				return err
			}
		}
	}
	return sc.Err()
}

// ExecLine parses and runs one line.
func (c *Console) ExecLine(n int, text string) error {
	cmd, err := ParseLine(c.file, n, text)
	if err != nil {
		c.Errors++
		var se *SyntaxError
		if errors.As(err, &se) {
			fmt.Fprintf(c.out, "error: %v\n%s\n", se, indent(se.Caret()))
		} else {
			fmt.Fprintf(c.out, "error: %v\n", err)
		}
		return err
	}
	if cmd == nil {
		return nil
	}
	return c.Exec(cmd)
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// Exec runs one parsed command.
func (c *Console) Exec(cmd *Command) error {
	fmt.Fprintf(c.out, "> %s\n", cmd.Text)
	if cmd.Time != nil {
		if err := c.advance(cmd.Time); err != nil {
			return err
		}
	}
	if cmd.Sysctl != nil {
		v, err := c.k.Sysctl(cmd.Sysctl.Name, cmd.Sysctl.Value)
		if err != nil {
			c.Errors++
			fmt.Fprintf(c.out, "sysctl: %v\n", err)
			return nil
		}
		fmt.Fprintf(c.out, "%s = %s\n", cmd.Sysctl.Name, v)
		return nil
	}
	return c.call(cmd)
}

func (c *Console) advance(ts *Timestamp) error {
	now, err := c.k.Now()
	if err != nil {
		return err
	}
	target := ts.Ns
	if ts.Relative {
		target = now + ts.Ns
	}
	if target > now {
		return c.k.AdvanceTo(target)
	}
	return nil
}

// call runs a syscall; if it sleeps and nothing else can wake it, the
// console fires pending timers in order and, when none is left, interrupts
// the call as Ctrl-C would.
func (c *Console) call(cmd *Command) error {
	pd := c.p.Start(*cmd.Syscall)
	if err := c.k.Sync(); err != nil {
		return err
	}
	note := ""
	for steps := 0; !pd.Ready(); steps++ {
		fired := false
		if steps < maxTimerSteps {
			var err error
			if fired, err = c.k.AdvanceToNextTimer(); err != nil {
				return err
			}
		}
		if !fired {
			note = fmt.Sprintf("%s sleeps and nothing in this session can wake it (no timer is pending and no other "+
				"process runs), so the console interrupted it, as Ctrl-C would.", cmd.Syscall.Name)
			if err := c.p.Kill(); err != nil {
				return err
			}
		}
		if err := c.k.Sync(); err != nil {
			return err
		}
	}
	ret, err := pd.Wait()
	if c.g != nil {
		_ = c.g.Close()
		c.out.Write(c.graph.Bytes())
		c.graph.Reset()
	}
	if note != "" {
		fmt.Fprintf(c.out, "note: %s\n", note)
	}
	fmt.Fprintln(c.out, formatResult(cmd.Syscall, ret, err, pd))
	if m := mismatch(cmd, ret, err); m != "" {
		c.Mismatches++
		fmt.Fprintln(c.out, m)
	}
	if errors.Is(err, stack.ErrStopped) {
		return err
	}
	return nil
}

func formatResult(sc *stack.Syscall, ret int64, err error, pd *stack.Pending) string {
	if err != nil {
		var e sockets.Errno
		if errors.As(err, &e) {
			return "= -1 " + e.Error()
		}
		return "= -1 (" + err.Error() + ")"
	}
	switch sc.Name {
	case "getsockname", "getpeername":
		return fmt.Sprintf("= 0 [%s]", pd.Addr())
	case "accept4":
		return fmt.Sprintf("= %d [peer %s]", ret, pd.Addr())
	case "poll":
		var parts []string
		for _, f := range pd.PollFds() {
			parts = append(parts, fmt.Sprintf("{fd=%d, revents=%s}", f.Fd, sockets.PollString(uint32(f.Revents))))
		}
		return fmt.Sprintf("= %d [%s]", ret, strings.Join(parts, ", "))
	case "getsockopt":
		if i := pd.Opt().TcpInfo; i != nil {
			return fmt.Sprintf("= 0 [{tcpi_state=%s, tcpi_ca_state=%s, tcpi_options=%d, tcpi_rto=%d, tcpi_rtt=%d, "+
				"tcpi_snd_mss=%d, tcpi_snd_cwnd=%d, tcpi_unacked=%d, tcpi_sacked=%d, tcpi_bytes_acked=%d, "+
				"tcpi_bytes_received=%d, tcpi_rcv_rtt=%d, tcpi_rcv_space=%d, ...}]", sockets.State(i.TcpiState),
				sockets.CaStateName(i.TcpiCaState), i.TcpiOptions, i.TcpiRto, i.TcpiRtt, i.TcpiSndMss, i.TcpiSndCwnd,
				i.TcpiUnacked, i.TcpiSacked, i.TcpiBytesAcked, i.TcpiBytesReceived, i.TcpiRcvRtt, i.TcpiRcvSpace)
		}
		if sc.Args[2] == sockets.SO_LINGER && sc.Args[1] == sockets.SOL_SOCKET {
			o := pd.Opt()
			on := 0
			if o.LingerOnoff {
				on = 1
			}
			return fmt.Sprintf("= 0 [{onoff=%d, linger=%d}]", on, o.LingerSecs)
		}
		if sc.Args[1] == sockets.SOL_SOCKET && (sc.Args[2] == sockets.SO_RCVTIMEO || sc.Args[2] == sockets.SO_SNDTIMEO) {
			o := pd.Opt()
			return fmt.Sprintf("= 0 [{tv_sec=%d, tv_usec=%d}]", o.TvSec, o.TvUsec)
		}
		if b := pd.Opt().Bytes; b != nil {
			// A string option: the name, and the optlen the kernel
			// wrote back (the NUL padding included).
			return fmt.Sprintf("= 0 [%q] [%d]", bytes.TrimRight(b, "\x00"), len(b))
		}
		return fmt.Sprintf("= 0 [%d]", ret)
	case "ioctl":
		return fmt.Sprintf("= 0 [%d]", pd.Opt().Int)
	}
	return fmt.Sprintf("= %d", ret)
}

// mismatch is the line reported when a call did not return what its line
// expects, or "".
func mismatch(cmd *Command, ret int64, err error) string {
	if exp := cmd.Expect; exp != nil && !expectationHolds(exp, cmd.Syscall, ret, err) {
		return "mismatch: the line expects " + formatExpectation(exp)
	}
	return ""
}

func formatExpectation(e *Expectation) string {
	if e.Errno != "" {
		return fmt.Sprintf("= %d %s", e.Ret, e.Errno)
	}
	return fmt.Sprintf("= %d", e.Ret)
}

func expectationHolds(e *Expectation, sc *stack.Syscall, ret int64, err error) bool {
	if err != nil {
		var en sockets.Errno
		if !errors.As(err, &en) {
			return false
		}
		return e.Ret == -1 && (e.Errno == "" || e.Errno == en.Name())
	}
	if e.Errno != "" {
		return false
	}
	// getsockopt returns 0 and reports the value through a pointer; the
	// console shows the value, so "= 0" is what the line may expect.
	if sc.Name == "getsockopt" {
		return e.Ret == 0
	}
	return e.Ret == ret
}
