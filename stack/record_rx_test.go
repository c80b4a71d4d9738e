package stack

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// inputCapture keeps every input, gathered into one payload, as a trace
// file would hold it.
type inputCapture struct{ ins []tracing.Input }

func (c *inputCapture) Input(in tracing.Input) {
	var data []byte
	if in.Parts == nil {
		data = append(data, in.Data...)
	}
	for _, p := range in.Parts {
		data = append(data, p...)
	}
	c.ins = append(c.ins, tracing.Input{Op: in.Op, Time: in.Time, Data: data})
}

// TestRecordRxInPieces checks that a batch of received frames, handed to
// the recorder in pieces, is the payload replay decodes: ifindex, count,
// and each frame after its length.
func TestRecordRxInPieces(t *testing.T) {
	k := &Kernel{clock: &VirtualClock{now: 42}}
	capt := &inputCapture{}
	k.rec = &recorder{out: capt}
	dev := &netdev.Device{Ifindex: 3}
	frames := [][]byte{bytes.Repeat([]byte{1}, 200), {}, bytes.Repeat([]byte{7}, 70000)}
	if !k.recBeginRx(dev, frames) {
		t.Fatal("recBeginRx did not record at the top level")
	}
	if k.recBeginRx(dev, frames) {
		t.Fatal("recBeginRx recorded inside a recorded input")
	}
	k.recEnd()
	var want []byte
	want = binary.AppendUvarint(want, 3)
	want = binary.AppendUvarint(want, uint64(len(frames)))
	for _, f := range frames {
		want = appendBytes(want, f)
	}
	if len(capt.ins) != 1 {
		t.Fatalf("recorded %d inputs, want 1", len(capt.ins))
	}
	in := capt.ins[0]
	if in.Op != recRx || in.Time != 42 || !bytes.Equal(in.Data, want) {
		t.Fatalf("recorded op %d time %d, %d bytes; want op %d time 42, %d bytes (equal: %v)",
			in.Op, in.Time, len(in.Data), recRx, len(want), bytes.Equal(in.Data, want))
	}
	if got := (&tracing.Input{Parts: [][]byte{{1, 2}, nil, {3}}}).Len(); got != 3 {
		t.Fatalf("Input.Len of pieces = %d, want 3", got)
	}
}
