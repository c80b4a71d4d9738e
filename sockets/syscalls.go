package sockets

import (
	"github.com/stackscope/stackscope/tracing"
)

// Optval is a socket option's value: an integer for most options, the
// linger pair for SO_LINGER, a struct for TCP_INFO, bytes for the options
// that take a string (TCP_CONGESTION).
type Optval struct {
	Int int64
	// Bytes is the user's buffer for a string option: what setsockopt
	// passes (optlen bytes of it), or what getsockopt copied out.
	Bytes       []byte
	LingerOnoff bool
	LingerSecs  int32
	// TvSec and TvUsec are struct timeval, for SO_RCVTIMEO and SO_SNDTIMEO.
	TvSec, TvUsec int64
	// TcpInfo is what getsockopt(TCP_INFO) filled in (nil otherwise).
	TcpInfo *TcpInfo
}

// SysSocket is __sys_socket: create a socket and give it the lowest free fd.
func SysSocket(net *Net, fdt *FdTable, family, typ, protocol int) (int, error) {
	tr := net.Tracer
	tr.Enter3(fnSysSocket, tracing.Int(int64(family)), tracing.Int(int64(typ)), tracing.Int(int64(protocol)))
	sock, err := sysSocketCreate(net, family, typ, protocol)
	if err != nil {
		tr.Exit(fnSysSocket, retArg(err))
		return -1, err
	}
	fd, err := SockMapFd(net, fdt, sock, typ&(O_CLOEXEC|O_NONBLOCK))
	if err != nil {
		tr.Exit(fnSysSocket, retArg(err))
		return -1, err
	}
	tr.Exit(fnSysSocket, tracing.Int(int64(fd)))
	return fd, nil
}

// sysSocketCreate is __sys_socket_create: split SOCK_NONBLOCK and
// SOCK_CLOEXEC off the type and create the socket.
func sysSocketCreate(net *Net, family, typ, protocol int) (*Socket, error) {
	tr := net.Tracer
	tr.Enter3(fnSysSocketCreate, tracing.Int(int64(family)), tracing.Int(int64(typ)), tracing.Int(int64(protocol)))
	if flags := typ &^ SOCK_TYPE_MASK; flags&^(SOCK_CLOEXEC|SOCK_NONBLOCK) != 0 {
		tr.Exit(fnSysSocketCreate, tracing.Errno(-tracing.EINVAL))
		return nil, Errno(tracing.EINVAL)
	}
	sock, err := SockCreate(net, family, typ&SOCK_TYPE_MASK, protocol, false)
	if err != nil {
		tr.Exit(fnSysSocketCreate, retArg(err))
		return nil, err
	}
	tr.Exit(fnSysSocketCreate, tracing.Ptr(uint64(sock.addr)))
	return sock, nil
}

// SockCreate is sock_create -> __sock_create: check the family and type,
// allocate struct socket, and hand it to the family's create function
// (inet_create for AF_INET).
func SockCreate(net *Net, family, typ, protocol int, kern bool) (*Socket, error) {
	tr := net.Tracer
	tr.Enter3(fnSockCreateWrapper, tracing.Int(int64(family)), tracing.Int(int64(typ)), tracing.Int(int64(protocol)))
	sock, err := sockCreate(net, family, typ, protocol, kern)
	if err != nil {
		tr.Exit(fnSockCreateWrapper, retArg(err))
		return nil, err
	}
	tr.Exit(fnSockCreateWrapper, tracing.Errno(0))
	return sock, nil
}

// sockCreate is __sock_create.
func sockCreate(net *Net, family, typ, protocol int, kern bool) (*Socket, error) {
	tr := net.Tracer
	tr.Enter3(fnSockCreate, tracing.Int(int64(family)), tracing.Int(int64(typ)), tracing.Int(int64(protocol)))
	fail := func(err error) (*Socket, error) {
		tr.Exit(fnSockCreate, retArg(err))
		return nil, err
	}
	if family < 0 || family >= AF_MAX {
		return fail(Errno(tracing.EAFNOSUPPORT))
	}
	if typ < 0 || typ >= SOCK_MAX {
		return fail(Errno(tracing.EINVAL))
	}
	Noop(tr, fnSecuritySocketCreate, tracing.Int(int64(family)))
	sock, err := SockAlloc(net)
	if err != nil {
		return fail(err)
	}
	sock.Type = typ
	pf := net.Families[family]
	if pf == nil {
		SockRelease(net, sock)
		return fail(Errno(tracing.EAFNOSUPPORT))
	}
	Noop(tr, fnTryModuleGet, tracing.Arg{})
	if err := pf.Create(net, sock, protocol, kern); err != nil {
		SockRelease(net, sock)
		return fail(err)
	}
	Noop(tr, fnSecuritySocketPostCreate, tracing.Ptr(uint64(sock.addr)))
	tr.Exit(fnSockCreate, tracing.Errno(0))
	return sock, nil
}

