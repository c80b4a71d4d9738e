package tracing

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
)

// This file holds the byte layout shared by the trace writer and reader:
// frame types, the frame checksum and the compact encoding of events.
//
// A frame is
//
//	u32 little-endian  length of type+payload (1 .. maxFrameSize)
//	u8                 frame type
//	payload
//	u32 little-endian  CRC-32C (Castagnoli) of type+payload
//
// An events frame's payload is a run of events, each encoded relative to
// the one before it in the same frame (see deltaState); the state starts
// from zero at each frame, so every frame decodes on its own.

// Frame types. They are ASCII letters so that a hex dump of a trace reads
// a little.
const (
	frameHeader byte = 'H' // JSON of TraceHeader; always the first frame
	frameInput  byte = 'I' // one Input: op byte, varint time, data
	frameEvents byte = 'E' // a batch of delta-encoded events
	frameEnd    byte = 'Z' // uvarint inputs, uvarint events; always the last frame
)

const (
	// maxFrameSize bounds the length field (type+payload) of a frame. A
	// reader refuses larger lengths before allocating anything.
	maxFrameSize = 16 << 20
	// framePrefix is the length field and the type byte.
	framePrefix = 5
	// frameSuffix is the checksum.
	frameSuffix = 4
	// maxEventSize is more than the longest encoding of one event: flags,
	// the extension (kind, narg, flags), seq, time, task, func, depth and
	// four kind+value pairs.
	maxEventSize = 1 + 3 + 3*binary.MaxVarintLen64 + 2*3 + 4*(1+binary.MaxVarintLen64) + 8
	// batchLimit is the payload size at which the writer closes an events
	// frame: small enough that a cut file loses little, big enough that
	// the per-frame overhead (9 bytes, one checksum) is noise.
	batchLimit = 4 << 10
)

// castagnoli is the CRC-32C table. It is computed once and only read.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameTypeName names a frame type for messages.
func frameTypeName(t byte) string {
	switch t {
	case frameHeader:
		return "header"
	case frameInput:
		return "input"
	case frameEvents:
		return "events"
	case frameEnd:
		return "end"
	}
	return fmt.Sprintf("0x%02x", t)
}

// appendFrame appends one complete frame to dst.
func appendFrame(dst []byte, typ byte, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(1+len(payload)))
	start := len(dst)
	dst = append(dst, typ)
	dst = append(dst, payload...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Update(0, castagnoli, dst[start:]))
}

// The flags byte that starts every encoded event.
const (
	// evKindMask holds the Kind (1 Entry, 2 Exit, 3 Point). 0 means an
	// extension follows the flags byte: the Kind byte, the NArg byte and
	// a byte of extension flags. It is used for anything unusual: a Kind
	// outside 1..3, an NArg that is not the number of argument slots
	// stored, or a time that went backwards.
	evKindMask = 0x03
	// evArgShift places the number of argument slots stored (0..3).
	evArgShift = 2
	evArgMask  = 0x03 << evArgShift
	evHasRet   = 1 << 4 // a return value follows the arguments
	evSeqNext  = 1 << 5 // Seq is the previous Seq + 1 (nothing stored)
	evTimeSame = 1 << 6 // Time is the previous Time (nothing stored)
	evTaskSame = 1 << 7 // Task is the previous Task (nothing stored)

	// extTimeAbs, in the extension flags, says the time is stored as an
	// absolute zigzag varint rather than as a forward delta.
	extTimeAbs = 1 << 0
	extKnown   = extTimeAbs
)

// argSlots is the number of argument values kept per ArgKind for deltas.
// Kinds are folded into it with kind&(argSlots-1), so any byte works.
const argSlots = 16

// deltaState is what an event is encoded relative to: the previous event
// of the frame and the previous value of each argument kind. Writer and
// reader keep one each and reset it at every events frame.
type deltaState struct {
	seq  uint64
	time int64
	task uint32
	vals [argSlots]uint64
}

// reset starts a new frame.
func (s *deltaState) reset() { *s = deltaState{} }

