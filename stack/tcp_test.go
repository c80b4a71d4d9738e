package stack

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// tcpState reads a socket's TCP state from inside the kernel loop.
type tcpState struct {
	State                  sockets.State
	SndNxt, SndUna, RcvNxt uint32
	SndIsn, RcvIsn         uint32
	RcvQlen                uint32
	RcvQBytes              uint32
	Err                    int32
	MssCache               uint32
	SndWscale, RcvWscale   uint8
	TstampOk, SackOk, WsOk bool
	RtxQlen                uint32
}

func (f *fixture) tcpState(t *testing.T, fd int) tcpState {
	t.Helper()
	r, err := f.k.Do("tcp state", func(k *Kernel) any {
		file := f.p.Fdt.Get(fd)
		if file == nil {
			return nil
		}
		sk := file.PrivateData.Sk
		tp := tcpSk(sk)
		st := tcpState{State: sk.SkcState, SndNxt: tp.SndNxt, SndUna: tp.SndUna, RcvNxt: tp.RcvNxt,
			SndIsn: tp.SndIsn, RcvIsn: tp.RcvIsn, RcvQlen: skb.SkbQueueLen(&sk.SkReceiveQueue), Err: sk.SkErr,
			MssCache: tp.MssCache, SndWscale: tp.RxOpt.SndWscale, RcvWscale: tp.RxOpt.RcvWscale,
			TstampOk: tp.RxOpt.TstampOk, SackOk: tp.RxOpt.SackOk, WsOk: tp.RxOpt.WscaleOk, RtxQlen: skb.SkbQueueLen(&tp.rtxQueue)}
		skb.SkbQueueWalk(&sk.SkReceiveQueue, func(s *skb.SkBuff) bool { st.RcvQBytes += s.Len; return true })
		return st
	})
	if err != nil || r == nil {
		t.Fatalf("fd %d: %v", fd, err)
	}
	return r.(tcpState)
}

