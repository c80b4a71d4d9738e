package sockets

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/tracing"
)

// SkAlloc is sk_alloc (net/core/sock.c): a new struct sock for prot from
// its slab, with the family, the protocol, the lock and sk_wmem_alloc = 1.
func SkAlloc(net *Net, family int, prot *Proto, kern bool) (*Sock, error) {
	tr := net.Tracer
	tr.Enter2(fnSkAlloc, tracing.Int(int64(family)), tracing.Bool(kern))
	sk, err := skProtAlloc(net, prot, family)
	if err != nil {
		tr.Exit(fnSkAlloc, tracing.Sock(0))
		return nil, err
	}
	sk.SkcFamily = uint16(family)
	sk.SkcProt = prot
	sockLockInit(net, sk)
	sk.SkcNet = net
	sk.SkWmemAlloc = 1
	tr.Exit(fnSkAlloc, tracing.Sock(uint64(sk.addr)))
	return sk, nil
}

// skProtAlloc is sk_prot_alloc: the object comes from prot's slab cache
// (the "TCP" cache proto_register made), or from kmalloc when the protocol
// has none; then the LSM hook and the module reference, each of which can
// fail and free the object again.
func skProtAlloc(net *Net, prot *Proto, family int) (*Sock, error) {
	tr := net.Tracer
	tr.Enter2(fnSkProtAlloc, tracing.Cache(cacheID(prot)), tracing.Int(int64(family)))
	var sk *Sock
	if prot.Alloc != nil {
		sk = prot.Alloc(prot)
	} else {
		sk = &Sock{}
		sk.owner = sk
	}
	var err error
	if prot.Slab != nil {
		sk.addr, err = net.Mem.KmemCacheAlloc(prot.Slab)
		sk.cache = prot.Slab
	} else {
		sk.addr, err = net.Mem.Kmalloc(uint64(prot.ObjSize))
	}
	if err != nil {
		tr.Exit(fnSkProtAlloc, tracing.Sock(0))
		return nil, Errno(tracing.ENOMEM)
	}
	// __GFP_ZERO is masked off for slab socks; sk_prot_clear_nulls zeroes
	// everything but the nulls node. The Go struct is new, so already zero.
	Noop(tr, fnSecuritySkAlloc, tracing.Sock(uint64(sk.addr)))
	Noop(tr, fnTryModuleGet, tracing.Arg{})
	tr.Exit(fnSkProtAlloc, tracing.Sock(uint64(sk.addr)))
	return sk, nil
}

func cacheID(p *Proto) uint64 {
	if p.Slab == nil {
		return ^uint64(0)
	}
	return uint64(p.Slab.ID())
}

// Noop reports a step the kernel takes that stackscope has nothing behind
// (an LSM hook, a module reference, a BPF hook): it shows in traces, does
// nothing, and its registry entry says so.
func Noop(tr *tracing.Tracer, fn tracing.FuncID, a tracing.Arg) {
	if a.Kind == tracing.ArgNone {
		tr.Enter(fn)
	} else {
		tr.Enter1(fn, a)
	}
	tr.Exit(fn, tracing.Errno(0))
}

// sockLockInit is sock_lock_init: the socket lock starts free.
func sockLockInit(net *Net, sk *Sock) {
	net.Tracer.Enter1(fnSockLockInit, tracing.Sock(uint64(sk.addr)))
	sk.SkLock = SocketLock{}
	net.Tracer.Exit(fnSockLockInit, tracing.Arg{})
}

