package stack

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/stackscope/stackscope/tracing"
)

// TraceOpener opens a trace from its beginning; positioned replays open it
// once for each kernel they boot.
type TraceOpener func() (*tracing.TraceReader, error)

// Timeline indexes a recording: which input emitted each event, and each
// event's time, depth, kind and function, so that a replay can be sent to
// any event (the next packet, a time, the call before this one) without
// reading the trace again.
type Timeline struct {
	Header tracing.TraceHeader
	// InputEnd[i] is the number of the last event emitted before input
	// i+1 ran: InputEnd[0] ends the boot, InputEnd[len-1] the recording.
	InputEnd []uint64
	// InputTime[i] is input i's clock time (InputTime[0], the boot, is 0).
	InputTime []int64
	// InputDesc[i] says what input i is ("pid 2 socket(2, 1, 6)").
	InputDesc []string
	// First is the first event the recording holds: 1, or where a
	// recording begun in the middle of a session starts.
	First uint64
	// Events, indexed by event number - First.
	Events []EventInfo
	// EndErr is why the recording ended early, if it did.
	EndErr error
}

// EventInfo is what the timeline keeps of one event.
type EventInfo struct {
	Time  int64
	Func  tracing.FuncID // this binary's id (0xffff: unknown here)
	Depth uint16
	Task  uint32
	Kind  tracing.Kind
}

// ScanTrace reads a recording once and builds its timeline.
func ScanTrace(open TraceOpener) (*Timeline, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	tl := &Timeline{Header: r.Header(), InputTime: []int64{0}, InputDesc: []string{"boot"}, First: 1}
	var boot BootDescription
	if err := json.Unmarshal(tl.Header.Kernel, &boot); err == nil && boot.CheckFrom > 0 {
		tl.First = boot.CheckFrom
	}
	tl.InputEnd = []uint64{tl.First - 1}
	funcs := mapFuncs(tl.Header.Funcs)
	devs := map[int]string{1: "lo"}
	devName := func(i int) string { return devs[i] }
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tl.EndErr = err
			break
		}
		switch rec.Kind {
		case tracing.RecordInput:
			tl.InputEnd = append(tl.InputEnd, tl.InputEnd[len(tl.InputEnd)-1])
			tl.InputTime = append(tl.InputTime, rec.Input.Time)
			tl.InputDesc = append(tl.InputDesc, describeInput(rec.Input, devName))
			if rec.Input.Op == recAddDevice {
				var j deviceJSON
				if json.Unmarshal(rec.Input.Data, &j) == nil {
					devs[j.Ifindex] = j.Name
				}
			}
		case tracing.RecordEvent:
			ev := &rec.Event
			if want := tl.First + uint64(len(tl.Events)); ev.Seq != want {
				return nil, fmt.Errorf("event #%d where #%d should be: the trace's events are not numbered in order", ev.Seq, want)
			}
			fn := tracing.FuncID(0xffff)
			if int(ev.Func) < len(funcs) {
				fn = funcs[ev.Func]
			}
			tl.Events = append(tl.Events, EventInfo{Time: ev.Time, Func: fn, Depth: ev.Depth, Task: ev.Task, Kind: ev.Kind})
			tl.InputEnd[len(tl.InputEnd)-1] = ev.Seq
		}
	}
	return tl, nil
}

// mapFuncs maps a trace's function ids to this binary's.
func mapFuncs(names []string) []tracing.FuncID {
	ids := make([]tracing.FuncID, len(names))
	for i, name := range names {
		if f, ok := tracing.Lookup(name); ok {
			ids[i] = f.ID
		} else {
			ids[i] = 0xffff
		}
	}
	return ids
}

// Inputs is how many inputs the recording holds.
func (tl *Timeline) Inputs() int { return len(tl.InputEnd) - 1 }

// Total is how many events the recording holds.
func (tl *Timeline) Total() uint64 { return uint64(len(tl.Events)) }

// Last is the last event's number (First - 1 if there is none).
func (tl *Timeline) Last() uint64 { return tl.First + uint64(len(tl.Events)) - 1 }

// InputOf is the input that emitted event seq (0: the boot).
func (tl *Timeline) InputOf(seq uint64) int {
	// The first input whose end is at or after seq.
	return sort.Search(len(tl.InputEnd), func(i int) bool { return tl.InputEnd[i] >= seq })
}

// Event returns what the timeline knows of event seq.
func (tl *Timeline) Event(seq uint64) (EventInfo, bool) {
	if seq < tl.First || seq > tl.Last() {
		return EventInfo{}, false
	}
	return tl.Events[seq-tl.First], true
}

// AtTime is the first event at or after time t (ns), or 0 if none.
func (tl *Timeline) AtTime(t int64) uint64 {
	i := sort.Search(len(tl.Events), func(i int) bool { return tl.Events[i].Time >= t })
	if i == len(tl.Events) {
		return 0
	}
	return uint64(i) + tl.First
}

// StepOverBack is the event a backwards "step over" from seq lands on:
// the nearest earlier event at the same call depth or shallower in the
// same task, so that a whole call is stepped over at once.
func (tl *Timeline) StepOverBack(seq uint64) uint64 {
	cur, ok := tl.Event(seq)
	if !ok {
		return 0
	}
	for s := seq - 1; s >= tl.First && s < seq; s-- {
		e := tl.Events[s-tl.First]
		if e.Task != cur.Task {
			continue
		}
		if e.Depth < cur.Depth || (e.Depth == cur.Depth && e.Kind != tracing.Exit) {
			return s
		}
	}
	return 0
}

// Packet finds the entry of the next (dir > 0) or previous (dir < 0)
// packet to cross a device after or before seq: netif_receive_skb for a
// frame received, dev_queue_xmit for one sent. 0 if there is none.
func (tl *Timeline) Packet(seq uint64, dir int) uint64 {
	rx, _ := tracing.Lookup("netif_receive_skb")
	tx, _ := tracing.Lookup("dev_queue_xmit")
	is := func(s uint64) bool {
		e := tl.Events[s-tl.First]
		return e.Kind == tracing.Entry && (e.Func == rx.ID || e.Func == tx.ID)
	}
	if dir > 0 {
		for s := max(seq+1, tl.First); s <= tl.Last(); s++ {
			if is(s) {
				return s
			}
		}
		return 0
	}
	for s := min(seq-1, tl.Last()); s >= tl.First && s < seq; s-- {
		if is(s) {
			return s
		}
	}
	return 0
}
