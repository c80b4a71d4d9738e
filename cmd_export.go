package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// exportFormats are the formats export writes, as --format names them.
var exportFormats = []string{"pcapng", "chrome", "markdown"}

func newExportCmd(stdout io.Writer) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export TRACE --format pcapng|chrome|markdown -o OUT",
		Short: "Export a recorded trace as pcapng (Wireshark, tshark), Chrome trace JSON (Perfetto) or Markdown lecture notes",
		Long: `export turns a trace recorded with --record (on live, demo or run) into a file
other tools open.

  --format pcapng   every packet the kernel's devices received and sent, as
                    Wireshark and tshark read them: one interface per device
                    (tun0, lo, ...) named after it, link type RAW (the packet
                    starts at its IPv4 header: a TUN device has no link
                    header), each packet with its time (the kernel clock,
                    shown as time since 1970-01-01, i.e. since boot), its
                    direction (inbound or outbound) and a comment naming the
                    kernel function that handled it ("received by
                    netif_receive_skb on tun0", "sent by dev_queue_xmit on
                    lo"). The packets come from re-executing the trace, as
                    replay does, so a trace that no longer replays does not
                    export. Open it with:
                        tshark -r OUT
                        tshark -r OUT -T fields -e frame.comment -e tcp.flags.str
                        wireshark OUT      (a packet's comment heads its details)
  --format chrome   every kernel function call in the trace, as Chrome trace
                    event JSON: a call is a slice from its entry to its exit
                    with its arguments and return value, a tracepoint is an
                    instant; each task is a thread ("task N", N its tid)
                    and the kernel's own work (the receive path, timers) is
                    the thread "softirq". Read straight from the trace, without
                    re-executing it. "json" is another name for it. Open it
                    at https://ui.perfetto.dev (Open trace file) or in
                    chrome://tracing (Load).
  --format markdown lecture notes: the trace's bookmarks (made with B in
                    stackscope replay, kept in TRACE.bookmarks.json) in event
                    order, each with its title and note, the function graph
                    around it, and the pane that shows what it is about (the
                    socket's queues, the sk_buff, the hash tables) drawn as
                    text as it was at that event; then every input of the
                    trace in a table. "md" is another name for it.

The result is written to a temporary file beside OUT and renamed to OUT only
when the whole trace has been exported; on any problem (not a trace, a
damaged or cut trace, a replay that diverges, a write error) the temporary
file is removed, OUT is left as it was, and the exit status is 1. Without
--format, an OUT ending in .pcapng, .json or .md chooses it. Like the trace, OUT
is created with mode 0600: it holds the session's traffic; through a symbolic
link, the file it names is replaced. "-o -" (or /dev/stdout) writes to standard
output, the summary line going to standard error, and a device or a FIFO is
written as it is; there a problem halfway leaves what was written so far:
    stackscope export s.trace --format pcapng -o - | tshark -r -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("export: name the output file with -o OUT")
			}
			f, err := exportFormat(format, out)
			if err != nil {
				return err
			}
			if standardStream(out) == "standard output" {
				out = "-" // /dev/stdout, or the file stdout goes to
			}
			n, err := exportTrace(args[0], f, out, stdout)
			if err != nil {
				return err
			}
			what := map[string]string{"pcapng": "packets", "chrome": "events", "markdown": "bookmarks"}[f]
			if out == "-" {
				// stdout carries the export: the summary goes beside it.
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d %s to standard output\n", n, what)
				return nil
			}
			fmt.Fprintf(stdout, "wrote %d %s to %s\n", n, what, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "pcapng, chrome (or json) or markdown (or md); default: from OUT's extension (.pcapng, .json, .md)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "the file to write (replaced only when the export succeeds; - is standard output)")
	return cmd
}

// exportFormat resolves --format, or guesses it from the output's name.
func exportFormat(format, out string) (string, error) {
	switch strings.ToLower(format) {
	case "pcapng":
		return "pcapng", nil
	case "chrome", "json":
		return "chrome", nil
	case "markdown", "md":
		return "markdown", nil
	case "":
		switch strings.ToLower(filepath.Ext(out)) {
		case ".pcapng":
			return "pcapng", nil
		case ".json":
			return "chrome", nil
		case ".md":
			return "markdown", nil
		}
		return "", fmt.Errorf("export: name the format with --format (%s)", strings.Join(exportFormats, ", "))
	}
	return "", fmt.Errorf("export: unknown format %q: the formats are %s (json is chrome, md markdown)", format, strings.Join(exportFormats, ", "))
}

// exportTrace exports the trace at path in format to out, and returns how
// many packets or events it wrote. A regular file (or a new one) is written
// through a temporary file beside it, renamed over it only when the whole
// trace has been exported; "-" is stdout, and a device or a FIFO
// (/dev/null, a pipe to tshark) is written as it is. Every error names the
// trace and fits on one line.
func exportTrace(path, format, out string, stdout io.Writer) (n uint64, err error) {
	if out == "-" {
		n, err = exportTo(path, format, stdout)
		if err != nil {
			return 0, exportError(path, err)
		}
		return n, nil
	}
	if st, serr := os.Stat(out); serr == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return 0, fmt.Errorf("export %s: %s is a directory; name a file with -o", path, out)
		}
		f, oerr := tracing.OpenStream(out)
		if oerr != nil {
			return 0, exportError(path, oerr)
		}
		n, err = exportTo(path, format, f)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s: %w", out, cerr)
		}
		if err != nil {
			return 0, exportError(path, err)
		}
		return n, nil
	}
	if same(path, out) {
		return 0, fmt.Errorf("export %s: the output is the trace itself; choose another -o", path)
	}
	// Through a symbolic link, the file it names is replaced, not the
	// link.
	if real, lerr := filepath.EvalSymlinks(out); lerr == nil {
		out = real
	} else if dest, rerr := os.Readlink(out); rerr == nil { // a link to a file not made yet
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(out), dest)
		}
		out = dest
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err = exportTo(path, format, tmp)
	if err == nil {
		if serr := tmp.Sync(); serr != nil {
			err = fmt.Errorf("write %s: %w", out, serr)
		}
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", out, cerr)
	}
	if err == nil {
		if rerr := os.Rename(tmp.Name(), out); rerr != nil {
			err = fmt.Errorf("write %s: %w", out, rerr)
		}
	}
	if err != nil {
		return 0, exportError(path, err)
	}
	done = true
	return n, nil
}

// exportTo writes the trace at path in format onto w.
func exportTo(path, format string, w io.Writer) (uint64, error) {
	switch format {
	case "pcapng":
		return exportPcapng(path, w)
	case "markdown":
		k, err := writeMarkdown(path, w)
		return uint64(k), err
	}
	return exportChrome(path, w)
}

// same reports whether two paths name the same existing file.
func same(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// exportError makes err one line that names the trace: a *TraceError
// names it already.
func exportError(path string, err error) error {
	msg := err.Error()
	var te *tracing.TraceError
	if !errors.As(err, &te) || te.Name == "" || !strings.Contains(msg, te.Name) {
		msg = path + ": " + msg
	}
	return &oneLineError{msg: "export " + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg), err: err}
}

// oneLineError is an error message flattened to one line, keeping the
// error it came from for errors.As.
type oneLineError struct {
	msg string
	err error
}

func (e *oneLineError) Error() string { return e.msg }
func (e *oneLineError) Unwrap() error { return e.err }

// exportPcapng re-executes the trace and writes every frame its devices
// received and sent.
func exportPcapng(path string, w io.Writer) (uint64, error) {
	r, err := tracing.OpenTrace(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	h := r.Header()
	comment := "stackscope " + h.Mode
	if h.Source != nil {
		comment += " " + h.Source.Name
	}
	comment += ", recorded by stackscope " + h.Version + "; times are the model kernel's clock since boot"
	pw := tracing.NewPcapngWriter(w, tracing.PcapngOptions{Application: "stackscope " + version, Comment: comment})
	var werr error // the frame tap runs on the kernel loop; Run waits for it
	tap := func(fr stack.FrameRecord) {
		if werr != nil {
			return
		}
		dir, verb := tracing.Outbound, "sent by"
		if fr.Dir == stack.PacketIn {
			dir, verb = tracing.Inbound, "received by"
		}
		pkt := tracing.PcapngPacket{TimeNs: fr.TimeNs, Direction: dir, Data: fr.Frame, Interface: "(no device)"}
		if fr.Dev != nil {
			pkt.Interface = fr.Dev.Name
			pkt.InterfaceDescription = fmt.Sprintf("stackscope %s device %s, ifindex %d, MTU %d; raw IPv4, no link-layer header",
				fr.Dev.Kind, fr.Dev.Name, fr.Dev.Ifindex, fr.Dev.MTU)
		}
		pkt.Comment = fmt.Sprintf("%s %s on %s", verb, fr.Func, pkt.Interface)
		werr = pw.WritePacket(pkt)
	}
	rp, err := stack.NewReplay(r, stack.ReplayOptions{Frames: tap})
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	err = rp.Run()
	rp.Close()
	switch {
	case werr != nil:
		return 0, werr
	case err != nil:
		return 0, err
	case rp.EndErr() != nil:
		return 0, rp.EndErr()
	}
	if err := pw.Close(); err != nil {
		return 0, err
	}
	return uint64(pw.Packets()), nil
}

// exportChrome reads the trace's events and writes them as Chrome trace
// JSON, without re-executing anything.
func exportChrome(path string, w io.Writer) (uint64, error) {
	r, err := tracing.OpenTrace(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cw, err := tracing.NewChromeWriter(w, r.Header().Funcs)
	if err != nil {
		return 0, err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		if rec.Kind == tracing.RecordEvent {
			cw.Event(&rec.Event)
			if err := cw.Err(); err != nil {
				return 0, err
			}
		}
	}
	if err := cw.Close(); err != nil {
		return 0, err
	}
	return cw.Events(), nil
}
