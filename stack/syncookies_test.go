package stack

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// listenRig is a listener on 0.0.0.0:80 behind a capture device: the test
// plays the peers at 192.0.2.1 with crafted segments and keeps every frame
// the stack sent, to check them all with gopacket at the end.
type listenRig struct {
	f   *fixture
	dev *netdev.Device
	c   *netdev.Capture
	lfd int
	out [][]byte
}

func newListenRig(t *testing.T, backlog int, sysctls map[string]string) *listenRig {
	t.Helper()
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	r := &listenRig{f: f, dev: dev, c: c, lfd: f.socket(t)}
	for name, v := range sysctls {
		if _, err := f.k.Sysctl(name, &v); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.p.Bind(r.lfd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Listen(r.lfd, backlog); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.checkWire(t) })
	return r
}

// send delivers frames from the peer and returns what the stack sent back.
func (r *listenRig) send(t *testing.T, frames ...[]byte) [][]byte {
	t.Helper()
	if err := r.f.k.Receive(r.dev, frames...); err != nil {
		t.Fatal(err)
	}
	_ = r.f.k.Sync()
	return r.take()
}

// take collects what the stack sent since the last look.
func (r *listenRig) take() [][]byte {
	out := r.c.Take()
	r.out = append(r.out, out...)
	return out
}

// advance moves the virtual clock by d nanoseconds, running the timers.
func (r *listenRig) advance(t *testing.T, d int64) [][]byte {
	t.Helper()
	if err := r.f.k.AdvanceTo(r.f.k.clock.Now() + d); err != nil {
		t.Fatal(err)
	}
	return r.take()
}

// checkWire decodes every frame the stack sent with gopacket and checks
// its IPv4 and TCP checksums.
func (r *listenRig) checkWire(t *testing.T) {
	for _, fr := range r.out {
		p := decode(t, fr)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Errorf("not TCP/IPv4: % x", fr)
			continue
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
			t.Errorf("TCP checksum %#04x, want %#04x in % x", res.Actual, res.Correct, fr)
		}
	}
}

// queues reads the listener's SYN queue length (qlen), accept queue
// length (sk_ack_backlog) and the listener's overflow stamp.
func (r *listenRig) queues(t *testing.T) (qlen, acceptq uint32) {
	t.Helper()
	v, err := r.f.k.Do("queues", func(k *Kernel) any {
		sk := r.f.p.Fdt.Get(r.lfd).PrivateData.Sk
		return [2]uint32{sockets.IcskOf(sk).IcskAcceptQueue.Qlen, sk.SkAckBacklog}
	})
	if err != nil {
		t.Fatal(err)
	}
	q := v.([2]uint32)
	return q[0], q[1]
}

// synAck sends a SYN from sport and returns the SYN-ACK.
func (r *listenRig) synAck(t *testing.T, sport uint16, isn uint32, opts []layers.TCPOption) *layers.TCP {
	t.Helper()
	out := r.send(t, peerTCP(t, sport, 80, isn, 0, "S", opts, nil))
	if len(out) != 1 {
		t.Fatalf("SYN from port %d: %d frames back", sport, len(out))
	}
	sa := tcpOf(t, out[0])
	if !sa.SYN || !sa.ACK || sa.Ack != isn+1 || sa.DstPort != layers.TCPPort(sport) {
		t.Fatalf("SYN from port %d answered with %+v", sport, sa)
	}
	return sa
}

// option returns the data of a TCP option, or nil.
func option(tcp *layers.TCP, kind layers.TCPOptionKind) []byte {
	for _, o := range tcp.Options {
		if o.OptionType == kind {
			if o.OptionData == nil {
				return []byte{}
			}
			return o.OptionData
		}
	}
	return nil
}

// tsOpts is a timestamp option (with two NOPs) as an ACK carries it.
func tsOpts(tsval, tsecr uint32) []layers.TCPOption {
	d := make([]byte, 8)
	binary.BigEndian.PutUint32(d, tsval)
	binary.BigEndian.PutUint32(d[4:], tsecr)
	return []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d}}
}

func tsvalOf(t *testing.T, tcp *layers.TCP) uint32 {
	t.Helper()
	ts := option(tcp, layers.TCPOptionKindTimestamps)
	if len(ts) != 8 {
		t.Fatalf("no timestamp option in %v", tcp.Options)
	}
	return binary.BigEndian.Uint32(ts)
}

