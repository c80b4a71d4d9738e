package stack

import (
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// InetProtoSock is the sock of the datagram protocols (udp_sock, raw_sock,
// the ping sock): an inet_sock with what those protocols add. Their packet
// paths and port tables come with the TCP/IP issue; until then they can be
// created, inspected and closed, and bind answers EOPNOTSUPP.
type InetProtoSock struct {
	sockets.InetConnectionSock // icsk is unused by these protocols; it keeps one shape for all inet socks
}

func newDgramProt(name string, size uint32) *sockets.Proto {
	p := &sockets.Proto{
		Name: name, ObjSize: size, SlabFlags: slab.SLAB_TYPESAFE_BY_RCU,
		Alloc: func(*sockets.Proto) *sockets.Sock {
			s := &InetProtoSock{}
			sockets.AttachOwner(&s.Sock, s)
			return &s.Sock
		},
	}
	p.Close = func(sk *sockets.Sock, timeout int64) {
		k := sk.SkcNet.Sched.(*Kernel)
		k.skCommonRelease(sk)
	}
	return p
}

// pingInitSock is ping_init_sock: ICMP echo sockets are only for groups in
// net.ipv4.ping_group_range, which is "1 0" (nobody) unless a distribution
// changes it, so even root gets EACCES.
func (k *Kernel) pingInitSock(sk *sockets.Sock) error {
	k.tr.Enter1(fnPingInitSock, tracing.Sock(uint64(sk.Addr())))
	k.tr.Exit(fnPingInitSock, tracing.Errno(-tracing.EACCES))
	return sockets.Errno(tracing.EACCES)
}
