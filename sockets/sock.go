package sockets

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/slab"
)

// SockCommon is struct sock_common: the part every socket-like object
// shares (full socks, request socks, timewait socks), and all the hash
// tables need to find one.
type SockCommon struct {
	SkcDaddr      Be32   // foreign IPv4 address
	SkcRcvSaddr   Be32   // bound local IPv4 address
	SkcHash       uint32 // inet_ehashfn of the 4-tuple once hashed
	SkcDport      Be16   // foreign port, network order
	SkcNum        uint16 // local port, host order
	SkcFamily     uint16
	SkcState      State
	SkcReuse      uint8
	SkcReuseport  bool
	SkcBoundDevIf int32
	SkcRefcnt     int32
	SkcProt       *Proto
	SkcNet        *Net

	skcNode     hnode[SockCommon]  // skc_node / skc_nulls_node: ehash or lhash2 chain
	skcBindNode hnode[SockCommon]  // skc_bind_node: tb2->owners
	chain       *hlist[SockCommon] // the ehash or lhash2 chain it is on
	bindChain   *hlist[SockCommon] // the tb2->owners list it is on

	addr  slab.Addr // kernel address of the enclosing object
	owner any       // the enclosing object: *Sock, *RequestSock or *InetTimewaitSock
}

func nodeOf(sc *SockCommon) *hnode[SockCommon]     { return &sc.skcNode }
func bindNodeOf(sc *SockCommon) *hnode[SockCommon] { return &sc.skcBindNode }

// Addr returns the kernel address of the object this sock_common begins.
func (sc *SockCommon) Addr() slab.Addr { return sc.addr }

// Owner returns the object sock_common is the start of (container_of).
func (sc *SockCommon) Owner() any { return sc.owner }

// Hashed reports whether the object is on an ehash or lhash2 chain
// (sk_hashed).
func (sc *SockCommon) Hashed() bool { return sc.skcNode.on }

// SocketLock is socket_lock_t: a spinlock for softirq context and the
// "owned" flag a process sets with lock_sock.
type SocketLock struct {
	Slock bool // spin_lock_bh held
	Owned bool // a process holds it (lock_sock)
}

// SkBacklog is sk->sk_backlog: packets that arrived while a process owned
// the socket, replayed by release_sock.
type SkBacklog struct {
	Head, Tail *skb.SkBuff
	Len        int
	RmemAlloc  int
}

// Sock is struct sock: the network layer's view of a socket.
type Sock struct {
	SockCommon

	SkLock         SocketLock
	SkReceiveQueue skb.SkBuffHead
	SkWriteQueue   skb.SkBuffHead
	SkErrorQueue   skb.SkBuffHead
	SkBacklog      SkBacklog
	SkRcvbuf       int32
	SkSndbuf       int32
	SkRmemAlloc    int32 // sk_rmem_alloc
	SkWmemAlloc    int32 // sk_wmem_alloc, 1 while the sock lives
	// SkPacingRate is sk_pacing_rate in bytes per second (TCP sets it
	// from cwnd and srtt; ~0 until then) and SkMaxPacingRate its cap
	// (SO_MAX_PACING_RATE; ~0: none). SkPacingShift is sk_pacing_shift:
	// TCP Small Queues allows 1/2^shift of a second at the pacing rate
	// in the device.
	SkPacingRate    uint64
	SkMaxPacingRate uint64
	SkPacingShift   uint8
	SkWmemQueued    int32
	SkWritePending  int32 // sk_write_pending: writers waiting for the handshake
	SkForwardAlloc  int32
	SkAckBacklog    uint32
	SkMaxAckBacklog uint32
	SkFlags         uint64 // bits of SockFlag
	SkUserlocks     uint8
	SkShutdown      uint8
	SkType          uint16
	SkProtocol      uint16
	SkLingertime    int64 // nanoseconds
	SkRcvtimeo      int64 // nanoseconds; MaxScheduleTimeout: forever
	SkSndtimeo      int64
	SkRcvlowat      int32
	// SkPeekOff is sk_peek_off (SO_PEEK_OFF): where MSG_PEEK starts
	// reading, ahead of what was read; -1: at the front.
	SkPeekOff int32
	// SkPriority is SO_PRIORITY, the priority Linux gives the socket's
	// packets for queueing disciplines (the model has none to read it).
	SkPriority uint32
	SkErr      int32
	SkErrSoft  int32
	SkDrops    uint32
	SkSocket   *Socket
	SkWq       *WaitQueue // the socket's wait queue (sk->sk_wq)

	// Callbacks set by sock_init_data and the protocol.
	SkStateChange func(sk *Sock)
	SkDataReady   func(sk *Sock)
	SkWriteSpace  func(sk *Sock)
	SkErrorReport func(sk *Sock)
	SkBacklogRcv  func(sk *Sock, s *skb.SkBuff) int
	SkDestruct    func(sk *Sock)
	// SkReleaseCb is sk_prot->release_cb: work deferred while a process
	// owned the sock (TCP's tcp_release_cb), run by release_sock.
	SkReleaseCb func(sk *Sock)

	cache *slab.KmemCache // the cache the object came from (sk_prot_creator's slab)
}

