package stack

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// Interface checks.
var (
	_ net.Listener   = (*Listener)(nil)
	_ net.Conn       = (*Conn)(nil)
	_ net.PacketConn = (*PacketConn)(nil)
)

func tcpAddr(sa sockets.SockaddrIn) net.Addr {
	a := sa.Addr
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, sa.Port))
}

func sockaddr(ap netip.AddrPort) sockets.SockaddrIn {
	return sockets.SockaddrIn{Family: sockets.AF_INET, Addr: ap.Addr(), Port: ap.Port()}
}

// opError wraps a kernel error the way package net does, mapping the
// errnos that mean "closed" to net.ErrClosed.
func opError(op string, addr net.Addr, err error) error {
	if err == nil {
		return nil
	}
	return &net.OpError{Op: op, Net: "tcp", Addr: addr, Err: err}
}

// ListenTCP is what net.Listen("tcp", addr) does, as system calls of p:
// socket, setsockopt(SO_REUSEADDR), bind, listen. The result is a
// net.Listener whose Accept runs accept4 on the model kernel.
func (p *Process) ListenTCP(addr netip.AddrPort, backlog int) (*Listener, error) {
	fd, err := p.Socket(sockets.AF_INET, sockets.SOCK_STREAM|sockets.SOCK_CLOEXEC, sockets.IPPROTO_TCP)
	if err != nil {
		return nil, opError("listen", nil, fmt.Errorf("socket: %w", err))
	}
	fail := func(step string, err error) (*Listener, error) {
		_ = p.Close(fd)
		return nil, opError("listen", net.TCPAddrFromAddrPort(addr), fmt.Errorf("%s: %w", step, err))
	}
	if err := p.Setsockopt(fd, sockets.SOL_SOCKET, sockets.SO_REUSEADDR, sockets.Optval{Int: 1}); err != nil {
		return fail("setsockopt", err)
	}
	if err := p.Bind(fd, sockaddr(addr)); err != nil {
		return fail("bind", err)
	}
	if err := p.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	sa, err := p.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return &Listener{p: p, fd: fd, addr: tcpAddr(sa)}, nil
}

// DialTCP is what net.Dial("tcp", addr) does, as system calls of p:
// socket and a blocking connect. The result is a net.Conn.
func (p *Process) DialTCP(addr netip.AddrPort) (*Conn, error) {
	fd, err := p.Socket(sockets.AF_INET, sockets.SOCK_STREAM|sockets.SOCK_CLOEXEC, sockets.IPPROTO_TCP)
	if err != nil {
		return nil, opError("dial", nil, fmt.Errorf("socket: %w", err))
	}
	remote := net.TCPAddrFromAddrPort(addr)
	if err := p.Connect(fd, sockaddr(addr)); err != nil {
		_ = p.Close(fd)
		return nil, opError("dial", remote, fmt.Errorf("connect: %w", err))
	}
	local, err := p.Getsockname(fd)
	if err != nil {
		_ = p.Close(fd)
		return nil, opError("dial", remote, fmt.Errorf("getsockname: %w", err))
	}
	return &Conn{p: p, fd: fd, local: tcpAddr(local), remote: remote}, nil
}

// Listener is a net.Listener on a listening socket of the model kernel.
type Listener struct {
	p      *Process
	fd     int
	addr   net.Addr
	mu     sync.Mutex
	closed bool
}

// Accept waits for a connection (accept4 on the model kernel).
func (l *Listener) Accept() (net.Conn, error) {
	fd, peer, err := l.p.Accept4(l.fd, sockets.SOCK_CLOEXEC)
	if err != nil {
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return nil, opError("accept", l.addr, net.ErrClosed)
		}
		return nil, opError("accept", l.addr, err)
	}
	local, _ := l.p.Getsockname(fd)
	return &Conn{p: l.p, fd: fd, local: tcpAddr(local), remote: tcpAddr(peer)}, nil
}

// Close stops listening. Like Go's own listeners it also wakes a pending
// Accept: shutdown(SHUT_RD) stops the listener (a bare close would not
// wake accept on Linux), then close releases the socket.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return opError("close", l.addr, net.ErrClosed)
	}
	l.closed = true
	l.mu.Unlock()
	_ = l.p.Shutdown(l.fd, sockets.SHUT_RD)
	return opError("close", l.addr, l.p.Close(l.fd))
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.addr }