// TestTCPHandshakeOverLoopback: connect() and accept() on one host; the
// three-way handshake runs through loopback and both ends are ESTABLISHED
// with matching sequence numbers.
func TestTCPHandshakeOverLoopback(t *testing.T) {
	f := boot(t, Config{})
	p := f.p
	lfd := f.socket(t)
	if err := p.Bind(lfd, addr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	cfd := f.socket(t)
	m := f.mark()
	if err := p.Connect(cfd, addr("127.0.0.1:8080")); err != nil {
		t.Fatalf("connect: %v", err)
	}
	want := []string{"inet_stream_connect", "tcp_v4_connect", "__inet_hash_connect", "tcp_connect", "__tcp_transmit_skb",
		"tcp_v4_rcv", "tcp_conn_request", "inet_csk_reqsk_queue_hash_add", "tcp_v4_send_synack",
		"tcp_rcv_synsent_state_process", "tcp_finish_connect", "__tcp_send_ack",
		"tcp_check_req", "tcp_v4_syn_recv_sock", "inet_csk_complete_hashdance", "tcp_child_process"}
	if got := f.entries(m); !inOrder(got, want) {
		t.Errorf("handshake path:\n got %v\nwant %v in order", only(got, want...), want)
	}
	afd, peer, err := p.Accept4(lfd, 0)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	local, _ := p.Getsockname(cfd)
	if peer != local || local.Addr.String() != "127.0.0.1" || local.Port < 32768 || local.Port > 60999 {
		t.Errorf("accept saw %v, client is %v", peer, local)
	}
	c, s := f.tcpState(t, cfd), f.tcpState(t, afd)
	if c.State != sockets.TCP_ESTABLISHED || s.State != sockets.TCP_ESTABLISHED {
		t.Fatalf("states %v / %v", c.State, s.State)
	}
	if c.SndNxt != c.SndIsn+1 || s.RcvNxt != c.SndIsn+1 || s.SndNxt != s.SndIsn+1 || c.RcvNxt != s.SndIsn+1 {
		t.Errorf("sequence numbers: client %+v server %+v", c, s)
	}
	if !c.TstampOk || !c.SackOk || !c.WsOk || c.RcvWscale != 7 || c.SndWscale != 7 || c.MssCache != 32741 { // half the SYN-ACK's window: tcp_bound_to_half_wnd
		t.Errorf("negotiated options: %+v", c)
	}
	if c.RtxQlen != 0 || s.RtxQlen != 0 {
		t.Errorf("SYN / SYN-ACK still queued: %d %d", c.RtxQlen, s.RtxQlen)
	}
	for m, v := range map[Mib]uint64{TCP_MIB_ACTIVEOPENS: 1, TCP_MIB_PASSIVEOPENS: 1, TCP_MIB_CURRESTAB: 2, TCP_MIB_OUTRSTS: 0} {
		if got := f.mib(t, m); got != v {
			t.Errorf("%s = %d, want %d", m, got, v)
		}
	}
	// Both ends in ehash, the listener with an empty accept queue.
	snap := f.snapshot(t)
	est := 0
	for _, sk := range snap.Socks {
		if sk.SockCommon.SkcState == "ESTABLISHED" {
			est++
			if sk.SockCommon.SkcNode == "" {
				t.Errorf("%s not in ehash", sk.Sk)
			}
		}
		if sk.SockCommon.SkcState == "LISTEN" && sk.SkAckBacklog != 0 {
			t.Errorf("accept queue still holds %d", sk.SkAckBacklog)
		}
	}
	if est != 2 {
		t.Errorf("%d ESTABLISHED socks in the snapshot", est)
	}
	// The client closes first: FIN, and the server reads end of file.
	m = f.mark()
	if err := p.Close(cfd); err != nil {
		t.Fatal(err)
	}
	if s := f.tcpState(t, afd); s.State != sockets.TCP_CLOSE_WAIT {
		t.Errorf("server after the client's FIN: %v", s.State)
	}
	if b, _, err := p.Recvfrom(afd, 10, 0); len(b) != 0 || err != nil {
		t.Errorf("read at end of file: %q %v", b, err)
	}
	if got := f.entries(m); !inOrder(got, []string{"tcp_close", "tcp_send_fin", "tcp_v4_rcv", "tcp_fin"}) {
		t.Errorf("close path %v", only(got, "tcp_close", "tcp_send_fin", "tcp_v4_rcv", "tcp_fin"))
	}
	// The server delays its ACK of the client's FIN (CLOSE_WAIT is
	// pingpong mode: our FIN may carry it). The server closes: its FIN
	// carries the ACK; the client, FIN_WAIT1, takes both, ACKs the FIN and
	// hands the four-tuple to a tw in TIME_WAIT (tcp_time_wait), and its
	// ACK ends the server's LAST_ACK.
	m = f.mark()
	_ = p.Close(afd)
	_ = p.Close(lfd)
	want = []string{"tcp_send_fin", "tcp_fin", "tcp_time_wait", "inet_twsk_hashdance_schedule", "tcp_done", "tcp_done"}
	if got := f.entries(m); !inOrder(got, want) {
		t.Errorf("second close %v", only(got, want...))
	}
	if got := f.mib(t, TCP_MIB_OUTRSTS); got != 0 {
		t.Errorf("%d RSTs in an orderly close", got)
	}
	snap = f.snapshot(t)
	if len(snap.Timewait) != 1 || snap.Timewait[0].Substate != "TIME_WAIT" || snap.Timewait[0].SkcNode == "" ||
		snap.Timewait[0].Cache != "tw_sock_TCP" {
		t.Fatalf("timewait socks: %+v", snap.Timewait)
	}
	if in := f.cacheInUse(t); in["TCP"] != 0 || in["tw_sock_TCP"] != 1 {
		t.Fatalf("TCP %d, tw_sock_TCP %d in use; want 0 and 1", in["TCP"], in["tw_sock_TCP"])
	}
	if err := f.k.AdvanceTo(59e9); err != nil || f.cacheInUse(t)["tw_sock_TCP"] != 1 {
		t.Errorf("TIME_WAIT ended before 60 s: %v", err)
	}
	if err := f.k.AdvanceTo(61e9); err != nil {
		t.Fatal(err)
	}
	if in := f.cacheInUse(t); in["TCP"] != 0 || in["tw_sock_TCP"] != 0 || f.mib(t, LINUX_MIB_TIMEWAITED) != 1 {
		t.Errorf("%d TCP socks and %d tw left after closing everything; TW %d", in["TCP"], in["tw_sock_TCP"], f.mib(t, LINUX_MIB_TIMEWAITED))
	}
	if got := f.cacheInUse(t)["request_sock_TCP"]; got != 0 {
		t.Errorf("%d request socks left", got)
	}
	if got := f.mib(t, TCP_MIB_CURRESTAB); got != 0 {
		t.Errorf("CurrEstab %d after close", got)
	}
}

// TestTCPConnectRefused: a SYN to a port nobody listens on is answered
// with RST, and connect() fails with ECONNREFUSED.
func TestTCPConnectRefused(t *testing.T) {
	f := boot(t, Config{})
	fd := f.socket(t)
	err := f.p.Connect(fd, addr("127.0.0.1:9"))
	if errnoOf(err) != tracing.ECONNREFUSED {
		t.Fatalf("connect to a closed port: %v", err)
	}
	if f.mib(t, TCP_MIB_OUTRSTS) != 1 || f.mib(t, TCP_MIB_ATTEMPTFAILS) != 1 || f.mib(t, TCP_MIB_ESTABRESETS) != 0 {
		t.Errorf("OutRsts %d AttemptFails %d", f.mib(t, TCP_MIB_OUTRSTS), f.mib(t, TCP_MIB_ATTEMPTFAILS))
	}
	if st := f.tcpState(t, fd); st.State != sockets.TCP_CLOSE {
		t.Errorf("state %v", st.State)
	}
}

// peerTCP builds a segment from the scripted peer with gopacket.
func peerTCP(t testing.TB, sport, dport uint16, seq, ack uint32, flags string, opts []layers.TCPOption, payload []byte) []byte {
	t.Helper()
	return tcpFrame(t, peerIP, sport, stackIP, dport, seq, ack, flags, opts, payload)
}

// tcpFrame builds an IPv4/TCP segment with gopacket (window 65535);
// flags are letters: S, A, F, R, P.
func tcpFrame(t testing.TB, src netip.Addr, sport uint16, dst netip.Addr, dport uint16, seq, ack uint32, flags string,
	opts []layers.TCPOption, payload []byte) []byte {
	t.Helper()
	ip := v4(src, dst, layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 65535, Options: opts}
	for _, c := range flags {
		switch c {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	return buildPacket(t, ip, tcp, gopacket.Payload(payload))
}

func synOpts() []layers.TCPOption {
	return []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0x78}}, // 1400
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 0}},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{2}},
	}
}