// SockInitData is sock_init_data: empty queues, default buffer sizes from
// net.core.[rw]mem_default, state CLOSE, the sock_def_* callbacks, the
// link between sock and socket, and sk_refcnt = 1.
func SockInitData(net *Net, sock *Socket, sk *Sock) {
	tr := net.Tracer
	tr.Enter2(fnSockInitData, tracing.Ptr(uint64(socketAddr(sock))), tracing.Sock(uint64(sk.addr)))
	skb.SkbQueueHeadInit(&sk.SkReceiveQueue, tr, sk.addr+offReceiveQueue)
	skb.SkbQueueHeadInit(&sk.SkWriteQueue, tr, sk.addr+offWriteQueue)
	skb.SkbQueueHeadInit(&sk.SkErrorQueue, tr, sk.addr+offErrorQueue)
	sk.SkRcvbuf = int32(net.Sysctl.RmemDefault)
	sk.SkSndbuf = int32(net.Sysctl.WmemDefault)
	sk.SkMaxPacingRate, sk.SkPacingRate, sk.SkPacingShift = ^uint64(0), ^uint64(0), 10
	sk.SkcState = TCP_CLOSE
	sk.SkSocket = sock
	sk.SockSetFlag(SOCK_ZAPPED)
	if sock != nil {
		sk.SkType = uint16(sock.Type)
		sk.SkWq = &sock.Wq
		sock.Sk = sk
	}
	sk.SkStateChange = sockDefWakeup
	sk.SkDataReady = sockDefReadable
	sk.SkWriteSpace = sockDefWriteSpace
	sk.SkErrorReport = sockDefErrorReport
	sk.SkDestruct = nil
	sk.SkRcvlowat = 1
	sk.SkPeekOff = -1
	sk.SkRcvtimeo = MaxScheduleTimeout
	sk.SkSndtimeo = MaxScheduleTimeout
	sk.SkcRefcnt = 1
	net.socks = append(net.socks, sk)
	tr.Exit(fnSockInitData, tracing.Arg{})
}

// Offsets of the queues inside struct sock, for the addresses traces show.
const (
	offReceiveQueue = 0xa0
	offWriteQueue   = 0x118
	offErrorQueue   = 0xb8
)

func socketAddr(s *Socket) uint64 {
	if s == nil {
		return 0
	}
	return uint64(s.addr)
}

// The default callbacks wake whoever sleeps on the socket's wait queue.
func sockDefWakeup(sk *Sock) {
	tr := sk.SkcNet.Tracer
	tr.Enter1(fnSockDefWakeup, tracing.Sock(uint64(sk.addr)))
	if sk.SkWq != nil {
		sk.SkWq.WakeUp(int(^uint(0) >> 1))
	}
	tr.Exit(fnSockDefWakeup, tracing.Arg{})
}

func sockDefReadable(sk *Sock) {
	tr := sk.SkcNet.Tracer
	tr.Enter1(fnSockDefReadable, tracing.Sock(uint64(sk.addr)))
	if sk.SkWq != nil {
		sk.SkWq.WakeUp(1)
	}
	tr.Exit(fnSockDefReadable, tracing.Arg{})
}

func sockDefWriteSpace(sk *Sock) {
	if sk.SkWq != nil {
		sk.SkWq.WakeUp(1)
	}
}

// sockDefErrorReport is sock_def_error_report: wake the sleepers (all
// that poll, read or write, and one that waits exclusively, in accept).
func sockDefErrorReport(sk *Sock) {
	if sk.SkWq != nil {
		sk.SkWq.WakeUp(1)
	}
}

// LockSock is lock_sock: a process takes ownership of the socket, so
// packets arriving meanwhile go to the backlog.
func LockSock(sk *Sock) {
	tr := sk.SkcNet.Tracer
	tr.Enter1(fnLockSock, tracing.Sock(uint64(sk.addr)))
	sk.SkLock.Owned = true
	tr.Exit(fnLockSock, tracing.Arg{})
}

// ReleaseSock is release_sock: process the backlog (TCP's, once it
// exists), then give the socket back.
func ReleaseSock(sk *Sock) {
	tr := sk.SkcNet.Tracer
	tr.Enter1(fnReleaseSock, tracing.Sock(uint64(sk.addr)))
	backlog := sk.SkBacklog.Head != nil
	for sk.SkBacklog.Head != nil && sk.SkBacklogRcv != nil {
		s := sk.SkBacklog.Head
		sk.SkBacklog.Head, sk.SkBacklog.Tail = nil, nil
		sk.SkBacklogRcv(sk, s)
	}
	if backlog {
		// __release_sock zeroes the length only once the whole backlog
		// is processed: until then it still counts against the receive
		// window (tcp_space) and the backlog's limit.
		sk.SkBacklog.Len = 0
	}
	if sk.SkReleaseCb != nil {
		sk.SkReleaseCb(sk)
	}
	sk.SkLock.Owned = false
	tr.Exit(fnReleaseSock, tracing.Arg{})
}