// argCount returns how many argument slots of ev carry something: NArg
// (at most MaxArgs), extended to cover any slot past it that is not zero,
// so that even a hand-made event round-trips exactly.
func argCount(ev *Event) int {
	n := int(ev.NArg)
	if n > MaxArgs {
		n = MaxArgs
	}
	for j := n; j < MaxArgs; j++ {
		if ev.Arg(j) != (Arg{}) {
			n = j + 1
		}
	}
	return n
}

// appendEvent appends the encoding of ev to dst and advances s. With
// maxEventSize bytes of room in dst it never reallocates. It writes into
// that room by index rather than appending field by field: this is the
// recorder's per-event cost, paid on the kernel loop.
func (s *deltaState) appendEvent(dst []byte, ev *Event) []byte {
	return s.appendEventN(dst, ev, argCount(ev))
}

// appendEventN is appendEvent for an event whose argument slots from n on
// are empty (n is argCount(ev)).
func (s *deltaState) appendEventN(dst []byte, ev *Event, n int) []byte {
	at := len(dst)
	if cap(dst)-at < maxEventSize {
		dst = slices.Grow(dst, maxEventSize)
	}
	b := dst[at : at+maxEventSize]
	flags := byte(n) << evArgShift
	i := 1
	timeAbs := ev.Time < s.time
	if ev.Kind < Entry || ev.Kind > Point || int(ev.NArg) != n || timeAbs {
		var ext byte
		if timeAbs {
			ext = extTimeAbs
		}
		b[1], b[2], b[3] = byte(ev.Kind), ev.NArg, ext
		i = 4
	} else {
		flags |= byte(ev.Kind)
	}

	if ev.Seq == s.seq+1 {
		flags |= evSeqNext
	} else {
		i = putZigzag(b, i, int64(ev.Seq-s.seq))
	}
	s.seq = ev.Seq

	switch {
	case ev.Time == s.time:
		flags |= evTimeSame
	case timeAbs:
		i = putZigzag(b, i, ev.Time)
	default:
		// ev.Time > s.time, so the true difference fits in a uint64 and
		// unsigned subtraction computes it without overflow.
		i = putUvarint(b, i, uint64(ev.Time)-uint64(s.time))
	}
	s.time = ev.Time

	if ev.Task == s.task {
		flags |= evTaskSame
	} else {
		i = putUvarint(b, i, uint64(ev.Task))
		s.task = ev.Task
	}

	i = putUvarint(b, i, uint64(ev.Func))
	i = putUvarint(b, i, uint64(ev.Depth))
	for j := 0; j < n; j++ {
		i = s.putArg(b, i, ev.kinds[j], ev.vals[j])
	}
	if ev.kinds[MaxArgs] != ArgNone || ev.vals[MaxArgs] != 0 {
		flags |= evHasRet
		i = s.putArg(b, i, ev.kinds[MaxArgs], ev.vals[MaxArgs])
	}
	b[0] = flags
	return dst[:at+i]
}

// putArg writes an argument's kind and its value as a zigzag varint of
// the difference from the previous value of the same kind at b[i:]: successive skb
// or sock addresses are close together, so the difference is short.
func (s *deltaState) putArg(b []byte, i int, kind ArgKind, val uint64) int {
	slot := &s.vals[kind&(argSlots-1)]
	b[i] = byte(kind)
	i = putZigzag(b, i+1, int64(val-*slot))
	*slot = val
	return i
}

