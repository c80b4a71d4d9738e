package stack

import (
	"strconv"
	"testing"
	"time"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

func (f *fixture) nextStop(t *testing.T) Stop {
	t.Helper()
	select {
	case st := <-f.k.Stops():
		return st
	case <-time.After(10 * time.Second):
		t.Fatal("the kernel did not stop")
	}
	return Stop{}
}

func inUse(s *Snapshot, cache string) uint64 {
	for _, c := range s.Slabinfo {
		if c.Name == cache {
			return c.InUse
		}
	}
	return 0
}

// TestSteppingThroughSocket: a breakpoint on sk_alloc stops socket() there;
// next, step and finish move as in gdb; a snapshot taken while stopped
// shows the kernel exactly between two steps.
func TestSteppingThroughSocket(t *testing.T) {
	f := boot(t, Config{})
	if err := f.k.EnableStepping(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.AddBreakpoint("sk_al*"); err != nil {
		t.Fatal(err)
	}
	if err := f.k.Step(tracing.StepInto); err == nil {
		t.Error("stepping a running kernel was accepted")
	}
	pd := f.p.Start(Syscall{Name: "socket", Args: [4]int64{sockets.AF_INET, sockets.SOCK_STREAM, 0}})
	st := f.nextStop(t)
	if st.Event.Func.Name() != "sk_alloc" || st.Event.Kind != tracing.Entry {
		t.Fatalf("stopped at %v", st)
	}
	depth := st.Event.Depth
	s := f.snapshot(t)
	if s.Paused == nil || inUse(s, "sock_inode_cache") != 1 || inUse(s, "TCP") != 0 || len(s.Socks) != 0 {
		t.Fatalf("snapshot at sk_alloc entry: paused %v, sock_inode_cache %d, TCP %d, socks %d",
			s.Paused, inUse(s, "sock_inode_cache"), inUse(s, "TCP"), len(s.Socks))
	}
	if pd.Ready() {
		t.Fatal("the syscall finished while the kernel was stopped")
	}

	// next: over sk_alloc's callees to its return.
	if err := f.k.Step(tracing.StepOver); err != nil {
		t.Fatal(err)
	}
	st = f.nextStop(t)
	if st.Event.Func.Name() != "sk_alloc" || st.Event.Kind != tracing.Exit || st.Event.Depth != depth {
		t.Fatalf("next stopped at %v", st)
	}
	if s := f.snapshot(t); inUse(s, "TCP") != 1 {
		t.Errorf("after sk_alloc returned, TCP has %d objects in use", inUse(s, "TCP"))
	}

	// step: the very next event.
	if err := f.k.Step(tracing.StepInto); err != nil {
		t.Fatal(err)
	}
	st = f.nextStop(t)
	if st.Event.Func.Name() != "sock_init_data" || st.Event.Kind != tracing.Entry {
		t.Fatalf("step stopped at %v", st)
	}
	// finish from an entry: to that function's return.
	if err := f.k.Step(tracing.StepOut); err != nil {
		t.Fatal(err)
	}
	st = f.nextStop(t)
	if st.Event.Func.Name() != "sock_init_data" || st.Event.Kind != tracing.Exit {
		t.Fatalf("finish from sock_init_data's entry stopped at %v", st)
	}
	// finish again: out of the caller, inet_create.
	if err := f.k.Step(tracing.StepOut); err != nil {
		t.Fatal(err)
	}
	st = f.nextStop(t)
	if st.Event.Func.Name() != "inet_create" || st.Event.Kind != tracing.Exit {
		t.Fatalf("finish stopped at %v", st)
	}
	// A breakpoint on an event number, then continue to it.
	if _, err := f.k.AddEventBreakpoint(st.Event.Seq + 3); err != nil {
		t.Fatal(err)
	}
	if err := f.k.Step(tracing.Continue); err != nil {
		t.Fatal(err)
	}
	st = f.nextStop(t)
	if st.Why != "breakpoint #2 at event "+strconv.FormatUint(st.Event.Seq, 10) {
		t.Errorf("stopped at %v", st)
	}
	if err := f.k.Step(tracing.Continue); err != nil {
		t.Fatal(err)
	}
	if fd, err := pd.Wait(); fd != 3 || err != nil {
		t.Errorf("socket returned %d, %v", fd, err)
	}
}

// TestInputsWaitWhileStopped: a syscall from another process that arrives
// while the kernel is stopped runs only after it resumes.
func TestInputsWaitWhileStopped(t *testing.T) {
	f := boot(t, Config{})
	other, err := f.k.NewProcess("other")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.k.EnableStepping(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.AddBreakpoint("tcp_init_sock"); err != nil {
		t.Fatal(err)
	}
	first := f.p.Start(Syscall{Name: "socket", Args: [4]int64{sockets.AF_INET, sockets.SOCK_STREAM, 0}})
	f.nextStop(t)
	second := other.Start(Syscall{Name: "socket", Args: [4]int64{sockets.AF_INET, sockets.SOCK_DGRAM, 0}})
	if s := f.snapshot(t); inUse(s, "UDP") != 0 {
		t.Error("the other process's socket() ran while the kernel was stopped")
	}
	if _, err := f.k.DeleteBreakpoint(1); err != nil {
		t.Fatal(err)
	}
	if err := f.k.Step(tracing.Continue); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Wait(); err != nil {
		t.Fatal(err)
	}
	if fd, err := second.Wait(); fd != 3 || err != nil {
		t.Errorf("the waiting socket(): %d %v", fd, err)
	}
}