// SockAlloc is sock_alloc: a new inode and struct socket, together one
// socket_alloc object from sock_inode_cache (new_inode_pseudo ->
// sock_alloc_inode).
func SockAlloc(net *Net) (*Socket, error) {
	tr := net.Tracer
	tr.Enter(fnSockAlloc)
	tr.Enter(fnNewInodePseudo)
	tr.Enter(fnSockAllocInode)
	addr, err := net.Mem.KmemCacheAlloc(net.SockInodeCache)
	if err != nil {
		tr.Exit(fnSockAllocInode, tracing.Ptr(0))
		tr.Exit(fnNewInodePseudo, tracing.Ptr(0))
		tr.Exit(fnSockAlloc, tracing.Ptr(0))
		return nil, Errno(tracing.ENOMEM)
	}
	tr.Exit(fnSockAllocInode, tracing.Ptr(uint64(addr)))
	tr.Exit(fnNewInodePseudo, tracing.Ptr(uint64(addr)))
	net.nextIno++
	sock := &Socket{State: SS_UNCONNECTED, addr: addr, Ino: net.nextIno, net: net}
	tr.Exit(fnSockAlloc, tracing.Ptr(uint64(addr)))
	return sock, nil
}

// SockMapFd is sock_map_fd: reserve an fd, make the struct file and
// install it. (2.6 split this into sock_alloc_fd and sock_attach_fd.)
func SockMapFd(net *Net, fdt *FdTable, sock *Socket, flags int) (int, error) {
	tr := net.Tracer
	tr.Enter2(fnSockMapFd, tracing.Ptr(uint64(sock.addr)), tracing.Uint(uint64(flags)))
	fd, err := GetUnusedFdFlags(net, fdt, flags)
	if err != nil {
		SockRelease(net, sock)
		tr.Exit(fnSockMapFd, retArg(err))
		return -1, err
	}
	f, err := SockAllocFile(net, sock, flags)
	if err != nil {
		PutUnusedFd(fdt, fd)
		tr.Exit(fnSockMapFd, retArg(err))
		return -1, err
	}
	FdInstall(net, fdt, fd, f)
	tr.Exit(fnSockMapFd, tracing.Int(int64(fd)))
	return fd, nil
}

// SockAllocFile is sock_alloc_file: a struct file (from filp) whose
// private_data is the socket, with socket_file_ops.
func SockAllocFile(net *Net, sock *Socket, flags int) (*File, error) {
	tr := net.Tracer
	tr.Enter2(fnSockAllocFile, tracing.Ptr(uint64(sock.addr)), tracing.Uint(uint64(flags)))
	tr.Enter(fnAllocFilePseudo)
	addr, err := net.Mem.KmemCacheAlloc(net.FilpCache)
	if err != nil {
		tr.Exit(fnAllocFilePseudo, tracing.Ptr(0))
		SockRelease(net, sock)
		tr.Exit(fnSockAllocFile, tracing.Errno(-tracing.ENOMEM))
		return nil, Errno(tracing.ENOMEM)
	}
	f := &File{FOp: "socket_file_ops", PrivateData: sock, FFlags: O_RDWR | flags&O_NONBLOCK, FCount: 1, addr: addr}
	tr.Exit(fnAllocFilePseudo, tracing.Ptr(uint64(addr)))
	sock.File = f
	tr.Exit(fnSockAllocFile, tracing.Ptr(uint64(addr)))
	return f, nil
}

