package tracing

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// ChromeProcessName is the name the Chrome trace gives its one process.
const ChromeProcessName = "stackscope kernel"

// ChromeWriter writes events as Chrome trace event JSON, the format
// chrome://tracing and Perfetto (ui.perfetto.dev) open:
//
//	{"traceEvents":[
//	{"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"stackscope kernel"}},
//	{"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"softirq"}},
//	{"name":"tcp_v4_rcv","cat":"net/ipv4/tcp_ipv4.c","ph":"B","ts":100000.000,"pid":1,"tid":0,"args":{"skb":"0xffff888004a3c000"}},
//	{"name":"tcp_v4_rcv","cat":"net/ipv4/tcp_ipv4.c","ph":"E","ts":100004.000,"pid":1,"tid":0,"args":{"ret":"0"}},
//	...
//	],"displayTimeUnit":"ns"}
//
// An Entry is a "B" (begin) event, an Exit an "E" (end) event with the
// return value as args.ret, a Point an instant "i" event on its thread.
// Each task is a thread: tid 0 is the kernel's own work (softirq: the
// receive path, timers), named "softirq"; any other tid is "task N".
// Timestamps are the kernel clock in microseconds, with the nanoseconds
// kept as three decimals.
//
// The JSON is streamed through a buffer, so a trace of millions of events
// costs little memory. An Exit with no open Entry on its thread (a trace
// that starts inside a call) is left out, since viewers reject it; an
// Entry whose Exit never comes (a process asleep in a system call when the
// recording stopped) stays open, which viewers show as a slice that did
// not end. Either way the JSON is valid.
type ChromeWriter struct {
	w      *bufio.Writer
	funcs  []chromeFunc      // by recorded FuncID, filled as they are met
	names  []string          // the trace's FuncID -> name table
	open   map[uint32]uint32 // tid -> Entry events without their Exit yet
	seen   map[uint32]bool   // tids whose thread_name is written
	buf    []byte            // one event being encoded
	elems  uint64            // array elements written, metadata included
	events uint64
	orphan uint64
	closed bool
	err    error
}

// chromeFunc is what the writer needs about one function, encoded once.
type chromeFunc struct {
	ready bool
	head  []byte   // "name":...,"cat":..., as JSON
	args  [][]byte // the argument names as JSON strings, with the colon
}

// NewChromeWriter starts a Chrome trace on w: the opening of the JSON and
// the process's name. funcs is the trace's function table (its header's
// Funcs: a FuncID is an index into it). Close must be called to finish
// the JSON.
func NewChromeWriter(w io.Writer, funcs []string) (*ChromeWriter, error) {
	c := &ChromeWriter{
		w:     bufio.NewWriterSize(w, 64<<10),
		funcs: make([]chromeFunc, len(funcs)),
		names: funcs,
		open:  map[uint32]uint32{},
		seen:  map[uint32]bool{},
	}
	c.w.WriteString(`{"traceEvents":[` + "\n")
	c.buf = c.appendMeta(c.buf[:0], "process_name", 0, ChromeProcessName)
	c.flushEvent()
	if c.err != nil {
		return nil, c.err
	}
	return c, nil
}

