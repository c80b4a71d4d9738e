package stack

import (
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// inetBindConflict is inet_bind_conflict: whether sk2, bound to the same
// port, stops sk from binding. SO_REUSEADDR on both lets them share unless
// sk2 listens. (SO_REUSEPORT is not modelled.)
func inetBindConflict(sk *sockets.Sock, sk2 *sockets.SockCommon, relax bool) bool {
	if &sk.SockCommon == sk2 {
		return false
	}
	if sk.SkcBoundDevIf != 0 && sk2.SkcBoundDevIf != 0 && sk.SkcBoundDevIf != sk2.SkcBoundDevIf {
		return false
	}
	if sk.SkcReuse != 0 && sk2.SkcReuse != 0 && sk2.SkcState != sockets.TCP_LISTEN {
		return !relax
	}
	return true
}

// ownersConflict is inet_bhash2_conflict: any owner of tb2 in conflict.
func ownersConflict(sk *sockets.Sock, tb2 *sockets.InetBind2Bucket, relax bool) bool {
	for _, sc := range tb2.Owners() {
		if inetBindConflict(sk, sc, relax) {
			return true
		}
	}
	return false
}

// inetCskBindConflict is inet_csk_bind_conflict. A sock bound to a
// specific address only competes with the same (port, address) bucket;
// one bound to INADDR_ANY competes with every address on the port.
func (k *Kernel) inetCskBindConflict(sk *sockets.Sock, tb *sockets.InetBindBucket, tb2 *sockets.InetBind2Bucket, relax bool) bool {
	k.tr.Enter2(fnInetCskBindConflict, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(tb.Port)))
	conflict := false
	if sk.SkcRcvSaddr != sockets.INADDR_ANY {
		conflict = tb2 != nil && ownersConflict(sk, tb2, relax)
	} else {
		for _, b := range tb.Buckets() {
			if ownersConflict(sk, b, relax) {
				conflict = true
				break
			}
		}
	}
	k.tr.Exit(fnInetCskBindConflict, tracing.Bool(conflict))
	return conflict
}

// inetBhash2AddrAnyConflict is inet_bhash2_addr_any_conflict: for a sock
// with a specific address, a sock bound to INADDR_ANY on the port is a
// conflict too.
func (k *Kernel) inetBhash2AddrAnyConflict(sk *sockets.Sock, port uint16, relax bool) bool {
	h := k.hash
	head2 := &h.Bhash2[h.Bhash2Index(k.net, sockets.INADDR_ANY, port)]
	for _, tb2 := range head2.Chain() {
		if tb2.Port == port && tb2.RcvSaddr == sockets.INADDR_ANY && ownersConflict(sk, tb2, relax) {
			return true
		}
	}
	return false
}

// inetCskFindOpenPort is inet_csk_find_open_port: bind() with port 0 scans
// the lower half of ip_local_port_range (the upper half too if SO_REUSEADDR
// is set and the lower is full) from a random odd offset, odd ports first,
// leaving the even ones to connect().
func (k *Kernel) inetCskFindOpenPort(sk *sockets.Sock) (uint16, *sockets.InetBindBucket, *sockets.InetBind2Bucket, bool) {
	tr := k.tr
	tr.Enter1(fnInetCskFindOpenPort, tracing.Sock(uint64(sk.Addr())))
	h, net := k.hash, k.net
	relax := false
	for pass := 0; pass < 2; pass++ {
		attemptHalf := 0
		if sk.SkcReuse == sockets.SK_CAN_REUSE {
			attemptHalf = 1
		}
	otherHalf:
		low, high := net.Sysctl.IpLocalPortRange[0], net.Sysctl.IpLocalPortRange[1]+1
		if high-low < 4 {
			attemptHalf = 0
		}
		if attemptHalf != 0 {
			half := low + ((high-low)>>2)<<1
			if attemptHalf == 1 {
				high = half
			} else {
				low = half
			}
		}
		remaining := uint32(high - low)
		if remaining > 1 {
			remaining &^= 1
		}
		offset := k.GetRandomU32Below(remaining) | 1
		for parity := 0; parity < 2; parity++ {
			port := low + int(offset)
			for i := uint32(0); i < remaining; i, port = i+2, port+2 {
				if port >= high {
					port -= int(remaining)
				}
				p := uint16(port)
				if sk.SkcRcvSaddr != sockets.INADDR_ANY && k.inetBhash2AddrAnyConflict(sk, p, relax) {
					continue
				}
				head := &h.Bhash[sockets.InetBhashfn(net, p, h.BhashSize)]
				head2 := &h.Bhash2[h.Bhash2Index(net, sk.SkcRcvSaddr, p)]
				tb2 := sockets.InetBind2BucketFind(head2, p, 0, sk)
				tb := sockets.InetBindBucketFind(head, p, 0)
				if tb == nil || !k.inetCskBindConflict(sk, tb, tb2, relax) {
					tr.Exit(fnInetCskFindOpenPort, tracing.Int(int64(p)))
					return p, tb, tb2, true
				}
			}
			offset--
			if offset&1 != 0 {
				break
			}
		}
		if attemptHalf == 1 {
			attemptHalf = 2
			goto otherHalf
		}
		if net.Sysctl.IpAutobindReuse == 0 || relax {
			break
		}
		relax = true
	}
	tr.Exit(fnInetCskFindOpenPort, tracing.Int(0))
	return 0, nil, nil, false
}