// SockRelease is sock_release -> __sock_release: the protocol lets go of
// its sock (ops->release), then the socket's inode goes back to
// sock_inode_cache if no file holds it.
func SockRelease(net *Net, sock *Socket) {
	tr := net.Tracer
	tr.Enter1(fnSockRelease, tracing.Ptr(uint64(sock.addr)))
	sockReleaseOps(net, sock)
	if sock.File == nil {
		sockFreeInode(net, sock)
	}
	sock.File = nil
	tr.Exit(fnSockRelease, tracing.Arg{})
}

func sockReleaseOps(net *Net, sock *Socket) {
	if sock.Ops != nil && sock.Ops.Release != nil {
		_ = sock.Ops.Release(sock)
		sock.Sk = nil
		Noop(net.Tracer, fnModulePut, tracing.Arg{})
	}
	sock.Ops = nil
}

// sockFreeInode is iput -> evict -> sock_free_inode: socket_alloc goes back
// to sock_inode_cache.
func sockFreeInode(net *Net, sock *Socket) {
	tr := net.Tracer
	tr.Enter1(fnSockFreeInode, tracing.Ptr(uint64(sock.addr)))
	_ = net.Mem.KmemCacheFree(net.SockInodeCache, sock.addr)
	sock.State = SS_FREE
	tr.Exit(fnSockFreeInode, tracing.Arg{})
}

// SockfdLookupLight is sockfd_lookup_light: the socket behind an fd, EBADF
// for no file and ENOTSOCK for a file that is not a socket. It takes a
// reference to the file (fdget), which the caller drops with FdPut when
// the syscall ends: a close() from another thread meanwhile only removes
// the fd, and the socket lives until the syscall is done, as in Linux.
func SockfdLookupLight(net *Net, fdt *FdTable, fd int) (*Socket, error) {
	tr := net.Tracer
	tr.Enter1(fnSockfdLookupLight, tracing.Int(int64(fd)))
	f := fdt.Get(fd)
	if f == nil {
		tr.Exit(fnSockfdLookupLight, tracing.Errno(-tracing.EBADF))
		return nil, Errno(tracing.EBADF)
	}
	if f.PrivateData == nil {
		tr.Exit(fnSockfdLookupLight, tracing.Errno(-tracing.ENOTSOCK))
		return nil, Errno(tracing.ENOTSOCK)
	}
	f.FCount++
	tr.Exit(fnSockfdLookupLight, tracing.Ptr(uint64(f.PrivateData.addr)))
	return f.PrivateData, nil
}

// FdPut is fdput: drop the reference a lookup took.
func FdPut(net *Net, sock *Socket) {
	if sock != nil && sock.File != nil {
		fput(net, sock.File)
	}
}

// traced runs body between the entry and exit of fn, returning its result
// as the exit value.
func traced(tr *tracing.Tracer, fn tracing.FuncID, a, b, c tracing.Arg, body func() (int64, error)) (int64, error) {
	switch {
	case c.Kind != tracing.ArgNone:
		tr.Enter3(fn, a, b, c)
	case b.Kind != tracing.ArgNone:
		tr.Enter2(fn, a, b)
	default:
		tr.Enter1(fn, a)
	}
	r, err := body()
	if err != nil {
		tr.Exit(fn, retArg(err))
		return -1, err
	}
	tr.Exit(fn, tracing.Int(r))
	return r, nil
}

// SysBind is __sys_bind -> __sys_bind_socket -> ops->bind (inet_bind).
func SysBind(net *Net, fdt *FdTable, fd int, addr SockaddrIn, addrLen int) error {
	tr := net.Tracer
	_, err := traced(tr, fnSysBind, tracing.Int(int64(fd)), tracing.Int(int64(addrLen)), tracing.Arg{}, func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		return traced(tr, fnSysBindSocket, tracing.Ptr(uint64(sock.addr)), tracing.Arg{}, tracing.Arg{}, func() (int64, error) {
			Noop(tr, fnSecuritySocketBind, tracing.Ptr(uint64(sock.addr)))
			return 0, sock.Ops.Bind(sock, addr, addrLen)
		})
	})
	return err
}

