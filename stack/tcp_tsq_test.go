package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// asyncCapture is a device driver that keeps every frame and reports
// transmit completion only when the test says so (a NIC whose TX ring the
// test drains).
type asyncCapture struct {
	netdev.Capture
	mu   sync.Mutex
	done func(n int)
}

func (a *asyncCapture) SetTxDone(done func(n int)) {
	a.mu.Lock()
	a.done = done
	a.mu.Unlock()
}

// complete reports n frames sent, from the test's goroutine, as a driver
// does from its own.
func (a *asyncCapture) complete(n int) {
	a.mu.Lock()
	done := a.done
	a.mu.Unlock()
	done(n)
}

// autocorkRig is a stack with an established connection to a scripted
// peer through a device with deferred transmit completion.
type autocorkRig struct {
	f       *fixture
	dev     *netdev.Device
	drv     *asyncCapture
	fd      int
	sent    int // frames the driver has taken
	retired int // frames reported done
	frames  [][]byte
}

func newAutocorkRig(t *testing.T, autocorking string) *autocorkRig {
	t.Helper()
	return newAutocorkRigWith(t, autocorking, Config{})
}

func newAutocorkRigWith(t *testing.T, autocorking string, cfg Config, synOpts ...layers.TCPOption) *autocorkRig {
	t.Helper()
	f := boot(t, cfg)
	drv := &asyncCapture{}
	dev := netdev.New("nic0", "script", 0, 1500, netip.PrefixFrom(stackIP, 24), drv)
	dev.Peer, dev.TxAsync = peerIP, true
	if err := f.k.AddDevice(dev); err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.Sysctl("net.ipv4.tcp_autocorking", &autocorking); err != nil {
		t.Fatal(err)
	}
	r := &autocorkRig{f: f, dev: dev, drv: drv}
	lfd := f.socket(t)
	if err := f.p.Bind(lfd, addr("0.0.0.0:80")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	synAck := tcpOf(t, r.deliver(t, peerTCP(t, 40000, 80, 1000, 0, "S", synOpts, nil))[0])
	r.deliver(t, peerTCP(t, 40000, 80, 1001, synAck.Seq+1, "A", nil, nil))
	fd, _, err := f.p.Accept4(lfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Setsockopt(fd, sockets.IPPROTO_TCP, sockets.TCP_NODELAY, sockets.Optval{Int: 1}); err != nil {
		t.Fatal(err)
	}
	r.fd = fd
	r.drain(t) // the SYN-ACK leaves the device
	return r
}

// deliver hands the stack frames from the peer and returns what it sent.
func (r *autocorkRig) deliver(t *testing.T, frames ...[]byte) [][]byte {
	t.Helper()
	if err := r.f.k.Receive(r.dev, frames...); err != nil {
		t.Fatal(err)
	}
	_ = r.f.k.Sync()
	return r.take()
}

// take collects the frames sent since the last look.
func (r *autocorkRig) take() [][]byte {
	out := r.drv.Take()
	r.sent += len(out)
	r.frames = append(r.frames, out...)
	return out
}

// write writes p and returns what the stack sent for it.
func (r *autocorkRig) write(t *testing.T, p string) [][]byte {
	t.Helper()
	if n, err := r.f.p.Sendto(r.fd, []byte(p), 0, nil); err != nil || n != len(p) {
		t.Fatalf("write %q: %d, %v", p, n, err)
	}
	return r.take()
}

// drain reports every frame taken so far as sent and waits until the
// loop has handled the completions; it returns what the stack sent then.
func (r *autocorkRig) drain(t *testing.T) [][]byte {
	t.Helper()
	n := r.sent - r.retired
	if n == 0 {
		return nil
	}
	v, err := r.f.k.Do("txq", func(k *Kernel) any { return k.txQueueOf(r.dev) })
	if err != nil {
		t.Fatal(err)
	}
	q := v.(*txQueue)
	r.drv.complete(n)
	r.retired += n
	// The loop takes the count and handles it in one go: once the count
	// is taken, a round trip through the loop finds it handled.
	deadline := time.Now().Add(5 * time.Second)
	for q.done.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the loop did not take %d completions", n)
		}
		time.Sleep(time.Millisecond)
	}
	_ = r.f.k.Sync()
	return r.take()
}