// SockFlagSet is sock_flag.
func (sk *Sock) SockFlagSet(f SockFlag) bool { return sk.SkFlags&(1<<f) != 0 }

// SockSetFlag is sock_set_flag.
func (sk *Sock) SockSetFlag(f SockFlag) { sk.SkFlags |= 1 << f }

// SockResetFlag is sock_reset_flag.
func (sk *Sock) SockResetFlag(f SockFlag) { sk.SkFlags &^= 1 << f }

// SockFlagNames lists the set flags by name.
func (sk *Sock) SockFlagNames() []string {
	var out []string
	for f := SockFlag(0); f < numSockFlags; f++ {
		if sk.SockFlagSet(f) {
			out = append(out, f.String())
		}
	}
	return out
}

// InetSock is struct inet_sock: an IPv4 sock. inet_num, inet_rcv_saddr,
// inet_daddr and inet_dport are sock_common's fields (macros in the
// kernel): SkcNum, SkcRcvSaddr, SkcDaddr, SkcDport.
type InetSock struct {
	Sock
	InetSaddr Be32 // source address used for sending
	InetSport Be16 // source port, network order
	InetId    uint16
	UcTtl     int16 // -1: use the sysctl
	Tos       uint8
	Freebind  bool
}

// InetCskAfOps is struct inet_connection_sock_af_ops: the address family's
// hooks for connection socks (ipv4_specific).
type InetCskAfOps struct {
	Name string
}

// InetConnectionSock is struct inet_connection_sock: what connection
// oriented protocols share: the accept queue, the bind buckets, the
// retransmission state.
type InetConnectionSock struct {
	InetSock
	IcskAcceptQueue RequestSockQueue
	IcskBindHash    *InetBindBucket
	IcskBind2Hash   *InetBind2Bucket
	IcskAfOps       *InetCskAfOps
	IcskRto         int64 // nanoseconds
	IcskRetransmits uint8
	IcskPending     uint8
	IcskBackoff     uint8
	IcskSynRetries  uint8
	IcskCaState     uint8  // TCP_CA_Open, ... TCP_CA_Loss
	IcskProbesOut   uint8  // zero-window probes sent without an answer
	IcskPmtuCookie  uint32 // the path MTU the MSS was last synced to
}

// IcskOf returns the inet_connection_sock of a sock that is one (inet_csk),
// or nil.
func IcskOf(sk *Sock) *InetConnectionSock {
	if c, ok := sk.owner.(interface{ Icsk() *InetConnectionSock }); ok {
		return c.Icsk()
	}
	return nil
}

// InetOf returns the inet_sock of a sock (inet_sk), or nil.
func InetOf(sk *Sock) *InetSock {
	if c, ok := sk.owner.(interface{ Inet() *InetSock }); ok {
		return c.Inet()
	}
	return nil
}

// Icsk lets protocol socks built on InetConnectionSock be found from *Sock.
func (icsk *InetConnectionSock) Icsk() *InetConnectionSock { return icsk }

// Inet returns the inet_sock part.
func (inet *InetSock) Inet() *InetSock { return inet }

// SockOf is the reverse of embedding: the *Sock inside a protocol sock.
func (sk *Sock) SockOf() *Sock { return sk }

// Self returns the protocol sock this sock is part of (tcp_sk, udp_sk).
func (sk *Sock) Self() any { return sk.owner }

// AttachOwner records the protocol sock a *Sock is embedded in, so that
// tcp_sk(sk) and inet_csk(sk) can find it (container_of).
func AttachOwner(sk *Sock, owner any) {
	sk.owner = owner
}
