package stack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/tracing"
)

// DefaultThashEntries is the size of the TCP hash tables unless told
// otherwise: small, as if the kernel had been booted with
// thash_entries=256, so that hash collisions show up with a handful of
// sockets. A 24 GiB machine has 262144 ehash buckets.
const DefaultThashEntries = 256

// Config describes a kernel to boot.
type Config struct {
	// Seed feeds every random choice (hash secrets, ISNs, port offsets).
	Seed uint64
	// Clock is the kernel's time; nil means a virtual clock starting at 0.
	Clock Clock
	// CPUs is the CPU count SLUB's geometry assumes (default 2).
	CPUs int
	// ThashEntries sizes ehash, bhash/bhash2 and lhash2, like the kernel's
	// thash_entries boot parameter (default DefaultThashEntries).
	ThashEntries int
	// PageLimit caps the memory the slab model may use, in pages (0: none).
	PageLimit uint64
	// IdleAdvance makes a virtual clock jump to the next pending timer
	// whenever the loop is idle (no input waiting, no task runnable), so
	// time passes exactly as fast as the kernel has nothing else to do.
	// Without it, virtual time moves only when the driver says so
	// (AdvanceTo, AdvanceToNextTimer), which is what scripts want: their
	// time column is explicit. Either way, the same inputs in the same
	// order give the same events; with IdleAdvance the inputs should come
	// from one driver that waits for each reply, or the moment they arrive
	// relative to timers is up to the Go scheduler.
	IdleAdvance bool
	// Record, if set, receives every input the loop handles (see
	// record.go); if it also has an Event method (a *tracing.TraceWriter
	// does), it is subscribed to every event from boot on.
	Record InputRecorder
	// Subscribers are subscribed to the tracer before boot, so they see
	// every event the kernel ever emits.
	Subscribers []tracing.Subscriber
	// Spool, if set, keeps the kernel's inputs from boot in a temporary
	// file, so that StartRecording can begin a recording at any moment.
	Spool *SpoolConfig
}

// withDefaults fills in what New defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Clock == nil {
		cfg.Clock = &VirtualClock{}
	}
	if cfg.ThashEntries == 0 {
		cfg.ThashEntries = DefaultThashEntries
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = slab.DefaultCPUs
	}
	return cfg
}

// Kernel is one running kernel. Create it with New and Start its loop; all
// access from outside goes through the loop (processes' syscalls, Do,
// Snapshot).
type Kernel struct {
	cfg      Config
	clock    Clock
	tr       *tracing.Tracer
	rnd      *random
	mem      *slab.Allocator
	skbs     *skb.Hotdata
	net      *sockets.Net
	hash     *sockets.InetHashinfo
	udpTable *sockets.UdpTable
	devs     []*netdev.Device

	tcpProt, udpProt, rawProt, pingProt *sockets.Proto
	reqCache, twCache                   *slab.KmemCache

	procs   []*Process // by pid
	nextPid uint32     // pids and tids share one number space

	timers    timerHeap
	timerSeq  uint64
	liveTimer *time.Timer // live mode: fires at the earliest kernel timer

	current *task   // the task running now; nil for the kernel's own work
	ready   []*task // woken tasks waiting to run, in wake order

	inputs   chan input
	deferred []input // inputs that arrived while stepping was paused
	quit     chan struct{}
	done     chan struct{}
	started  bool

	mib        snmp
	backlog    skb.SkBuffHead // softnet_data.input_pkt_queue of the one CPU
	inSoftirq  int
	txScratch  []byte
	txqs       []*txQueue        // devices whose transmit completes later, in the order they first sent
	txDoorbell chan struct{}     // rung by their drivers when packets are done
	tsqQueue   []*sockets.Sock   // TCP Small Queues' tasklet list (tsq_tasklet.head)
	inTasklet  bool              // tcp_tasklet_func is running: what it sends does not run it again
	tcpWfreeFn func(*skb.SkBuff) // k.tcpWfree, made once: every sent TCP packet carries it
	ipIdents   [ipIdentsSize]uint32
	frags      fragQueues
	icmpRl     icmpRatelimit
	inetProtos [256]func(s *skb.SkBuff)
	// icmpErrHandlers are the protocols' err_handler (udp_err, tcp_v4_err).
	icmpErrHandlers [256]func(typ, code uint8, info uint16, quoted header.IPv4)
	// pmtuExceptions are the path MTUs ICMP taught, per destination
	// (looked up by key only).
	pmtuExceptions  map[netip.Addr]pmtuException
	isnSecret       uint32
	syncookieSecret syncookieSecret
	tablePerturb    []uint32
	reqTimers       map[*sockets.RequestSock]*Timer
	twSocks         map[*sockets.InetTimewaitSock]*twState
	tcpTwIsn        uint32                      // tcp_tw_isn: the ISN a SYN reusing a TIME_WAIT four-tuple gets
	backlogNext     map[*skb.SkBuff]*skb.SkBuff // sk_backlog links

	packetTap  PacketTap
	frameTap   FrameTap
	tapScratch []byte    // the frame tap's copy of a packet
	rec        *recorder // nil unless recording
	replaying  bool      // a Replay drives the kernel (see runReadyTop)

	stepper *tracing.Stepper
	stops   chan Stop
	paused  *Stop
}

