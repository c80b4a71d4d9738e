package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
)

// sockOfFd returns the sock behind fd and runs read on the loop with it.
func (f *fixture) sockOfFd(t *testing.T, fd int, read func(k *Kernel, sk *sockets.Sock)) {
	t.Helper()
	if _, err := f.k.Do("sock", func(k *Kernel) any {
		read(k, f.p.Fdt.Get(fd).PrivateData.Sk)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// UDP sockets start with IP_PMTUDISC_WANT (inet_create), so __ip_make_skb
// sets DF on every datagram that fits the path MTU. An unconnected
// socket's datagrams keep taking their IP ID from the ip_idents bucket
// (ignore_df is set, so DF does not mean ID 0); a connected socket's take
// inet_id after the increment (ip_select_ident_segs).
func TestUDPDatagramsCarryDF(t *testing.T) {
	f := boot(t, Config{})
	_, c := scriptDev(t, f, 1500)
	to := sockets.SockaddrIn{Family: sockets.AF_INET, Addr: peerIP, Port: 9}
	fd := f.udpSocket(t)
	for range 2 {
		if _, err := f.p.Sendto(fd, []byte("hello"), 0, &to); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 2 {
		t.Fatalf("unconnected: %d frames, want 2", len(out))
	}
	a, b := header.IPv4(out[0]), header.IPv4(out[1])
	t.Logf("unconnected: DF %v %v, id %d %d", a.DontFragment(), b.DontFragment(), a.ID(), b.ID())
	if !a.DontFragment() || !b.DontFragment() {
		t.Errorf("unconnected UDP datagrams without DF")
	}
	if b.ID() != a.ID()+1 {
		t.Errorf("unconnected ids %d, %d: want consecutive ids from the ip_idents bucket", a.ID(), b.ID())
	}

	fd2 := f.udpSocket(t)
	if err := f.p.Connect(fd2, to); err != nil {
		t.Fatal(err)
	}
	var id0 uint16
	f.sockOfFd(t, fd2, func(_ *Kernel, sk *sockets.Sock) { id0 = sockets.InetOf(sk).InetId })
	for range 2 {
		if _, err := f.p.Sendto(fd2, []byte("hello"), 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.k.Sync()
	out = c.Take()
	if len(out) != 2 {
		t.Fatalf("connected: %d frames, want 2", len(out))
	}
	a, b = header.IPv4(out[0]), header.IPv4(out[1])
	t.Logf("connected: inet_id %d, DF %v %v, id %d %d", id0, a.DontFragment(), b.DontFragment(), a.ID(), b.ID())
	if !a.DontFragment() || !b.DontFragment() {
		t.Errorf("connected UDP datagrams without DF")
	}
	if a.ID() != id0+1 || b.ID() != id0+2 {
		t.Errorf("connected ids %d, %d: want inet_id+1, +2 = %d, %d", a.ID(), b.ID(), id0+1, id0+2)
	}
}

// A UDP datagram larger than the path MTU goes without DF, as fragments.
func TestUDPDatagramOverMTUHasNoDF(t *testing.T) {
	f := boot(t, Config{})
	_, c := scriptDev(t, f, 1500)
	fd := f.udpSocket(t)
	to := sockets.SockaddrIn{Family: sockets.AF_INET, Addr: peerIP, Port: 9}
	if _, err := f.p.Sendto(fd, make([]byte, 2000), 0, &to); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 2 {
		t.Fatalf("%d frames, want 2 fragments", len(out))
	}
	for _, fr := range out {
		if header.IPv4(fr).DontFragment() {
			t.Errorf("fragment with DF: %x", fr[:20])
		}
	}
}

// ip_select_ident_segs asks "connected socket?" first: a connected TCP
// socket's packet without DF (a locked path MTU) takes inet_id too, not
// the ip_idents bucket.
func TestConnectedTCPWithoutDFUsesInetId(t *testing.T) {
	f := boot(t, Config{})
	_, cfd, _ := f.loopbackPair(t, 7000)
	f.sockOfFd(t, cfd, func(k *Kernel, sk *sockets.Sock) {
		inet := sockets.InetOf(sk)
		before := inet.InetId
		id := k.ipSelectIdent(&ipPacket{src: sk.SkcRcvSaddr.Addr(), dst: sk.SkcDaddr.Addr(), proto: header.IPPROTO_TCP, sk: sk})
		t.Logf("inet_id %d: id %d, inet_id after %d", before, id, inet.InetId)
		if id != before || inet.InetId != before+1 {
			t.Errorf("id %d (inet_id %d -> %d): want the socket's inet_id %d, then %d", id, before, inet.InetId, before, before+1)
		}
	})
}
