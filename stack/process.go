package stack

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// Process is a user process: a pid, a command name and a file descriptor
// table. Its methods are system calls; they may be called from any
// goroutine, and from several at once (like threads).
type Process struct {
	k     *Kernel
	Pid   uint32
	Comm  string
	Fdt   *sockets.FdTable
	tasks []*task
}

// Syscall is one system call as data: its name and arguments. Being data,
// it can be logged, recorded and replayed.
type Syscall struct {
	Name string // "socket", "bind", "listen", "accept4", "close", ...
	Args [4]int64
	Addr sockets.SockaddrIn
	// HasAddr says Addr is given (sendto with an address).
	HasAddr bool
	Opt     sockets.Optval
	// Data is what sendto sends.
	Data []byte
	// Into, for recvfrom, is the caller's buffer (at least Args[1] bytes):
	// the kernel copies what it receives straight into it, as recv(2)
	// copies into user memory, and Pending.Data is a slice of it. The
	// caller must not touch it until the call returns. Without it the
	// data is copied out into a new buffer.
	Into []byte
	// Fds is poll's array of struct pollfd; Args[0] is nfds, Args[1] the
	// timeout in milliseconds.
	Fds []PollFd
}

func (sc Syscall) String() string {
	switch sc.Name {
	case "bind":
		return fmt.Sprintf("bind(%d, %s)", sc.Args[0], sc.Addr)
	case "socket", "listen", "shutdown", "fcntl", "accept4", "getsockopt":
		return fmt.Sprintf("%s(%d, %d, %d)", sc.Name, sc.Args[0], sc.Args[1], sc.Args[2])
	case "setsockopt":
		if sc.Opt.Bytes != nil {
			return fmt.Sprintf("setsockopt(%d, %d, %d, %q, %d)", sc.Args[0], sc.Args[1], sc.Args[2], sc.Opt.Bytes, len(sc.Opt.Bytes))
		}
		return fmt.Sprintf("setsockopt(%d, %d, %d, %d)", sc.Args[0], sc.Args[1], sc.Args[2], sc.Opt.Int)
	case "ioctl":
		return fmt.Sprintf("ioctl(%d, %#x)", sc.Args[0], sc.Args[1])
	case "poll":
		return fmt.Sprintf("poll(%s, %d, %d)", pollFdsString(sc.Fds), sc.Args[0], sc.Args[1])
	}
	return fmt.Sprintf("%s(%d)", sc.Name, sc.Args[0])
}

// result is what a syscall returns.
type result struct {
	ret      int64
	err      error
	addr     sockets.SockaddrIn
	opt      sockets.Optval
	data     []byte // what recvfrom received
	msgFlags int
	fds      []PollFd // poll's pollfds with revents filled in
}

type syscallReq struct {
	id    uint64 // its number in a recording (0 when not recording)
	proc  *Process
	sc    Syscall
	reply chan result
}

// NewProcess creates a process (with fds 0-2 on the terminal).
func (k *Kernel) NewProcess(comm string) (*Process, error) {
	r, err := k.Do("fork", func(k *Kernel) any {
		if k.rec != nil && k.recBegin(recFork, func(b []byte) []byte { return appendBytes(b, []byte(comm)) }) {
			defer k.recEnd()
		}
		return k.newProcess(comm)
	})
	if err != nil {
		return nil, err
	}
	return r.(*Process), nil
}

func (k *Kernel) newProcess(comm string) *Process {
	p := &Process{k: k, Pid: k.nextPid, Comm: comm, Fdt: sockets.NewFdTable()}
	k.nextPid++
	k.procs = append(k.procs, p)
	return p
}

// Pending is a syscall in flight.
type Pending struct {
	reply   chan result
	stopped <-chan struct{} // the kernel's done channel
	res     result
	done    bool
}

// Ready reports whether the syscall has returned.
func (pd *Pending) Ready() bool {
	if pd.done {
		return true
	}
	select {
	case pd.res = <-pd.reply:
		pd.done = true
	default:
	}
	return pd.done
}