func tcpOf(t *testing.T, frame []byte) *layers.TCP {
	t.Helper()
	l := decode(t, frame).Layer(layers.LayerTypeTCP)
	if l == nil {
		t.Fatalf("not a TCP segment: % x", frame)
	}
	return l.(*layers.TCP)
}

// TestTCPActiveOpenOnTheWire checks our SYN against what Linux sends on an
// Ethernet-sized link, then completes the handshake with a scripted peer.
func TestTCPActiveOpenOnTheWire(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	_ = dev
	p := f.p
	fd := f.socket(t)
	if _, err := p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	if err := p.Connect(fd, addr("192.0.2.1:80")); errnoOf(err) != tracing.EINPROGRESS {
		t.Fatalf("non-blocking connect: %v", err)
	}
	out := c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames after connect", len(out))
	}
	syn := tcpOf(t, out[0])
	ip := decode(t, out[0]).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !syn.SYN || syn.ACK || syn.Window != 64240 || syn.DstPort != 80 || ip.Flags&layers.IPv4DontFragment == 0 || ip.TTL != 64 {
		t.Errorf("SYN: %+v ip %+v", syn, ip)
	}
	var kinds []layers.TCPOptionKind
	for _, o := range syn.Options {
		kinds = append(kinds, o.OptionType)
	}
	wantKinds := []layers.TCPOptionKind{layers.TCPOptionKindMSS, layers.TCPOptionKindSACKPermitted,
		layers.TCPOptionKindTimestamps, layers.TCPOptionKindNop, layers.TCPOptionKindWindowScale}
	if len(kinds) != len(wantKinds) {
		t.Fatalf("SYN options %v", kinds)
	}
	for i := range kinds {
		if kinds[i] != wantKinds[i] {
			t.Fatalf("SYN options %v, want %v", kinds, wantKinds)
		}
	}
	if mss := syn.Options[0].OptionData; mss[0] != 0x05 || mss[1] != 0xb4 {
		t.Errorf("MSS option % x, want 1460", mss)
	}
	if ws := syn.Options[4].OptionData; ws[0] != 7 {
		t.Errorf("window scale %d, want 7", ws[0])
	}
	st := f.tcpState(t, fd)
	if st.State != sockets.TCP_SYN_SENT || syn.Seq != st.SndIsn || st.RtxQlen != 1 {
		t.Fatalf("after SYN: %+v", st)
	}
	// The SYN-ACK: the peer offers MSS 1400, wscale 2.
	const peerIsn = 1000000
	_ = f.k.Receive(dev, peerTCP(t, 80, uint16(syn.SrcPort), peerIsn, syn.Seq+1, "SA", synOpts(), nil))
	_ = f.k.Sync()
	out = c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames after SYN-ACK", len(out))
	}
	ack := tcpOf(t, out[0])
	if !ack.ACK || ack.SYN || ack.Seq != syn.Seq+1 || ack.Ack != peerIsn+1 {
		t.Errorf("third segment: seq %d ack %d flags S%v A%v", ack.Seq, ack.Ack, ack.SYN, ack.ACK)
	}
	st = f.tcpState(t, fd)
	if st.State != sockets.TCP_ESTABLISHED || st.SndWscale != 2 || st.MssCache != 1400-12 || st.RtxQlen != 0 {
		t.Errorf("established: %+v", st)
	}
	// Data from the peer is queued and acknowledged; a FIN moves us to CLOSE_WAIT.
	_ = f.k.Receive(dev, peerTCP(t, 80, uint16(syn.SrcPort), peerIsn+1, syn.Seq+1, "PA", nil, []byte("hello")))
	_ = f.k.Sync()
	out = c.Take()
	if len(out) != 1 || tcpOf(t, out[0]).Ack != peerIsn+6 {
		t.Fatalf("data not acknowledged: %d frames", len(out))
	}
	if st = f.tcpState(t, fd); st.RcvQlen != 1 || st.RcvQBytes != 5 || st.RcvNxt != peerIsn+6 {
		t.Errorf("receive queue: %+v", st)
	}
	// A segment from the future waits in the out-of-order queue; the
	// answer is a duplicate ACK with a SACK block for it.
	_ = f.k.Receive(dev, peerTCP(t, 80, uint16(syn.SrcPort), peerIsn+100, syn.Seq+1, "A", nil, []byte("later")))
	_ = f.k.Sync()
	out = c.Take()
	if len(out) != 1 || tcpOf(t, out[0]).Ack != peerIsn+6 || f.mib(t, LINUX_MIB_TCPOFOQUEUE) != 1 {
		t.Fatalf("out-of-order segment: %d frames", len(out))
	}
	var sack []byte
	for _, o := range tcpOf(t, out[0]).Options {
		if o.OptionType == layers.TCPOptionKindSACK {
			sack = o.OptionData
		}
	}
	if want := []byte{0, 0, 0, 0, 0, 0, 0, 0}; len(sack) != 8 {
		t.Errorf("SACK option %x, want one block", sack)
	} else {
		binary.BigEndian.PutUint32(want, peerIsn+100)
		binary.BigEndian.PutUint32(want[4:], peerIsn+105)
		if string(sack) != string(want) {
			t.Errorf("SACK block %x, want %x", sack, want)
		}
	}
	// The FIN ends the stream: tcp_fin drops the out-of-order data beyond
	// it, and enters ping-pong mode, so its ACK is delayed (our FIN may
	// soon carry it) and has no SACK block.
	_ = f.k.Receive(dev, peerTCP(t, 80, uint16(syn.SrcPort), peerIsn+6, syn.Seq+1, "FA", nil, nil))
	_ = f.k.Sync()
	if out = c.Take(); len(out) != 0 {
		t.Fatalf("%d frames at once after the FIN, want its ACK delayed", len(out))
	}
	if _, err := f.k.AdvanceToNextTimer(); err != nil {
		t.Fatal(err)
	}
	if out = c.Take(); len(out) != 1 || tcpOf(t, out[0]).Ack != peerIsn+7 {
		t.Fatalf("FIN not acknowledged by the delayed ACK: %d frames", len(out))
	}
	for _, o := range tcpOf(t, out[0]).Options {
		if o.OptionType == layers.TCPOptionKindSACK {
			t.Errorf("the FIN's ACK still carries a SACK block for the dropped data: %x", o.OptionData)
		}
	}
	if st = f.tcpState(t, fd); st.State != sockets.TCP_CLOSE_WAIT {
		t.Errorf("after FIN: %v", st.State)
	}
	// A RST in window ends it: ECONNRESET... in CLOSE_WAIT, EPIPE.
	_ = f.k.Receive(dev, peerTCP(t, 80, uint16(syn.SrcPort), peerIsn+7, 0, "R", nil, nil))
	_ = f.k.Sync()
	if st = f.tcpState(t, fd); st.State != sockets.TCP_CLOSE || st.Err != tracing.EPIPE {
		t.Errorf("after RST: %v err %d", st.State, st.Err)
	}
}

