package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// recordFlags are --record and --compress, for the commands that can
// record their kernel (live, demo, run).
type recordFlags struct {
	path     string
	compress bool
	w        *tracing.TraceWriter
}

func (f *recordFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "record", "", "record the session to this trace file (mode 0600) for stackscope replay and export")
	cmd.Flags().BoolVar(&f.compress, "compress", false, "compress the recording with zstd")
}

// recorder returns the stack.RecorderFunc that creates the trace file when
// the kernel boots (nil when not recording). mode and src go into the
// trace's header.
func (f *recordFlags) recorder(mode string, src *tracing.TraceSource) stack.RecorderFunc {
	if f.path == "" {
		return nil
	}
	return func(cfg stack.Config) (stack.InputRecorder, error) {
		if name := standardStream(f.path); name != "" {
			return nil, fmt.Errorf("--record %s: that is this command's %s, which its own messages go to as well; record to a file", f.path, name)
		}
		boot, err := json.Marshal(stack.DescribeBoot(cfg))
		if err != nil {
			return nil, err
		}
		h := tracing.TraceHeader{Version: version, Mode: mode, Kernel: boot, Source: src}
		w, err := tracing.CreateTrace(f.path, h, tracing.TraceOptions{Compress: f.compress})
		if err != nil {
			return nil, err
		}
		f.w = w
		return w, nil
	}
}

// standardStream names the process's standard stream that path is the
// same file as ("standard output", "standard error"), or returns "".
func standardStream(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	for _, s := range []struct {
		f    *os.File
		name string
	}{{os.Stdout, "standard output"}, {os.Stderr, "standard error"}} {
		if fs, err := s.f.Stat(); err == nil && os.SameFile(st, fs) {
			return s.name
		}
	}
	return ""
}

// finish closes the recording once the kernel has stopped, and says what
// it holds on out (nil: say nothing). err is the command's own result,
// returned unless it is nil.
func (f *recordFlags) finish(err error, say func(string)) error {
	if f.w == nil {
		return err
	}
	cerr := f.w.Close()
	if in, _ := f.w.Counts(); err != nil && in == 0 {
		// The session failed before the kernel handled anything: no
		// recording to keep (a device or a pipe is not ours to remove).
		if st, serr := os.Lstat(f.path); serr == nil && st.Mode().IsRegular() {
			_ = os.Remove(f.path)
		}
		f.w = nil
		return err
	}
	if cerr != nil {
		cerr = fmt.Errorf("recording %s: %w", f.path, cerr)
	} else if say != nil {
		in, ev := f.w.Counts()
		msg := fmt.Sprintf("recorded %d inputs and %d events to %s", in, ev, f.path)
		if st, serr := os.Stat(f.path); serr == nil && st.Mode().IsRegular() {
			msg += fmt.Sprintf(" (%d bytes)", st.Size())
		}
		say(msg)
	}
	f.w = nil
	return errors.Join(err, cerr)
}

// sayTo returns a function that prints a line to w.
func sayTo(w io.Writer) func(string) {
	return func(s string) { fmt.Fprintln(w, s) }
}

// spool is what the inspector's sessions keep so that R can start a
// recording at any moment (not with --record: that one runs from the
// start already).
func (f *recordFlags) spool(mode string, src *tracing.TraceSource) *stack.SpoolConfig {
	if f.path != "" {
		return nil
	}
	return &stack.SpoolConfig{Header: tracing.TraceHeader{Version: version, Mode: mode, Source: src}}
}