// putUvarint writes v as binary.AppendUvarint would, at b[i:], and
// returns the index after it.
func putUvarint(b []byte, i int, v uint64) int {
	for v >= 0x80 {
		b[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	b[i] = byte(v)
	return i + 1
}

// putZigzag writes v as binary.AppendVarint would.
func putZigzag(b []byte, i int, v int64) int {
	return putUvarint(b, i, uint64(v<<1)^uint64(v>>63))
}

// eventDecodeError describes an event that does not decode.
type eventDecodeError struct{ problem string }

// Error returns the problem.
func (e *eventDecodeError) Error() string { return e.problem }

// decodeEvent decodes the event at the start of b and advances s. It
// returns the event and the number of bytes it used. It never panics,
// whatever b holds.
func (s *deltaState) decodeEvent(b []byte) (Event, int, error) {
	var ev Event
	if len(b) == 0 {
		return ev, 0, &eventDecodeError{problem: "event is empty"}
	}
	flags := b[0]
	i := 1
	n := int(flags&evArgMask) >> evArgShift
	narg := uint8(n)
	var ext byte
	if k := flags & evKindMask; k != 0 {
		ev.Kind = Kind(k)
	} else {
		if len(b) < i+3 {
			return ev, 0, &eventDecodeError{problem: "event ends inside its extension"}
		}
		ev.Kind, narg, ext = Kind(b[i]), b[i+1], b[i+2]
		i += 3
		if ext&^extKnown != 0 {
			return ev, 0, &eventDecodeError{problem: fmt.Sprintf("unknown event flags 0x%02x", ext)}
		}
	}

	var v uint64
	var ok bool
	if flags&evSeqNext != 0 {
		s.seq++
	} else {
		if v, i, ok = zigzag(b, i); !ok {
			return ev, 0, &eventDecodeError{problem: "bad sequence number"}
		}
		s.seq += v
	}
	ev.Seq = s.seq

	switch {
	case flags&evTimeSame != 0:
	case ext&extTimeAbs != 0:
		if v, i, ok = zigzag(b, i); !ok {
			return ev, 0, &eventDecodeError{problem: "bad time"}
		}
		s.time = int64(v)
	default:
		if v, i, ok = uvarint(b, i); !ok {
			return ev, 0, &eventDecodeError{problem: "bad time"}
		}
		s.time = int64(uint64(s.time) + v)
	}
	ev.Time = s.time

	if flags&evTaskSame == 0 {
		if v, i, ok = uvarint(b, i); !ok || v > 1<<32-1 {
			return ev, 0, &eventDecodeError{problem: "bad task"}
		}
		s.task = uint32(v)
	}
	ev.Task = s.task

	if v, i, ok = uvarint(b, i); !ok || v > uint64(^FuncID(0)) {
		return ev, 0, &eventDecodeError{problem: "bad function id"}
	}
	ev.Func = FuncID(v)
	if v, i, ok = uvarint(b, i); !ok || v > 1<<16-1 {
		return ev, 0, &eventDecodeError{problem: "bad call depth"}
	}
	ev.Depth = uint16(v)

	var args [MaxArgs]Arg
	for j := 0; j < n; j++ {
		if args[j], i, ok = s.decodeArg(b, i); !ok {
			return ev, 0, &eventDecodeError{problem: fmt.Sprintf("bad argument %d", j)}
		}
	}
	var ret Arg
	if flags&evHasRet != 0 {
		if ret, i, ok = s.decodeArg(b, i); !ok {
			return ev, 0, &eventDecodeError{problem: "bad return value"}
		}
	}
	ev = ev.WithArgs(ret, args[:n]...)
	ev.NArg = narg
	return ev, i, nil
}

// decodeArg decodes a kind byte and a zigzag delta at b[i:].
func (s *deltaState) decodeArg(b []byte, i int) (Arg, int, bool) {
	if i >= len(b) {
		return Arg{}, i, false
	}
	kind := ArgKind(b[i])
	d, j, ok := zigzag(b, i+1)
	if !ok {
		return Arg{}, i, false
	}
	slot := &s.vals[kind&(argSlots-1)]
	*slot += d
	return Arg{Kind: kind, Val: *slot}, j, true
}

// uvarint reads an unsigned varint at b[i:] and returns it with the index
// after it. ok is false when b ends inside it or it overflows 64 bits.
func uvarint(b []byte, i int) (v uint64, next int, ok bool) {
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1, true
	}
	if i > len(b) {
		return 0, i, false
	}
	v, n := binary.Uvarint(b[i:])
	if n <= 0 {
		return 0, i, false
	}
	return v, i + n, true
}

// zigzag reads a signed (zigzag) varint at b[i:] and returns it as the
// uint64 with the same bits, which is what modular delta arithmetic needs.
func zigzag(b []byte, i int) (v uint64, next int, ok bool) {
	u, next, ok := uvarint(b, i)
	if !ok {
		return 0, i, false
	}
	return (u >> 1) ^ -(u & 1), next, true
}