// TestTCPPassiveOpenOnTheWire: a scripted peer connects to a listener;
// SYN-ACK carries our options, and the final ACK makes a child accept()
// returns. A SYN to a closed port gets RST|ACK.
func TestTCPPassiveOpenOnTheWire(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	p := f.p
	lfd := f.socket(t)
	_ = p.Bind(lfd, addr("0.0.0.0:80"))
	_ = p.Listen(lfd, 4)
	const isn = 5000
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, isn, 0, "S", synOpts(), nil))
	_ = f.k.Sync()
	out := c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames after SYN", len(out))
	}
	sa := tcpOf(t, out[0])
	if !sa.SYN || !sa.ACK || sa.Ack != isn+1 || sa.SrcPort != 80 || sa.DstPort != 40000 || sa.Window != 65160 {
		t.Errorf("SYN-ACK %+v", sa)
	}
	if len(sa.Options) != 5 || sa.Options[2].OptionType != layers.TCPOptionKindTimestamps {
		t.Errorf("SYN-ACK options %v", sa.Options)
	} else if tsecr := sa.Options[2].OptionData[4:]; tsecr[3] != 1 {
		t.Errorf("SYN-ACK does not echo the peer's timestamp: % x", tsecr)
	}
	if in := f.cacheInUse(t)["request_sock_TCP"]; in != 1 {
		t.Errorf("%d request socks", in)
	}
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, isn+1, sa.Seq+1, "A", nil, nil))
	_ = f.k.Sync()
	if out = c.Take(); len(out) != 0 {
		t.Errorf("the final ACK was answered with %d frames", len(out))
	}
	afd, peer, err := p.Accept4(lfd, 0)
	if err != nil || peer.String() != "192.0.2.1:40000" {
		t.Fatalf("accept: %v %v", peer, err)
	}
	if st := f.tcpState(t, afd); st.State != sockets.TCP_ESTABLISHED || st.RcvNxt != isn+1 || st.SndNxt != sa.Seq+1 {
		t.Errorf("child %+v", st)
	}
	if in := f.cacheInUse(t)["request_sock_TCP"]; in != 0 {
		t.Errorf("%d request socks after accept", in)
	}
	// Nobody on port 81.
	_ = f.k.Receive(dev, peerTCP(t, 40001, 81, 777, 0, "S", nil, nil))
	_ = f.k.Sync()
	out = c.Take()
	if len(out) != 1 {
		t.Fatalf("%d frames for a closed port", len(out))
	}
	if r := tcpOf(t, out[0]); !r.RST || !r.ACK || r.Seq != 0 || r.Ack != 778 {
		t.Errorf("reset %+v", r)
	}
}