// Fd returns the listener's file descriptor in its process.
func (l *Listener) Fd() int { return l.fd }

// Conn is a net.Conn on a connected socket of the model kernel.
type Conn struct {
	p             *Process
	fd            int
	local, remote net.Addr
	mu            sync.Mutex
	closed        bool
	rdl, wdl      time.Time
	// reading is the recv in flight, if any: a new read deadline
	// interrupts it (as a signal would), and Read goes on under the new
	// deadline, so a deadline set while a Read waits takes effect, as Go's
	// own connections promise (net/http relies on it).
	reading *Pending
	// timeoSet says whether SO_RCVTIMEO and SO_SNDTIMEO hold a timeout
	// now; with no deadline and none set, a call needs no setsockopt.
	rcvTimeoSet, sndTimeoSet bool
}

// Read is recv(2). A read deadline becomes SO_RCVTIMEO for the call; a
// return of 0 bytes (the peer's FIN) is io.EOF.
func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		c.mu.Lock()
		dl := c.rdl
		c.mu.Unlock()
		if err := c.applyDeadline(dl, sockets.SO_RCVTIMEO, &c.rcvTimeoSet); err != nil {
			return 0, opError("read", c.remote, err)
		}
		pd := c.p.Start(Syscall{Name: "recvfrom", Args: [4]int64{int64(c.fd), int64(len(b))}, Into: b})
		c.mu.Lock()
		c.reading = pd
		moved := !c.rdl.Equal(dl) // a deadline set between the two
		c.mu.Unlock()
		if moved {
			_ = c.p.interruptCall(pd)
		}
		_, err := pd.Wait()
		c.mu.Lock()
		c.reading = nil
		changed := !c.rdl.Equal(dl)
		c.mu.Unlock()
		if err != nil {
			if changed && errors.Is(err, sockets.Errno(tracing.EINTR)) {
				continue // the deadline moved while we waited: read again under it
			}
			if !dl.IsZero() && errors.Is(err, sockets.Errno(tracing.EAGAIN)) {
				err = os.ErrDeadlineExceeded
			}
			return 0, opError("read", c.remote, err)
		}
		if len(pd.Data()) == 0 {
			return 0, io.EOF
		}
		return len(pd.Data()), nil // received straight into b (Syscall.Into)
	}
}

// Write is send(2), repeated until every byte is queued. A write
// deadline becomes SO_SNDTIMEO.
func (c *Conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	dl := c.wdl
	c.mu.Unlock()
	if err := c.applyDeadline(dl, sockets.SO_SNDTIMEO, &c.sndTimeoSet); err != nil {
		return 0, opError("write", c.remote, err)
	}
	done := 0
	for done < len(b) {
		n, err := c.p.Sendto(c.fd, b[done:], sockets.MSG_NOSIGNAL, nil)
		if err != nil {
			if !dl.IsZero() && errors.Is(err, sockets.Errno(tracing.EAGAIN)) {
				err = os.ErrDeadlineExceeded
			}
			return done, opError("write", c.remote, err)
		}
		done += n
	}
	return done, nil
}

// applyDeadline turns a deadline into the socket timeout opt (zero:
// none); set tracks whether the socket holds a timeout, so that the
// common case, no deadline before or now, costs no system call (the
// flag is under the lock: net.Conn allows concurrent calls).
func (c *Conn) applyDeadline(dl time.Time, opt int, set *bool) error {
	var tv sockets.Optval
	if dl.IsZero() {
		c.mu.Lock()
		was := *set
		c.mu.Unlock()
		if !was {
			return nil
		}
	} else {
		left := time.Until(dl)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		tv = sockets.Optval{TvSec: int64(left / time.Second), TvUsec: max(int64(left%time.Second/time.Microsecond), 1)}
	}
	if err := c.p.Setsockopt(c.fd, sockets.SOL_SOCKET, opt, tv); err != nil {
		return err
	}
	c.mu.Lock()
	*set = !dl.IsZero()
	c.mu.Unlock()
	return nil
}

// Fd returns the connection's file descriptor in its process.
func (c *Conn) Fd() int { return c.fd }

// Process returns the process that owns the connection.
func (c *Conn) Process() *Process { return c.p }

// Close closes the connection's fd. As with the Listener, shutdown comes
// first so that a Read blocked in another goroutine returns, as Go's own
// connections promise.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return opError("close", c.remote, net.ErrClosed)
	}
	c.closed = true
	_ = c.p.Shutdown(c.fd, sockets.SHUT_RDWR)
	return opError("close", c.remote, c.p.Close(c.fd))
}