// SysListen is __sys_listen -> __sys_listen_socket: clamp the backlog to
// net.core.somaxconn and call ops->listen (inet_listen).
func SysListen(net *Net, fdt *FdTable, fd, backlog int) error {
	tr := net.Tracer
	_, err := traced(tr, fnSysListen, tracing.Int(int64(fd)), tracing.Int(int64(backlog)), tracing.Arg{}, func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		return traced(tr, fnSysListenSocket, tracing.Ptr(uint64(sock.addr)), tracing.Int(int64(backlog)), tracing.Arg{}, func() (int64, error) {
			somaxconn := net.Sysctl.Somaxconn
			if uint32(backlog) > uint32(somaxconn) { // (unsigned int)backlog > somaxconn
				backlog = somaxconn
			}
			Noop(tr, fnSecuritySocketListen, tracing.Ptr(uint64(sock.addr)))
			return 0, sock.Ops.Listen(sock, backlog)
		})
	})
	return err
}

// SysAccept4 is __sys_accept4 -> __sys_accept4_file: reserve an fd, accept
// (do_accept) and install the new file. It may sleep.
func SysAccept4(net *Net, fdt *FdTable, fd int, flags int) (int, SockaddrIn, error) {
	tr := net.Tracer
	var peer SockaddrIn
	r, err := traced(tr, fnSysAccept4, tracing.Int(int64(fd)), tracing.Uint(uint64(flags)), tracing.Arg{}, func() (int64, error) {
		f := fdt.Get(fd)
		if f == nil {
			return -1, Errno(tracing.EBADF)
		}
		f.FCount++ // fdget: the listener lives until accept returns
		defer fput(net, f)
		return traced(tr, fnSysAccept4File, tracing.Ptr(uint64(f.addr)), tracing.Uint(uint64(flags)), tracing.Arg{}, func() (int64, error) {
			if flags&^(SOCK_CLOEXEC|SOCK_NONBLOCK) != 0 {
				return -1, Errno(tracing.EINVAL)
			}
			newfd, err := GetUnusedFdFlags(net, fdt, flags)
			if err != nil {
				return -1, err
			}
			newfile, p, err := doAccept(net, f, flags)
			if err != nil {
				PutUnusedFd(fdt, newfd)
				return -1, err
			}
			peer = p
			FdInstall(net, fdt, newfd, newfile)
			return int64(newfd), nil
		})
	})
	return int(r), peer, err
}

// doAccept is do_accept: a new struct socket and file for the connection,
// then ops->accept (inet_accept) fills it, then ops->getname reports the
// peer.
func doAccept(net *Net, file *File, flags int) (*File, SockaddrIn, error) {
	tr := net.Tracer
	tr.Enter2(fnDoAccept, tracing.Ptr(uint64(file.addr)), tracing.Uint(uint64(flags)))
	fail := func(err error) (*File, SockaddrIn, error) {
		tr.Exit(fnDoAccept, retArg(err))
		return nil, SockaddrIn{}, err
	}
	sock := file.PrivateData
	if sock == nil {
		return fail(Errno(tracing.ENOTSOCK))
	}
	newsock, err := SockAlloc(net)
	if err != nil {
		return fail(err)
	}
	newsock.Type = sock.Type
	newsock.Ops = sock.Ops
	Noop(tr, fnModuleGet, tracing.Arg{})
	newfile, err := SockAllocFile(net, newsock, flags)
	if err != nil {
		return fail(err)
	}
	Noop(tr, fnSecuritySocketAccept, tracing.Ptr(uint64(sock.addr)))
	// The wait takes the listener file's flags only: accept4's
	// SOCK_NONBLOCK marks the new file, it does not make this accept
	// non-blocking (do_accept starts proto_accept_arg's flags at zero).
	if err := sock.Ops.Accept(sock, newsock, file.FFlags); err != nil {
		fput(net, newfile)
		return fail(err)
	}
	// getname with peer == 2: a connection reset while it was queued
	// (CLOSE now) still has its peer; only one with none fails.
	peer, err := newsock.Ops.Getname(newsock, 2)
	if err != nil {
		fput(net, newfile)
		return fail(Errno(tracing.ECONNABORTED))
	}
	tr.Exit(fnDoAccept, tracing.Ptr(uint64(newfile.addr)))
	return newfile, peer, nil
}

