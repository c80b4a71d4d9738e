package stack

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
)

// withSock runs read on the kernel loop with the sock behind fd.
func (f *fixture) withSock(t *testing.T, fd int, read func(sk *sockets.Sock)) {
	t.Helper()
	if _, err := f.k.Do("sock", func(k *Kernel) any {
		read(f.p.Fdt.Get(fd).PrivateData.Sk)
		return nil
	}); err != nil {
		t.Fatalf("reading fd %d's sock on the loop: %v", fd, err)
	}
}

// accept4's SOCK_NONBLOCK marks the new file only: on a blocking listener
// the accept itself sleeps until a connection comes (do_accept starts its
// proto_accept_arg flags at zero and adds the listener file's f_flags).
func TestAccept4NonblockFlagMarksOnlyTheNewFile(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	lfd := f.socket(t)
	if err := p.Bind(lfd, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(lfd, 5); err != nil {
		t.Fatal(err)
	}
	pd := p.Start(Syscall{Name: "accept4", Args: [4]int64{int64(lfd), sockets.SOCK_NONBLOCK}})
	if err := f.k.Sync(); err != nil {
		t.Fatal(err)
	}
	if pd.Ready() {
		_, err := pd.Wait()
		t.Fatalf("accept4(SOCK_NONBLOCK) on a blocking listener returned at once (%v); Linux sleeps", err)
	}
	cfd := f.socket(t)
	if err := p.Connect(cfd, addr("127.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	afd, err := pd.Wait()
	if err != nil {
		t.Fatalf("accept4 after the connection came: %v", err)
	}
	fl, err := p.Fcntl(int(afd), sockets.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fl&sockets.O_NONBLOCK == 0 {
		t.Errorf("the accepted file's flags %#x lack O_NONBLOCK", fl)
	}
}

// A listen() again after shutdown(SHUT_RD) keeps the SYN queue's counts
// (reqsk_queue_alloc empties only the accept queue): the first listen's
// request sock completes through the same qlen, and the next SYN is an
// ordinary one, not a flood.
func TestRelistenKeepsSynQueueCount(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	p := f.p
	lfd := f.socket(t)
	if err := p.Bind(lfd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Fcntl(lfd, sockets.F_SETFL, sockets.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, 9000, 0, "S", nil, nil))
	_ = f.k.Sync()
	synack := tcpOf(t, c.Take()[0])
	if err := p.Shutdown(lfd, sockets.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	var qlen uint32
	f.withSock(t, lfd, func(sk *sockets.Sock) { qlen = sockets.IcskOf(sk).IcskAcceptQueue.Qlen })
	if qlen != 1 {
		t.Fatalf("qlen after listen() again = %d, want 1 (the first listen's request sock)", qlen)
	}
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, 9001, synack.Seq+1, "A", nil, nil))
	_ = f.k.Sync()
	if _, _, err := p.Accept4(lfd, 0); err != nil {
		t.Fatalf("accept: %v", err)
	}
	f.withSock(t, lfd, func(sk *sockets.Sock) { qlen = sockets.IcskOf(sk).IcskAcceptQueue.Qlen })
	if qlen != 0 {
		t.Fatalf("qlen after the request completed = %d, want 0", qlen)
	}
	_ = c.Take()
	_ = f.k.Receive(dev, peerTCP(t, 40001, 80, 7000, 0, "S", nil, nil))
	_ = f.k.Sync()
	if n := f.mib(t, LINUX_MIB_TCPREQQFULLDOCOOKIES); n != 0 {
		t.Errorf("TCPReqQFullDoCookies = %d after the next SYN, want 0", n)
	}
	if n := f.mib(t, LINUX_MIB_SYNCOOKIESSENT); n != 0 {
		t.Errorf("SyncookiesSent = %d after the next SYN, want 0", n)
	}
}

// tcp_listendrop counts a dropped connection in the listener's own
// sk_drops as well as in ListenDrops: here the accept queue is full when
// the third ACK comes.
func TestListendropCountsInListenerDrops(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	p := f.p
	lfd := f.socket(t)
	if err := p.Bind(lfd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(lfd, 0); err != nil { // room for one connection
		t.Fatal(err)
	}
	// Both SYNs find the accept queue empty; the second third ACK finds
	// it full.
	ports := []uint16{40000, 40001}
	var isn []uint32
	for i, port := range ports {
		_ = f.k.Receive(dev, peerTCP(t, port, 80, 9000, 0, "S", nil, nil))
		_ = f.k.Sync()
		out := c.Take()
		if len(out) != 1 {
			t.Fatalf("SYN %d: %d frames out, want the SYN-ACK", i, len(out))
		}
		isn = append(isn, tcpOf(t, out[0]).Seq)
	}
	for i, port := range ports {
		_ = f.k.Receive(dev, peerTCP(t, port, 80, 9001, isn[i]+1, "A", nil, nil))
		_ = f.k.Sync()
	}
	var drops uint32
	f.withSock(t, lfd, func(sk *sockets.Sock) { drops = sk.SkDrops })
	if got := f.mib(t, LINUX_MIB_LISTENDROPS); got != 1 {
		t.Fatalf("ListenDrops = %d, want 1 (the second third-ACK found the accept queue full)", got)
	}
	if drops != 1 {
		t.Errorf("listener sk_drops = %d, want 1", drops)
	}
}

// withTos sets an IPv4 frame's TOS byte and its header checksum again.
func withTos(frame []byte, tos uint8) []byte {
	frame[1] = tos
	ihl := int(frame[0]&0x0f) * 4
	frame[10], frame[11] = 0, 0
	var sum uint32
	for i := 0; i < ihl; i += 2 {
		sum += uint32(frame[i])<<8 | uint32(frame[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	frame[10], frame[11] = byte(^sum>>8), byte(^sum)
	return frame
}

// Replies sent without a socket (ip_send_unicast_reply) carry the
// received segment's TOS less its ECN bits: a RST for a closed port, and
// a request sock's ACK for an out-of-window segment. The request's ACK
// has no timestamp option when there is nothing to echo (the SYN's tsval
// was 0), as tcp_v4_send_ack keys the option on tsecr.
func TestCtlRepliesEchoTosAndTsecr(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	_ = f.k.Receive(dev, withTos(peerTCP(t, 40000, 81, 9000, 0, "S", nil, nil), 0x2b))
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 1 || !tcpOf(t, out[0]).RST {
		t.Fatalf("want one RST for the closed port, got %d frames", len(out))
	}
	if tos := out[0][1]; tos != 0x28 {
		t.Errorf("RST's TOS %#x, want 0x28 (the SYN's 0x2b less ECN)", tos)
	}

	lfd := f.socket(t)
	if err := f.p.Bind(lfd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	ts0 := []layers.TCPOption{{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)}}
	_ = f.k.Receive(dev, peerTCP(t, 40001, 80, 9000, 0, "S", ts0, nil))
	_ = f.k.Sync()
	out = c.Take()
	if len(out) != 1 {
		t.Fatalf("want the SYN-ACK, got %d frames", len(out))
	}
	isn := tcpOf(t, out[0]).Seq
	_ = f.k.Receive(dev, withTos(peerTCP(t, 40001, 80, 9000+1+1<<20, isn+1, "A", nil, nil), 0x49))
	_ = f.k.Sync()
	out = c.Take()
	if len(out) != 1 {
		t.Fatalf("want the request's ACK for the out-of-window segment, got %d frames", len(out))
	}
	ack := tcpOf(t, out[0])
	if tos := out[0][1]; tos != 0x48 {
		t.Errorf("request ACK's TOS %#x, want 0x48", tos)
	}
	for _, o := range ack.Options {
		if o.OptionType == layers.TCPOptionKindTimestamps {
			t.Errorf("request ACK carries a timestamp option % x with nothing to echo", o.OptionData)
		}
	}
}

// A request sock outlives its listener's close() in ehash. A segment for
// it then drops it and is looked up again (tcp_v4_rcv's goto lookup): a
// new listener on the port takes a retransmitted SYN and answers it with a
// SYN-ACK of its own, where the old request would have been reset.
func TestRequestOfClosedListenerLooksUpAgain(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	p := f.p
	listen := func() int {
		fd := f.socket(t)
		if err := p.Bind(fd, addr("0.0.0.0:80")); err != nil {
			t.Fatal(err)
		}
		if err := p.Listen(fd, 8); err != nil {
			t.Fatal(err)
		}
		return fd
	}
	old := listen()
	syn := peerTCP(t, 40000, 80, 9000, 0, "S", nil, nil)
	_ = f.k.Receive(dev, syn)
	_ = f.k.Sync()
	if out := c.Take(); len(out) != 1 || !tcpOf(t, out[0]).SYN {
		t.Fatalf("want the SYN-ACK, got %d frames", len(out))
	}
	if err := p.Close(old); err != nil {
		t.Fatal(err)
	}
	listen()
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, 9000, 0, "S", nil, nil))
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames out for the retransmitted SYN, want 1", len(out))
	}
	if th := tcpOf(t, out[0]); !th.SYN || !th.ACK || th.RST {
		t.Errorf("the new listener answered SYN=%v ACK=%v RST=%v, want a SYN-ACK", th.SYN, th.ACK, th.RST)
	}
}

// The child of a completed handshake takes its request sock's place on
// the ehash chain (inet_ehash_insert's sk_nulls_replace_node_init_rcu),
// not the head: with one ehash bucket, a later request stays ahead of it.
func TestChildTakesRequestsPlaceInEhash(t *testing.T) {
	f := boot(t, Config{ThashEntries: 1})
	dev, c := scriptDev(t, f, 1500)
	p := f.p
	lfd := f.socket(t)
	if err := p.Bind(lfd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	var isn []uint32
	for _, port := range []uint16{40000, 40001} {
		_ = f.k.Receive(dev, peerTCP(t, port, 80, 9000, 0, "S", nil, nil))
		_ = f.k.Sync()
		out := c.Take()
		if len(out) != 1 {
			t.Fatalf("want a SYN-ACK, got %d frames", len(out))
		}
		isn = append(isn, tcpOf(t, out[0]).Seq)
	}
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, 9001, isn[0]+1, "A", nil, nil))
	_ = f.k.Sync()
	var chain []string
	for _, b := range f.snapshot(t).Hashinfo.Ehash {
		for _, e := range b.Chain {
			chain = append(chain, e.Peer+" "+e.State)
		}
	}
	want := []string{peerIP.String() + ":40001 NEW_SYN_RECV", peerIP.String() + ":40000 ESTABLISHED"}
	if len(chain) != 2 || chain[0] != want[0] || chain[1] != want[1] {
		t.Errorf("ehash chain %v, want %v", chain, want)
	}
}

// A SYN to the subnet's broadcast address reaches TCP (the broadcast route
// delivers locally) but gets no answer: tcp_v4_conn_request drops it and
// counts it against the listener.
func TestSynToBroadcastIsDropped(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	p := f.p
	lfd := f.socket(t)
	if err := p.Bind(lfd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	bcast := netip.AddrFrom4([4]byte{192, 0, 2, 255})
	_ = f.k.Receive(dev, tcpFrame(t, peerIP, 40000, bcast, 80, 9000, 0, "S", nil, nil))
	_ = f.k.Sync()
	if out := c.Take(); len(out) != 0 {
		t.Errorf("%d frames answered a SYN to %v, want none", len(out), bcast)
	}
	if n := f.mib(t, LINUX_MIB_LISTENDROPS); n != 1 {
		t.Errorf("ListenDrops = %d, want 1", n)
	}
}

// On a route whose path MTU is locked (a "fragmentation needed" below
// ip_rt_min_pmtu), TCP's own data goes without DF, but a RST from the
// reply socket (IP_PMTUDISC_DO) and a SYN-ACK (ip_build_and_send_pkt, at
// most IPV4_MIN_MTU bytes) keep DF and ID 0.
func TestLockedPathMtuKeepsDfOnRepliesAndSynAcks(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	_ = f.k.Receive(dev, fragNeeded(5999, 9, 500))
	_ = f.k.Sync()
	lfd := f.socket(t)
	if err := f.p.Bind(lfd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		port uint16
	}{{"RST for a closed port", 81}, {"SYN-ACK", 80}} {
		_ = f.k.Receive(dev, peerTCP(t, 40000, tc.port, 9000, 0, "S", nil, nil))
		_ = f.k.Sync()
		out := c.Take()
		if len(out) != 1 {
			t.Fatalf("%s: %d frames out, want 1", tc.name, len(out))
		}
		ip := header.IPv4(out[0])
		if ip.FragOff()&header.IP_DF == 0 || ip.ID() != 0 {
			t.Errorf("%s on a locked path MTU: DF %v, ID %d; want DF and ID 0", tc.name, ip.FragOff()&header.IP_DF != 0, ip.ID())
		}
	}
}