// New boots a kernel: the slab allocator with the kmalloc caches, the skb
// caches (skb_init), the socket layer (sock_init), loopback, and the IPv4
// protocols (inet_init). The loop does not run until Start.
func New(cfg Config) (*Kernel, error) {
	cfg = cfg.withDefaults()
	k := &Kernel{
		cfg:     cfg,
		clock:   cfg.Clock,
		rnd:     newRandom(cfg.Seed),
		nextPid: 1,
		inputs:  make(chan input, 64),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		stops:   make(chan Stop, 1),
		// txDoorbell holds one ring: drivers never wait for the loop.
		txDoorbell: make(chan struct{}, 1),
	}
	k.tr = tracing.NewTracer(k.clock)
	k.tcpWfreeFn = k.tcpWfree
	if cfg.Record != nil {
		k.rec = &recorder{out: cfg.Record}
		if w, ok := cfg.Record.(*tracing.TraceWriter); ok {
			k.tr.SubscribeTrace(w)
		} else if ev, ok := cfg.Record.(interface{ Event(*tracing.Event) }); ok {
			k.tr.Subscribe(ev.Event)
		}
	}
	for _, fn := range cfg.Subscribers {
		k.tr.Subscribe(fn)
	}

	k.reqTimers = map[*sockets.RequestSock]*Timer{}
	k.twSocks = map[*sockets.InetTimewaitSock]*twState{}
	k.tablePerturb = make([]uint32, tablePerturbSize)
	k.backlogNext = map[*skb.SkBuff]*skb.SkBuff{}
	var err error
	if k.mem, err = slab.New(slab.Config{CPUs: cfg.CPUs, Tracer: k.tr, PageLimit: cfg.PageLimit}); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	if k.skbs, err = skb.SkbInit(k.mem); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	sysctl := sockets.DefaultSysctls(sockets.RoundPow2(cfg.ThashEntries))
	if k.net, err = sockets.NewNet(k.mem, k.skbs, sysctl, k, k.rnd.r.Uint32()); err != nil {
		return nil, fmt.Errorf("boot: sock_init: %w", err)
	}
	k.net.Random = k.GetRandomU32
	k.isnSecret = k.rnd.r.Uint32()
	k.net.AddrType = k.inetAddrType
	k.devs = append(k.devs, netdev.NewLoopback())
	if err := k.inetInit(); err != nil {
		return nil, fmt.Errorf("boot: inet_init: %w", err)
	}
	// The init process exists from boot; the console and services add more.
	k.newProcess("init")
	if cfg.Spool != nil { // last: nothing after it can fail and leave its file behind
		if err := k.setupSpool(cfg.Spool); err != nil {
			return nil, fmt.Errorf("boot: %w", err)
		}
	}
	return k, nil
}

// Tracer returns the kernel's tracer. Subscribe before Start, or through Do.
func (k *Kernel) Tracer() *tracing.Tracer { return k.tr }

// Clock returns the kernel's clock.
func (k *Kernel) Clock() Clock { return k.clock }

// Net returns init_net. Use it only on the loop (inside Do).
func (k *Kernel) Net() *sockets.Net { return k.net }

// Mem returns the slab allocator. Use it only on the loop.
func (k *Kernel) Mem() *slab.Allocator { return k.mem }

// Hashinfo returns tcp_hashinfo. Use it only on the loop.
func (k *Kernel) Hashinfo() *sockets.InetHashinfo { return k.hash }

// Config returns the configuration the kernel booted with.
func (k *Kernel) Config() Config { return k.cfg }