// SysClose is close(2): file_close_fd takes the fd out of the table and
// __fput_sync releases the file, which for a socket is sock_close.
func SysClose(net *Net, fdt *FdTable, fd int) error {
	tr := net.Tracer
	_, err := traced(tr, fnSysClose, tracing.Int(int64(fd)), tracing.Arg{}, tracing.Arg{}, func() (int64, error) {
		tr.Enter1(fnFileCloseFd, tracing.Int(int64(fd)))
		f := fdt.closeFd(fd)
		if f == nil {
			tr.Exit(fnFileCloseFd, tracing.Ptr(0))
			return -1, Errno(tracing.EBADF)
		}
		tr.Exit(fnFileCloseFd, tracing.Ptr(uint64(f.addr)))
		fput(net, f)
		return 0, nil
	})
	return err
}

// Fget is get_file: one more reference to f (poll keeps the files it
// waits on alive until it returns).
func Fget(f *File) { f.FCount++ }

// Fput drops a reference taken with Fget; the last one releases the file.
func Fput(net *Net, f *File) { fput(net, f) }

// fput is __fput_sync -> __fput: the last reference to a file releases it
// (f_op->release = sock_close), drops the inode (dput -> iput ->
// sock_free_inode) and frees the struct file.
func fput(net *Net, f *File) {
	f.FCount--
	if f.FCount > 0 || f.PrivateData == nil {
		return
	}
	tr := net.Tracer
	tr.Enter1(fnFput, tracing.Ptr(uint64(f.addr)))
	sock := f.PrivateData
	tr.Enter1(fnSockClose, tracing.Ptr(uint64(sock.addr)))
	tr.Enter1(fnSockReleaseCore, tracing.Ptr(uint64(sock.addr)))
	sockReleaseOps(net, sock)
	sock.File = nil
	tr.Exit(fnSockReleaseCore, tracing.Arg{})
	tr.Exit(fnSockClose, tracing.Errno(0))
	sockFreeInode(net, sock)
	tr.Enter1(fnFileFree, tracing.Ptr(uint64(f.addr)))
	_ = net.Mem.KmemCacheFree(net.FilpCache, f.addr)
	f.PrivateData = nil
	tr.Exit(fnFileFree, tracing.Arg{})
	tr.Exit(fnFput, tracing.Arg{})
}

// SysGetsockname is __sys_getsockname -> ops->getname (inet_getname).
func SysGetsockname(net *Net, fdt *FdTable, fd int, peer bool) (SockaddrIn, error) {
	tr := net.Tracer
	fn := fnSysGetsockname
	if peer {
		fn = fnSysGetpeername
	}
	var out SockaddrIn
	_, err := traced(tr, fn, tracing.Int(int64(fd)), tracing.Arg{}, tracing.Arg{}, func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		Noop(tr, fnSecuritySocketGetsockname, tracing.Ptr(uint64(sock.addr)))
		p := 0
		if peer {
			p = 1
		}
		out, err = sock.Ops.Getname(sock, p)
		return 0, err
	})
	return out, err
}

// SysSetsockopt is __sys_setsockopt -> do_sock_setsockopt: SOL_SOCKET
// options go to sock_setsockopt, the others to ops->setsockopt (for TCP,
// sock_common_setsockopt -> tcp_setsockopt).
func SysSetsockopt(net *Net, fdt *FdTable, fd, level, optname int, val Optval) error {
	tr := net.Tracer
	_, err := traced(tr, fnSysSetsockopt, tracing.Int(int64(fd)), tracing.Int(int64(level)), tracing.Int(int64(optname)), func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		return traced(tr, fnDoSockSetsockopt, tracing.Ptr(uint64(sock.addr)), tracing.Int(int64(level)), tracing.Int(int64(optname)), func() (int64, error) {
			Noop(tr, fnSecuritySocketSetsockopt, tracing.Ptr(uint64(sock.addr)))
			if level == SOL_SOCKET {
				return 0, SockSetsockopt(net, sock, optname, val)
			}
			if sock.Ops.Setsockopt == nil {
				return -1, Errno(tracing.EOPNOTSUPP)
			}
			return 0, sock.Ops.Setsockopt(sock, level, optname, val)
		})
	})
	return err
}

