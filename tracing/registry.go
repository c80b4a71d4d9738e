package tracing

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// FuncID identifies a registered kernel function. IDs are assigned in
// registration order, which Go's package initialisation order makes the
// same in every run of the same binary; trace files store names as well, so
// they do not depend on it across versions.
type FuncID uint16

// Func describes one modelled kernel function.
type Func struct {
	ID   FuncID
	Name string // kernel name, e.g. "alloc_skb"
	File string // kernel source file, e.g. "net/core/skbuff.c"
	// Explain is one or two sentences for students: what the function does
	// and why it matters.
	Explain string
	// Inline marks a static inline helper (skb_headroom, skb_peek). ftrace
	// cannot see these on a real kernel; a stepper may skip them.
	Inline bool
	// Args names the arguments, in the order trace points pass them.
	Args   []string
	GoFunc string // the Go function that models it, e.g. "skb.AllocSkb"
	GoFile string // its file, relative to the module root
	GoLine int
}

// Spec is what a package hands to Register.
type Spec struct {
	Name    string
	File    string
	Explain string
	Inline  bool
	Args    []string
	// Go is the Go function that models the kernel function. Its name and
	// source position are recorded for the UI's "where is this in Go" view.
	Go any
}

// registry holds every registered function. It is written only while
// packages initialise (Register is called from var initialisers and init
// functions) and is read-only afterwards, so reading it needs no lock.
var registry = struct {
	funcs  []Func
	byName map[string]FuncID
}{
	funcs:  []Func{{ID: 0, Name: "(none)"}},
	byName: map[string]FuncID{},
}

// Register adds a kernel function to the registry and returns its ID. It must
// be called during package initialisation. Registering the same kernel name
// twice is a programming error and panics at start-up, before any kernel
// runs, so it cannot reach a user who runs a tested build.
func Register(s Spec) FuncID {
	if s.Name == "" || s.File == "" || s.Explain == "" {
		panic(fmt.Sprintf("tracing.Register: %q needs a name, a kernel file and an explanation", s.Name))
	}
	if _, dup := registry.byName[s.Name]; dup {
		panic(fmt.Sprintf("tracing.Register: %q registered twice", s.Name))
	}
	if len(registry.funcs) > int(^FuncID(0)) {
		panic("tracing.Register: too many functions")
	}
	f := Func{
		ID:      FuncID(len(registry.funcs)),
		Name:    s.Name,
		File:    s.File,
		Explain: s.Explain,
		Inline:  s.Inline,
		Args:    s.Args,
	}
	if s.Go != nil {
		f.GoFunc, f.GoFile, f.GoLine = goLocation(s.Go)
	}
	if len(s.Args) > MaxArgs {
		panic(fmt.Sprintf("tracing.Register: %q names %d arguments; events carry %d", s.Name, len(s.Args), MaxArgs))
	}
	registry.funcs = append(registry.funcs, f)
	registry.byName[s.Name] = f.ID
	return f.ID
}

// goLocation resolves a Go function value to its short name and position.
func goLocation(fn any) (name, file string, line int) {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func {
		panic(fmt.Sprintf("tracing.Register: Go is a %s, not a function", v.Kind()))
	}
	rf := runtime.FuncForPC(v.Pointer())
	if rf == nil {
		return "", "", 0
	}
	file, line = rf.FileLine(rf.Entry())
	name = rf.Name()
	// "github.com/stackscope/stackscope/skb.AllocSkb" -> "skb.AllocSkb"
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSuffix(name, "-fm")
	// Keep the path from the module root: "/src/skb/skbuff.go" -> "skb/skbuff.go".
	if root := moduleRoot(); root != "" {
		file = strings.TrimPrefix(file, root)
	}
	return name, file, line
}

// moduleRoot is the directory holding the module's source, with a trailing
// slash, found from this file's own position (tracing/registry.go). It works
// with and without -trimpath.
func moduleRoot() string {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	const tail = "tracing/registry.go"
	if !strings.HasSuffix(self, tail) {
		return ""
	}
	return strings.TrimSuffix(self, tail)
}

// Lookup returns the function registered under a kernel name.
func Lookup(name string) (Func, bool) {
	id, ok := registry.byName[name]
	if !ok {
		return Func{}, false
	}
	return registry.funcs[id], true
}

// FuncByID returns the function with the given ID; ID 0 and unknown IDs
// return a Func named "(none)".
func FuncByID(id FuncID) Func {
	if int(id) >= len(registry.funcs) {
		return registry.funcs[0]
	}
	return registry.funcs[id]
}

// Name returns the kernel name of a function ID.
func (id FuncID) Name() string { return FuncByID(id).Name }

// Funcs returns every registered function in registration order.
func Funcs() []Func {
	out := make([]Func, len(registry.funcs)-1)
	copy(out, registry.funcs[1:])
	return out
}