// Wait blocks until the syscall returns and gives its result. A request
// the loop never picked up before the kernel stopped fails with
// ErrStopped instead of waiting for ever.
func (pd *Pending) Wait() (int64, error) {
	if !pd.done {
		select {
		case pd.res = <-pd.reply:
		case <-pd.stopped:
			select {
			case pd.res = <-pd.reply:
			default:
				pd.res = result{err: ErrStopped}
			}
		}
		pd.done = true
	}
	return pd.res.ret, pd.res.err
}

// Addr returns the address a syscall reported (accept, getsockname).
func (pd *Pending) Addr() sockets.SockaddrIn { return pd.res.addr }

// Data returns what recvfrom received.
func (pd *Pending) Data() []byte { return pd.res.data }

// Opt returns the option value getsockopt reported.
func (pd *Pending) Opt() sockets.Optval { return pd.res.opt }

// PollFds returns poll's pollfds with revents filled in.
func (pd *Pending) PollFds() []PollFd { return pd.res.fds }

// Start issues a syscall without waiting for it.
func (p *Process) Start(sc Syscall) *Pending {
	req := &syscallReq{proc: p, sc: sc, reply: make(chan result, 1)}
	pd := &Pending{reply: req.reply, stopped: p.k.done}
	select {
	case p.k.inputs <- input{sys: req}:
	case <-p.k.quit:
		pd.res, pd.done = result{err: ErrStopped}, true
	}
	return pd
}

// Call issues a syscall and waits for it.
func (p *Process) Call(sc Syscall) (int64, error) {
	return p.Start(sc).Wait()
}

// startSyscall runs a syscall request on an idle task of its process.
func (k *Kernel) startSyscall(req *syscallReq) {
	p := req.proc
	var t *task
	for _, x := range p.tasks {
		if x.req == nil && !x.sleeping {
			t = x
			break
		}
	}
	if t == nil {
		t = k.newTask(p)
	}
	t.req = req
	k.resume(t)
}

// Socket is socket(2).
func (p *Process) Socket(family, typ, protocol int) (int, error) {
	r, err := p.Call(Syscall{Name: "socket", Args: [4]int64{int64(family), int64(typ), int64(protocol)}})
	return int(r), err
}

// Bind is bind(2) with a sockaddr_in.
func (p *Process) Bind(fd int, addr sockets.SockaddrIn) error {
	_, err := p.Call(Syscall{Name: "bind", Args: [4]int64{int64(fd), 16}, Addr: addr})
	return err
}

// Listen is listen(2).
func (p *Process) Listen(fd, backlog int) error {
	_, err := p.Call(Syscall{Name: "listen", Args: [4]int64{int64(fd), int64(backlog)}})
	return err
}

// Accept4 is accept4(2); it returns the new fd and the peer's address.
func (p *Process) Accept4(fd, flags int) (int, sockets.SockaddrIn, error) {
	pd := p.Start(Syscall{Name: "accept4", Args: [4]int64{int64(fd), int64(flags)}})
	r, err := pd.Wait()
	return int(r), pd.Addr(), err
}

// Close is close(2).
func (p *Process) Close(fd int) error {
	_, err := p.Call(Syscall{Name: "close", Args: [4]int64{int64(fd)}})
	return err
}

// Getsockname is getsockname(2).
func (p *Process) Getsockname(fd int) (sockets.SockaddrIn, error) {
	pd := p.Start(Syscall{Name: "getsockname", Args: [4]int64{int64(fd)}})
	_, err := pd.Wait()
	return pd.Addr(), err
}

// Getpeername is getpeername(2).
func (p *Process) Getpeername(fd int) (sockets.SockaddrIn, error) {
	pd := p.Start(Syscall{Name: "getpeername", Args: [4]int64{int64(fd)}})
	_, err := pd.Wait()
	return pd.Addr(), err
}

// Setsockopt is setsockopt(2).
func (p *Process) Setsockopt(fd, level, optname int, val sockets.Optval) error {
	_, err := p.Call(Syscall{Name: "setsockopt", Args: [4]int64{int64(fd), int64(level), int64(optname)}, Opt: val})
	return err
}

