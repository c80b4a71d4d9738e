package sockets

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// Sched is what the socket layer needs from the scheduler: to put the
// calling task to sleep on a wait queue, as prepare_to_wait +
// schedule_timeout do.
type Sched interface {
	// SleepOn blocks the current task on wq for at most timeout
	// nanoseconds (MaxScheduleTimeout: no limit). It returns the time left
	// and whether a signal woke the task.
	SleepOn(wq *WaitQueue, exclusive bool, timeout int64) (remaining int64, interrupted bool)
	// Capable is capable(): whether the current task has the capability.
	Capable(cap int) bool
}

// Capabilities the socket layer checks.
const (
	CAP_NET_BIND_SERVICE = 10
	CAP_NET_RAW          = 13
)

// AddrType is what inet_addr_type says an address is to this host.
type AddrType uint8

// Route types (include/uapi/linux/rtnetlink.h).
const (
	RTN_UNSPEC AddrType = iota
	RTN_UNICAST
	RTN_LOCAL
	RTN_BROADCAST
	RTN_ANYCAST
	RTN_MULTICAST
	RTN_BLACKHOLE
	RTN_UNREACHABLE
)

// Net is struct net (init_net): the network namespace the kernel runs,
// with the tables the socket layer dispatches through and the services it
// borrows from the rest of the kernel.
type Net struct {
	Tracer  *tracing.Tracer
	Mem     *slab.Allocator
	Skb     *skb.Hotdata
	Sysctl  *Sysctls
	Sched   Sched
	HashMix uint32 // net_hash_mix(net)

	// Families is net_families[]: one entry per address family.
	Families [AF_MAX]*NetProtoFamily
	// Inetsw is inetsw[]: per socket type, the protocols that serve it.
	Inetsw [SOCK_MAX][]*InetProtosw

	SockInodeCache *slab.KmemCache // sock_inode_cache
	FilpCache      *slab.KmemCache // filp

	// AddrType is inet_addr_type for this host's addresses.
	AddrType func(a Be32) AddrType
	// Random is get_random_u32 from the kernel's seeded generator.
	Random func() uint32

	nextIno uint64
	socks   []*Sock // every live sock, in creation order (for snapshots)
}

// NewNet sets up the namespace's socket caches. The address family and
// protocols are registered afterwards by the stack (sock_register,
// inet_register_protosw).
func NewNet(mem *slab.Allocator, skbs *skb.Hotdata, sysctl *Sysctls, sched Sched, hashMix uint32) (*Net, error) {
	n := &Net{Tracer: mem.Tracer(), Mem: mem, Skb: skbs, Sysctl: sysctl, Sched: sched, HashMix: hashMix, nextIno: 10000}
	var err error
	// sock_init: sock_inode_cache holds struct socket_alloc (socket + inode);
	// its constructor moves SLUB's free pointer behind the object.
	if n.SockInodeCache, err = mem.KmemCacheCreate("sock_inode_cache", SizeofSocketAlloc, 0,
		slab.SLAB_HWCACHE_ALIGN|slab.SLAB_RECLAIM_ACCOUNT|slab.SLAB_ACCOUNT, true); err != nil {
		return nil, err
	}
	// files_init: struct file.
	if n.FilpCache, err = mem.KmemCacheCreate("filp", SizeofFile, 0,
		slab.SLAB_HWCACHE_ALIGN|slab.SLAB_PANIC|slab.SLAB_ACCOUNT|slab.SLAB_TYPESAFE_BY_RCU, false); err != nil {
		return nil, err
	}
	return n, nil
}

// SockRegister is sock_register: add an address family.
func (n *Net) SockRegister(f *NetProtoFamily) {
	n.Families[f.Family] = f
}

// InetRegisterProtosw is inet_register_protosw: add a protocol to
// inetsw[type].
func (n *Net) InetRegisterProtosw(p *InetProtosw) {
	n.Inetsw[p.Type] = append(n.Inetsw[p.Type], p)
}

// ProtoRegister is proto_register: with alloc_slab, create the protocol's
// slab cache named after it ("TCP").
func (n *Net) ProtoRegister(p *Proto, allocSlab bool) error {
	if !allocSlab {
		return nil
	}
	c, err := n.Mem.KmemCacheCreate(p.Name, p.ObjSize, 0,
		slab.SLAB_HWCACHE_ALIGN|slab.SLAB_ACCOUNT|p.SlabFlags, false)
	if err != nil {
		return err
	}
	p.Slab = c
	return nil
}

// Socks returns every live sock in creation order.
func (n *Net) Socks() []*Sock { return append([]*Sock(nil), n.socks...) }

func (n *Net) forgetSock(sk *Sock) {
	for i, x := range n.socks {
		if x == sk {
			n.socks = append(n.socks[:i], n.socks[i+1:]...)
			return
		}
	}
}
