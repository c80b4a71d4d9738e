package sockets

import "testing"

type icskOwner struct{ InetConnectionSock }

func TestAcceptQueueHoldsBacklogPlusOne(t *testing.T) {
	o := &icskOwner{}
	AttachOwner(&o.Sock, o)
	sk := &o.Sock
	sk.SkMaxAckBacklog = 2
	for i := 0; i < 3; i++ {
		if SkAcceptqIsFull(sk) {
			t.Fatalf("full after %d children with backlog 2", i)
		}
		SkAcceptqAdded(sk)
	}
	if !SkAcceptqIsFull(sk) {
		t.Error("three children with backlog 2: sk_acceptq_is_full is '>', so the queue is full now")
	}
	SkAcceptqRemoved(sk)
	if SkAcceptqIsFull(sk) {
		t.Error("still full after one was accepted")
	}
}

func TestSynQueueIsFullAboveTheBacklog(t *testing.T) {
	o := &icskOwner{}
	AttachOwner(&o.Sock, o)
	sk := &o.Sock
	sk.SkMaxAckBacklog = 4
	o.IcskAcceptQueue.Qlen = 4
	if InetCskReqskQueueIsFull(sk) {
		t.Error("qlen 4 with backlog 4 counts as full")
	}
	o.IcskAcceptQueue.Qlen = 5
	if !InetCskReqskQueueIsFull(sk) {
		t.Error("qlen 5 with backlog 4 is not full")
	}
}

func TestHlistAddsAtTheHead(t *testing.T) {
	var l hlist[SockCommon]
	a, b, c := &SockCommon{SkcNum: 1}, &SockCommon{SkcNum: 2}, &SockCommon{SkcNum: 3}
	for _, x := range []*SockCommon{a, b, c} {
		l.addHead(x, nodeOf)
	}
	got := chainOf(&l)
	if len(got) != 3 || got[0] != c || got[2] != a {
		t.Fatalf("chain order %v, want newest first", got)
	}
	l.del(b, nodeOf)
	l.del(b, nodeOf) // twice is harmless
	if got := chainOf(&l); len(got) != 2 || got[0] != c || got[1] != a || l.n != 2 {
		t.Errorf("after removing the middle: %v", got)
	}
}
