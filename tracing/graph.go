package tracing

import (
	"fmt"
	"io"
	"path"
	"strings"
)

// Graph writes events as an ftrace function_graph: a function with callees
// opens a brace and closes it with its return value; a function without
// callees prints on one line. Point events print as comments.
//
//	__sys_socket(family=2, type=1, protocol=6) {
//	  sock_alloc() {
//	    kmem_cache_alloc(s=sock_inode_cache) = 0xffff888004000000;
//	  } = 0xffff888004000000
//	} = 3
type Graph struct {
	w       io.Writer
	r       Resolver
	pending *Event // an entry whose exit may follow at once
	held    Event
	base    uint16 // depth printed at column 0
	err     error
}

// NewGraph returns a graph writer; r names addresses where it can (nil:
// raw values). Events deeper than base are indented relative to it.
func NewGraph(w io.Writer, r Resolver) *Graph { return &Graph{w: w, r: r} }

// SetBase sets the depth that prints at column 0.
func (g *Graph) SetBase(depth uint16) { g.base = depth }

// Err returns the first write error.
func (g *Graph) Err() error { return g.err }

func (g *Graph) indent(depth uint16) string {
	if depth < g.base {
		return ""
	}
	return strings.Repeat("  ", int(depth-g.base))
}

func (g *Graph) line(s string) {
	if g.err == nil {
		_, g.err = io.WriteString(g.w, s+"\n")
	}
}

// GraphCall is a call as the function graph prints it: the kernel name and
// its named arguments ("sk_alloc(family=2, priority=0xcc0)").
func GraphCall(ev *Event, r Resolver) string {
	f := FuncByID(ev.Func)
	var b strings.Builder
	b.WriteString(f.Name)
	b.WriteByte('(')
	for i := 0; i < int(ev.NArg) && i < MaxArgs; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if i < len(f.Args) {
			b.WriteString(f.Args[i])
			b.WriteByte('=')
		}
		b.WriteString(FormatArg(ev.Arg(i), r))
	}
	b.WriteByte(')')
	return b.String()
}

func graphRet(ev *Event, r Resolver) string {
	if ev.Ret().Kind == ArgNone {
		return ""
	}
	return " = " + FormatArg(ev.Ret(), r)
}

// The lines of a function graph, without their indentation, for writers
// that lay the graph out themselves (Graph, the inspector's trace pane).

// GraphOpen is an entry that opens a block: "name(args) {".
func GraphOpen(entry *Event, r Resolver) string { return GraphCall(entry, r) + " {" }

// GraphLeaf is an entry and its exit with nothing between them, folded to
// one line: "name(args) = ret;".
func GraphLeaf(entry, exit *Event, r Resolver) string {
	return GraphCall(entry, r) + graphRet(exit, r) + ";"
}

// GraphClose is an exit that closes a block: "} = ret /* name */".
func GraphClose(exit *Event, r Resolver) string {
	return "}" + graphRet(exit, r) + " /* " + exit.Func.Name() + " */"
}

// GraphPoint is a point event, as a comment: "/* name(args) */".
func GraphPoint(ev *Event, r Resolver) string { return "/* " + GraphCall(ev, r) + " */" }

// Closes reports whether exit returns from entry (the same function, depth
// and task), so that the two fold to one line if nothing came between.
func Closes(entry, exit *Event) bool {
	return exit.Kind == Exit && entry.Func == exit.Func && entry.Depth == exit.Depth && entry.Task == exit.Task
}

// flush prints a held entry as the opening of a block.
func (g *Graph) flush() {
	if g.pending != nil {
		g.line(g.indent(g.pending.Depth) + GraphOpen(g.pending, g.r))
		g.pending = nil
	}
}

// Event adds one event to the graph. It is a Subscriber.
func (g *Graph) Event(ev *Event) {
	switch ev.Kind {
	case Entry:
		g.flush()
		g.held = *ev
		g.pending = &g.held
	case Exit:
		if p := g.pending; p != nil && Closes(p, ev) {
			g.line(g.indent(ev.Depth) + GraphLeaf(p, ev, g.r))
			g.pending = nil
			return
		}
		g.flush()
		g.line(g.indent(ev.Depth) + GraphClose(ev, g.r))
	case Point:
		g.flush()
		g.line(g.indent(ev.Depth) + GraphPoint(ev, g.r))
	}
}

// Close prints anything still held.
func (g *Graph) Close() error {
	g.flush()
	return g.err
}

// Only returns a subscriber that feeds g just the calls of functions whose
// kernel name matches glob ("tcp_*", "ip_rcv"), with everything they call,
// each call printed from column 0.
func (g *Graph) Only(glob string) (Subscriber, error) {
	if _, err := path.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("bad pattern %q: %v", glob, err)
	}
	type span struct {
		fn    FuncID
		depth uint16
	}
	active := map[uint32]*span{} // by task
	return func(ev *Event) {
		sp := active[ev.Task]
		if sp == nil {
			if ev.Kind != Entry || !matchName(glob, ev.Func.Name()) {
				return
			}
			sp = &span{fn: ev.Func, depth: ev.Depth}
			active[ev.Task] = sp
			g.SetBase(ev.Depth)
		}
		g.Event(ev)
		if ev.Kind == Exit && ev.Func == sp.fn && ev.Depth == sp.depth {
			delete(active, ev.Task)
		}
	}, nil
}