// mib reads a counter.
func (r *autocorkRig) mib(t *testing.T, m Mib) uint64 {
	t.Helper()
	v, err := r.f.k.Mib(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wmem reads the connection's sk_wmem_alloc.
func (r *autocorkRig) wmem(t *testing.T) int32 {
	t.Helper()
	v, err := r.f.k.Do("wmem", func(k *Kernel) any { return r.f.p.Fdt.Get(r.fd).PrivateData.Sk.SkWmemAlloc })
	if err != nil {
		t.Fatal(err)
	}
	return v.(int32)
}

// TestAutocorkHoldsSmallWritesUntilTheDeviceIsDone: with TCP_NODELAY, a
// 4-byte write and two 1-byte writes in a row. The first goes at once; the
// second finds the first still in the device (sk_wmem_alloc holds its
// truesize, 832 + 4) and data in flight, so tcp_push holds it back
// (TCPAutoCorking); the third joins it. A tail is held only while
// sk_wmem_alloc is more than its own truesize (832 + its bytes), which is
// why the first write has more bytes than the two held ones together:
// after "a", a tail "bc" (834) would equal sk_wmem_alloc (1 + 833) and go.
// When the device reports the first packet sent, tcp_wfree queues the
// socket for the TSQ tasklet, which sends "bc" as one segment. With
// tcp_autocorking=0 each write is a segment of its own.
func TestAutocorkHoldsSmallWritesUntilTheDeviceIsDone(t *testing.T) {
	r := newAutocorkRig(t, "1")
	if w := r.wmem(t); w != 1 {
		t.Fatalf("sk_wmem_alloc with nothing in the device = %d, want 1", w)
	}
	if out := r.write(t, "aaaa"); len(out) != 1 || string(tcpOf(t, out[0]).Payload) != "aaaa" {
		t.Fatalf("first write sent %d frames", len(out))
	}
	if w := r.wmem(t); w <= 1 {
		t.Errorf("sk_wmem_alloc with a packet in the device = %d, want its truesize more than 1", w)
	}
	if out := r.write(t, "b"); len(out) != 0 {
		t.Fatalf("the second write was not corked: %d frames", len(out))
	}
	if out := r.write(t, "c"); len(out) != 0 {
		t.Fatalf("the third write was not corked: %d frames", len(out))
	}
	if n := r.mib(t, LINUX_MIB_TCPAUTOCORKING); n != 1 {
		t.Errorf("TCPAutoCorking = %d, want 1 (set once while throttled)", n)
	}
	out := r.drain(t)
	if len(out) != 1 {
		t.Fatalf("after the device was done: %d frames, want 1", len(out))
	}
	seg := tcpOf(t, out[0])
	if string(seg.Payload) != "bc" || !seg.PSH {
		t.Errorf("the held segment: payload %q PSH %v, want \"bc\" with PSH", seg.Payload, seg.PSH)
	}
	r.drain(t)
	if w := r.wmem(t); w != 1 {
		t.Errorf("sk_wmem_alloc after every packet left = %d, want 1", w)
	}

	off := newAutocorkRig(t, "0")
	for _, p := range []string{"a", "b", "c"} {
		if out := off.write(t, p); len(out) != 1 || string(tcpOf(t, out[0]).Payload) != p {
			t.Fatalf("tcp_autocorking=0: write %q sent %d frames", p, len(out))
		}
	}
	if n := off.mib(t, LINUX_MIB_TCPAUTOCORKING); n != 0 {
		t.Errorf("tcp_autocorking=0: TCPAutoCorking = %d", n)
	}
}

// TestAutocorkReplays: the completions a device reports are inputs of
// their own, so a recording of the corked writes replays to the same
// events.
func TestAutocorkReplays(t *testing.T) {
	var buf bytes.Buffer
	var w *tracing.TraceWriter
	cfg, err := Config{Seed: 1}.WithRecorder(func(c Config) (InputRecorder, error) {
		boot, err := json.Marshal(DescribeBoot(c))
		if err != nil {
			return nil, err
		}
		w, err = tracing.NewTraceWriter(&buf, tracing.TraceHeader{Mode: "test", Kernel: boot}, tracing.TraceOptions{})
		return w, err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newAutocorkRigWith(t, "1", cfg)
	r.write(t, "a")
	r.write(t, "b")
	r.write(t, "c")
	r.drain(t)
	r.drain(t)
	r.f.k.Stop()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := recordedEvents(t, buf.Bytes())
	got, err := replayAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("replay emitted %d events, the recording has %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d: recorded %q, replayed %q", i, want[i], got[i])
		}
	}
}

// refusingDriver refuses the next frame (a device gone), then sends as
// the async capture does.
type refusingDriver struct {
	*asyncCapture
	refuse bool
}

func (d *refusingDriver) Xmit(frame []byte) error {
	if d.refuse {
		d.refuse = false
		return errors.New("device gone")
	}
	return d.asyncCapture.Xmit(frame)
}

// TestRetransmitWaitsForTheCopyInTheDevice: while the first copy of a
// segment still waits in its device, the loss probe and the RTO send no
// second copy (skb_still_in_host_queue: TCPSpuriousRtxHostQueues, the
// socket throttled); once the device is done, tcp_wfree wakes the socket
// and the TSQ tasklet retransmits what the RTOs marked lost.
func TestRetransmitWaitsForTheCopyInTheDevice(t *testing.T) {
	r := newAutocorkRig(t, "1")
	if out := r.write(t, "a"); len(out) != 1 {
		t.Fatalf("write sent %d frames", len(out))
	}
	now, _ := r.f.k.Now()
	if err := r.f.k.AdvanceTo(now + 5e9); err != nil {
		t.Fatal(err)
	}
	if out := r.take(); len(out) != 0 {
		t.Fatalf("%d copies sent while the first was still in the device", len(out))
	}
	if n := r.mib(t, LINUX_MIB_TCPSPURIOUSRTXHOSTQUEUES); n == 0 {
		t.Error("TCPSpuriousRtxHostQueues = 0")
	}
	// The RTOs marked "a" lost; when its copy leaves the device, the TSQ
	// tasklet (tcp_tsq_write) retransmits it at once.
	out := r.drain(t)
	if len(out) != 1 || string(tcpOf(t, out[0]).Payload) != "a" {
		t.Fatalf("no retransmission of \"a\" when the device was done (%d frames)", len(out))
	}
}

// TestRefusedFrameIsNotHeld: a frame the driver refuses is freed at once,
// not held for a completion that will never come.
func TestRefusedFrameIsNotHeld(t *testing.T) {
	r := newAutocorkRig(t, "0")
	d := &refusingDriver{asyncCapture: r.drv, refuse: true}
	if _, err := r.f.k.Do("swap", func(k *Kernel) any { r.dev.Driver = d; return nil }); err != nil {
		t.Fatal(err)
	}
	r.write(t, "a") // refused
	r.write(t, "b")
	r.drain(t)
	v, err := r.f.k.Do("pending", func(k *Kernel) any { return len(k.txQueueOf(r.dev).pending) })
	if err != nil {
		t.Fatal(err)
	}
	if v.(int) != 0 || r.wmem(t) != 1 {
		t.Errorf("after every frame taken was reported done: %d held, sk_wmem_alloc %d (want 0 and 1)", v.(int), r.wmem(t))
	}
}

// TestSockFreedOnceAfterItsPacketsLeave: a socket closed and reset while
// its packets still wait in the device lives on (sk_free waits for
// sk_wmem_alloc) and is freed, once, when the device is done.
func TestSockFreedOnceAfterItsPacketsLeave(t *testing.T) {
	r := newAutocorkRig(t, "1")
	socks := func() (int, uint64) {
		v, err := r.f.k.Do("socks", func(k *Kernel) any { return len(k.net.Socks()) })
		if err != nil {
			t.Fatal(err)
		}
		return v.(int), r.f.cacheInUse(t)["TCP"]
	}
	n0, slab0 := socks()
	a := tcpOf(t, r.write(t, "a")[0])
	r.write(t, "b") // held: "a" is in the device
	if err := r.f.p.Close(r.fd); err != nil {
		t.Fatal(err)
	}
	r.take()
	r.deliver(t, peerTCP(t, 40000, 80, a.Ack, 0, "R", nil, nil))
	if n, slab := socks(); n != n0 || slab != slab0 {
		t.Errorf("reset with a packet in the device: socks %d -> %d, TCP slab %d -> %d (want the sock kept)", n0, n, slab0, slab)
	}
	r.drain(t)
	r.drain(t)
	if n, slab := socks(); n != n0-1 || slab != slab0-1 {
		t.Errorf("after the device was done: socks %d -> %d, TCP slab %d -> %d (want one fewer)", n0, n, slab0, slab)
	}
}

// TestSmallQueuesHoldTheRestInTheWriteQueue: with tcp_limit_output_bytes
// at 1000 (less than one packet's truesize), TCP Small Queues lets a
// socket have one packet in its device (two while the retransmit queue
// holds one skb); the rest of a 5000-byte
// write (ten 536-byte segments: the peer gave no MSS) waits in the write
// queue, and each completion lets the next segment go. With the default
// limit (1 MiB) the whole write goes at once, as cwnd (10) allows.
// Autocorking is off, so that it does not hold the short last segment.
func TestSmallQueuesHoldTheRestInTheWriteQueue(t *testing.T) {
	payload := string(bytes.Repeat([]byte("x"), 5000))
	def := newAutocorkRig(t, "0")
	if out := def.write(t, payload); len(out) != 10 {
		t.Fatalf("default limit: %d segments at once, want 10", len(out))
	}

	r := newAutocorkRig(t, "0")
	limit := "1000"
	if _, err := r.f.k.Sysctl("net.ipv4.tcp_limit_output_bytes", &limit); err != nil {
		t.Fatal(err)
	}
	var got []int
	total := 0
	out := r.write(t, payload)
	for len(out) > 0 && len(got) < 20 {
		got = append(got, len(out))
		for _, f := range out {
			total += len(tcpOf(t, f).Payload)
		}
		out = r.drain(t)
	}
	if want := "[2 1 1 1 1 1 1 1 1]"; fmt.Sprint(got) != want || total != len(payload) {
		t.Errorf("segments per completion %v (%d bytes), want %s (%d bytes)", got, total, want, len(payload))
	}
}

// TestWindowSmallerThanASegmentWaitsForTheProbe: a segment goes only
// whole (tcp_snd_wnd_test). The peer's window is 500 bytes and the first
// segment 536 (the peer gave no MSS), so tcp_write_xmit sends nothing;
// the probe timer (tcp_write_wakeup) then sends the 500 bytes that fit.
func TestWindowSmallerThanASegmentWaitsForTheProbe(t *testing.T) {
	r := newAutocorkRig(t, "0")
	// The peer sends two bytes, the second with a window of 500: a segment
	// newer than the one that set snd_wl1, so tcp_ack_update_window takes
	// the smaller window.
	v, err := r.f.k.Do("snd_una", func(k *Kernel) any { return tcpSk(r.f.p.Fdt.Get(r.fd).PrivateData.Sk).SndUna })
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []uint16{65535, 500} {
		ip := v4(peerIP, stackIP, layers.IPProtocolTCP)
		th := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1001 + uint32(i), Ack: v.(uint32), ACK: true, PSH: true, Window: w}
		if err := th.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		r.deliver(t, buildPacket(t, ip, th, gopacket.Payload("z")))
		r.drain(t) // the stack's ACK leaves the device
	}
	if out := r.write(t, string(bytes.Repeat([]byte("y"), 1000))); len(out) != 0 {
		t.Fatalf("%d segments sent into a window smaller than the first one (first: %d bytes)", len(out), len(tcpOf(t, out[0]).Payload))
	}
	now, _ := r.f.k.Now()
	if err := r.f.k.AdvanceTo(now + 1_500_000_000); err != nil {
		t.Fatal(err)
	}
	out := r.take()
	if len(out) != 1 || len(tcpOf(t, out[0]).Payload) != 500 {
		t.Fatalf("the probe timer sent %d segments, want one of the 500 bytes that fit", len(out))
	}
}

// TestSackCompression: eight segments arrive after a hole. The first
// three get an ACK each at once (the sender's fast retransmit needs
// three duplicate ACKs); the other five are compressed into one ACK sent
// when the compressed-ACK timer fires (5% of the RTT, at most 1 ms), with
// a SACK block covering all eight. TCPAckCompressed counts the four ACKs
// that were never sent.
func TestSackCompression(t *testing.T) {
	r := newAutocorkRigWith(t, "1", Config{}, layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2})
	v, err := r.f.k.Do("snd_nxt", func(k *Kernel) any { return tcpSk(r.f.p.Fdt.Get(r.fd).PrivateData.Sk).SndNxt })
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for i := 1; i <= 8; i++ {
		frames = append(frames, peerTCP(t, 40000, 80, 1001+uint32(i)*100, v.(uint32), "A", nil, bytes.Repeat([]byte{'o'}, 100)))
	}
	out := r.deliver(t, frames...)
	if len(out) != 3 {
		t.Fatalf("%d ACKs at once for 8 segments after a hole, want 3", len(out))
	}
	now, _ := r.f.k.Now()
	if err := r.f.k.AdvanceTo(now + 2_000_000); err != nil {
		t.Fatal(err)
	}
	out = r.take()
	if len(out) != 1 {
		t.Fatalf("%d ACKs when the compressed-ACK timer fired, want 1", len(out))
	}
	if n := r.mib(t, LINUX_MIB_TCPACKCOMPRESSED); n != 4 {
		t.Errorf("TCPAckCompressed = %d, want 4", n)
	}
	var sackEnd uint32
	for _, o := range tcpOf(t, out[0]).Options {
		if o.OptionType == layers.TCPOptionKindSACK && len(o.OptionData) >= 8 {
			sackEnd = uint32(o.OptionData[4])<<24 | uint32(o.OptionData[5])<<16 | uint32(o.OptionData[6])<<8 | uint32(o.OptionData[7])
		}
	}
	if sackEnd != 1001+9*100 {
		t.Errorf("the compressed ACK's SACK block ends at %d, want %d", sackEnd, 1001+9*100)
	}
}