// inetCskGetPort is inet_csk_get_port: claim snum for sk (or find a free
// port if snum is 0), creating the bind buckets as needed, unless another
// sock's binding conflicts (EADDRINUSE).
func (k *Kernel) inetCskGetPort(sk *sockets.Sock, snum uint16) error {
	tr := k.tr
	h, net := k.hash, k.net
	tr.Enter2(fnInetCskGetPort, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(snum)))
	fail := func(err error) error {
		tr.Exit(fnInetCskGetPort, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return err
	}
	port := snum
	var tb *sockets.InetBindBucket
	var tb2 *sockets.InetBind2Bucket
	var head *sockets.InetBindHashbucket
	found := false
	if port == 0 {
		var ok bool
		port, tb, tb2, ok = k.inetCskFindOpenPort(sk)
		if !ok {
			return fail(sockets.Errno(tracing.EADDRINUSE))
		}
		found = true
	}
	head = &h.Bhash[sockets.InetBhashfn(net, port, h.BhashSize)]
	if !found {
		tb = sockets.InetBindBucketFind(head, port, 0)
	}
	var err error
	createdTb := false
	if tb == nil {
		if tb, err = sockets.InetBindBucketCreate(net, h, head, port, 0); err != nil {
			return fail(err)
		}
		createdTb = true
	}
	head2 := &h.Bhash2[h.Bhash2Index(net, sk.SkcRcvSaddr, port)]
	if !found {
		if sk.SkcRcvSaddr != sockets.INADDR_ANY && k.inetBhash2AddrAnyConflict(sk, port, true) {
			k.undoBuckets(tb, nil, createdTb, false)
			return fail(sockets.Errno(tracing.EADDRINUSE))
		}
		tb2 = sockets.InetBind2BucketFind(head2, port, 0, sk)
	}
	createdTb2 := false
	if tb2 == nil {
		if tb2, err = sockets.InetBind2BucketCreate(net, h, head2, tb, sk); err != nil {
			k.undoBuckets(tb, nil, createdTb, false)
			return fail(err)
		}
		createdTb2 = true
	}
	if !found && k.inetCskBindConflict(sk, tb, tb2, true) {
		k.undoBuckets(tb, tb2, createdTb, createdTb2)
		return fail(sockets.Errno(tracing.EADDRINUSE))
	}
	k.inetCskUpdateFastreuse(tb, sk)
	if icsk := sockets.IcskOf(sk); icsk.IcskBindHash == nil {
		sockets.InetBindHash(net, sk, tb, tb2, port)
	}
	tr.Exit(fnInetCskGetPort, tracing.Errno(0))
	return nil
}

// inetCskUpdateFastreuse is inet_csk_update_fastreuse: bind() records on
// the port's bucket whether its owners all allow address reuse
// (fastreuse) and port sharing (fastreuseport; SO_REUSEPORT is not
// modelled, so always 0 here). A bucket connect() made has both at -1,
// which keeps the port for connect()'s own use; a bind() that joins it
// sets fastreuseport to 0, and connect() no longer picks the port. In 6.12
// the new (port, address) bucket is already linked under tb when
// inet_csk_get_port gets here, so the first branch (an empty tb) is not
// taken from there and fastreuse never becomes 1.
func (k *Kernel) inetCskUpdateFastreuse(tb *sockets.InetBindBucket, sk *sockets.Sock) {
	reuse := sk.SkcReuse != 0 && sk.SkcState != sockets.TCP_LISTEN
	switch {
	case !tb.HasBuckets():
		tb.Fastreuse = 0
		if reuse {
			tb.Fastreuse = 1
		}
	case !reuse:
		tb.Fastreuse = 0
	}
	tb.Fastreuseport = 0
	k.tr.Point(fnInetCskUpdateFastreuse, tracing.Int(int64(tb.Fastreuse)), tracing.Int(int64(tb.Fastreuseport)))
}