// SysGetsockopt is __sys_getsockopt -> do_sock_getsockopt. optlen is the
// size of the user's buffer (*optlen on the way in); 0 means the option's
// natural size (an int, a struct, TCP_CA_NAME_MAX for a name).
func SysGetsockopt(net *Net, fdt *FdTable, fd, level, optname, optlen int) (Optval, error) {
	tr := net.Tracer
	var out Optval
	_, err := traced(tr, fnSysGetsockopt, tracing.Int(int64(fd)), tracing.Int(int64(level)), tracing.Int(int64(optname)), func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		return traced(tr, fnDoSockGetsockopt, tracing.Ptr(uint64(sock.addr)), tracing.Int(int64(level)), tracing.Int(int64(optname)), func() (int64, error) {
			Noop(tr, fnSecuritySocketGetsockopt, tracing.Ptr(uint64(sock.addr)))
			if level == SOL_SOCKET {
				out, err = SockGetsockopt(net, sock, optname)
				return out.Int, err
			}
			if sock.Ops.Getsockopt == nil {
				return -1, Errno(tracing.EOPNOTSUPP)
			}
			out, err = sock.Ops.Getsockopt(sock, level, optname, optlen)
			return out.Int, err
		})
	})
	return out, err
}

// SysShutdown is __sys_shutdown -> __sys_shutdown_sock -> ops->shutdown
// (inet_shutdown).
func SysShutdown(net *Net, fdt *FdTable, fd, how int) error {
	tr := net.Tracer
	_, err := traced(tr, fnSysShutdown, tracing.Int(int64(fd)), tracing.Int(int64(how)), tracing.Arg{}, func() (int64, error) {
		sock, err := SockfdLookupLight(net, fdt, fd)
		if err != nil {
			return -1, err
		}
		defer FdPut(net, sock)
		return traced(tr, fnSysShutdownSock, tracing.Ptr(uint64(sock.addr)), tracing.Int(int64(how)), tracing.Arg{}, func() (int64, error) {
			Noop(tr, fnSecuritySocketShutdown, tracing.Ptr(uint64(sock.addr)))
			return 0, sock.Ops.Shutdown(sock, how)
		})
	})
	return err
}

// SysFcntl is fcntl(2) for the flags sockets care about: do_fcntl with
// F_GETFL/F_SETFL (setfl changes O_NONBLOCK in f_flags) and F_GETFD/F_SETFD.
func SysFcntl(net *Net, fdt *FdTable, fd, cmd int, arg int) (int, error) {
	tr := net.Tracer
	r, err := traced(tr, fnDoFcntl, tracing.Int(int64(fd)), tracing.Int(int64(cmd)), tracing.Uint(uint64(arg)), func() (int64, error) {
		f := fdt.Get(fd)
		if f == nil {
			return -1, Errno(tracing.EBADF)
		}
		switch cmd {
		case F_GETFL:
			return int64(f.FFlags), nil
		case F_SETFL:
			return traced(tr, fnSetfl, tracing.Int(int64(fd)), tracing.Uint(uint64(arg)), tracing.Arg{}, func() (int64, error) {
				const setflMask = O_NONBLOCK
				f.FFlags = arg&setflMask | f.FFlags&^setflMask
				return 0, nil
			})
		case F_GETFD:
			if fdt.Cloexec(fd) {
				return FD_CLOEXEC, nil
			}
			return 0, nil
		case F_SETFD:
			fdt.SetCloexec(fd, arg&FD_CLOEXEC != 0)
			return 0, nil
		}
		return -1, Errno(tracing.EINVAL)
	})
	return int(r), err
}

// SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF: 2 * and 1 * TCP_SKB_MIN_TRUESIZE
// (2048 + the 256-byte sk_buff).
const (
	tcpSkbMinTruesize = 2048 + 256
	SOCK_MIN_SNDBUF   = 2 * tcpSkbMinTruesize
	SOCK_MIN_RCVBUF   = tcpSkbMinTruesize
)

