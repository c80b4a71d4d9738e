package sockets

import (
	"errors"

	"github.com/stackscope/stackscope/tracing"
)

// SysIoctl is ioctl(2) on a socket: the ioctl system call finds no
// generic command it handles itself (FIONREAD is the file system's only
// for regular files), so the socket file's unlocked_ioctl, sock_ioctl,
// gets it. The commands the model knows answer with an int (SIOCINQ,
// SIOCOUTQ, SIOCOUTQNSD); it is returned as the value. A file that is not
// a socket (the terminal on fds 0-2) answers ENOTTY.
func SysIoctl(net *Net, fdt *FdTable, fd, cmd int) (int64, error) {
	tr := net.Tracer
	return traced(tr, fnSysIoctl, tracing.Int(int64(fd)), tracing.Uint(uint64(cmd)), tracing.Arg{}, func() (int64, error) {
		f := fdt.Get(fd)
		if f == nil {
			return -1, Errno(tracing.EBADF)
		}
		if f.PrivateData == nil {
			return -1, Errno(tracing.ENOTTY)
		}
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		return sockIoctl(net, sock, cmd)
	})
}

// sockIoctl is sock_ioctl -> sock_do_ioctl: the socket type's ioctl
// (inet_ioctl); what no layer of the socket knows would go to the network
// devices (dev_ioctl), which the model does not give ioctls, so it ends
// as ENOTTY.
func sockIoctl(net *Net, sock *Socket, cmd int) (int64, error) {
	return traced(net.Tracer, fnSockIoctl, tracing.Ptr(uint64(sock.addr)), tracing.Uint(uint64(cmd)), tracing.Arg{}, func() (int64, error) {
		v, err := int64(0), error(Errno(tracing.ENOIOCTLCMD))
		if sock.Ops.Ioctl != nil {
			v, err = sock.Ops.Ioctl(sock, cmd)
		}
		if errors.Is(err, Errno(tracing.ENOIOCTLCMD)) {
			return -1, Errno(tracing.ENOTTY)
		}
		return v, err
	})
}

// SkIoctl is sk_ioctl -> sock_ioctl_out: the protocol's ioctl (tcp_ioctl)
// computes the int that is copied out to the user's pointer; a protocol
// without one answers ENOIOCTLCMD.
func SkIoctl(net *Net, sk *Sock, cmd int) (int64, error) {
	return traced(net.Tracer, fnSkIoctl, tracing.Sock(uint64(sk.addr)), tracing.Uint(uint64(cmd)), tracing.Arg{}, func() (int64, error) {
		if sk.SkcProt == nil || sk.SkcProt.Ioctl == nil {
			return -1, Errno(tracing.ENOIOCTLCMD)
		}
		return sk.SkcProt.Ioctl(sk, cmd)
	})
}