// TestTCPSynRetransmitBackoff: an unanswered SYN is resent at 1, 2, 3, 4
// and 5 s (tcp_syn_linear_timeouts = 4 keep the 1 s RTO), then with
// backoff at 7, 11, 19, 35 and 67 s: tcp_syn_retries (6) + 4 resends;
// connect() fails with ETIMEDOUT at 131 s, when the eleventh timeout
// expires.
func TestTCPSynRetransmitBackoff(t *testing.T) {
	f := boot(t, Config{})
	_, c := scriptDev(t, f, 1500)
	fd := f.socket(t)
	_, _ = f.p.Fcntl(fd, sockets.F_SETFL, sockets.O_NONBLOCK)
	if err := f.p.Connect(fd, addr("192.0.2.1:80")); errnoOf(err) != tracing.EINPROGRESS {
		t.Fatal(err)
	}
	first := tcpOf(t, c.Take()[0])
	var sentAt []int64
	for {
		ok, err := f.k.AdvanceToNextTimer()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		for _, fr := range c.Take() {
			if s := tcpOf(t, fr); s.SYN && s.Seq == first.Seq {
				sentAt = append(sentAt, f.k.clock.Now()/1e9)
			}
		}
		if f.tcpState(t, fd).State == sockets.TCP_CLOSE {
			break
		}
	}
	// tcp_syn_linear_timeouts (4): the first retransmissions keep the 1 s
	// RTO, then it doubles; tcp_syn_retries (6) + 4 retransmissions in all.
	want := []int64{1, 2, 3, 4, 5, 7, 11, 19, 35, 67}
	if len(sentAt) != len(want) {
		t.Fatalf("SYN resent at %v s, want %v", sentAt, want)
	}
	for i := range want {
		if sentAt[i] != want[i] {
			t.Fatalf("SYN resent at %v s, want %v", sentAt, want)
		}
	}
	st := f.tcpState(t, fd)
	if st.State != sockets.TCP_CLOSE || st.Err != tracing.ETIMEDOUT || f.k.clock.Now() != 131e9 {
		t.Errorf("after the last timeout (%d ns): %v err %d", f.k.clock.Now(), st.State, st.Err)
	}
	if f.mib(t, TCP_MIB_RETRANSSEGS) != 10 || f.mib(t, LINUX_MIB_TCPABORTONTIMEOUT) != 1 || f.mib(t, TCP_MIB_ATTEMPTFAILS) != 1 {
		t.Errorf("RetransSegs %d TCPAbortOnTimeout %d", f.mib(t, TCP_MIB_RETRANSSEGS), f.mib(t, LINUX_MIB_TCPABORTONTIMEOUT))
	}
}