// countEvents counts the trace events of one kernel function.
func (f *fixture) countEvents(name string, kind tracing.Kind) int {
	n := 0
	for _, ev := range f.events {
		if ev.Kind == kind && ev.Func.Name() == name {
			n++
		}
	}
	return n
}

// decodedCookie is what the test reads out of a cookie with the kernel's
// keyed hash but its own arithmetic: the minute count (top 8 bits) and the
// MSS index (low 24 bits minus the second hash).
type decodedCookie struct {
	count, countNow uint32
	mssind          uint32
}

func (r *listenRig) decodeCookie(t *testing.T, cookie uint32, sport uint16, synSeq uint32) decodedCookie {
	t.Helper()
	v, err := r.f.k.Do("decode cookie", func(k *Kernel) any {
		s, d := sockets.Be32From(peerIP), sockets.Be32From(stackIP)
		sp, dp := sockets.Htons(sport), sockets.Htons(80)
		now := k.tcpCookieTime()
		rest := cookie - k.cookieHash(s, d, sp, dp, 0, 0) - synSeq
		count := rest >> 24
		full := now - (now-count)&0xff // the minute the top byte names
		return decodedCookie{count: count, countNow: now & 0xff,
			mssind: (rest - k.cookieHash(s, d, sp, dp, full, 1)) & 0xffffff}
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(decodedCookie)
}

// TestSynCookiesWhenSynQueueIsFull: with tcp_syncookies=1 and listen(fd,
// 2), the SYN queue takes backlog+1 = 3 request socks; the fourth SYN is
// answered with a cookie and leaves nothing behind. The cookie carries the
// MSS index and the minute, the SYN-ACK's timestamp the window scale and
// SACK; the final ACK alone rebuilds the connection, which accept()
// returns.
func TestSynCookiesWhenSynQueueIsFull(t *testing.T) {
	r := newListenRig(t, 2, map[string]string{"net.ipv4.tcp_syncookies": "1"})
	f := r.f
	r.advance(t, 10e9) // timestamps well above 2^TSBITS ms
	for i := range uint16(3) {
		sa := r.synAck(t, 40000+i, 1000*uint32(i+1), synOpts())
		if len(option(sa, layers.TCPOptionKindTimestamps)) != 8 {
			t.Fatalf("normal SYN-ACK options %v", sa.Options)
		}
	}
	if q, _ := r.queues(t); q != 3 || f.cacheInUse(t)["request_sock_TCP"] != 3 || f.mib(t, LINUX_MIB_SYNCOOKIESSENT) != 0 {
		t.Fatalf("SYN queue %d before it is full", q)
	}
	mark := f.mark()
	const isn = 777000
	sa := r.synAck(t, 40003, isn, synOpts()) // MSS 1400, SACK, TS, wscale 2
	if q, _ := r.queues(t); q != 3 {
		t.Errorf("SYN queue %d after the cookie, want still 3", q)
	}
	if in := f.cacheInUse(t)["request_sock_TCP"]; in != 3 {
		t.Errorf("%d request socks: the cookie's was not freed", in)
	}
	if f.mib(t, LINUX_MIB_SYNCOOKIESSENT) != 1 || f.mib(t, LINUX_MIB_TCPREQQFULLDOCOOKIES) != 1 || f.mib(t, LINUX_MIB_LISTENDROPS) != 0 {
		t.Errorf("SyncookiesSent %d TCPReqQFullDoCookies %d ListenDrops %d", f.mib(t, LINUX_MIB_SYNCOOKIESSENT),
			f.mib(t, LINUX_MIB_TCPREQQFULLDOCOOKIES), f.mib(t, LINUX_MIB_LISTENDROPS))
	}
	want := []string{"tcp_conn_request", "tcp_syn_flood_action", "cookie_init_sequence", "cookie_v4_init_sequence",
		"__cookie_v4_init_sequence", "secure_tcp_syn_cookie", "tcp_v4_send_synack", "cookie_init_timestamp", "reqsk_free"}
	if got := f.entries(mark); !inOrder(got, want) || inOrder(got, []string{"inet_csk_reqsk_queue_hash_add"}) {
		t.Errorf("cookie SYN path %v, want %v and no inet_csk_reqsk_queue_hash_add", got, want)
	}
	// The cookie: this minute in the top 8 bits, msstab index 1 (1300 <= 1400 < 1440).
	dc := r.decodeCookie(t, sa.Seq, 40003, isn)
	if dc.count != dc.countNow || dc.mssind != 1 {
		t.Errorf("cookie %#08x decodes to count %d (now %d) and MSS index %d, want 1", sa.Seq, dc.count, dc.countNow, dc.mssind)
	}
	// The SYN-ACK still offers our own MSS and the options the SYN asked for.
	if mss := option(sa, layers.TCPOptionKindMSS); len(mss) != 2 || binary.BigEndian.Uint16(mss) != 1460 ||
		option(sa, layers.TCPOptionKindSACKPermitted) == nil || option(sa, layers.TCPOptionKindWindowScale) == nil {
		t.Errorf("cookie SYN-ACK options %v", sa.Options)
	}
	// Its timestamp: wscale 2 and SACK (bit 4) in the low 6 bits, not in the future.
	tsval := tsvalOf(t, sa)
	v, _ := f.k.Do("ts", func(k *Kernel) any {
		return [2]uint32{k.secureTCPTsOff(sockets.Be32From(stackIP), sockets.Be32From(peerIP)), k.tcpClockTs()}
	})
	tsoff, now := v.([2]uint32)[0], v.([2]uint32)[1]
	if ts := tsval - tsoff; ts&0x3f != 2|1<<4 || ts > now || now-ts >= 64 {
		t.Errorf("cookie tsval %d - offset %d = %d (now %d): low bits %#x, want 0x12", tsval, tsoff, ts, now, ts&0x3f)
	}
	if n := f.countEvents("net_info_ratelimited", tracing.Point); n != 1 {
		t.Errorf("%d SYN flood messages, want 1", n)
	}
	// The final ACK: no request sock matches, the cookie does.
	mark = f.mark()
	if out := r.send(t, peerTCP(t, 40003, 80, isn+1, sa.Seq+1, "A", tsOpts(5, tsval), nil)); len(out) != 0 {
		t.Fatalf("the cookie ACK was answered with %d frames", len(out))
	}
	want = []string{"tcp_v4_rcv", "tcp_v4_do_rcv", "tcp_v4_cookie_check", "cookie_v4_check", "cookie_tcp_check",
		"__cookie_v4_check", "check_tcp_syn_cookie", "cookie_tcp_reqsk_alloc", "tcp_get_cookie_sock",
		"tcp_v4_syn_recv_sock", "inet_csk_reqsk_queue_add", "tcp_child_process"}
	if got := f.entries(mark); !inOrder(got, want) {
		t.Errorf("cookie ACK path %v, want %v", got, want)
	}
	if f.mib(t, LINUX_MIB_SYNCOOKIESRECV) != 1 || f.mib(t, LINUX_MIB_SYNCOOKIESFAILED) != 0 {
		t.Errorf("SyncookiesRecv %d SyncookiesFailed %d", f.mib(t, LINUX_MIB_SYNCOOKIESRECV), f.mib(t, LINUX_MIB_SYNCOOKIESFAILED))
	}
	if q, a := r.queues(t); q != 3 || a != 1 {
		t.Errorf("SYN queue %d, accept queue %d; want 3 and 1", q, a)
	}
	afd, peer, err := f.p.Accept4(r.lfd, 0)
	if err != nil || peer.String() != "192.0.2.1:40003" {
		t.Fatalf("accept: %v %v", peer, err)
	}
	st := f.tcpState(t, afd)
	if st.State != sockets.TCP_ESTABLISHED || st.RcvNxt != isn+1 || st.SndNxt != sa.Seq+1 || st.SndIsn != sa.Seq {
		t.Errorf("child %+v", st)
	}
	if !st.TstampOk || !st.SackOk || !st.WsOk || st.SndWscale != 2 || st.RcvWscale != option(sa, layers.TCPOptionKindWindowScale)[0] || st.MssCache != 1300-12 {
		t.Errorf("child options from the cookie: %+v", st)
	}
	// The connection works: data is acknowledged, with our timestamps.
	out := r.send(t, peerTCP(t, 40003, 80, isn+1, sa.Seq+1, "PA", tsOpts(6, tsval), []byte("hello")))
	if len(out) != 1 {
		t.Fatalf("%d frames for data", len(out))
	}
	if ack := tcpOf(t, out[0]); ack.Ack != isn+6 || ack.Seq != sa.Seq+1 || tsvalOf(t, ack)-tsoff < tsval-tsoff {
		t.Errorf("data ACK %+v", ack)
	}
}

// TestSynCookieWithoutTimestampsCarriesOnlyTheMss: a SYN without options
// gets a cookie for MSS 536 and a SYN-ACK with nothing but our MSS; the
// connection it yields has no timestamps, SACK or window scaling.
func TestSynCookieWithoutTimestampsCarriesOnlyTheMss(t *testing.T) {
	r := newListenRig(t, 8, map[string]string{"net.ipv4.tcp_syncookies": "2"})
	noTS := synOpts()[:2] // MSS 1400 and SACK, no timestamp: SACK cannot be kept
	sa := r.synAck(t, 41000, 5000, noTS)
	if len(sa.Options) != 1 || sa.Options[0].OptionType != layers.TCPOptionKindMSS {
		t.Errorf("SYN-ACK options %v, want only the MSS", sa.Options)
	}
	if dc := r.decodeCookie(t, sa.Seq, 41000, 5000); dc.mssind != 1 {
		t.Errorf("MSS index %d", dc.mssind)
	}
	r.send(t, peerTCP(t, 41000, 80, 5001, sa.Seq+1, "A", nil, nil))
	afd, _, err := r.f.p.Accept4(r.lfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st := r.f.tcpState(t, afd); st.State != sockets.TCP_ESTABLISHED || st.TstampOk || st.SackOk || st.WsOk || st.MssCache != 1300 {
		t.Errorf("child %+v", st)
	}
}

// TestSynCookiesAlwaysWithSyncookies2: tcp_syncookies=2 answers every SYN
// with a cookie, even to an empty queue, and logs nothing.
func TestSynCookiesAlwaysWithSyncookies2(t *testing.T) {
	r := newListenRig(t, 8, map[string]string{"net.ipv4.tcp_syncookies": "2"})
	for i := range uint16(3) {
		r.synAck(t, 42000+i, 9000, synOpts())
	}
	if q, _ := r.queues(t); q != 0 || r.f.cacheInUse(t)["request_sock_TCP"] != 0 {
		t.Errorf("SYN queue %d with syncookies=2", q)
	}
	if r.f.mib(t, LINUX_MIB_SYNCOOKIESSENT) != 3 || r.f.mib(t, LINUX_MIB_TCPREQQFULLDOCOOKIES) != 3 {
		t.Errorf("SyncookiesSent %d", r.f.mib(t, LINUX_MIB_SYNCOOKIESSENT))
	}
	if n := r.f.countEvents("net_info_ratelimited", tracing.Point); n != 0 {
		t.Errorf("%d SYN flood messages with syncookies=2", n)
	}
	// Nothing to retransmit: no request sock, no timer.
	if out := r.advance(t, 10e9); len(out) != 0 {
		t.Errorf("%d frames after 10 s", len(out))
	}
}

// TestSynCookieRejectedWhenWrongOrOld: an ACK one above a cookie for MSS
// 1460 (index 3, the last) fails the check (SyncookiesFailed) and the
// listener resets it; so does a cookie made more than two minutes ago.
// (One above a cookie for a lower index would pass, as in Linux, as the
// next MSS: the index is simply added into the hashed bits.) A one-minute-old cookie is still good.
// Once the listener has sent no cookie for two minutes, ACKs are not
// checked at all (tcp_synq_no_recent_overflow): RST, nothing counted.
func TestSynCookieRejectedWhenWrongOrOld(t *testing.T) {
	r := newListenRig(t, 8, map[string]string{"net.ipv4.tcp_syncookies": "2"})
	f := r.f
	r.advance(t, 1e9)
	mss1460 := []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	sa := r.synAck(t, 43000, 100, mss1460)
	if dc := r.decodeCookie(t, sa.Seq, 43000, 100); dc.mssind != 3 {
		t.Fatalf("MSS index %d for 1460", dc.mssind)
	}
	expectReset := func(what string, out [][]byte, seq uint32) {
		t.Helper()
		if len(out) != 1 {
			t.Fatalf("%s: %d frames, want a RST", what, len(out))
		}
		if rst := tcpOf(t, out[0]); !rst.RST || rst.ACK || rst.Seq != seq {
			t.Errorf("%s: answer %+v, want RST seq %d", what, rst, seq)
		}
	}
	expectReset("cookie + 1", r.send(t, peerTCP(t, 43000, 80, 101, sa.Seq+2, "A", nil, nil)), sa.Seq+2)
	if f.mib(t, LINUX_MIB_SYNCOOKIESFAILED) != 1 || f.mib(t, LINUX_MIB_SYNCOOKIESRECV) != 0 {
		t.Errorf("SyncookiesFailed %d", f.mib(t, LINUX_MIB_SYNCOOKIESFAILED))
	}
	if _, a := r.queues(t); a != 0 {
		t.Errorf("a bad cookie made a child")
	}
	// A minute later the right ACK still works.
	r.advance(t, 61e9)
	if out := r.send(t, peerTCP(t, 43000, 80, 101, sa.Seq+1, "A", nil, nil)); len(out) != 0 {
		t.Errorf("one-minute-old cookie answered with %d frames", len(out))
	}
	if _, a := r.queues(t); a != 1 || f.mib(t, LINUX_MIB_SYNCOOKIESRECV) != 1 {
		t.Errorf("one-minute-old cookie: accept queue %d", a)
	}
	// Three minutes: too old, though the listener sent a cookie just now.
	old := r.synAck(t, 43001, 200, nil)
	r.advance(t, 180e9)
	r.synAck(t, 43002, 300, nil) // keeps tcp_synq_no_recent_overflow false
	expectReset("three-minute-old cookie", r.send(t, peerTCP(t, 43001, 80, 201, old.Seq+1, "A", nil, nil)), old.Seq+1)
	if f.mib(t, LINUX_MIB_SYNCOOKIESFAILED) != 2 {
		t.Errorf("SyncookiesFailed %d after an old cookie", f.mib(t, LINUX_MIB_SYNCOOKIESFAILED))
	}
	// No cookie sent for more than two minutes: the ACK is not checked.
	recent := r.synAck(t, 43003, 400, nil)
	r.advance(t, 121e9)
	expectReset("no recent overflow", r.send(t, peerTCP(t, 43003, 80, 401, recent.Seq+1, "A", nil, nil)), recent.Seq+1)
	if f.mib(t, LINUX_MIB_SYNCOOKIESFAILED) != 2 || f.mib(t, LINUX_MIB_SYNCOOKIESRECV) != 1 {
		t.Errorf("an unchecked ACK was counted: failed %d recv %d", f.mib(t, LINUX_MIB_SYNCOOKIESFAILED), f.mib(t, LINUX_MIB_SYNCOOKIESRECV))
	}
	if _, a := r.queues(t); a != 1 {
		t.Errorf("accept queue %d, want only the one-minute-old cookie's child", a)
	}
}

// TestSynDroppedWhenQueueFullWithoutCookies: tcp_syncookies=0 drops the
// SYN that finds the SYN queue full (TCPReqQFullDrop, ListenDrops) and
// logs the flood once.
func TestSynDroppedWhenQueueFullWithoutCookies(t *testing.T) {
	r := newListenRig(t, 2, map[string]string{"net.ipv4.tcp_syncookies": "0"})
	for i := range uint16(3) {
		r.synAck(t, 44000+i, 1, synOpts())
	}
	for i := range uint16(2) {
		if out := r.send(t, peerTCP(t, 44003+i, 80, 1, 0, "S", synOpts(), nil)); len(out) != 0 {
			t.Errorf("SYN to a full queue answered with %d frames", len(out))
		}
	}
	f := r.f
	if f.mib(t, LINUX_MIB_TCPREQQFULLDROP) != 2 || f.mib(t, LINUX_MIB_LISTENDROPS) != 2 || f.mib(t, LINUX_MIB_SYNCOOKIESSENT) != 0 {
		t.Errorf("TCPReqQFullDrop %d ListenDrops %d", f.mib(t, LINUX_MIB_TCPREQQFULLDROP), f.mib(t, LINUX_MIB_LISTENDROPS))
	}
	if q, _ := r.queues(t); q != 3 {
		t.Errorf("SYN queue %d", q)
	}
	if n := f.countEvents("net_info_ratelimited", tracing.Point); n != 1 {
		t.Errorf("%d SYN flood messages, want 1", n)
	}
}

// overflowAcceptQueue fills listen(fd, 1)'s accept queue with two children
// (backlog + 1) and leaves a third request sock whose final ACK it
// returns, with that request's SYN-ACK.
func overflowAcceptQueue(t *testing.T, r *listenRig) (third []byte, sa3 *layers.TCP) {
	t.Helper()
	sa1 := r.synAck(t, 50001, 1000, nil)
	sa2 := r.synAck(t, 50002, 2000, nil) // the SYN queue (2) is now full
	if out := r.send(t, peerTCP(t, 50001, 80, 1001, sa1.Seq+1, "A", nil, nil)); len(out) != 0 {
		t.Fatalf("first ACK: %d frames", len(out))
	}
	sa3 = r.synAck(t, 50003, 3000, nil)
	if out := r.send(t, peerTCP(t, 50002, 80, 2001, sa2.Seq+1, "A", nil, nil)); len(out) != 0 {
		t.Fatalf("second ACK: %d frames", len(out))
	}
	if q, a := r.queues(t); q != 1 || a != 2 {
		t.Fatalf("SYN queue %d, accept queue %d; want 1 and 2 (backlog + 1)", q, a)
	}
	return peerTCP(t, 50003, 80, 3001, sa3.Seq+1, "A", nil, nil), sa3
}

// TestAcceptQueueOverflowDropsFinalAck: with the accept queue full, the
// third final ACK is dropped (ListenOverflows, ListenDrops); the request
// sock stays and its SYN-ACK goes again when the timer fires; once
// accept() makes room, the peer's next ACK completes the connection.
func TestAcceptQueueOverflowDropsFinalAck(t *testing.T) {
	r := newListenRig(t, 1, nil)
	f := r.f
	ack3, sa3 := overflowAcceptQueue(t, r)
	if out := r.send(t, ack3); len(out) != 0 {
		t.Fatalf("the overflowing ACK was answered with %d frames", len(out))
	}
	if f.mib(t, LINUX_MIB_LISTENOVERFLOWS) != 1 || f.mib(t, LINUX_MIB_LISTENDROPS) != 1 {
		t.Errorf("ListenOverflows %d ListenDrops %d", f.mib(t, LINUX_MIB_LISTENOVERFLOWS), f.mib(t, LINUX_MIB_LISTENDROPS))
	}
	if q, a := r.queues(t); q != 1 || a != 2 {
		t.Errorf("SYN queue %d, accept queue %d after the drop", q, a)
	}
	acked, _ := f.k.Do("acked", func(k *Kernel) any {
		for req := range k.reqTimers {
			if req.SkcDport.Ntohs() == 50003 {
				return req.Acked
			}
		}
		return nil
	})
	if acked != true {
		t.Errorf("request sock acked = %v, want true", acked)
	}
	// The request's timer (1 s after its SYN) sends the SYN-ACK again.
	out := r.advance(t, 1e9)
	if len(out) != 1 {
		t.Fatalf("%d frames when the SYN-ACK timer fired", len(out))
	}
	if again := tcpOf(t, out[0]); !again.SYN || !again.ACK || again.Seq != sa3.Seq || again.DstPort != 50003 {
		t.Errorf("retransmitted %+v", again)
	}
	// accept() makes room; the peer answers the retransmission.
	if _, _, err := f.p.Accept4(r.lfd, 0); err != nil {
		t.Fatal(err)
	}
	if out := r.send(t, ack3); len(out) != 0 {
		t.Errorf("%d frames for the repeated ACK", len(out))
	}
	if q, a := r.queues(t); q != 0 || a != 2 {
		t.Errorf("SYN queue %d, accept queue %d after the repeated ACK", q, a)
	}
	if f.mib(t, TCP_MIB_OUTRSTS) != 0 {
		t.Errorf("%d resets sent", f.mib(t, TCP_MIB_OUTRSTS))
	}
}

// TestAbortOnOverflowResets: with tcp_abort_on_overflow=1 the ACK that
// finds the accept queue full is answered with a RST and the request sock
// is gone: no SYN-ACK retransmission follows.
func TestAbortOnOverflowResets(t *testing.T) {
	r := newListenRig(t, 1, map[string]string{"net.ipv4.tcp_abort_on_overflow": "1"})
	f := r.f
	ack3, sa3 := overflowAcceptQueue(t, r)
	out := r.send(t, ack3)
	if len(out) != 1 {
		t.Fatalf("%d frames, want a RST", len(out))
	}
	if rst := tcpOf(t, out[0]); !rst.RST || rst.ACK || rst.Seq != sa3.Seq+1 || rst.DstPort != 50003 {
		t.Errorf("answer %+v, want RST seq %d", rst, sa3.Seq+1)
	}
	if f.mib(t, LINUX_MIB_LISTENOVERFLOWS) != 1 || f.mib(t, LINUX_MIB_LISTENDROPS) != 1 || f.mib(t, LINUX_MIB_EMBRYONICRSTS) != 1 {
		t.Errorf("ListenOverflows %d ListenDrops %d EmbryonicRsts %d", f.mib(t, LINUX_MIB_LISTENOVERFLOWS),
			f.mib(t, LINUX_MIB_LISTENDROPS), f.mib(t, LINUX_MIB_EMBRYONICRSTS))
	}
	if q, a := r.queues(t); q != 0 || a != 2 {
		t.Errorf("SYN queue %d, accept queue %d", q, a)
	}
	if in := f.cacheInUse(t)["request_sock_TCP"]; in != 2 {
		t.Errorf("%d request socks, want the two in the accept queue", in)
	}
	if out := r.advance(t, 10e9); len(out) != 0 {
		t.Errorf("%d frames after the reset, want no SYN-ACK retransmission", len(out))
	}
}

// TestSynCookieMeetsFullAcceptQueue: listen(fd, 0) queues one child. A
// cookie ACK that finds it taken is dropped without a reply (the peer
// will retransmit), its rebuilt request sock freed; a new SYN is not
// answered at all (tcp_conn_request checks the accept queue too).
func TestSynCookieMeetsFullAcceptQueue(t *testing.T) {
	r := newListenRig(t, 0, map[string]string{"net.ipv4.tcp_syncookies": "2"})
	f := r.f
	sa1 := r.synAck(t, 45001, 10, nil)
	sa2 := r.synAck(t, 45002, 20, nil)
	r.send(t, peerTCP(t, 45001, 80, 11, sa1.Seq+1, "A", nil, nil))
	if out := r.send(t, peerTCP(t, 45002, 80, 21, sa2.Seq+1, "A", nil, nil)); len(out) != 0 {
		t.Errorf("cookie ACK to a full accept queue answered with %d frames", len(out))
	}
	if f.mib(t, LINUX_MIB_SYNCOOKIESRECV) != 2 || f.mib(t, LINUX_MIB_LISTENOVERFLOWS) != 1 || f.mib(t, LINUX_MIB_LISTENDROPS) != 1 {
		t.Errorf("SyncookiesRecv %d ListenOverflows %d ListenDrops %d", f.mib(t, LINUX_MIB_SYNCOOKIESRECV),
			f.mib(t, LINUX_MIB_LISTENOVERFLOWS), f.mib(t, LINUX_MIB_LISTENDROPS))
	}
	in := f.cacheInUse(t)
	if _, a := r.queues(t); a != 1 || in["request_sock_TCP"] != 1 || in["TCP"] != 2 {
		t.Errorf("accept queue %d, %d request socks, %d TCP socks; want 1, 1 and 2 (listener and child)", a, in["request_sock_TCP"], in["TCP"])
	}
	if out := r.send(t, peerTCP(t, 45003, 80, 30, 0, "S", nil, nil)); len(out) != 0 {
		t.Errorf("SYN to a full accept queue answered with %d frames", len(out))
	}
	if f.mib(t, LINUX_MIB_LISTENOVERFLOWS) != 2 || f.mib(t, LINUX_MIB_SYNCOOKIESSENT) != 2 {
		t.Errorf("ListenOverflows %d SyncookiesSent %d", f.mib(t, LINUX_MIB_LISTENOVERFLOWS), f.mib(t, LINUX_MIB_SYNCOOKIESSENT))
	}
}