// SockSetsockopt is sock_setsockopt -> sk_setsockopt for SOL_SOCKET.
func SockSetsockopt(net *Net, sock *Socket, optname int, val Optval) error {
	tr := net.Tracer
	_, err := traced(tr, fnSkSetsockopt, tracing.Sock(uint64(sock.Sk.addr)), tracing.Int(int64(optname)), tracing.Int(val.Int), func() (int64, error) {
		sk := sock.Sk
		LockSock(sk)
		defer ReleaseSock(sk)
		v := val.Int
		switch optname {
		case SO_REUSEADDR:
			if v != 0 {
				sk.SkcReuse = SK_CAN_REUSE
			} else {
				sk.SkcReuse = SK_NO_REUSE
			}
		case SO_REUSEPORT:
			return -1, Errno(tracing.ENOPROTOOPT)
		case SO_DEBUG, SO_BROADCAST, SO_OOBINLINE:
			// sock_valbool_flag. SO_DEBUG needs CAP_NET_ADMIN to turn on,
			// which every process of the model has (task.go).
			f := SOCK_DBG
			switch optname {
			case SO_BROADCAST:
				f = SOCK_BROADCAST
			case SO_OOBINLINE:
				f = SOCK_URGINLINE
			}
			if v != 0 {
				sk.SockSetFlag(f)
			} else {
				sk.SockResetFlag(f)
			}
		case SO_PRIORITY:
			// Above TC_PRIO_INTERACTIVE needs CAP_NET_RAW or CAP_NET_ADMIN,
			// which every process of the model has.
			sk.SkPriority = uint32(v)
		case SO_KEEPALIVE:
			if sk.SkcProt != nil && sk.SkcProt.Keepalive != nil {
				sk.SkcProt.Keepalive(sk, v != 0)
			}
			if v != 0 {
				sk.SockSetFlag(SOCK_KEEPOPEN)
			} else {
				sk.SockResetFlag(SOCK_KEEPOPEN)
			}
		case SO_SNDBUF:
			v = min(uint32Clamp(v), int64(net.Sysctl.WmemMax))
			sk.SkUserlocks |= SOCK_SNDBUF_LOCK
			sk.SkSndbuf = int32(max(min(v, 1<<30-1)*2, SOCK_MIN_SNDBUF))
			sk.SkWriteSpace(sk)
		case SO_RCVBUF:
			v = min(uint32Clamp(v), int64(net.Sysctl.RmemMax))
			sk.SkUserlocks |= SOCK_RCVBUF_LOCK
			sk.SkRcvbuf = int32(max(min(v, 1<<30-1)*2, SOCK_MIN_RCVBUF))
		case SO_LINGER:
			if !val.LingerOnoff {
				sk.SockResetFlag(SOCK_LINGER)
			} else {
				// l_linger is read as unsigned: a negative one is
				// "no limit" (MAX_SCHEDULE_TIMEOUT), as is anything past it.
				if val.LingerSecs < 0 {
					sk.SkLingertime = MaxScheduleTimeout
				} else {
					sk.SkLingertime = int64(val.LingerSecs) * 1e9
				}
				sk.SockSetFlag(SOCK_LINGER)
			}
		case SO_PEEK_OFF:
			if sock.Ops == nil || sock.Ops.SetPeekOff == nil {
				return -1, Errno(tracing.EOPNOTSUPP)
			}
			return 0, sock.Ops.SetPeekOff(sk, int32(v))
		case SO_RCVLOWAT:
			val := int32(min(v, 1<<31-1))
			if v < 0 {
				val = 1<<31 - 1
			}
			if sock.Ops != nil && sock.Ops.SetRcvlowat != nil {
				return 0, sock.Ops.SetRcvlowat(sk, val)
			}
			sk.SkRcvlowat = max(val, 1)
		case SO_RCVTIMEO, SO_SNDTIMEO:
			timeo, err := sockSetTimeout(val.TvSec, val.TvUsec)
			if err != nil {
				return -1, err
			}
			if optname == SO_RCVTIMEO {
				sk.SkRcvtimeo = timeo
			} else {
				sk.SkSndtimeo = timeo
			}
		default:
			return -1, Errno(tracing.ENOPROTOOPT)
		}
		return 0, nil
	})
	return err
}

// hz and nsecPerJiffy are the model kernel's tick (stack.HZ): socket timeouts are
// kept in whole jiffies of 1 ms.
const (
	hz           = 1000
	nsecPerJiffy = int64(1e9 / hz)
)

