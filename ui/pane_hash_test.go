package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// testSocks are the test kernel's three socks from a snapshot: the
// listener on 8080, the client's connection and the server's child.
func testSocks(t *testing.T, k *stack.Kernel) (s *stack.Snapshot, listener, client, child *stack.SockSnap) {
	t.Helper()
	s, err := k.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Socks {
		sk := &s.Socks[i]
		switch {
		case sk.SockCommon.SkcState == "LISTEN":
			listener = sk
		case sk.SockCommon.SkcDport == 8080:
			client = sk
		case sk.SockCommon.SkcNum == 8080:
			child = sk
		}
	}
	if listener == nil || client == nil || child == nil {
		t.Fatalf("test kernel socks: %+v", s.Socks)
	}
	return s, listener, client, child
}

// chainIndex reads the bucket of skc_node ("ehash[42]") for table.
func chainIndex(t *testing.T, sk *stack.SockSnap, table string) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(sk.SockCommon.SkcNode, table+"[%d]", &i); err != nil {
		t.Fatalf("skc_node %q is not in %s", sk.SockCommon.SkcNode, table)
	}
	return i
}

// cursorLine is the pane's line with the cursor mark.
func cursorLine(t *testing.T, screen string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "║> ") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d cursor lines:\n%s", len(found), screen)
	}
	return found[0]
}

// TestHashPaneGolden: ehash zoomed with the client's connection selected:
// the summary, the hash inputs, the bucket array with its mark.
func TestHashPaneGolden(t *testing.T) {
	k, _, _ := testKernel(t)
	_, _, client, _ := testSocks(t, k)
	m := newTestModel(t, k)
	m.ctx.Sel.Sock = client.Sk
	screen := runKeys(t, m, "6", "z")
	requireGolden(t, screen)
}

// TestHashPaneFindsEstablishedInEhash: each established sock's ehash
// bucket (the one skc_node names) is marked, the cursor is on its entry,
// and the inputs line shows its ports and the bucket.
func TestHashPaneFindsEstablishedInEhash(t *testing.T) {
	k, _, _ := testKernel(t)
	_, _, client, child := testSocks(t, k)
	for _, sk := range []*stack.SockSnap{client, child} {
		m := newTestModel(t, k)
		m.ctx.Sel.Sock = sk.Sk
		screen := runKeys(t, m, "6", "z")
		idx := chainIndex(t, sk, "ehash")
		label := fmt.Sprintf("[0x%04x] %3d", idx, idx)
		cur := cursorLine(t, screen)
		if !strings.HasPrefix(cur, "║> * "+label) || !strings.Contains(cur, sk.Sk+" ESTABLISHED") || !strings.Contains(cur, "(selected)") {
			t.Errorf("cursor line %q, want the marked bucket %s with %s", cur, label, sk.Sk)
		}
		sc := sk.SockCommon
		for _, want := range []string{
			fmt.Sprintf("lport %d << 16 | fport %d", sc.SkcNum, sc.SkcDport),
			fmt.Sprintf("-> ehash[0x%04x] %d, skc_hash 0x%08x", idx, idx, sc.SkcHash),
			fmt.Sprintf("= %d", idx),
		} {
			if !strings.Contains(strings.Join(strings.Fields(screen), " "), want) {
				t.Errorf("%s: the hash inputs lack %q:\n%s", sk.Sk, want, screen)
			}
		}
		// Both connections are in ehash.
		for _, other := range []*stack.SockSnap{client, child} {
			if !strings.Contains(screen, other.Sk+" ESTABLISHED") {
				t.Errorf("ehash lacks %s", other.Sk)
			}
		}
	}
}

// TestHashPaneFindsListenerInLhash2: with the listener selected, lhash2
// (three t's away) marks the bucket the snapshot lists it in, and the
// inputs are its address and port.
func TestHashPaneFindsListenerInLhash2(t *testing.T) {
	k, _, _ := testKernel(t)
	s, listener, _, _ := testSocks(t, k)
	m := newTestModel(t, k)
	m.ctx.Sel.Sock = listener.Sk
	screen := runKeys(t, m, "6", "z", "t", "t", "t")
	if len(s.Hashinfo.Lhash2) != 1 || s.Hashinfo.Lhash2[0].Chain[0].Addr != listener.Sk {
		t.Fatalf("lhash2 in the snapshot: %+v", s.Hashinfo.Lhash2)
	}
	idx := s.Hashinfo.Lhash2[0].Index
	if got := chainIndex(t, listener, "lhash2"); got != idx {
		t.Fatalf("skc_node says lhash2[%d], the table %d", got, idx)
	}
	label := fmt.Sprintf("[0x%04x] %3d", idx, idx)
	if cur := cursorLine(t, screen); !strings.HasPrefix(cur, "║> * "+label) || !strings.Contains(cur, listener.Sk+" LISTEN") {
		t.Errorf("cursor line %q, want the marked bucket %s with the listener", cur, label)
	}
	flat := strings.Join(strings.Fields(screen), " ")
	for _, want := range []string{"6 hash: lhash2 256 buckets, 1 used",
		fmt.Sprintf("-> lhash2[0x%04x] %d: ipv4_portaddr_hash(addr 127.0.0.1, port 8080)", idx, idx)} {
		if !strings.Contains(flat, want) {
			t.Errorf("lhash2 screen lacks %q:\n%s", want, screen)
		}
	}
}

