package ui

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/stack"
)

// runKeysAndDo is runKeys with one more kind of step: a func() runs
// between frames (to change the kernel), then a frame is taken.
func runKeysAndDo(t *testing.T, m *Model, steps ...any) string {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(testW, testH),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	frames := 0
	frame := func() {
		tm.Send(RefreshMsg{})
		frames++
		deadline := time.Now().Add(5 * time.Second)
		for m.frameCount() < frames {
			if time.Now().After(deadline) {
				t.Fatalf("no frame %d", frames)
			}
			time.Sleep(time.Millisecond)
		}
	}
	frame()
	for _, s := range steps {
		switch v := s.(type) {
		case string:
			tm.Send(keyMsg(v))
		case func():
			v()
		case tea.Msg:
			tm.Send(v)
		}
		frame()
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	return ansi.Strip(fm.View().Content)
}

// cacheStats is a cache's line of a snapshot's slabinfo.
func cacheStats(t *testing.T, k *stack.Kernel, name string) slab.CacheStats {
	t.Helper()
	s, err := k.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range s.Slabinfo {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no cache %s", name)
	return slab.CacheStats{}
}

// slabRowOf finds a cache's row on the screen: its line ending in the name.
func slabRowOf(t *testing.T, screen, name string) []string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^║[> ] (.*) ` + regexp.QuoteMeta(name) + ` *║$`)
	m := re.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no row for cache %s:\n%s", name, screen)
	}
	return strings.Fields(m[1])
}

// slabNames are the cache names of the rows on screen, in order.
func slabNames(screen string) []string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		if !strings.HasPrefix(l, "║  ") && !strings.HasPrefix(l, "║> ") {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(strings.Trim(l, "║"), ">"))
		if len(f) < 9 {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err == nil {
			out = append(out, f[len(f)-1])
		}
	}
	return out
}

// TestSlabPaneGolden: the slab pane zoomed: slabtop's summary and columns,
// in use, change and history.
func TestSlabPaneGolden(t *testing.T) {
	k, _, _ := testKernel(t)
	screen := runKeys(t, newTestModel(t, k), "5", "z")
	for _, want := range []string{"5 slab (26 caches) by active", "Active / Total Objects (% used)",
		"OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE IN USE   +/- HISTORY", "request_sock_TCP"} {
		if !strings.Contains(screen, want) {
			t.Errorf("slab pane lacks %q:\n%s", want, screen)
		}
	}
	requireGolden(t, screen)
}

// TestSlabPaneTCPCountsAndChange: the TCP row shows the snapshot's
// active_objs and in_use, and after a new socket is made between two
// frames, its change "+1".
func TestSlabPaneTCPCountsAndChange(t *testing.T) {
	k, _, _ := testKernel(t)
	before := cacheStats(t, k, "TCP")
	screen := runKeysAndDo(t, newTestModel(t, k), "5", "z")
	// OBJS ACTIVE USE OBJSIZE SLABS OBJ/SLAB CACHESIZE IN-USE [+/-] HISTORY
	row := slabRowOf(t, screen, "TCP")
	if row[1] != fmt.Sprint(before.ActiveObjs) || row[7] != fmt.Sprint(before.InUse) {
		t.Errorf("TCP row %v: want ACTIVE %d and IN USE %d", row, before.ActiveObjs, before.InUse)
	}
	if strings.HasPrefix(row[8], "+") || strings.HasPrefix(row[8], "-") {
		t.Errorf("TCP row %v shows a change with no new socket", row)
	}

	k2, srv2, _ := testKernel(t)
	screen = runKeysAndDo(t, newTestModel(t, k2), "5", "z", func() {
		if _, err := srv2.ListenTCP(netip.MustParseAddrPort("127.0.0.1:9090"), 4); err != nil {
			t.Fatal(err)
		}
	})
	after := cacheStats(t, k2, "TCP")
	row = slabRowOf(t, screen, "TCP")
	if after.InUse != before.InUse+1 {
		t.Fatalf("in_use %d after a new socket, want %d", after.InUse, before.InUse+1)
	}
	if row[1] != fmt.Sprint(after.ActiveObjs) || row[7] != fmt.Sprint(after.InUse) || row[8] != "+1" {
		t.Errorf("TCP row %v: want ACTIVE %d, IN USE %d and +1", row, after.ActiveObjs, after.InUse)
	}
	// The sparkline stepped up on the last frame.
	if !strings.HasSuffix(row[9], "▁█") {
		t.Errorf("TCP history %q, want a step up from ▁ to █ at the end", row[9])
	}
}

// TestSlabPaneKeys: o sorts by the next column, e hides the empty caches,
// a filter narrows to matching names, j moves the cursor.
func TestSlabPaneKeys(t *testing.T) {
	k, _, _ := testKernel(t)
	screen := runKeys(t, newTestModel(t, k), "5", "z", "o")
	if !strings.Contains(screen, "slab (26 caches) by size") {
		t.Errorf("o did not sort by cache size:\n%s", screen)
	}
	// TCP's slabs take 32K, the most; then sock_inode_cache's 16K.
	if names := slabNames(screen); len(names) < 2 || names[0] != "TCP" || names[1] != "sock_inode_cache" {
		t.Errorf("by cache size: %v, want TCP, sock_inode_cache first", names)
	}
	screen = runKeys(t, newTestModel(t, k), "5", "z", "o", "o", "o")
	if names := slabNames(screen); !strings.Contains(screen, "by name") || len(names) < 2 || names[0] != "PING" || names[1] != "RAW" {
		t.Errorf("by name: %v, want PING, RAW first", names)
	}

	screen = runKeys(t, newTestModel(t, k), "5", "z", "e")
	if !strings.Contains(screen, "empty hidden") || strings.Contains(screen, " PING ") || !strings.Contains(screen, " TCP ") {
		t.Errorf("e did not hide the empty caches (PING) only:\n%s", screen)
	}

	screen = runKeys(t, newTestModel(t, k), "5", "z", "/", "T", "C", "P", "enter")
	if !strings.Contains(screen, "slab (3 caches)") || strings.Contains(screen, " filp ") {
		t.Errorf("filter TCP: want TCP, request_sock_TCP and tw_sock_TCP only:\n%s", screen)
	}

	screen = runKeys(t, newTestModel(t, k), "5", "z", "j")
	var cursor []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "║> ") {
			cursor = append(cursor, l)
		}
	}
	// By active, tcp_bind2_bucket and tcp_bind_bucket (64 each) lead; j
	// moves to the second.
	if len(cursor) != 1 || !strings.Contains(cursor[0], "tcp_bind_bucket") {
		t.Errorf("cursor after j: %q", cursor)
	}
}

// TestSparkline: scaled between the cache's own minimum and maximum,
// newest last, padded while the history is short.
func TestSparkline(t *testing.T) {
	for _, c := range []struct {
		vals []uint64
		want string
	}{
		{nil, "    "},
		{[]uint64{0, 0}, "  ▁▁"},
		{[]uint64{5, 5, 5}, " ▄▄▄"},
		{[]uint64{1, 2, 3, 8}, "▁▂▃█"},
		{[]uint64{9, 1, 2, 3, 8}, "▁▂▃█"},
	} {
		if got := string(sparkline(c.vals, 4)); got != c.want {
			t.Errorf("sparkline(%v) = %q, want %q", c.vals, got, c.want)
		}
	}
}