// TestTCPDataOverLoopback: 1 MB from a client process to a server process
// arrives byte for byte (the sender sleeping on sk_sndbuf, the receiver
// on an empty queue, window updates in between); the reply comes back.
func TestTCPDataOverLoopback(t *testing.T) {
	f := boot(t, Config{IdleAdvance: true}) // zero-window probes need time to pass
	srv, err := f.k.NewProcess("server")
	if err != nil {
		t.Fatal(err)
	}
	sfd, err := srv.Socket(sockets.AF_INET, sockets.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Bind(sfd, addr("127.0.0.1:5001")); err != nil {
		t.Fatal(err)
	}
	_ = srv.Listen(sfd, 1)
	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = byte(i*7 + i>>11)
	}
	got := make(chan []byte, 1)
	go func() {
		afd, _, err := srv.Accept4(sfd, 0)
		if err != nil {
			got <- nil
			return
		}
		var all []byte
		for len(all) < len(payload) {
			b, _, err := srv.Recvfrom(afd, 100000, 0)
			if err != nil || len(b) == 0 {
				break
			}
			all = append(all, b...)
		}
		_, _ = srv.Sendto(afd, []byte("thanks"), 0, nil)
		got <- all
	}()
	cfd := f.socket(t)
	if err := f.p.Connect(cfd, addr("127.0.0.1:5001")); err != nil {
		t.Fatal(err)
	}
	n, err := f.p.Sendto(cfd, payload, 0, nil)
	if err != nil || n != len(payload) {
		t.Fatalf("send: %d, %v", n, err)
	}
	all := <-got
	if len(all) != len(payload) || string(all) != string(payload) {
		t.Fatalf("server read %d bytes, want %d identical", len(all), len(payload))
	}
	reply, _, err := f.p.Recvfrom(cfd, 100, 0)
	if string(reply) != "thanks" || err != nil {
		t.Errorf("reply %q %v", reply, err)
	}
	st := f.tcpState(t, cfd)
	if wq, _ := f.k.Do("wmem", func(k *Kernel) any { return f.p.Fdt.Get(cfd).PrivateData.Sk.SkWmemQueued }); wq.(int32) != 0 {
		t.Errorf("sk_wmem_queued %d with nothing queued", wq)
	}
	if st.SndUna != st.SndNxt || st.RtxQlen != 0 || st.SndNxt != st.SndIsn+1+uint32(len(payload)) {
		t.Errorf("client after the transfer: %+v", st)
	}
	if _, _, err := f.p.Recvfrom(cfd, 100, sockets.MSG_DONTWAIT); errnoOf(err) != tracing.EAGAIN {
		t.Errorf("empty non-blocking read: %v", err)
	}
	// Sending on an unconnected TCP socket is EPIPE and binds nothing.
	ufd := f.socket(t)
	if _, err := f.p.Sendto(ufd, []byte("x"), 0, nil); errnoOf(err) != tracing.EPIPE {
		t.Errorf("send on an unconnected socket: %v", err)
	}
	if a, _ := f.p.Getsockname(ufd); a.Port != 0 {
		t.Errorf("unconnected socket got port %d", a.Port)
	}
}