// undoBuckets frees buckets inet_csk_get_port created before failing.
func (k *Kernel) undoBuckets(tb *sockets.InetBindBucket, tb2 *sockets.InetBind2Bucket, freeTb, freeTb2 bool) {
	if freeTb2 && tb2 != nil {
		sockets.DestroyBind2BucketIfEmpty(k.net, k.hash, tb, tb2)
	}
	if freeTb {
		sockets.DestroyBindBucketIfEmpty(k.net, k.hash, tb)
	}
}

// reqskQueueAlloc is reqsk_queue_alloc: in 6.x it allocates nothing, it
// only empties the accept queue. The SYN queue's counts (qlen, young), the
// SYN-flood warning and TCP_DEFER_ACCEPT stay: a listen() again after
// shutdown(SHUT_RD) still has the first listen's request socks hashed,
// and they leave the queue through the same counts.
func (k *Kernel) reqskQueueAlloc(q *sockets.RequestSockQueue) {
	k.tr.Enter(fnReqskQueueAlloc)
	q.RskqAcceptHead = nil
	q.RskqAcceptTail = nil // stale in Linux (unused while the head is nil); cleared so Go frees it
	k.tr.Exit(fnReqskQueueAlloc, tracing.Arg{})
}

// inetCskListenStart is inet_csk_listen_start: reset the accept queue, go
// to LISTEN, make sure the port is ours (get_port), and hash the sock into
// lhash2 so SYNs can find it.
func (k *Kernel) inetCskListenStart(sk *sockets.Sock) error {
	tr := k.tr
	tr.Enter1(fnInetCskListenStart, tracing.Sock(uint64(sk.Addr())))
	icsk := sockets.IcskOf(sk)
	k.reqskQueueAlloc(&icsk.IcskAcceptQueue)
	sk.SkAckBacklog = 0
	k.inetSkStateStore(sk, sockets.TCP_LISTEN)
	err := sk.SkcProt.GetPort(sk, sk.SkcNum)
	if err == nil {
		icsk.InetSport = sockets.Htons(sk.SkcNum)
		err = sk.SkcProt.Hash(sk)
		if err == nil {
			tr.Exit(fnInetCskListenStart, tracing.Errno(0))
			return nil
		}
	}
	k.inetSkStateStore(sk, sockets.TCP_CLOSE)
	tr.Exit(fnInetCskListenStart, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	return err
}

// inetSkStateStore is inet_sk_state_store: set sk_state.
func (k *Kernel) inetSkStateStore(sk *sockets.Sock, st sockets.State) {
	k.tr.Point(fnInetSkStateStore, tracing.Sock(uint64(sk.Addr())), tracing.State(uint8(st)))
	sk.SkcState = st
}

// sockRcvtimeo is sock_rcvtimeo: 0 for a non-blocking call.
func sockRcvtimeo(sk *sockets.Sock, noblock bool) int64 {
	if noblock {
		return 0
	}
	return sk.SkRcvtimeo
}

// inetCskAccept is inet_csk_accept: take the first child off the accept
// queue, sleeping in inet_csk_wait_for_connect if it is empty (EAGAIN
// without sleeping for a non-blocking socket).
func (k *Kernel) inetCskAccept(sk *sockets.Sock, flags int) (*sockets.Sock, error) {
	tr := k.tr
	tr.Enter2(fnInetCskAccept, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(flags)))
	fail := func(e error) (*sockets.Sock, error) {
		sockets.ReleaseSock(sk)
		tr.Exit(fnInetCskAccept, tracing.Errno(sockets.ErrnoOf(e).Ret()))
		return nil, e
	}
	icsk := sockets.IcskOf(sk)
	q := &icsk.IcskAcceptQueue
	sockets.LockSock(sk)
	if sk.SkcState != sockets.TCP_LISTEN {
		return fail(sockets.Errno(tracing.EINVAL))
	}
	if sockets.ReqskQueueEmpty(q) {
		timeo := sockRcvtimeo(sk, flags&sockets.O_NONBLOCK != 0)
		if timeo == 0 {
			return fail(sockets.Errno(tracing.EAGAIN))
		}
		if err := k.inetCskWaitForConnect(sk, timeo); err != nil {
			return fail(err)
		}
	}
	req := k.reqskQueueRemove(q, sk)
	newsk := req.Sk
	sockets.ReleaseSock(sk)
	k.reqskPut(req)
	tr.Exit(fnInetCskAccept, tracing.Sock(uint64(newsk.Addr())))
	return newsk, nil
}