// TestSackCompressionFlushesForAThirdBlock: with ACKs held back by SACK
// compression, a segment that would need a third SACK block first sends
// the held ACK, with the two blocks it had (tcp_sack_compress_send_ack):
// an ACK can be counted on to carry only two.
func TestSackCompressionFlushesForAThirdBlock(t *testing.T) {
	r := newAutocorkRigWith(t, "1", Config{}, layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2})
	v, err := r.f.k.Do("snd_nxt", func(k *Kernel) any { return tcpSk(r.f.p.Fdt.Get(r.fd).PrivateData.Sk).SndNxt })
	if err != nil {
		t.Fatal(err)
	}
	seg := func(seq uint32) []byte {
		return peerTCP(t, 40000, 80, seq, v.(uint32), "A", nil, bytes.Repeat([]byte{'o'}, 100))
	}
	var first [][]byte
	for i := 1; i <= 4; i++ {
		first = append(first, seg(1001+uint32(i)*100)) // 1101..1501 after a hole at 1001
	}
	if out := r.deliver(t, first...); len(out) != 3 {
		t.Fatalf("%d ACKs for 4 segments after a hole, want 3", len(out))
	}
	if out := r.deliver(t, seg(1701)); len(out) != 0 { // a second block: held
		t.Fatalf("%d ACKs for a second block, want 0 (compressed)", len(out))
	}
	out := r.deliver(t, seg(1901)) // a third block: the held ACK goes first
	if len(out) != 1 {
		t.Fatalf("%d ACKs for a third block, want 1 (the held one)", len(out))
	}
	blocks := 0
	for _, o := range tcpOf(t, out[0]).Options {
		if o.OptionType == layers.TCPOptionKindSACK {
			blocks = len(o.OptionData) / 8
		}
	}
	if blocks != 2 {
		t.Errorf("the flushed ACK carries %d SACK blocks, want the 2 it had before the third", blocks)
	}
}