// ArgString resolves cache ids and drop reasons in traces.
func (k *Kernel) ArgString(a tracing.Arg) (string, bool) {
	if a.Kind == tracing.ArgState {
		return "TCP_" + sockets.State(a.Val).String(), true
	}
	return k.skbs.ArgString(a)
}

// input is one thing for the loop to handle, in arrival order.
type input struct {
	sys *syscallReq
	ctl *ctlMsg
	rx  *rxBatch
}

// ctlMsg is a command run on the loop, with a reply.
type ctlMsg struct {
	name  string
	fn    func(k *Kernel) any
	reply chan any
	// duringPause says the command may run while stepping is paused
	// (snapshots, step commands); other commands wait until the kernel
	// runs again.
	duringPause bool
}

// ErrStopped is returned when the kernel's loop has stopped.
var ErrStopped = errors.New("the kernel has stopped")

// Start runs the kernel loop on its own goroutine.
func (k *Kernel) Start() {
	if k.started {
		return
	}
	k.started = true
	go k.loop()
}

// Stop ends the loop; processes blocked in syscalls get ErrStopped.
func (k *Kernel) Stop() {
	if !k.started {
		k.closeRecording() // a kernel that never ran still has its spool to remove
		return
	}
	select {
	case <-k.quit:
	default:
		close(k.quit)
	}
	<-k.done
}

// Do runs fn on the kernel loop and returns its result: the way to look at
// or change kernel state from outside. name says what it is, for traces
// and recordings.
func (k *Kernel) Do(name string, fn func(k *Kernel) any) (any, error) {
	return k.send(&ctlMsg{name: name, fn: fn})
}

func (k *Kernel) send(c *ctlMsg) (any, error) {
	c.reply = make(chan any, 1)
	select {
	case k.inputs <- input{ctl: c}:
	case <-k.quit:
		return nil, ErrStopped
	}
	select {
	case r := <-c.reply:
		return r, nil
	case <-k.done:
		return nil, ErrStopped
	}
}

func (k *Kernel) loop() {
	defer close(k.done)
	defer k.closeRecording()
	defer k.shutdown()
	// A recording on the machine's clock reaches the disk at least this
	// often, so that a crash or SIGKILL loses little of it.
	var flushC <-chan time.Time
	if k.rec != nil && !k.clock.Virtual() {
		t := time.NewTicker(recordFlushEvery)
		defer t.Stop()
		flushC = t.C
	}
	for {
		k.runReadyTop()
		if len(k.deferred) > 0 {
			in := k.deferred[0]
			k.deferred = k.deferred[1:]
			k.tick()
			k.handle(in)
			continue
		}
		var timerC <-chan time.Time
		if !k.clock.Virtual() {
			timerC = k.liveTimerChan()
		} else if k.cfg.IdleAdvance {
			select {
			case in := <-k.inputs:
				k.handle(in)
				continue
			case <-k.quit:
				return
			default:
			}
			if next, ok := k.nextTimer(); ok {
				k.advanceTo(next)
				continue
			}
		}
		select {
		case in := <-k.inputs:
			k.tick()
			k.handle(in)
		case <-flushC:
			k.flushRecording()
			continue
		case <-k.txDoorbell:
			k.tick()
			k.txDoorbellRang()
		case <-timerC:
			k.tick()
			if k.rec != nil && k.recBegin(recTimers, nil) {
				k.runTimers()
				k.recEnd()
				continue
			}
			k.runTimers()
		case <-k.quit:
			return
		}
	}
}

// tick reads a real clock once for the input or timer run the loop is
// about to handle (a virtual clock moves only when told).
func (k *Kernel) tick() {
	if rc, ok := k.clock.(*RealClock); ok {
		rc.tick()
	}
}

func (k *Kernel) handle(in input) {
	switch {
	case in.sys != nil:
		if k.rec != nil && k.recBeginSyscall(in.sys) {
			k.startSyscall(in.sys)
			k.recEnd()
			break
		}
		k.startSyscall(in.sys)
	case in.ctl != nil:
		in.ctl.reply <- in.ctl.fn(k)
	case in.rx != nil:
		// One NAPI poll: the whole batch goes through the softirq before
		// the processes it woke get to run (on the kernel's one CPU).
		k.receiveFrames(in.rx.dev, in.rx.frames)
		if in.rx.done != nil {
			in.rx.done()
		}
	}
	k.runReadyTop()
}