// inetCskWaitForConnect is inet_csk_wait_for_connect: sleep exclusively on
// the listener's wait queue (one waiter wakes per connection) until a
// child arrives, the socket stops listening, a signal or the timeout.
func (k *Kernel) inetCskWaitForConnect(sk *sockets.Sock, timeo int64) error {
	tr := k.tr
	tr.Enter2(fnInetCskWaitForConnect, tracing.Sock(uint64(sk.Addr())), tracing.Int(timeo))
	icsk := sockets.IcskOf(sk)
	var err error
	for {
		sockets.ReleaseSock(sk)
		var interrupted bool
		if sockets.ReqskQueueEmpty(&icsk.IcskAcceptQueue) {
			timeo, interrupted = k.SleepOn(sk.SkWq, true, timeo)
		}
		sockets.LockSock(sk)
		err = nil
		if !sockets.ReqskQueueEmpty(&icsk.IcskAcceptQueue) {
			break
		}
		err = sockets.Errno(tracing.EINVAL)
		if sk.SkcState != sockets.TCP_LISTEN {
			break
		}
		if interrupted {
			err = sockets.Errno(tracing.EINTR) // sock_intr_errno: -ERESTARTSYS, seen as EINTR
			break
		}
		err = sockets.Errno(tracing.EAGAIN)
		if timeo == 0 {
			break
		}
	}
	tr.Exit(fnInetCskWaitForConnect, tracing.Errno(sockets.ErrnoOf(err).Ret()))
	return err
}

// reqskQueueRemove is reqsk_queue_remove: pop the accept queue's head and
// count it out of sk_ack_backlog.
func (k *Kernel) reqskQueueRemove(q *sockets.RequestSockQueue, parent *sockets.Sock) *sockets.RequestSock {
	k.tr.Enter1(fnReqskQueueRemove, tracing.Sock(uint64(parent.Addr())))
	req := q.RskqAcceptHead
	if req != nil {
		q.RskqAcceptHead = req.DlNext
		if q.RskqAcceptHead == nil {
			q.RskqAcceptTail = nil
		}
		req.DlNext = nil
		sockets.SkAcceptqRemoved(parent)
	}
	k.tr.Exit(fnReqskQueueRemove, tracing.Ptr(uint64(reqAddr(req))))
	return req
}

func reqAddr(r *sockets.RequestSock) uint64 {
	if r == nil {
		return 0
	}
	return uint64(r.Addr())
}

// reqskPut is reqsk_put: the last reference frees the request sock back
// to request_sock_TCP.
func (k *Kernel) reqskPut(req *sockets.RequestSock) {
	req.SkcRefcnt--
	if req.SkcRefcnt > 0 {
		return
	}
	k.tr.Enter1(fnReqskFree, tracing.Ptr(uint64(req.Addr())))
	_ = k.mem.KmemCacheFree(k.reqCache, req.Addr())
	k.tr.Exit(fnReqskFree, tracing.Arg{})
}

// inetCskListenStop is inet_csk_listen_stop: a listener closes, so every
// child still waiting in the accept queue is closed too and every request
// sock freed.
func (k *Kernel) inetCskListenStop(sk *sockets.Sock) {
	tr := k.tr
	tr.Enter1(fnInetCskListenStop, tracing.Sock(uint64(sk.Addr())))
	q := &sockets.IcskOf(sk).IcskAcceptQueue
	for req := k.reqskQueueRemove(q, sk); req != nil; req = k.reqskQueueRemove(q, sk) {
		if child := req.Sk; child != nil {
			k.inetChildForget(sk, req, child)
		}
		k.reqskPut(req)
	}
	tr.Exit(fnInetCskListenStop, tracing.Arg{})
}

// inetChildForget is inet_child_forget: close a child nobody accepted.
func (k *Kernel) inetChildForget(parent *sockets.Sock, req *sockets.RequestSock, child *sockets.Sock) {
	k.tr.Enter1(fnInetChildForget, tracing.Sock(uint64(child.Addr())))
	_ = child.SkcProt.Disconnect(child, sockets.O_NONBLOCK)
	sockets.SockOrphan(child)
	k.inetCskDestroySock(child)
	k.tr.Exit(fnInetChildForget, tracing.Arg{})
}

// inetCskDestroySock is inet_csk_destroy_sock: a dead, unhashed sock in
// CLOSE lets go of its port (tcp_v4_destroy_sock) and its reference.
func (k *Kernel) inetCskDestroySock(sk *sockets.Sock) {
	k.tr.Enter1(fnInetCskDestroySock, tracing.Sock(uint64(sk.Addr())))
	if d := sk.SkcProt.Destroy; d != nil {
		d(sk)
	}
	sockets.SockPut(sk)
	k.tr.Exit(fnInetCskDestroySock, tracing.Arg{})
}
