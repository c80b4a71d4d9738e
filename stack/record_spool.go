package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stackscope/stackscope/tracing"
)

// Recording at any moment (the inspector's record key). A trace replays
// from the boot, so a recording started in the middle of a session needs
// the inputs from before it too: a spool keeps them in a temporary file
// from the boot on (inputs only, no events: they cost little). Starting a
// recording copies the spool into the new trace, and from then on inputs
// and events go to both; the trace's boot description says which event
// the recording began with, and a replay checks the events from there.

// DefaultSpoolLimit is how big a spool may grow (256 MiB, a few minutes
// of bulk transfer at full speed). A session whose inputs outgrow it can
// no longer start recording in the middle; it can still be recorded from
// the start with --record.
const DefaultSpoolLimit = 256 << 20

// spool is a session's inputs since boot, in a temporary file that is
// unlinked as soon as it is open: it lives as long as its two handles, so
// even a killed session leaves nothing behind.
type spool struct {
	wf, rf *os.File // written through wf, read back through rf
	w      *tracing.TraceWriter
	header tracing.TraceHeader
	size   int64 // bytes of input data spooled
	limit  int64
	full   bool // outgrew the limit: spooling stopped
}

// tee is the kernel's recorder when a spool is kept: every input goes to
// the spool and to the recording in progress, if any.
type tee struct {
	spool *spool
	rec   InputRecorder // the recording in progress (nil: none)
	path  string        // its file, when the kernel started it
	owned bool          // the kernel closes it (StartRecording made it)
	subID int           // its event subscription
	// inputs counts the inputs so far (a recording begun now follows
	// this many).
	inputs uint64
}

// Input spools the input and records it.
func (t *tee) Input(in tracing.Input) {
	t.inputs++
	if s := t.spool; s != nil && !s.full {
		s.size += int64(in.Len()) + 16
		if s.size > s.limit {
			s.full = true
			s.close()
		} else {
			s.w.Input(in)
		}
	}
	if t.rec != nil {
		t.rec.Input(in)
	}
}

