package stack

import (
	"strconv"

	"github.com/stackscope/stackscope/sockets"
	"strings"
	"testing"
)

func TestVirtualTimersFireInOrder(t *testing.T) {
	f := boot(t, Config{})
	var fired []string
	_, err := f.k.Do("arm", func(k *Kernel) any {
		for _, x := range []struct {
			name string
			at   int64
		}{{"c", 3e9}, {"a", 1e9}, {"b", 1e9}, {"d", 60e9}} {
			name := x.name
			k.ModTimer(NewTimer(name, func() { fired = append(fired, name+"@"+strconv.FormatInt(k.clock.Now(), 10)) }), x.at)
		}
		gone := NewTimer("gone", func() { fired = append(fired, "gone") })
		k.ModTimer(gone, 2e9)
		k.DelTimer(gone)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.k.AdvanceTo(5e9); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fired, " "); got != "a@1000000000 b@1000000000 c@3000000000" {
		t.Errorf("fired %q", got)
	}
	if ok, _ := f.k.AdvanceToNextTimer(); !ok {
		t.Fatal("no timer left")
	}
	if now, _ := f.k.Now(); now != 60e9 || len(fired) != 4 {
		t.Errorf("now %d, fired %v", now, fired)
	}
	if ok, _ := f.k.AdvanceToNextTimer(); ok {
		t.Error("a timer fired from an empty queue")
	}
}

// TestIdleAdvanceJumpsToTheNextTimer: with IdleAdvance, a task sleeping
// with a timeout wakes as soon as nothing else is to be done, with the
// virtual clock at its expiry.
func TestIdleAdvanceJumpsToTheNextTimer(t *testing.T) {
	f := boot(t, Config{IdleAdvance: true})
	fd := f.socket(t)
	if err := f.p.Listen(fd, 5); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_RCVTIMEO, sockets.Optval{TvSec: 3}); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.p.Accept4(fd, 0)
	if errnoOf(err) != 11 {
		t.Fatalf("accept with a 3 s timeout: %v, want EAGAIN", err)
	}
	if now, _ := f.k.Now(); now != 3e9 {
		t.Errorf("virtual time after the timeout: %d ns, want 3 s", now)
	}
}