// Getsockopt is getsockopt(2).
func (p *Process) Getsockopt(fd, level, optname int) (sockets.Optval, error) {
	pd := p.Start(Syscall{Name: "getsockopt", Args: [4]int64{int64(fd), int64(level), int64(optname)}})
	_, err := pd.Wait()
	return pd.Opt(), err
}

// Ioctl is ioctl(2) with a command that answers an int (SIOCINQ,
// SIOCOUTQ): it returns that int.
func (p *Process) Ioctl(fd, cmd int) (int, error) {
	pd := p.Start(Syscall{Name: "ioctl", Args: [4]int64{int64(fd), int64(cmd)}})
	_, err := pd.Wait()
	return int(pd.Opt().Int), err
}

// TCPInfo is getsockopt(fd, SOL_TCP, TCP_INFO): the connection's struct
// tcp_info.
func (p *Process) TCPInfo(fd int) (*sockets.TcpInfo, error) {
	opt, err := p.Getsockopt(fd, sockets.SOL_TCP, sockets.TCP_INFO)
	if err != nil {
		return nil, fmt.Errorf("getsockopt(%d, SOL_TCP, TCP_INFO): %w", fd, err)
	}
	if opt.TcpInfo == nil {
		return nil, fmt.Errorf("getsockopt(%d, SOL_TCP, TCP_INFO) returned no tcp_info", fd)
	}
	return opt.TcpInfo, nil
}

// Poll is poll(2): wait up to timeoutMs milliseconds (negative: for ever,
// 0: not at all) until one of fds has an event it asks for. It fills in
// each Revents and returns how many fds have one (0 if the time ran out).
func (p *Process) Poll(fds []PollFd, timeoutMs int) (int, error) {
	pd := p.Start(Syscall{Name: "poll", Args: [4]int64{int64(len(fds)), int64(timeoutMs)}, Fds: slices.Clone(fds)})
	n, err := pd.Wait()
	copy(fds, pd.PollFds())
	return int(n), err
}

// Fcntl is fcntl(2) with an integer argument.
func (p *Process) Fcntl(fd, cmd, arg int) (int, error) {
	r, err := p.Call(Syscall{Name: "fcntl", Args: [4]int64{int64(fd), int64(cmd), int64(arg)}})
	return int(r), err
}

// Shutdown is shutdown(2).
func (p *Process) Shutdown(fd, how int) error {
	_, err := p.Call(Syscall{Name: "shutdown", Args: [4]int64{int64(fd), int64(how)}})
	return err
}

// Connect is connect(2).
func (p *Process) Connect(fd int, addr sockets.SockaddrIn) error {
	_, err := p.Call(Syscall{Name: "connect", Args: [4]int64{int64(fd), 16}, Addr: addr})
	return err
}

// Sendto is sendto(2); a nil addr sends to the connected peer (send).
func (p *Process) Sendto(fd int, data []byte, flags int, addr *sockets.SockaddrIn) (int, error) {
	sc := Syscall{Name: "sendto", Args: [4]int64{int64(fd), int64(flags)}, Data: data}
	if addr != nil {
		sc.Addr, sc.HasAddr = *addr, true
	}
	n, err := p.Call(sc)
	return int(n), err
}

// Recvfrom is recvfrom(2): up to n bytes, the sender's address.
func (p *Process) Recvfrom(fd, n, flags int) ([]byte, sockets.SockaddrIn, error) {
	pd := p.Start(Syscall{Name: "recvfrom", Args: [4]int64{int64(fd), int64(n), int64(flags)}})
	_, err := pd.Wait()
	return pd.Data(), pd.Addr(), err
}

// Kill sends the process a signal: syscalls it sleeps in return EINTR.
func (p *Process) Kill() error {
	_, err := p.k.Do("kill", func(k *Kernel) any {
		if k.rec != nil && k.recBegin(recKill, func(b []byte) []byte { return binary.AppendUvarint(b, uint64(p.Pid)) }) {
			defer k.recEnd()
		}
		return k.interrupt(p)
	})
	return err
}