// runReadyTop runs the woken tasks when the loop is between inputs. A
// replay does not: in the recording, each such run is an input of its own
// (recRunReady), and the replay runs it when it comes.
func (k *Kernel) runReadyTop() {
	if !k.replaying {
		k.runReady()
	}
}

// shutdown fails every syscall still sleeping.
func (k *Kernel) shutdown() {
	if k.rec != nil && k.recBegin(recShutdown, nil) {
		defer k.recEnd()
	}
	for _, p := range k.procs {
		for _, t := range p.tasks {
			if t.req != nil {
				t.req.reply <- result{err: ErrStopped}
				t.req = nil
			}
			if t.stop != nil {
				// The task unwinds from where it slept: its exits are
				// its own, at its own depth.
				prev := k.tr.Task()
				k.tr.SetTask(t.tid)
				t.stop()
				k.tr.SetTask(prev)
			}
		}
	}
}

// AdvanceTo moves a virtual clock to t and fires every timer due by then,
// in order, moving time to each timer's expiry as it fires.
func (k *Kernel) AdvanceTo(t int64) error {
	_, err := k.Do("advance", func(k *Kernel) any {
		k.advanceTo(t)
		return nil
	})
	return err
}

func (k *Kernel) advanceTo(t int64) {
	vc, ok := k.clock.(*VirtualClock)
	if !ok {
		return
	}
	if next, ok := k.nextTimer(); t <= vc.now && (!ok || next > t) {
		return // nothing to do: time stands, no timer is due
	}
	if k.rec != nil && k.recBegin(recAdvance, func(b []byte) []byte { return binary.AppendVarint(b, t) }) {
		defer k.recEnd()
	}
	for {
		next, ok := k.nextTimer()
		if !ok || next > t {
			break
		}
		vc.set(next)
		k.runTimers()
	}
	vc.set(t)
}

// AdvanceToNextTimer moves a virtual clock to the earliest pending timer
// and fires it (and any others due then). It reports false when no timer
// is pending: nothing in the kernel will happen by itself.
func (k *Kernel) AdvanceToNextTimer() (bool, error) {
	r, err := k.Do("advance-next-timer", func(k *Kernel) any {
		next, ok := k.nextTimer()
		if !ok || !k.clock.Virtual() {
			return false
		}
		k.advanceTo(next)
		return true
	})
	if err != nil {
		return false, err
	}
	return r.(bool), nil
}

// NextTimer reports when the earliest pending timer fires, and whether
// one is pending. A driver of a virtual clock uses it to move time one
// timer at a time and look at what each timer did.
func (k *Kernel) NextTimer() (int64, bool, error) {
	type next struct {
		at int64
		ok bool
	}
	r, err := k.Do("next-timer", func(k *Kernel) any {
		at, ok := k.nextTimer()
		return next{at, ok}
	})
	if err != nil {
		return 0, false, err
	}
	n := r.(next)
	return n.at, n.ok, nil
}

// Sync returns once every input sent before it has been handled and every
// woken task has run: the kernel is quiescent.
func (k *Kernel) Sync() error {
	_, err := k.Do("sync", func(*Kernel) any { return nil })
	return err
}

// Now reads the kernel's clock through the loop.
func (k *Kernel) Now() (int64, error) {
	r, err := k.Do("now", func(k *Kernel) any { return k.clock.Now() })
	if err != nil {
		return 0, err
	}
	return r.(int64), nil
}

// Sysctl reads a tunable (value nil) or writes it, through the loop, and
// returns its value afterwards.
func (k *Kernel) Sysctl(name string, value *string) (string, error) {
	return control(k, "sysctl", false, func(k *Kernel) (string, error) {
		if value != nil {
			if err := k.net.Sysctl.Validate(name, *value); err != nil {
				return "", err // refused: nothing changes, nothing to record
			}
			if k.rec != nil && k.recBegin(recSysctl, func(b []byte) []byte {
				return appendBytes(appendBytes(b, []byte(name)), []byte(*value))
			}) {
				defer k.recEnd()
			}
			if err := k.net.Sysctl.Set(name, *value); err != nil {
				return "", err
			}
		}
		return k.net.Sysctl.Get(name)
	})
}

// Subscribe adds a trace subscriber through the loop.
func (k *Kernel) Subscribe(fn tracing.Subscriber) (int, error) {
	r, err := k.Do("subscribe", func(k *Kernel) any { return k.tr.Subscribe(fn) })
	if err != nil {
		return 0, err
	}
	return r.(int), nil
}
