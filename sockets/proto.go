package sockets

import (
	"github.com/stackscope/stackscope/slab"
)

// Proto is struct proto: a transport protocol's socket operations and its
// slab cache ("TCP", "UDP"). The function fields are the kernel's hooks;
// nil means the protocol has none.
type Proto struct {
	Name       string
	ObjSize    uint32 // sizeof(struct tcp_sock) in the model
	SlabFlags  slab.Flags
	Slab       *slab.KmemCache // created by proto_register
	Init       func(sk *Sock) error
	Close      func(sk *Sock, timeout int64)
	Destroy    func(sk *Sock)
	Hash       func(sk *Sock) error
	Unhash     func(sk *Sock)
	GetPort    func(sk *Sock, snum uint16) error
	Accept     func(sk *Sock, flags int) (*Sock, error)
	Disconnect func(sk *Sock, flags int) error
	Shutdown   func(sk *Sock, how int)
	Setsockopt func(sk *Sock, level, optname int, val Optval) error
	// Keepalive is the protocol's answer to SO_KEEPALIVE (tcp_set_keepalive),
	// called before the flag changes; nil for protocols without one.
	Keepalive  func(sk *Sock, on bool)
	Getsockopt func(sk *Sock, level, optname, optlen int) (Optval, error)
	// Ioctl is the protocol's ioctl (tcp_ioctl): an int answer, or
	// ENOIOCTLCMD for a command it does not know.
	Ioctl      func(sk *Sock, cmd int) (int64, error)
	Connect    func(sk *Sock, addr SockaddrIn) error
	Sendmsg    func(sk *Sock, data []byte, flags int, addr *SockaddrIn) (int, error)
	Recvmsg    func(sk *Sock, buf []byte, flags int) (int, RecvResult, error)
	BacklogRcv string               // name of the backlog_rcv hook, for display
	Alloc      func(p *Proto) *Sock // builds the protocol's sock struct (tcp_sock) around a *Sock
	Hashinfo   *InetHashinfo
	MaxHeader  uint32
	Sockets    int // sockets_allocated
}

// ProtoOps is struct proto_ops: the BSD socket layer's operations of one
// socket type in one family (inet_stream_ops, inet_dgram_ops).
type ProtoOps struct {
	Name       string
	Family     int
	Release    func(sock *Socket) error
	Bind       func(sock *Socket, addr SockaddrIn, addrLen int) error
	Connect    func(sock *Socket, addr SockaddrIn, addrLen int, flags int) error
	Accept     func(sock, newsock *Socket, flags int) error
	Getname    func(sock *Socket, peer int) (SockaddrIn, error)
	Listen     func(sock *Socket, backlog int) error
	Shutdown   func(sock *Socket, how int) error
	Setsockopt func(sock *Socket, level, optname int, val Optval) error
	Getsockopt func(sock *Socket, level, optname, optlen int) (Optval, error)
	// SetRcvlowat is the socket type's answer to SO_RCVLOWAT
	// (tcp_set_rcvlowat), called with the socket locked; nil stores the
	// value as it is.
	SetRcvlowat func(sk *Sock, val int32) error
	// SetPeekOff is the socket type's set_peek_off (SO_PEEK_OFF); nil
	// refuses the option with EOPNOTSUPP.
	SetPeekOff func(sk *Sock, val int32) error
	// Ioctl is the socket type's ioctl (inet_ioctl); nil answers
	// ENOIOCTLCMD.
	Ioctl func(sock *Socket, cmd int) (int64, error)
	// Poll is the socket type's poll (tcp_poll, udp_poll, datagram_poll):
	// the events ready now; it queues the caller on the socket's wait
	// queue through wait (sock_poll_wait) when wait is not nil.
	Poll    func(file *File, sock *Socket, wait *PollTable) uint32
	Sendmsg func(sock *Socket, data []byte, flags int, addr *SockaddrIn) (int, error)
	Recvmsg func(sock *Socket, buf []byte, flags int) (int, RecvResult, error)
}

// NetProtoFamily is struct net_proto_family: how to create sockets of one
// address family (inet_family_ops: .create = inet_create).
type NetProtoFamily struct {
	Family int
	Name   string
	Create func(net *Net, sock *Socket, protocol int, kern bool) error
}

// InetProtosw is struct inet_protosw: one entry of inetsw[type], tying a
// socket type and protocol to its struct proto and proto_ops.
type InetProtosw struct {
	Type     int
	Protocol int
	Prot     *Proto
	Ops      *ProtoOps
	Flags    int // INET_PROTOSW_*
}

// inet_protosw flags.
const (
	INET_PROTOSW_REUSE     = 0x01
	INET_PROTOSW_PERMANENT = 0x02
	INET_PROTOSW_ICSK      = 0x04
)
