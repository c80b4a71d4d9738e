package ui

import (
	"testing"
	"time"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// attachedRing reports whether the feed's ring is on the kernel's tracer.
func attachedRing(t *testing.T, k *stack.Kernel) bool {
	t.Helper()
	r, err := k.DoPaused("ring?", func(k *stack.Kernel) any { return k.Tracer().Ring() != nil })
	if err != nil {
		t.Fatal(err)
	}
	return r.(bool)
}

// TestFeedSamplesWhenBusy: a burst of far more events than the ring holds
// between two frames puts the feed in sampling mode (the ring comes off
// the tracer until shortly before the next frame, and the frame says
// Sampled); a quiet interval after it ends sampling.
func TestFeedSamplesWhenBusy(t *testing.T) {
	k := freshKernel(t)
	f, err := NewFeed(k, 60*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, _ := k.NewProcess("busy")
	for range 2000 { // about 40 events each
		fd, err := p.Socket(sockets.AF_INET, sockets.SOCK_STREAM, sockets.IPPROTO_TCP)
		if err != nil {
			t.Fatal(err)
		}
		_ = p.Close(fd)
	}
	var fr Frame
	if err := f.take(&fr); err != nil {
		t.Fatal(err)
	}
	if !fr.Sampled || len(fr.Events) != frameEvents || fr.EventSeq < busyFactor*feedEvents {
		t.Fatalf("after %d events: sampled %v, %d events in the frame", fr.EventSeq, fr.Sampled, len(fr.Events))
	}
	if attachedRing(t, k) {
		t.Error("the ring stays on the tracer while sampling")
	}
	// Shortly before the next frame it records again.
	deadline := time.Now().Add(2 * time.Second)
	for !attachedRing(t, k) {
		if time.Now().After(deadline) {
			t.Fatal("the ring never came back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fd, _ := p.Socket(sockets.AF_INET, sockets.SOCK_STREAM, sockets.IPPROTO_TCP)
	_ = p.Close(fd)
	if err := f.take(&fr); err != nil {
		t.Fatal(err)
	}
	if fr.Sampled || !attachedRing(t, k) {
		t.Errorf("a quiet interval: sampled %v, ring attached %v", fr.Sampled, attachedRing(t, k))
	}
}