// CloseWrite shuts down the sending side (shutdown(fd, SHUT_WR)): our FIN
// goes out after the queued data, and the peer reads end of file. Like
// net.TCPConn's; Go's http.Server calls it before closing a connection
// whose response said "Connection: close", so the server closes first.
func (c *Conn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return opError("close", c.remote, net.ErrClosed)
	}
	return opError("close", c.remote, c.p.Shutdown(c.fd, sockets.SHUT_WR))
}

// CloseRead shuts down the receiving side (shutdown(fd, SHUT_RD)).
func (c *Conn) CloseRead() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return opError("close", c.remote, net.ErrClosed)
	}
	return opError("close", c.remote, c.p.Shutdown(c.fd, sockets.SHUT_RD))
}

// LocalAddr is getsockname's answer.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the peer accept reported.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	return c.SetReadDeadline(t)
}

// SetReadDeadline sets the read deadline (SO_RCVTIMEO). A Read waiting now
// is interrupted and goes on under the new deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	pd := c.reading
	c.mu.Unlock()
	if pd != nil {
		return c.p.interruptCall(pd)
	}
	return nil
}

// SetWriteDeadline sets the write deadline (SO_SNDTIMEO at the next Write).
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	return nil
}

// ListenUDP is net.ListenPacket("udp", addr) as system calls of p.
func (p *Process) ListenUDP(addr netip.AddrPort) (*PacketConn, error) {
	fd, err := p.Socket(sockets.AF_INET, sockets.SOCK_DGRAM|sockets.SOCK_CLOEXEC, sockets.IPPROTO_UDP)
	if err != nil {
		return nil, opError("listen", nil, fmt.Errorf("socket: %w", err))
	}
	if err := p.Bind(fd, sockaddr(addr)); err != nil {
		_ = p.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: fmt.Errorf("bind: %w", err)}
	}
	sa, err := p.Getsockname(fd)
	if err != nil {
		_ = p.Close(fd)
		return nil, err
	}
	local := sa.Addr
	if !local.IsValid() {
		local = netip.IPv4Unspecified()
	}
	return &PacketConn{p: p, fd: fd, local: net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, sa.Port))}, nil
}

// PacketConn is a net.PacketConn on a UDP socket of the model kernel.
type PacketConn struct {
	p     *Process
	fd    int
	local net.Addr
	mu    sync.Mutex
	rdl   time.Time
}

// ReadFrom is recvfrom(2). A read deadline becomes SO_RCVTIMEO for the call.
func (c *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.mu.Lock()
	dl := c.rdl
	c.mu.Unlock()
	if !dl.IsZero() {
		left := time.Until(dl)
		if left <= 0 {
			return 0, nil, &net.OpError{Op: "read", Net: "udp", Addr: c.local, Err: os.ErrDeadlineExceeded}
		}
		tv := sockets.Optval{TvSec: int64(left / time.Second), TvUsec: max(int64(left%time.Second/time.Microsecond), 1)}
		_ = c.p.Setsockopt(c.fd, sockets.SOL_SOCKET, sockets.SO_RCVTIMEO, tv)
	}
	data, from, err := c.p.Recvfrom(c.fd, len(b), 0)
	if err != nil {
		if !dl.IsZero() && errors.Is(err, sockets.Errno(tracing.EAGAIN)) {
			err = os.ErrDeadlineExceeded
		}
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Addr: c.local, Err: err}
	}
	n := copy(b, data)
	return n, net.UDPAddrFromAddrPort(netip.AddrPortFrom(from.Addr, from.Port)), nil
}

// WriteTo is sendto(2).
func (c *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: fmt.Errorf("not a UDP address: %T", addr)}
	}
	ap := ua.AddrPort()
	to := sockaddr(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	n, err := c.p.Sendto(c.fd, b, 0, &to)
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: err}
	}
	return n, nil
}

// Close closes the socket.
func (c *PacketConn) Close() error { return c.p.Close(c.fd) }

// LocalAddr returns the bound address.
func (c *PacketConn) LocalAddr() net.Addr { return c.local }

// SetDeadline sets the read deadline (writes never block on UDP here).
func (c *PacketConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline sets the read deadline.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline is accepted; UDP sends do not block in the model.
func (c *PacketConn) SetWriteDeadline(time.Time) error { return nil }