// Event writes one event; it does not keep ev. It has the Subscriber
// signature. After a write error it does nothing; Err and Close return
// the error.
func (c *ChromeWriter) Event(ev *Event) {
	if c.err != nil || c.closed {
		return
	}
	var ph byte
	switch ev.Kind {
	case Entry:
		ph = 'B'
		c.open[ev.Task]++
	case Exit:
		if c.open[ev.Task] == 0 {
			c.orphan++
			return
		}
		c.open[ev.Task]--
		ph = 'E'
	case Point:
		ph = 'i'
	default:
		c.orphan++
		return
	}
	if !c.seen[ev.Task] {
		c.seen[ev.Task] = true
		name := "softirq"
		if ev.Task != 0 {
			name = "task " + strconv.FormatUint(uint64(ev.Task), 10)
		}
		c.buf = c.appendMeta(c.buf[:0], "thread_name", ev.Task, name)
		c.flushEvent()
	}
	f := c.function(ev.Func)
	b := append(c.buf[:0], '{')
	b = append(b, f.head...)
	b = append(b, `"ph":"`...)
	b = append(b, ph)
	b = append(b, `","ts":`...)
	b = appendMicros(b, ev.Time)
	b = append(b, `,"pid":1,"tid":`...)
	b = strconv.AppendUint(b, uint64(ev.Task), 10)
	if ph == 'i' {
		b = append(b, `,"s":"t"`...)
	}
	if ph == 'E' {
		if ret := ev.Ret(); ret.Kind != ArgNone {
			b = append(b, `,"args":{"ret":`...)
			b = appendJSONString(b, FormatArg(ret, nil))
			b = append(b, '}')
		}
	} else if ev.NArg > 0 {
		b = append(b, `,"args":{`...)
		for i := 0; i < int(ev.NArg) && i < MaxArgs; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if i < len(f.args) {
				b = append(b, f.args[i]...)
			} else {
				b = append(b, `"a`...)
				b = strconv.AppendInt(b, int64(i), 10)
				b = append(b, `":`...)
			}
			b = appendJSONString(b, FormatArg(ev.Arg(i), nil))
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	c.buf = b
	c.flushEvent()
	if c.err == nil {
		c.events++
	}
}

// function returns the encoded name, category and argument names of a
// recorded FuncID, looking them up the first time.
func (c *ChromeWriter) function(id FuncID) *chromeFunc {
	if int(id) >= len(c.funcs) {
		c.funcs = append(c.funcs, make([]chromeFunc, int(id)+1-len(c.funcs))...)
	}
	f := &c.funcs[id]
	if f.ready {
		return f
	}
	f.ready = true
	name := fmt.Sprintf("func#%d", id) // not in the trace's table
	if int(id) < len(c.names) && c.names[id] != "" {
		name = c.names[id]
	}
	cat := "kernel"
	var argNames []string
	if reg, ok := Lookup(name); ok {
		if reg.File != "" {
			cat = reg.File
		}
		argNames = reg.Args
	}
	f.head = append(f.head, `"name":`...)
	f.head = appendJSONString(f.head, name)
	f.head = append(f.head, `,"cat":`...)
	f.head = appendJSONString(f.head, cat)
	f.head = append(f.head, ',')
	for i := range MaxArgs {
		n := "a" + strconv.Itoa(i)
		if i < len(argNames) && argNames[i] != "" {
			n = argNames[i]
		}
		a := appendJSONString(nil, n)
		f.args = append(f.args, append(a, ':'))
	}
	return f
}

// appendMeta encodes a metadata event that names the process or a thread.
func (c *ChromeWriter) appendMeta(b []byte, what string, tid uint32, name string) []byte {
	b = append(b, `{"name":"`...)
	b = append(b, what...)
	b = append(b, `","ph":"M","pid":1,"tid":`...)
	b = strconv.AppendUint(b, uint64(tid), 10)
	b = append(b, `,"args":{"name":`...)
	b = appendJSONString(b, name)
	return append(b, `}}`...)
}

// flushEvent writes c.buf as the next element of the array, after a
// comma unless it is the first.
func (c *ChromeWriter) flushEvent() {
	if c.err != nil {
		return
	}
	if c.elems > 0 {
		c.w.WriteString(",\n")
	}
	if _, err := c.w.Write(c.buf); err != nil {
		c.err = fmt.Errorf("chrome trace: write: %w", err)
		return
	}
	c.elems++
}

// Events returns how many trace events (B, E and i, not the metadata)
// have been written.
func (c *ChromeWriter) Events() uint64 { return c.events }

// Skipped returns how many events were left out: Exits with no open Entry
// on their thread, and events of an unknown kind.
func (c *ChromeWriter) Skipped() uint64 { return c.orphan }

// Err returns the first write error.
func (c *ChromeWriter) Err() error { return c.err }

// Close ends the JSON and flushes it. It does not close the underlying
// writer. It returns the first error of the whole export; calling it again
// returns the same.
func (c *ChromeWriter) Close() error {
	if c.closed {
		return c.err
	}
	c.closed = true
	if c.err != nil {
		return c.err
	}
	c.w.WriteString("\n],\"displayTimeUnit\":\"ns\"}\n")
	if err := c.w.Flush(); err != nil {
		c.err = fmt.Errorf("chrome trace: write: %w", err)
	}
	return c.err
}

// appendMicros appends ns as microseconds with exactly three decimals
// (100004000 ns -> 100004.000), so no precision is lost to floats.
func appendMicros(b []byte, ns int64) []byte {
	u := uint64(ns)
	if ns < 0 {
		b = append(b, '-')
		u = uint64(-ns)
	}
	b = strconv.AppendUint(b, u/1000, 10)
	frac := u % 1000
	return append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
