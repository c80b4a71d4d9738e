package sockets

import (
	"strings"
	"testing"
)

type fakeWaiter struct {
	name  string
	woken *[]string
}

func (w *fakeWaiter) Wake() { *w.woken = append(*w.woken, w.name) }

func TestExclusiveWaitersWakeOneAtATime(t *testing.T) {
	var woken []string
	var wq WaitQueue
	a := &fakeWaiter{"accept1", &woken}
	b := &fakeWaiter{"accept2", &woken}
	poll := &fakeWaiter{"poll", &woken}
	wq.Add(a, true)
	wq.Add(b, true)
	wq.Add(poll, false) // non-exclusive waiters go to the head
	if n := wq.WakeUp(1); n != 2 || strings.Join(woken, " ") != "poll accept1" {
		t.Fatalf("wake_up woke %d: %v", n, woken)
	}
	if wq.Len() != 1 || wq.Waiters()[0] != b {
		t.Fatalf("left on the queue: %d", wq.Len())
	}
	wq.WakeUp(1)
	if strings.Join(woken, " ") != "poll accept1 accept2" || wq.Active() {
		t.Errorf("woken %v, active %v", woken, wq.Active())
	}
}

func TestSysctlsReadAndWrite(t *testing.T) {
	s := DefaultSysctls(262144)
	if v, _ := s.Get("net.core.somaxconn"); v != "4096" {
		t.Errorf("somaxconn %s", v)
	}
	if s.TcpMaxSynBacklog != 2048 || s.TcpMaxTwBuckets != 131072 {
		t.Errorf("derived from a 262144-bucket ehash: syn backlog %d, tw buckets %d", s.TcpMaxSynBacklog, s.TcpMaxTwBuckets)
	}
	if err := s.Set("net/core/somaxconn", "64"); err != nil || s.Somaxconn != 64 {
		t.Errorf("set with slashes: %v, %d", err, s.Somaxconn)
	}
	if err := s.Set("net.ipv4.ip_local_port_range", "40000 40010"); err != nil || s.IpLocalPortRange != [2]int{40000, 40010} {
		t.Errorf("port range: %v %v", err, s.IpLocalPortRange)
	}
	for _, bad := range [][2]string{
		{"net.core.somaxconn", "many"},
		{"net.ipv4.ip_local_port_range", "50000 40000"},
		{"net.ipv4.tcp_syncookies", "3"},
		{"net.nope", "1"},
	} {
		if err := s.Set(bad[0], bad[1]); err == nil {
			t.Errorf("set %s=%s accepted", bad[0], bad[1])
		}
	}
	if v, _ := s.Get("net.ipv4.tcp_rmem"); v != "4096\t131072\t6291456" {
		t.Errorf("tcp_rmem reads %q", v)
	}
}