// TestHashPaneBindBuckets: in bhash the client's icsk_bind_hash bucket
// is marked; in bhash2 its tcp_bind2_bucket, with it as an owner.
func TestHashPaneBindBuckets(t *testing.T) {
	k, _, _ := testKernel(t)
	s, _, client, _ := testSocks(t, k)
	bucketOf := func(addr string) int {
		for _, b := range s.Hashinfo.Bhash {
			for _, tb := range b.Buckets {
				if tb.Tb == addr {
					return b.Index
				}
			}
		}
		for _, b := range s.Hashinfo.Bhash2 {
			for _, tb2 := range b.Buckets {
				if tb2.Tb2 == addr {
					return b.Index
				}
			}
		}
		t.Fatalf("no bind bucket %s", addr)
		return -1
	}
	m := newTestModel(t, k)
	m.ctx.Sel.Sock = client.Sk
	screen := runKeys(t, m, "6", "z", "t")
	idx := bucketOf(client.Icsk.IcskBindHash)
	if cur := cursorLine(t, screen); !strings.HasPrefix(cur, fmt.Sprintf("║> * [0x%04x] %3d", idx, idx)) || !strings.Contains(cur, "tb "+client.Icsk.IcskBindHash) {
		t.Errorf("bhash cursor line %q, want bucket %d with tb %s", cur, idx, client.Icsk.IcskBindHash)
	}
	if flat := strings.Join(strings.Fields(screen), " "); !strings.Contains(flat, fmt.Sprintf("(%d + 0x", client.SockCommon.SkcNum)) {
		t.Errorf("bhash inputs lack lport %d:\n%s", client.SockCommon.SkcNum, screen)
	}

	m = newTestModel(t, k)
	m.ctx.Sel.Sock = client.Sk
	screen = runKeys(t, m, "6", "z", "t", "t")
	idx = bucketOf(client.SockCommon.SkcBindNode)
	if !strings.Contains(screen, fmt.Sprintf("║  * [0x%04x] %3d   1  tb2 %s", idx, idx, client.SockCommon.SkcBindNode)) {
		t.Errorf("bhash2 does not mark bucket %d with tb2 %s:\n%s", idx, client.SockCommon.SkcBindNode, screen)
	}
	if cur := cursorLine(t, screen); !strings.Contains(cur, "owner "+client.Sk) || !strings.Contains(cur, "(selected)") {
		t.Errorf("bhash2 cursor line %q, want the client as owner", cur)
	}
}

// TestHashPaneTCycles: t goes ehash -> bhash -> bhash2 -> lhash2 -> ehash.
func TestHashPaneTCycles(t *testing.T) {
	k, _, _ := testKernel(t)
	keys := []any{"6"}
	for _, want := range []string{"ehash", "bhash", "bhash2", "lhash2", "ehash"} {
		screen := runKeys(t, newTestModel(t, k), keys...)
		if !strings.Contains(screen, "6 hash: "+want+" 256 buckets") || !strings.Contains(screen, " "+want+": 256 buckets") {
			t.Errorf("after %d t: want %s:\n%s", len(keys)-1, want, screen)
		}
		keys = append(keys, "t")
	}
}

// TestHashPaneEnterSelects: enter on a chain entry that is a full socket
// selects it (the sockets pane and the hash inputs follow); on an empty
// run it says why not.
func TestHashPaneEnterSelects(t *testing.T) {
	k, _, _ := testKernel(t)
	s, listener, _, _ := testSocks(t, k)
	second := s.Hashinfo.Ehash[1].Chain[0]
	m := newTestModel(t, k)
	m.ctx.Sel.Sock = listener.Sk
	screen := runKeys(t, m, "6", "z", "j", "enter")
	if m.ctx.Sel.Sock != second.Addr {
		t.Errorf("selected %s, want %s (the second ehash entry)", m.ctx.Sel.Sock, second.Addr)
	}
	if cur := cursorLine(t, screen); !strings.Contains(cur, second.Addr) || !strings.Contains(cur, "(selected)") {
		t.Errorf("cursor line %q, want %s selected", cur, second.Addr)
	}
	if !strings.Contains(screen, "selected ESTABLISHED "+second.Local) {
		t.Errorf("hash inputs do not follow the selection:\n%s", screen)
	}

	m = newTestModel(t, k)
	m.ctx.Sel.Sock = listener.Sk
	screen = runKeys(t, m, "6", "z", "G", "enter")
	if m.ctx.Sel.Sock != listener.Sk || !strings.Contains(screen, "not a full socket: [0x") {
		t.Errorf("enter on an empty run: selection %s, screen:\n%s", m.ctx.Sel.Sock, screen)
	}
}

// TestHashPaneFilter: a filter keeps the buckets with a matching entry
// (and drops the empty runs).
func TestHashPaneFilter(t *testing.T) {
	k, _, _ := testKernel(t)
	_, _, client, child := testSocks(t, k)
	// The end of the client's address matches its entry only.
	keys := []any{"6", "z", "/"}
	for _, r := range client.Sk[len(client.Sk)-5:] {
		keys = append(keys, string(r))
	}
	screen := runKeys(t, newTestModel(t, k), append(keys, "enter")...)
	if !strings.Contains(screen, client.Sk) || strings.Contains(screen, child.Sk+" ESTABLISHED") || strings.Contains(screen, "empty (") {
		t.Errorf("filter: want only the client's bucket:\n%s", screen)
	}
}

func TestHexWidth(t *testing.T) {
	for n, want := range map[int]int{1: 4, 256: 4, 65536: 4, 65537: 5, 1 << 24: 6} {
		if got := hexWidth(n); got != want {
			t.Errorf("hexWidth(%d) = %d, want %d", n, got, want)
		}
	}
}