// TestTCPTimeWaitOutlivesClose: both FINs are exchanged while the
// application still holds the socket (shutdown first, close later); the
// close must not end TIME_WAIT.
func TestTCPTimeWaitOutlivesClose(t *testing.T) {
	f := boot(t, Config{})
	dev, c := scriptDev(t, f, 1500)
	p := f.p
	lfd := f.socket(t)
	_ = p.Bind(lfd, addr("0.0.0.0:80"))
	_ = p.Listen(lfd, 4)
	const isn = 9000
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, isn, 0, "S", nil, nil))
	_ = f.k.Sync()
	sa := tcpOf(t, c.Take()[0])
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, isn+1, sa.Seq+1, "A", nil, nil))
	_ = f.k.Sync()
	afd, _, err := p.Accept4(lfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(afd, sockets.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	out := c.Take()
	if len(out) != 1 || !tcpOf(t, out[0]).FIN || tcpOf(t, out[0]).Seq != sa.Seq+1 {
		t.Fatalf("shutdown(SHUT_WR) sent %d frames", len(out))
	}
	// The peer acknowledges our FIN and sends its own in one segment.
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, isn+1, sa.Seq+2, "FA", nil, nil))
	_ = f.k.Sync()
	if out = c.Take(); len(out) != 1 || tcpOf(t, out[0]).Ack != isn+2 {
		t.Fatalf("the peer's FIN got %d answers, want one ACK", len(out))
	}
	// A tw took the four-tuple; the application's sock is closed.
	if st := f.tcpState(t, afd); st.State != sockets.TCP_CLOSE {
		t.Fatalf("state %v", st.State)
	}
	_ = p.Close(afd)
	if tw := f.snapshot(t).Timewait; len(tw) != 1 || tw[0].Substate != "TIME_WAIT" || tw[0].SkcNode == "" {
		t.Fatalf("close ended TIME_WAIT: %+v", tw)
	}
	// A retransmitted FIN is acknowledged again.
	_ = f.k.Receive(dev, peerTCP(t, 40000, 80, isn+1, sa.Seq+2, "FA", nil, nil))
	_ = f.k.Sync()
	if out = c.Take(); len(out) != 1 || tcpOf(t, out[0]).Ack != isn+2 {
		t.Errorf("retransmitted FIN: %d answers", len(out))
	}
	_ = p.Close(lfd)
	if err := f.k.AdvanceTo(61e9); err != nil {
		t.Fatal(err)
	}
	if in := f.cacheInUse(t); in["TCP"] != 0 || in["tw_sock_TCP"] != 0 {
		t.Errorf("%d TCP socks, %d tw after TIME_WAIT", in["TCP"], in["tw_sock_TCP"])
	}
}
