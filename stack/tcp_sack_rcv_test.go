package stack

import (
	"slices"
	"testing"

	"github.com/stackscope/stackscope/stack/header"
)

// TestSackBlocksMostRecentFirst: the receiver's SACK blocks keep the
// order tcp_sack_new_ofo_skb gives them: a new range goes first and
// pushes the others down (the fifth forgets the oldest), a range that
// extends a block moves that block to the front and merges what it now
// touches, and blocks rcv_nxt passes are removed.
func TestSackBlocksMostRecentFirst(t *testing.T) {
	tp := &TcpSock{}
	blocks := func() []header.SackBlock { return tcpSackBlocks(tp, TCP_NUM_SACKS) }
	b := func(s, e uint32) header.SackBlock { return header.SackBlock{Start: s, End: e} }
	for _, r := range [][2]uint32{{10, 20}, {30, 40}, {50, 60}} {
		tcpSackNewOfoSkb(tp, r[0], r[1], nil)
	}
	if got, want := blocks(), []header.SackBlock{b(50, 60), b(30, 40), b(10, 20)}; !slices.Equal(got, want) {
		t.Fatalf("after three ranges: %v, want %v", got, want)
	}
	tcpSackNewOfoSkb(tp, 40, 45, nil) // extends 30..40, which moves to the front
	if got, want := blocks(), []header.SackBlock{b(30, 45), b(50, 60), b(10, 20)}; !slices.Equal(got, want) {
		t.Fatalf("after extending the middle one: %v, want %v", got, want)
	}
	tcpSackNewOfoSkb(tp, 20, 30, nil) // joins 10..20 and 30..45
	if got, want := blocks(), []header.SackBlock{b(10, 45), b(50, 60)}; !slices.Equal(got, want) {
		t.Fatalf("after filling between two: %v, want %v", got, want)
	}
	for _, r := range [][2]uint32{{70, 80}, {90, 100}, {110, 120}} {
		tcpSackNewOfoSkb(tp, r[0], r[1], nil)
	}
	if got, want := blocks(), []header.SackBlock{b(110, 120), b(90, 100), b(70, 80), b(10, 45)}; !slices.Equal(got, want) {
		t.Fatalf("with five ranges, the oldest forgotten: %v, want %v", got, want)
	}
	tp.RcvNxt = 45 // the hole below 10 filled
	tcpSackRemove(tp, false)
	if got, want := blocks(), []header.SackBlock{b(110, 120), b(90, 100), b(70, 80)}; !slices.Equal(got, want) {
		t.Fatalf("after rcv_nxt passed 10..45: %v, want %v", got, want)
	}
	if got := tcpSackBlocks(tp, 2); !slices.Equal(got, []header.SackBlock{b(110, 120), b(90, 100)}) {
		t.Errorf("two blocks of room: %v", got)
	}
	tcpSackRemove(tp, true)
	if len(blocks()) != 0 {
		t.Errorf("an empty out-of-order queue leaves %v", blocks())
	}
}