// SockHold is sock_hold.
func SockHold(sk *Sock) { sk.SkcRefcnt++ }

// SockPut is sock_put: the last reference frees the sock (sk_free).
func SockPut(sk *Sock) {
	sk.SkcRefcnt--
	if sk.SkcRefcnt == 0 {
		skFree(sk)
	}
}

// SkbSetOwnerW is skb_set_owner_w: s is charged to sk's sk_wmem_alloc
// until destructor gives it back (tcp_wfree, sock_wfree): while a sent
// packet waits in a device, its bytes still count against the sock.
func SkbSetOwnerW(s *skb.SkBuff, sk *Sock, destructor func(*skb.SkBuff)) {
	skb.SkbOrphan(s)
	s.Sk, s.Destructor = sk, destructor
	sk.SkWmemAlloc += int32(s.Truesize)
}

// SkWmemUncharge gives back what SkbSetOwnerW charged for s (the part of
// sock_wfree and tcp_wfree they share), and frees the sock when it was
// waiting only for this: sk_free leaves a sock whose packets are still in
// a device alive until the last one is done.
func SkWmemUncharge(s *skb.SkBuff) *Sock {
	sk, ok := s.Sk.(*Sock)
	if !ok {
		return nil
	}
	sk.SkWmemAlloc -= int32(s.Truesize)
	if sk.SkWmemAlloc == 0 {
		skFreeNow(sk)
	}
	return sk
}

// SkFree is sk_free, for protocols that hold a reference on
// sk_wmem_alloc of their own (tcp_wfree's, until TSQ's tasklet ran).
func SkFree(sk *Sock) { skFree(sk) }

// skFree is sk_free: drop the reference sk_wmem_alloc holds for the sock
// itself, and free it (__sk_free) unless sent packets still hold bytes
// of it, in which case the last of them does.
func skFree(sk *Sock) {
	sk.SkWmemAlloc--
	if sk.SkWmemAlloc > 0 {
		return
	}
	skFreeNow(sk)
}

// skFreeNow is __sk_free -> __sk_destruct -> sk_prot_free: run the
// destructor, purge the queues and return the object to its slab.
func skFreeNow(sk *Sock) {
	net := sk.SkcNet
	tr := net.Tracer
	tr.Enter1(fnSkFree, tracing.Sock(uint64(sk.addr)))
	if sk.SkDestruct != nil {
		sk.SkDestruct(sk)
	}
	_ = skb.SkbQueuePurge(&sk.SkReceiveQueue)
	_ = skb.SkbQueuePurge(&sk.SkWriteQueue)
	_ = skb.SkbQueuePurge(&sk.SkErrorQueue)
	tr.Enter1(fnSkProtFree, tracing.Sock(uint64(sk.addr)))
	if sk.cache != nil {
		_ = net.Mem.KmemCacheFree(sk.cache, sk.addr)
	} else {
		_ = net.Mem.Kfree(sk.addr)
	}
	tr.Exit(fnSkProtFree, tracing.Arg{})
	net.forgetSock(sk)
	tr.Exit(fnSkFree, tracing.Arg{})
}

// SockOrphan is sock_orphan: the sock outlives its socket (it may still
// have a connection to finish).
func SockOrphan(sk *Sock) {
	sk.SockSetFlag(SOCK_DEAD)
	if sk.SkSocket != nil {
		sk.SkSocket.Sk = nil
	}
	sk.SkSocket = nil
	sk.SkWq = nil
}

// SockGraft is sock_graft: attach a sock to a socket (after accept).
func SockGraft(net *Net, sk *Sock, parent *Socket) {
	net.Tracer.Enter2(fnSockGraft, tracing.Sock(uint64(sk.addr)), tracing.Ptr(uint64(parent.addr)))
	sk.SkWq = &parent.Wq
	parent.Sk = sk
	sk.SkSocket = parent
	net.Tracer.Exit(fnSockGraft, tracing.Arg{})
}
