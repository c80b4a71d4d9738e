package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// TestMarkdownNotesHoldTheBookmarks: lecture notes of a recorded
// handshake with two bookmarks have both, in event order, each with its
// note, the function graph around it and the queues as they were then.
func TestMarkdownNotesHoldTheBookmarks(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "hs.trace")
	if out, err := runCLI(t, "run", "handshake", "--check", "--record", trace); err != nil {
		t.Fatalf("record: %v\n%s", err, out)
	}
	tl, err := stack.ScanTrace(func() (*tracing.TraceReader, error) { return tracing.OpenTrace(trace) })
	if err != nil {
		t.Fatal(err)
	}
	hashAdd, _ := tracing.Lookup("inet_csk_reqsk_queue_hash_add")
	queueAdd, _ := tracing.Lookup("inet_csk_reqsk_queue_add")
	var synAt, acceptAt uint64
	for i, e := range tl.Events {
		if e.Kind == tracing.Entry && e.Func == hashAdd.ID && synAt == 0 {
			synAt = uint64(i) + 1
		}
		if e.Kind == tracing.Exit && e.Func == queueAdd.ID && acceptAt == 0 {
			acceptAt = uint64(i) + 1
		}
	}
	marks, err := tracing.LoadBookmarks(trace)
	if err != nil {
		t.Fatal(err)
	}
	// Set out of order: the notes sort them.
	if err := marks.Set(tracing.Bookmark{Seq: acceptAt, Title: "The child is accepted", Note: "The final ACK moved it to the accept queue."}); err != nil {
		t.Fatal(err)
	}
	if err := marks.Set(tracing.Bookmark{Seq: synAt, Title: "A request sock is born", Note: "Ask: why not a full sock yet?"}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	n, err := writeMarkdown(trace, &b)
	if err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if n != 2 {
		t.Fatalf("%d bookmarks written, want 2", n)
	}
	first := strings.Index(md, "## 1. A request sock is born")
	second := strings.Index(md, "## 2. The child is accepted")
	if first < 0 || second < first {
		t.Fatalf("bookmarks missing or out of order:\n%s", md)
	}
	for _, want := range []string{
		"Ask: why not a full sock yet?", "The final ACK moved it to the accept queue.",
		"inet_csk_reqsk_queue_hash_add(", "<- here",
		"accept queue 1 / 8", "| 1 | 0.000000 | add device tun0",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the notes lack %q", want)
		}
	}
	// At the first bookmark the request is not yet in the SYN queue (the
	// entry of the function that puts it there); at the second the SYN
	// queue is empty again and the child waits.
	if sec := md[first:second]; !strings.Contains(sec, "SYN queue qlen 0") {
		t.Errorf("the first bookmark's queues should show an empty SYN queue:\n%s", sec)
	}
	if sec := md[second:]; !strings.Contains(sec, "accept queue 1 / 8") {
		t.Errorf("the second bookmark's queues should show the child:\n%s", sec)
	}
	t.Log(md[first:min(len(md), first+3000)])
}
