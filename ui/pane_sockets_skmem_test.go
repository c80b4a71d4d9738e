package ui

import (
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// TestSkmemColumnReadsAsSs: the skmem column means what ss -m means:
// t is sk_wmem_alloc (less the sock's own reference), w is
// sk_wmem_queued. The previous build printed sk_wmem_queued under t.
func TestSkmemColumnReadsAsSs(t *testing.T) {
	s := &stack.SockSnap{
		Sk: "0xffff888000000000", Proto: "TCP",
		SockCommon:  stack.SockCommonSnap{SkcState: "ESTABLISHED", SkcRcvSaddr: "10.0.0.1", SkcNum: 80, SkcDaddr: "10.0.0.2", SkcDport: 4000},
		SkRmemAlloc: 1280, SkRcvbuf: 131072, SkWmemAlloc: 2305, SkSndbuf: 16384, SkWmemQueued: 6912,
	}
	cols, _ := sockColumnsOf(s, map[string]string{})
	if sockColumns[7] != "skmem r/rb t/tb w" {
		t.Errorf("header %q, want %q", sockColumns[7], "skmem r/rb t/tb w")
	}
	if want := "1280/131072 2304/16384 6912"; cols[7] != want {
		t.Errorf("skmem %q, want %q", cols[7], want)
	}
	if len(cols[7]) > sockWidths[7] {
		t.Errorf("skmem %q is wider than its column (%d)", cols[7], sockWidths[7])
	}
}