// sockSetTimeout is sock_set_timeout: a struct timeval as SO_RCVTIMEO or
// SO_SNDTIMEO store it, in ns of whole jiffies, the microseconds rounded
// up to the next jiffy. tv_usec outside [0, 1e6) is EDOM; a negative
// tv_sec is a timeout of 0 (do not wait); {0, 0}, or a time too long to
// count, is MAX_SCHEDULE_TIMEOUT (wait forever).
func sockSetTimeout(sec, usec int64) (int64, error) {
	if usec < 0 || usec >= 1e6 {
		return 0, Errno(tracing.EDOM)
	}
	if sec < 0 {
		return 0, nil
	}
	// The kernel counts up to MAX_SCHEDULE_TIMEOUT/HZ - 1 seconds in
	// jiffies; the model's nanoseconds run out sooner (after about 292
	// years), and a longer time waits forever.
	if (sec == 0 && usec == 0) || sec >= MaxScheduleTimeout/1e9-1 {
		return MaxScheduleTimeout, nil
	}
	jiffies := sec*hz + (usec+1e6/hz-1)/(1e6/hz) // DIV_ROUND_UP(usec, USEC_PER_SEC / HZ)
	return jiffies * nsecPerJiffy, nil
}

// uint32Clamp reads an int as the kernel's min_t(u32, val, ...) would.
func uint32Clamp(v int64) int64 { return int64(uint32(v)) }

// SockGetsockopt is sk_getsockopt for SOL_SOCKET.
func SockGetsockopt(net *Net, sock *Socket, optname int) (Optval, error) {
	tr := net.Tracer
	var out Optval
	_, err := traced(tr, fnSkGetsockopt, tracing.Sock(uint64(sock.Sk.addr)), tracing.Int(int64(optname)), tracing.Arg{}, func() (int64, error) {
		sk := sock.Sk
		b := func(x bool) int64 {
			if x {
				return 1
			}
			return 0
		}
		switch optname {
		case SO_REUSEADDR:
			out.Int = int64(sk.SkcReuse)
		case SO_KEEPALIVE:
			out.Int = b(sk.SockFlagSet(SOCK_KEEPOPEN))
		case SO_DEBUG:
			out.Int = b(sk.SockFlagSet(SOCK_DBG))
		case SO_BROADCAST:
			out.Int = b(sk.SockFlagSet(SOCK_BROADCAST))
		case SO_OOBINLINE:
			out.Int = b(sk.SockFlagSet(SOCK_URGINLINE))
		case SO_PRIORITY:
			out.Int = int64(sk.SkPriority)
		case SO_TYPE:
			out.Int = int64(sk.SkType)
		case SO_PROTOCOL:
			out.Int = int64(sk.SkProtocol)
		case SO_DOMAIN:
			out.Int = int64(sk.SkcFamily)
		case SO_ERROR:
			// sock_error, or else the soft error (an ICMP error an
			// open TCP connection only remembered); either is cleared.
			out.Int = int64(sk.SkErr)
			sk.SkErr = 0
			if out.Int == 0 {
				out.Int = int64(sk.SkErrSoft)
				sk.SkErrSoft = 0
			}
		case SO_SNDBUF:
			out.Int = int64(sk.SkSndbuf)
		case SO_RCVBUF:
			out.Int = int64(sk.SkRcvbuf)
		case SO_PEEK_OFF:
			if sock.Ops == nil || sock.Ops.SetPeekOff == nil {
				return -1, Errno(tracing.EOPNOTSUPP)
			}
			out.Int = int64(sk.SkPeekOff)
		case SO_RCVLOWAT:
			out.Int = int64(sk.SkRcvlowat)
		case SO_SNDLOWAT:
			out.Int = 1 // fixed: POSIX.1g lets it be read, not set
		case SO_RCVTIMEO, SO_SNDTIMEO:
			t := sk.SkRcvtimeo
			if optname == SO_SNDTIMEO {
				t = sk.SkSndtimeo
			}
			if t != MaxScheduleTimeout {
				out.TvSec, out.TvUsec = t/1e9, t%1e9/1e3
			}
		case SO_LINGER:
			out.LingerOnoff = sk.SockFlagSet(SOCK_LINGER)
			out.LingerSecs = int32(sk.SkLingertime / 1e9)
			if sk.SkLingertime == MaxScheduleTimeout {
				// sk_lingertime / HZ (1000) cut to an int, as the
				// kernel gives it back.
				ticks := uint64(MaxScheduleTimeout / 1000)
				out.LingerSecs = int32(uint32(ticks))
			}
			out.Int = b(out.LingerOnoff)
		case SO_ACCEPTCONN:
			out.Int = b(sk.SkcState == TCP_LISTEN)
		default:
			return -1, Errno(tracing.ENOPROTOOPT)
		}
		return out.Int, nil
	})
	return out, err
}
