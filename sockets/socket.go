package sockets

import (
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// Object sizes of the model's VFS objects. sock_inode_cache and filp are
// given sizes that land on a 6.x machine's slot sizes (832 and 256).
const (
	SizeofSocketAlloc = 768 // struct socket_alloc: struct socket + struct inode
	SizeofFile        = 232 // struct file
)

// Socket is struct socket: the BSD socket a file descriptor points at.
type Socket struct {
	State SocketState
	Type  int
	Flags uint64
	File  *File
	Sk    *Sock
	Ops   *ProtoOps
	Wq    WaitQueue // socket_wq: where tasks sleep

	Ino  uint64    // the inode number ("socket:[12345]")
	addr slab.Addr // the socket_alloc object in sock_inode_cache
	net  *Net
}

// Bits of struct socket's flags.
const (
	// SOCK_NOSPACE: a writer found the send buffer full (it sleeps, got
	// EAGAIN, or poll said not writable). Only then do ACKs that free
	// space wake writers and grow the buffer (tcp_check_space).
	SOCK_NOSPACE = 2
)

// TestFlag reports whether bit is set in the socket's flags (test_bit).
func (s *Socket) TestFlag(bit uint) bool { return s.Flags&(1<<bit) != 0 }

// SetFlag sets bit in the socket's flags (set_bit).
func (s *Socket) SetFlag(bit uint) { s.Flags |= 1 << bit }

// ClearFlag clears bit in the socket's flags (clear_bit).
func (s *Socket) ClearFlag(bit uint) { s.Flags &^= 1 << bit }

// Addr returns the kernel address of struct socket (in its socket_alloc).
func (s *Socket) Addr() slab.Addr { return s.addr }

// Net returns the namespace the socket lives in.
func (s *Socket) Net() *Net { return s.net }

// File is struct file for a socket: what a file descriptor refers to.
type File struct {
	FOp         string // "socket_file_ops"
	PrivateData *Socket
	FFlags      int
	FCount      int
	addr        slab.Addr
}

// Addr returns the kernel address of struct file.
func (f *File) Addr() slab.Addr { return f.addr }

// RlimitNofile is the default RLIMIT_NOFILE soft limit.
const RlimitNofile = 1024

// FdTable is a process's files_struct: fd -> file, lowest free first.
type FdTable struct {
	fds     []*File
	cloexec []bool
	nextFd  int // next_fd: where the search for a free fd starts
	max     int
}

// NewFdTable returns a table whose fds 0, 1 and 2 are taken by the
// terminal, like a shell's child, so the first socket is fd 3.
func NewFdTable() *FdTable {
	t := &FdTable{max: RlimitNofile}
	tty := &File{FOp: "tty_fops", FFlags: O_RDWR, FCount: 1}
	for i := 0; i < 3; i++ {
		t.fds = append(t.fds, tty)
		t.cloexec = append(t.cloexec, false)
	}
	t.nextFd = 3
	return t
}

// GetUnusedFdFlags is get_unused_fd_flags: reserve the lowest free fd.
func GetUnusedFdFlags(net *Net, t *FdTable, flags int) (int, error) {
	net.Tracer.Enter1(fnGetUnusedFdFlags, tracing.Uint(uint64(flags)))
	fd := -1
	for i := t.nextFd; i < len(t.fds); i++ {
		if t.fds[i] == nil {
			fd = i
			break
		}
	}
	if fd < 0 {
		fd = len(t.fds)
		if fd >= t.max {
			net.Tracer.Exit(fnGetUnusedFdFlags, tracing.Errno(-tracing.EMFILE))
			return -1, Errno(tracing.EMFILE)
		}
		t.fds = append(t.fds, nil)
		t.cloexec = append(t.cloexec, false)
	}
	t.fds[fd] = reservedFile
	t.cloexec[fd] = flags&O_CLOEXEC != 0
	t.nextFd = fd + 1
	net.Tracer.Exit(fnGetUnusedFdFlags, tracing.Int(int64(fd)))
	return fd, nil
}

// reservedFile marks an fd taken by get_unused_fd_flags but not installed.
var reservedFile = &File{FOp: "(reserved)"}

// PutUnusedFd is put_unused_fd: give back a reserved fd.
func PutUnusedFd(t *FdTable, fd int) {
	if fd >= 0 && fd < len(t.fds) && t.fds[fd] == reservedFile {
		t.fds[fd] = nil
		t.nextFd = min(t.nextFd, fd)
	}
}

// FdInstall is fd_install: point a reserved fd at its file.
func FdInstall(net *Net, t *FdTable, fd int, f *File) {
	net.Tracer.Enter2(fnFdInstall, tracing.Int(int64(fd)), tracing.Ptr(uint64(f.addr)))
	t.fds[fd] = f
	net.Tracer.Exit(fnFdInstall, tracing.Arg{})
}

// Get returns the file of an fd, or nil.
func (t *FdTable) Get(fd int) *File {
	if fd < 0 || fd >= len(t.fds) || t.fds[fd] == reservedFile {
		return nil
	}
	return t.fds[fd]
}

// Cloexec reports the close-on-exec flag of fd.
func (t *FdTable) Cloexec(fd int) bool { return fd >= 0 && fd < len(t.cloexec) && t.cloexec[fd] }

// SetCloexec sets or clears close-on-exec.
func (t *FdTable) SetCloexec(fd int, on bool) {
	if fd >= 0 && fd < len(t.cloexec) {
		t.cloexec[fd] = on
	}
}

// closeFd is file_close_fd: take fd out of the table and return its file.
func (t *FdTable) closeFd(fd int) *File {
	f := t.Get(fd)
	if f == nil {
		return nil
	}
	t.fds[fd] = nil
	t.nextFd = min(t.nextFd, fd)
	return f
}

// Open returns the open fds in ascending order with their files.
func (t *FdTable) Open() []int {
	var out []int
	for fd, f := range t.fds {
		if f != nil && f != reservedFile {
			out = append(out, fd)
		}
	}
	return out
}