// newSpool creates a session's spool in dir (os.TempDir when empty); h
// is the header every recording of the session starts from.
func newSpool(dir string, h tracing.TraceHeader, limit int64) (*spool, error) {
	wf, err := os.CreateTemp(dir, "stackscope-spool-*.trace")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	rf, err := os.Open(wf.Name())
	_ = os.Remove(wf.Name())
	if err != nil {
		wf.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	w, err := tracing.NewTraceWriter(wf, h, tracing.TraceOptions{})
	if err != nil {
		wf.Close()
		rf.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	if limit <= 0 {
		limit = DefaultSpoolLimit
	}
	return &spool{wf: wf, rf: rf, w: w, header: h, limit: limit}, nil
}

// close closes the spool's handles, and with them its file.
func (s *spool) close() {
	if s.w == nil {
		return
	}
	_ = s.w.Close()
	_ = s.wf.Close()
	_ = s.rf.Close()
	s.w = nil
}

// SpoolConfig asks New for a spool: the kernel keeps its inputs from boot
// so that StartRecording works at any moment.
type SpoolConfig struct {
	Dir    string              // where the temporary file goes ("": os.TempDir)
	Limit  int64               // bytes (0: DefaultSpoolLimit)
	Header tracing.TraceHeader // mode and source of the recordings (Kernel is filled in)
}

// setupSpool makes the tee with a spool, for New.
func (k *Kernel) setupSpool(sc *SpoolConfig) error {
	h := sc.Header
	boot, err := json.Marshal(DescribeBoot(k.cfg))
	if err != nil {
		return err
	}
	h.Kernel = boot
	sp, err := newSpool(sc.Dir, h, sc.Limit)
	if err != nil {
		return err
	}
	t := &tee{spool: sp}
	if k.cfg.Record != nil {
		t.rec = k.cfg.Record
	}
	k.rec = &recorder{out: t}
	return nil
}

// ErrNoSpool says a recording cannot start in the middle of this session.
var ErrNoSpool = errors.New("this session keeps no record of its inputs from the start, so a recording cannot begin now (start it with --record instead)")

// StartRecording starts recording the session to path (mode 0600): the
// inputs since boot from the spool, then every input and event from now
// on. The replay re-executes the inputs before this moment and checks the
// events from here.
func (k *Kernel) StartRecording(path string, opt tracing.TraceOptions) error {
	_, err := control(k, "start-recording", false, func(k *Kernel) (struct{}, error) {
		t, ok := k.teeOf()
		switch {
		case !ok || t.spool == nil:
			return struct{}{}, ErrNoSpool
		case t.rec != nil:
			if t.path != "" {
				return struct{}{}, fmt.Errorf("already recording to %s", t.path)
			}
			return struct{}{}, errors.New("already recording (--record)")
		case t.spool.full:
			return struct{}{}, fmt.Errorf("the session's inputs outgrew the spool (%d MiB), so a recording cannot begin now: start it with --record instead", t.spool.limit>>20)
		}
		sp := t.spool
		if err := sp.w.Flush(); err != nil {
			return struct{}{}, fmt.Errorf("spool: %w", err)
		}
		h := sp.header
		var boot BootDescription
		if err := json.Unmarshal(h.Kernel, &boot); err != nil {
			return struct{}{}, err
		}
		boot.CheckFrom = k.tr.Seq() + 1
		boot.CheckFromInput = t.inputs
		boot.CheckFromDepths = k.tr.Depths()
		b, err := json.Marshal(boot)
		if err != nil {
			return struct{}{}, err
		}
		h.Kernel = b
		w, err := tracing.CreateTrace(path, h, opt)
		if err != nil {
			return struct{}{}, err
		}
		if err := sp.copyInputs(w); err != nil {
			_ = w.Close()
			// Only a file this call made is removed: not a device or
			// a FIFO the recording was pointed at.
			if st, serr := os.Lstat(path); serr == nil && st.Mode().IsRegular() {
				_ = os.Remove(path)
			}
			return struct{}{}, err
		}
		t.rec, t.path, t.owned = w, path, true
		t.subID = k.tr.SubscribeTrace(w)
		return struct{}{}, nil
	})
	return err
}

// copyInputs copies every input of the spool into w.
func (s *spool) copyInputs(w *tracing.TraceWriter) error {
	if _, err := s.rf.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	r, err := tracing.NewTraceReader(s.rf, "the spool")
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer r.Close() // the handle stays open: the reader did not open it
	for {
		rec, err := r.Next()
		var te *tracing.TraceError
		if err == io.EOF || (errors.As(err, &te) && te.Truncated) {
			return nil // the spool is still being written: it ends without an end frame
		}
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if rec.Kind == tracing.RecordInput {
			w.Input(rec.Input)
		}
	}
}

// RecordingStatus says whether the session is being recorded, and where.
type RecordingStatus struct {
	On      bool
	Path    string // "" for a recording the kernel did not start (--record)
	Inputs  uint64
	Events  uint64
	Spooled bool // a recording can be started now
}

// Recording reports the recording in progress.
func (k *Kernel) Recording() (RecordingStatus, error) {
	return control(k, "recording", true, func(k *Kernel) (RecordingStatus, error) {
		t, ok := k.teeOf()
		if !ok {
			return RecordingStatus{On: k.rec != nil}, nil
		}
		st := RecordingStatus{On: t.rec != nil, Path: t.path, Spooled: t.spool != nil && !t.spool.full}
		if w, ok := t.rec.(*tracing.TraceWriter); ok {
			st.Inputs, st.Events = w.Counts()
		}
		return st, nil
	})
}

// StopRecording ends the recording StartRecording began and closes its
// file; it returns how many inputs and events it holds.
func (k *Kernel) StopRecording() (RecordingStatus, error) {
	return control(k, "stop-recording", false, func(k *Kernel) (RecordingStatus, error) {
		t, ok := k.teeOf()
		if !ok || t.rec == nil {
			return RecordingStatus{}, errors.New("not recording")
		}
		if !t.owned {
			return RecordingStatus{}, errors.New("this recording began with --record and ends when the session does")
		}
		return k.stopRecording(t)
	})
}

// stopRecording closes the tee's recording, on the loop.
func (k *Kernel) stopRecording(t *tee) (RecordingStatus, error) {
	k.tr.Unsubscribe(t.subID)
	w := t.rec.(*tracing.TraceWriter)
	st := RecordingStatus{Path: t.path}
	st.Inputs, st.Events = w.Counts()
	t.rec, t.path, t.owned = nil, "", false
	if err := w.Close(); err != nil {
		return st, fmt.Errorf("recording %s: %w", st.Path, err)
	}
	return st, nil
}

// teeOf returns the kernel's tee, if it keeps one.
func (k *Kernel) teeOf() (*tee, bool) {
	if k.rec == nil {
		return nil, false
	}
	t, ok := k.rec.out.(*tee)
	return t, ok
}

// closeRecording ends what the kernel owns of its recording when it
// stops: the recording it started and the spool.
func (k *Kernel) closeRecording() {
	t, ok := k.teeOf()
	if !ok {
		return
	}
	if t.rec != nil && t.owned {
		_, _ = k.stopRecording(t)
	}
	if t.spool != nil {
		t.spool.close()
	}
}

// recordFlushEvery is how often a live recording is pushed to its file.
const recordFlushEvery = 500 * time.Millisecond

// flushRecording hands what the recording has buffered to its file, on
// the loop (the spool needs no flush: it is read only after one).
func (k *Kernel) flushRecording() {
	var rec InputRecorder
	if t, ok := k.teeOf(); ok {
		rec = t.rec
	} else if k.rec != nil {
		rec = k.rec.out
	}
	if f, ok := rec.(interface{ Flush() error }); ok {
		_ = f.Flush() // a write error stops the recording; Close reports it
	}
}
