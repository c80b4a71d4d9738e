package sockets

import (
	"github.com/stackscope/stackscope/tracing"
)

// msg flags (include/linux/socket.h).
const (
	MSG_OOB      = 0x1
	MSG_PEEK     = 0x2
	MSG_TRUNC    = 0x20
	MSG_DONTWAIT = 0x40
	MSG_EOR      = 0x80
	MSG_WAITALL  = 0x100
	MSG_ERRQUEUE = 0x2000
	MSG_NOSIGNAL = 0x4000
	MSG_MORE     = 0x8000
	MSG_FASTOPEN = 0x20000000
)

// SysConnect is __sys_connect -> __sys_connect_file -> ops->connect
// (inet_dgram_connect or inet_stream_connect).
func SysConnect(net *Net, fdt *FdTable, fd int, addr SockaddrIn, addrLen int) error {
	tr := net.Tracer
	_, err := traced(tr, fnSysConnect, tracing.Int(int64(fd)), tracing.Int(int64(addrLen)), tracing.Arg{}, func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		return traced(tr, fnSysConnectFile, tracing.Ptr(uint64(sock.addr)), tracing.Arg{}, tracing.Arg{}, func() (int64, error) {
			Noop(tr, fnSecuritySocketConnect, tracing.Ptr(uint64(sock.addr)))
			if sock.Ops.Connect == nil {
				return -1, Errno(tracing.EOPNOTSUPP)
			}
			return 0, sock.Ops.Connect(sock, addr, addrLen, sock.File.FFlags)
		})
	})
	return err
}

// SysSendto is __sys_sendto: sock_sendmsg -> ops->sendmsg. A non-blocking
// file makes the call MSG_DONTWAIT.
func SysSendto(net *Net, fdt *FdTable, fd int, data []byte, flags int, addr *SockaddrIn) (int, error) {
	tr := net.Tracer
	r, err := traced(tr, fnSysSendto, tracing.Int(int64(fd)), tracing.Size(uint64(len(data))), tracing.Uint(uint64(flags)), func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		if sock.File.FFlags&O_NONBLOCK != 0 {
			flags |= MSG_DONTWAIT
		}
		return traced(tr, fnSockSendmsg, tracing.Ptr(uint64(sock.addr)), tracing.Size(uint64(len(data))), tracing.Arg{}, func() (int64, error) {
			Noop(tr, fnSecuritySocketSendmsg, tracing.Ptr(uint64(sock.addr)))
			if sock.Ops.Sendmsg == nil {
				return -1, Errno(tracing.EOPNOTSUPP)
			}
			n, err := sock.Ops.Sendmsg(sock, data, flags, addr)
			return int64(n), err
		})
	})
	return int(r), err
}

// RecvResult is what recvfrom reports besides the byte count.
type RecvResult struct {
	From     SockaddrIn
	MsgFlags int
}

// SysRecvfrom is __sys_recvfrom: sock_recvmsg -> ops->recvmsg.
func SysRecvfrom(net *Net, fdt *FdTable, fd int, buf []byte, flags int) (int, RecvResult, error) {
	tr := net.Tracer
	var res RecvResult
	r, err := traced(tr, fnSysRecvfrom, tracing.Int(int64(fd)), tracing.Size(uint64(len(buf))), tracing.Uint(uint64(flags)), func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		if sock.File.FFlags&O_NONBLOCK != 0 {
			flags |= MSG_DONTWAIT
		}
		return traced(tr, fnSockRecvmsg, tracing.Ptr(uint64(sock.addr)), tracing.Size(uint64(len(buf))), tracing.Arg{}, func() (int64, error) {
			Noop(tr, fnSecuritySocketRecvmsg, tracing.Ptr(uint64(sock.addr)))
			if sock.Ops.Recvmsg == nil {
				return -1, Errno(tracing.EOPNOTSUPP)
			}
			n, rr, err := sock.Ops.Recvmsg(sock, buf, flags)
			res = rr
			return int64(n), err
		})
	})
	return int(r), res, err
}

// SkRmemCharge is skb_set_owner_r's accounting: truesize charged to
// sk_rmem_alloc.
func SkRmemCharge(sk *Sock, truesize uint32) { sk.SkRmemAlloc += int32(truesize) }

// SkRmemUncharge is sock_rfree's accounting.
func SkRmemUncharge(sk *Sock, truesize uint32) { sk.SkRmemAlloc -= int32(truesize) }

var (
	fnSysConnect, fnSysConnectFile, fnSecuritySocketConnect tracing.FuncID
	fnSysSendto, fnSockSendmsg, fnSecuritySocketSendmsg     tracing.FuncID
	fnSysRecvfrom, fnSockRecvmsg, fnSecuritySocketRecvmsg   tracing.FuncID
)

func init() {
	fnSysConnect = reg("__sys_connect", socketC, SysConnect, []string{"fd", "addrlen"},
		"The connect() system call: finds the socket and calls its connect operation.")
	fnSysConnectFile = reg("__sys_connect_file", socketC, nil, []string{"sock"},
		"Runs the security hook and the socket's connect operation (inet_stream_connect or inet_dgram_connect).")
	fnSecuritySocketConnect = regInline("security_socket_connect", "security/security.c", nil, []string{"sock"},
		"The LSM hook that may forbid connecting."+noopNote)
	fnSysSendto = reg("__sys_sendto", socketC, SysSendto, []string{"fd", "len", "flags"},
		"The send(), sendto() and write() path for sockets: a non-blocking file makes it MSG_DONTWAIT.")
	fnSockSendmsg = reg("sock_sendmsg", socketC, nil, []string{"sock", "len"},
		"Runs the security hook and the socket's sendmsg operation (inet_sendmsg -> the protocol's sendmsg).")
	fnSecuritySocketSendmsg = regInline("security_socket_sendmsg", "security/security.c", nil, []string{"sock"},
		"The LSM hook on sending."+noopNote)
	fnSysRecvfrom = reg("__sys_recvfrom", socketC, SysRecvfrom, []string{"fd", "len", "flags"},
		"The recv(), recvfrom() and read() path for sockets.")
	fnSockRecvmsg = reg("sock_recvmsg", socketC, nil, []string{"sock", "len"},
		"Runs the security hook and the socket's recvmsg operation (inet_recvmsg -> the protocol's recvmsg).")
	fnSecuritySocketRecvmsg = regInline("security_socket_recvmsg", "security/security.c", nil, []string{"sock"},
		"The LSM hook on receiving."+noopNote)
}