// dispatch runs a syscall on task t: the sys_call_table.
func (k *Kernel) dispatch(t *task, sc *Syscall) result {
	p, net := t.p, k.net
	a := sc.Args
	var r result
	switch sc.Name {
	case "socket":
		fd, err := sockets.SysSocket(net, p.Fdt, int(a[0]), int(a[1]), int(a[2]))
		r = result{ret: int64(fd), err: err}
	case "bind":
		r.err = sockets.SysBind(net, p.Fdt, int(a[0]), sc.Addr, int(a[1]))
	case "listen":
		r.err = sockets.SysListen(net, p.Fdt, int(a[0]), int(a[1]))
	case "accept4", "accept":
		fd, peer, err := sockets.SysAccept4(net, p.Fdt, int(a[0]), int(a[1]))
		r = result{ret: int64(fd), err: err, addr: peer}
	case "close":
		r.err = sockets.SysClose(net, p.Fdt, int(a[0]))
	case "getsockname", "getpeername":
		addr, err := sockets.SysGetsockname(net, p.Fdt, int(a[0]), sc.Name == "getpeername")
		r = result{err: err, addr: addr}
	case "setsockopt":
		r.err = sockets.SysSetsockopt(net, p.Fdt, int(a[0]), int(a[1]), int(a[2]), sc.Opt)
	case "getsockopt":
		opt, err := sockets.SysGetsockopt(net, p.Fdt, int(a[0]), int(a[1]), int(a[2]), int(a[3]))
		r = result{ret: opt.Int, err: err, opt: opt}
	case "ioctl":
		// The answer goes to the user's int through the pointer; the
		// call itself returns 0.
		v, err := sockets.SysIoctl(net, p.Fdt, int(a[0]), int(a[1]))
		r = result{err: err, opt: sockets.Optval{Int: v}}
	case "fcntl":
		v, err := sockets.SysFcntl(net, p.Fdt, int(a[0]), int(a[1]), int(a[2]))
		r = result{ret: int64(v), err: err}
	case "shutdown":
		r.err = sockets.SysShutdown(net, p.Fdt, int(a[0]), int(a[1]))
	case "connect":
		r.err = sockets.SysConnect(net, p.Fdt, int(a[0]), sc.Addr, int(a[1]))
	case "sendto", "send", "write":
		var to *sockets.SockaddrIn
		if sc.HasAddr {
			to = &sc.Addr
		}
		n, err := sockets.SysSendto(net, p.Fdt, int(a[0]), sc.Data, int(a[1]), to)
		r = result{ret: int64(n), err: err}
	case "recvfrom", "recv", "read":
		// The user's buffer: the task's own, reused from call to call (a
		// recv of 1 MB that returns one segment need not clear 1 MB), and
		// what was received is copied out.
		var buf []byte
		if int64(len(sc.Into)) >= a[1] {
			buf = sc.Into[:max(a[1], 0)]
		} else {
			if int64(cap(t.rbuf)) < a[1] {
				t.rbuf = make([]byte, a[1])
			}
			buf = t.rbuf[:max(a[1], 0)]
		}
		n, rr, err := sockets.SysRecvfrom(net, p.Fdt, int(a[0]), buf, int(a[2]))
		r = result{ret: int64(n), err: err, addr: rr.From, msgFlags: rr.MsgFlags}
		if err == nil {
			if sc.Into != nil && int64(len(sc.Into)) >= a[1] {
				r.data = buf[:min(n, len(buf))]
			} else {
				r.data = append([]byte(nil), buf[:min(n, len(buf))]...)
			}
		}
	case "poll":
		if a[0] < 0 || a[0] > int64(len(sc.Fds)) {
			r.err = sockets.Errno(tracing.EFAULT) // nfds runs past the array
			break
		}
		fds := slices.Clone(sc.Fds[:a[0]])
		n, err := k.doSysPoll(t, fds, a[1])
		r = result{ret: int64(n), err: err, fds: fds}
	default:
		r.err = sockets.Errno(38) // ENOSYS
	}
	if r.err != nil {
		r.ret = -1
	}
	return r
}
