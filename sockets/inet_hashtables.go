package sockets

import (
	"fmt"

	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// Bind bucket object sizes (struct inet_bind_bucket, inet_bind2_bucket):
// both land in 64-byte slots with SLAB_HWCACHE_ALIGN.
const (
	SizeofInetBindBucket  = 48
	SizeofInetBind2Bucket = 56
	maxBindHashSize       = 64 * 1024
)

// InetEhashBucket is struct inet_ehash_bucket: one chain of established,
// TIME_WAIT and NEW_SYN_RECV socks. The kernel ends each chain with a nulls
// marker that encodes the bucket index, so an RCU reader that followed a
// moved socket into another chain notices and restarts.
type InetEhashBucket struct {
	chain hlist[SockCommon]
}

// InetListenHashbucket is struct inet_listen_hashbucket: a chain of lhash2.
type InetListenHashbucket struct {
	nulls hlist[SockCommon]
}

// InetBindHashbucket is struct inet_bind_hashbucket of bhash.
type InetBindHashbucket struct {
	chain hlist[InetBindBucket]
}

// InetBind2Hashbucket is the bhash2 flavour of inet_bind_hashbucket.
type InetBind2Hashbucket struct {
	chain hlist[InetBind2Bucket]
}

// InetBindBucket is struct inet_bind_bucket: one local port in use, with the
// (port, address) buckets under it.
type InetBindBucket struct {
	Port          uint16
	L3mdev        int
	Fastreuse     int8
	Fastreuseport int8
	node          hnode[InetBindBucket]
	bhash2        hlist[InetBind2Bucket] // tb->bhash2: this port's tb2s
	head          *InetBindHashbucket
	addr          slab.Addr
}

// Addr returns the bucket's kernel address (in tcp_bind_bucket).
func (tb *InetBindBucket) Addr() slab.Addr { return tb.addr }

// HasBuckets reports whether any (port, address) bucket hangs under tb
// (!hlist_empty(&tb->bhash2)).
func (tb *InetBindBucket) HasBuckets() bool { return tb.bhash2.n != 0 }

// InetBind2Bucket is struct inet_bind2_bucket: one (port, address) pair in
// use, owning the socks bound to it (since about 6.8 the socks hang here).
type InetBind2Bucket struct {
	Port      uint16
	L3mdev    int
	RcvSaddr  Be32
	Family    uint16
	node      hnode[InetBind2Bucket] // in the bhash2 chain
	bhashNode hnode[InetBind2Bucket] // in tb->bhash2
	owners    hlist[SockCommon]
	head      *InetBind2Hashbucket
	addr      slab.Addr
}

// Addr returns the bucket's kernel address (in tcp_bind2_bucket).
func (tb2 *InetBind2Bucket) Addr() slab.Addr { return tb2.addr }

// Owners returns the socks bound to this (port, address), newest first.
func (tb2 *InetBind2Bucket) Owners() []*SockCommon {
	var out []*SockCommon
	tb2.owners.each(bindNodeOf, func(sc *SockCommon) bool { out = append(out, sc); return true })
	return out
}

func tbNode(tb *InetBindBucket) *hnode[InetBindBucket]        { return &tb.node }
func tb2Node(tb2 *InetBind2Bucket) *hnode[InetBind2Bucket]    { return &tb2.node }
func tb2BhashNode(t *InetBind2Bucket) *hnode[InetBind2Bucket] { return &t.bhashNode }

// InetHashinfo is struct inet_hashinfo (tcp_hashinfo): the four tables a
// TCP socket can be found in.
type InetHashinfo struct {
	Ehash      []InetEhashBucket
	EhashMask  uint32
	Bhash      []InetBindHashbucket
	Bhash2     []InetBind2Hashbucket
	BhashSize  uint32
	Lhash2     []InetListenHashbucket
	Lhash2Mask uint32

	BindBucketCachep  *slab.KmemCache // tcp_bind_bucket
	Bind2BucketCachep *slab.KmemCache // tcp_bind2_bucket
	EhashSecret       uint32          // inet_ehash_secret
}

// RoundPow2 rounds n up to a power of two, as the kernel sizes hash tables.
func RoundPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// NewInetHashinfo sizes the tables as tcp_init does when booted with
// thash_entries=entries: ehash gets entries (rounded to a power of two),
// bhash and bhash2 as many up to 64 Ki, lhash2 as many up to 64 Ki. The
// bind bucket caches are created here, as tcp_init does.
func NewInetHashinfo(mem *slab.Allocator, entries int, secret uint32) (*InetHashinfo, error) {
	if entries < 1 || entries > 1<<24 {
		return nil, fmt.Errorf("thash_entries %d: use 1 to %d", entries, 1<<24)
	}
	e := RoundPow2(entries)
	b := min(e, maxBindHashSize)
	l := min(e, maxBindHashSize)
	h := &InetHashinfo{
		Ehash:       make([]InetEhashBucket, e),
		EhashMask:   uint32(e - 1),
		Bhash:       make([]InetBindHashbucket, b),
		Bhash2:      make([]InetBind2Hashbucket, b),
		BhashSize:   uint32(b),
		Lhash2:      make([]InetListenHashbucket, l),
		Lhash2Mask:  uint32(l - 1),
		EhashSecret: secret,
	}
	var err error
	if h.BindBucketCachep, err = mem.KmemCacheCreate("tcp_bind_bucket", SizeofInetBindBucket, 0,
		slab.SLAB_HWCACHE_ALIGN|slab.SLAB_PANIC|slab.SLAB_ACCOUNT, false); err != nil {
		return nil, err
	}
	if h.Bind2BucketCachep, err = mem.KmemCacheCreate("tcp_bind2_bucket", SizeofInetBind2Bucket, 0,
		slab.SLAB_HWCACHE_ALIGN|slab.SLAB_PANIC|slab.SLAB_ACCOUNT, false); err != nil {
		return nil, err
	}
	return h, nil
}

// InetEhashfn is inet_ehashfn: the established-table hash of a 4-tuple,
// jhash_3words(laddr, faddr, lport << 16 | fport, inet_ehash_secret +
// net_hash_mix(net)). lport is in host order, fport in network order, as
// the kernel passes them.
func InetEhashfn(net *Net, h *InetHashinfo, laddr Be32, lport uint16, faddr Be32, fport Be16) uint32 {
	return Jhash3Words(uint32(laddr), uint32(faddr), uint32(lport)<<16|uint32(fport), h.EhashSecret+net.HashMix)
}

// InetBhashfn is inet_bhashfn: the bind table bucket of a port.
func InetBhashfn(net *Net, lport uint16, bhashSize uint32) uint32 {
	return (uint32(lport) + net.HashMix) & (bhashSize - 1)
}

// Ipv4PortaddrHash is ipv4_portaddr_hash, used by bhash2 and lhash2:
// jhash_1word(saddr, net_hash_mix(net)) ^ port.
func Ipv4PortaddrHash(net *Net, saddr Be32, port uint16) uint32 {
	return Jhash1Word(uint32(saddr), net.HashMix) ^ uint32(port)
}

// Lhash2Index is the lhash2 bucket of (addr, port).
func (h *InetHashinfo) Lhash2Index(net *Net, addr Be32, port uint16) uint32 {
	return Ipv4PortaddrHash(net, addr, port) & h.Lhash2Mask
}

// Bhash2Index is the bhash2 bucket of (addr, port).
func (h *InetHashinfo) Bhash2Index(net *Net, addr Be32, port uint16) uint32 {
	return Ipv4PortaddrHash(net, addr, port) & (h.BhashSize - 1)
}

// EhashIndex is the ehash bucket of a hash.
func (h *InetHashinfo) EhashIndex(hash uint32) uint32 { return hash & h.EhashMask }

// InetBindBucketCreate is inet_bind_bucket_create: a new bucket for port,
// from tcp_bind_bucket, at the head of its bhash chain.
func InetBindBucketCreate(net *Net, h *InetHashinfo, head *InetBindHashbucket, port uint16, l3mdev int) (*InetBindBucket, error) {
	net.Tracer.Enter2(fnInetBindBucketCreate, tracing.Int(int64(port)), tracing.Int(int64(InetBhashfn(net, port, h.BhashSize))))
	addr, err := net.Mem.KmemCacheAlloc(h.BindBucketCachep)
	if err != nil {
		net.Tracer.Exit(fnInetBindBucketCreate, tracing.Ptr(0))
		return nil, Errno(tracing.ENOMEM)
	}
	tb := &InetBindBucket{Port: port, L3mdev: l3mdev, head: head, addr: addr}
	head.chain.addHead(tb, tbNode)
	net.Tracer.Exit(fnInetBindBucketCreate, tracing.Ptr(uint64(addr)))
	return tb, nil
}

// inetBindBucketDestroy is inet_bind_bucket_destroy: free tb once no
// (port, address) bucket is left under it.
func inetBindBucketDestroy(net *Net, h *InetHashinfo, tb *InetBindBucket) {
	if tb.bhash2.n != 0 {
		return
	}
	net.Tracer.Enter1(fnInetBindBucketDestroy, tracing.Ptr(uint64(tb.addr)))
	tb.head.chain.del(tb, tbNode)
	_ = net.Mem.KmemCacheFree(h.BindBucketCachep, tb.addr)
	net.Tracer.Exit(fnInetBindBucketDestroy, tracing.Arg{})
}

// InetBind2BucketCreate is inet_bind2_bucket_create: a bucket for (port,
// sk's address) under tb, at the head of its bhash2 chain.
func InetBind2BucketCreate(net *Net, h *InetHashinfo, head2 *InetBind2Hashbucket, tb *InetBindBucket, sk *Sock) (*InetBind2Bucket, error) {
	net.Tracer.Enter2(fnInetBind2BucketCreate, tracing.Int(int64(tb.Port)), tracing.Int(int64(h.Bhash2Index(net, sk.SkcRcvSaddr, tb.Port))))
	addr, err := net.Mem.KmemCacheAlloc(h.Bind2BucketCachep)
	if err != nil {
		net.Tracer.Exit(fnInetBind2BucketCreate, tracing.Ptr(0))
		return nil, Errno(tracing.ENOMEM)
	}
	tb2 := &InetBind2Bucket{Port: tb.Port, L3mdev: tb.L3mdev, RcvSaddr: sk.SkcRcvSaddr, Family: sk.SkcFamily, head: head2, addr: addr}
	head2.chain.addHead(tb2, tb2Node)
	tb.bhash2.addHead(tb2, tb2BhashNode)
	net.Tracer.Exit(fnInetBind2BucketCreate, tracing.Ptr(uint64(addr)))
	return tb2, nil
}

// inetBind2BucketDestroy is inet_bind2_bucket_destroy: free tb2 once it has
// no owner.
func inetBind2BucketDestroy(net *Net, h *InetHashinfo, tb *InetBindBucket, tb2 *InetBind2Bucket) {
	if tb2.owners.n != 0 {
		return
	}
	net.Tracer.Enter1(fnInetBind2BucketDestroy, tracing.Ptr(uint64(tb2.addr)))
	tb2.head.chain.del(tb2, tb2Node)
	tb.bhash2.del(tb2, tb2BhashNode)
	_ = net.Mem.KmemCacheFree(h.Bind2BucketCachep, tb2.addr)
	net.Tracer.Exit(fnInetBind2BucketDestroy, tracing.Arg{})
}

// InetBindBucketFind walks a bhash chain for port.
func InetBindBucketFind(head *InetBindHashbucket, port uint16, l3mdev int) *InetBindBucket {
	var found *InetBindBucket
	head.chain.each(tbNode, func(tb *InetBindBucket) bool {
		if tb.Port == port && tb.L3mdev == l3mdev {
			found = tb
			return false
		}
		return true
	})
	return found
}

// InetBind2BucketFind is inet_bind2_bucket_find: the (port, sk's address)
// bucket in a bhash2 chain.
func InetBind2BucketFind(head2 *InetBind2Hashbucket, port uint16, l3mdev int, sk *Sock) *InetBind2Bucket {
	var found *InetBind2Bucket
	head2.chain.each(tb2Node, func(tb2 *InetBind2Bucket) bool {
		if tb2.Port == port && tb2.L3mdev == l3mdev && tb2.RcvSaddr == sk.SkcRcvSaddr && tb2.Family == sk.SkcFamily {
			found = tb2
			return false
		}
		return true
	})
	return found
}

// Buckets returns tb's (port, address) buckets, newest first.
func (tb *InetBindBucket) Buckets() []*InetBind2Bucket {
	var out []*InetBind2Bucket
	tb.bhash2.each(tb2BhashNode, func(t *InetBind2Bucket) bool { out = append(out, t); return true })
	return out
}

// InetBhash2UpdateSaddr is __inet_bhash2_update_saddr: sk's source
// address changes (connect() fills in the one the route chose, or a failed
// connect() takes it back to 0.0.0.0 when reset), and a bound sk moves to
// the bhash2 bucket of its new (address, port), made if need be; the old
// bucket goes once empty. The new bucket is allocated first, and given
// back if one was already there.
func InetBhash2UpdateSaddr(net *Net, h *InetHashinfo, sk *Sock, saddr Be32, reset bool) error {
	net.Tracer.Enter2(fnInetBhash2UpdateSaddr, tracing.Sock(uint64(sk.addr)), tracing.IPv4(uint32(saddr)))
	set := func() {
		if reset {
			saddr = 0
		}
		InetOf(sk).InetSaddr, sk.SkcRcvSaddr = saddr, saddr
	}
	icsk := IcskOf(sk)
	if icsk.IcskBind2Hash == nil { // not bound yet
		set()
		net.Tracer.Exit(fnInetBhash2UpdateSaddr, tracing.Errno(0))
		return nil
	}
	spare, err := net.Mem.KmemCacheAlloc(h.Bind2BucketCachep)
	if err != nil {
		if reset {
			InetPutPort(net, h, sk)
			set()
		}
		net.Tracer.Exit(fnInetBhash2UpdateSaddr, tracing.Errno(-tracing.ENOMEM))
		return Errno(tracing.ENOMEM)
	}
	tb, port := icsk.IcskBindHash, sk.SkcNum
	if sk.bindChain != nil {
		sk.bindChain.del(&sk.SockCommon, bindNodeOf)
		sk.bindChain = nil
	}
	inetBind2BucketDestroy(net, h, tb, icsk.IcskBind2Hash)
	set()
	head2 := &h.Bhash2[h.Bhash2Index(net, sk.SkcRcvSaddr, port)]
	tb2 := InetBind2BucketFind(head2, port, tb.L3mdev, sk)
	if tb2 == nil {
		tb2 = &InetBind2Bucket{Port: port, L3mdev: tb.L3mdev, RcvSaddr: sk.SkcRcvSaddr, Family: sk.SkcFamily, head: head2, addr: spare}
		head2.chain.addHead(tb2, tb2Node)
		tb.bhash2.addHead(tb2, tb2BhashNode)
	} else {
		_ = net.Mem.KmemCacheFree(h.Bind2BucketCachep, spare)
	}
	icsk.IcskBind2Hash = tb2
	tb2.owners.addHead(&sk.SockCommon, bindNodeOf)
	sk.bindChain = &tb2.owners
	net.Tracer.Exit(fnInetBhash2UpdateSaddr, tracing.Errno(0))
	return nil
}

// InetBindHash is inet_bind_hash: sk now owns port through tb and tb2.
func InetBindHash(net *Net, sk *Sock, tb *InetBindBucket, tb2 *InetBind2Bucket, port uint16) {
	net.Tracer.Enter3(fnInetBindHash, tracing.Sock(uint64(sk.addr)), tracing.Ptr(uint64(tb.addr)), tracing.Int(int64(port)))
	sk.SkcNum = port
	icsk := IcskOf(sk)
	icsk.IcskBindHash = tb
	icsk.IcskBind2Hash = tb2
	tb2.owners.addHead(&sk.SockCommon, bindNodeOf)
	sk.bindChain = &tb2.owners
	net.Tracer.Exit(fnInetBindHash, tracing.Arg{})
}

// InetPutPort is inet_put_port: sk gives its port back; empty buckets are
// freed.
func InetPutPort(net *Net, h *InetHashinfo, sk *Sock) {
	icsk := IcskOf(sk)
	if icsk == nil || icsk.IcskBindHash == nil {
		return
	}
	net.Tracer.Enter1(fnInetPutPort, tracing.Sock(uint64(sk.addr)))
	tb, tb2 := icsk.IcskBindHash, icsk.IcskBind2Hash
	tb2.owners.del(&sk.SockCommon, bindNodeOf)
	sk.bindChain = nil
	icsk.IcskBindHash, icsk.IcskBind2Hash = nil, nil
	sk.SkcNum = 0
	inetBind2BucketDestroy(net, h, tb, tb2)
	inetBindBucketDestroy(net, h, tb)
	net.Tracer.Exit(fnInetPutPort, tracing.Arg{})
}

// InetHash is inet_hash / __inet_hash for a listener: put sk at the head of
// its lhash2 chain (reuseport groups are not modelled).
func InetHash(net *Net, h *InetHashinfo, sk *Sock) error {
	if sk.SkcState != TCP_LISTEN {
		return InetEhashNolisten(net, h, sk)
	}
	idx := h.Lhash2Index(net, sk.SkcRcvSaddr, sk.SkcNum)
	net.Tracer.Enter2(fnInetHash, tracing.Sock(uint64(sk.addr)), tracing.Int(int64(idx)))
	ilb2 := &h.Lhash2[idx]
	ilb2.nulls.addHead(&sk.SockCommon, nodeOf)
	sk.chain = &ilb2.nulls
	sk.SockSetFlag(SOCK_RCU_FREE)
	net.Tracer.Exit(fnInetHash, tracing.Errno(0))
	return nil
}

// InetEhashNolisten is inet_ehash_nolisten (with inet_ehash_insert):
// compute sk_hash from the 4-tuple and put sk at the head of its ehash
// chain.
func InetEhashNolisten(net *Net, h *InetHashinfo, sk *Sock) error {
	sk.SkcHash = InetEhashfn(net, h, sk.SkcRcvSaddr, sk.SkcNum, sk.SkcDaddr, sk.SkcDport)
	idx := h.EhashIndex(sk.SkcHash)
	net.Tracer.Enter2(fnInetEhashNolisten, tracing.Sock(uint64(sk.addr)), tracing.Int(int64(idx)))
	InetEhashInsertCommon(h, &sk.SockCommon)
	net.Tracer.Exit(fnInetEhashNolisten, tracing.Errno(0))
	return nil
}

// InetEhashInsertCommon puts any sock_common (full, request or timewait)
// whose SkcHash is set at the head of its ehash chain.
func InetEhashInsertCommon(h *InetHashinfo, sc *SockCommon) {
	b := &h.Ehash[h.EhashIndex(sc.SkcHash)]
	b.chain.addHead(sc, nodeOf)
	sc.chain = &b.chain
}

// InetUnhash is inet_unhash: take sk off its ehash or lhash2 chain.
func InetUnhash(net *Net, sk *Sock) {
	if sk.chain == nil {
		return
	}
	net.Tracer.Enter1(fnInetUnhash, tracing.Sock(uint64(sk.addr)))
	UnhashCommon(&sk.SockCommon)
	net.Tracer.Exit(fnInetUnhash, tracing.Arg{})
}

// ReplaceCommon puts sc in old's place on its ehash chain and takes old
// off (sk_nulls_replace_node_init_rcu): a child takes its request sock's
// place. sc's SkcHash must be old's.
func ReplaceCommon(old, sc *SockCommon) {
	if old.chain == nil {
		return
	}
	old.chain.replace(old, sc, nodeOf)
	sc.chain, old.chain = old.chain, nil
}

// UnhashCommon takes any sock_common off the chain it is on.
func UnhashCommon(sc *SockCommon) {
	if sc.chain != nil {
		sc.chain.del(sc, nodeOf)
		sc.chain = nil
	}
}

// InetLookupEstablished is __inet_lookup_established: find the sock of a
// 4-tuple in ehash. saddr/sport are the packet's source (the peer), daddr
// and hnum its destination (us).
func InetLookupEstablished(net *Net, h *InetHashinfo, saddr Be32, sport Be16, daddr Be32, hnum uint16, dif int32) *SockCommon {
	hash := InetEhashfn(net, h, daddr, hnum, saddr, sport)
	// The hot path of every received segment: walk the chain directly.
	for sc := h.Ehash[h.EhashIndex(hash)].chain.first; sc != nil; sc = sc.skcNode.next {
		if sc.SkcHash == hash && sc.SkcDaddr == saddr && sc.SkcRcvSaddr == daddr &&
			sc.SkcDport == sport && sc.SkcNum == hnum && (sc.SkcBoundDevIf == 0 || sc.SkcBoundDevIf == dif) {
			return sc
		}
	}
	return nil
}

// computeScore is compute_score for an IPv4 listener: -1 if it cannot take
// the packet, higher for a more specific match.
func computeScore(sk *Sock, daddr Be32, hnum uint16, dif int32) int {
	if sk.SkcNum != hnum || sk.SkcFamily != AF_INET {
		return -1
	}
	if sk.SkcRcvSaddr != daddr {
		return -1
	}
	if sk.SkcBoundDevIf != 0 && sk.SkcBoundDevIf != dif {
		return -1
	}
	score := 1
	if sk.SkcBoundDevIf != 0 {
		score++
	}
	return score + 1
}

// InetLookupListener is __inet_lookup_listener: the lhash2 bucket for the
// exact destination address first, then the one for INADDR_ANY.
func InetLookupListener(net *Net, h *InetHashinfo, daddr Be32, hnum uint16, dif int32) *Sock {
	for _, addr := range []Be32{daddr, INADDR_ANY} {
		var best *Sock
		bestScore := -1
		h.Lhash2[h.Lhash2Index(net, addr, hnum)].nulls.each(nodeOf, func(sc *SockCommon) bool {
			sk, ok := sc.owner.(interface{ SockOf() *Sock })
			if !ok {
				return true
			}
			s := sk.SockOf()
			if score := computeScore(s, addr, hnum, dif); score > bestScore {
				best, bestScore = s, score
			}
			return true
		})
		if best != nil {
			return best
		}
	}
	return nil
}

// Chain returns the entries of a chain, head first (for snapshots).
func (b *InetEhashBucket) Chain() []*SockCommon { return chainOf(&b.chain) }

// Chain returns the listeners of an lhash2 bucket, head first.
func (b *InetListenHashbucket) Chain() []*SockCommon { return chainOf(&b.nulls) }

// Chain returns the bind buckets of a bhash bucket, head first.
func (b *InetBindHashbucket) Chain() []*InetBindBucket {
	var out []*InetBindBucket
	b.chain.each(tbNode, func(tb *InetBindBucket) bool { out = append(out, tb); return true })
	return out
}

// Chain returns the (port, address) buckets of a bhash2 bucket, head first.
func (b *InetBind2Hashbucket) Chain() []*InetBind2Bucket {
	var out []*InetBind2Bucket
	b.chain.each(tb2Node, func(t *InetBind2Bucket) bool { out = append(out, t); return true })
	return out
}

func chainOf(l *hlist[SockCommon]) []*SockCommon {
	var out []*SockCommon
	l.each(nodeOf, func(sc *SockCommon) bool { out = append(out, sc); return true })
	return out
}

// DestroyBind2BucketIfEmpty frees tb2 if it has no owner (for callers that
// created it and then failed).
func DestroyBind2BucketIfEmpty(net *Net, h *InetHashinfo, tb *InetBindBucket, tb2 *InetBind2Bucket) {
	inetBind2BucketDestroy(net, h, tb, tb2)
}

// DestroyBindBucketIfEmpty frees tb if no (port, address) bucket is left.
func DestroyBindBucketIfEmpty(net *Net, h *InetHashinfo, tb *InetBindBucket) {
	inetBindBucketDestroy(net, h, tb)
}
