package sockets

import (
	"errors"

	"github.com/stackscope/stackscope/tracing"
)

// Errno is a Linux errno returned by a kernel function (positive, as
// user space sees it after the syscall returns -1).
type Errno int

var errnoText = map[Errno]string{
	tracing.EPERM:           "Operation not permitted",
	tracing.ENOENT:          "No such file or directory",
	tracing.EINTR:           "Interrupted system call",
	tracing.EBADF:           "Bad file descriptor",
	tracing.EAGAIN:          "Resource temporarily unavailable",
	tracing.ENOMEM:          "Cannot allocate memory",
	tracing.EACCES:          "Permission denied",
	tracing.EFAULT:          "Bad address",
	tracing.EINVAL:          "Invalid argument",
	tracing.EMFILE:          "Too many open files",
	tracing.ENOSYS:          "Function not implemented",
	tracing.EDOM:            "Numerical argument out of domain",
	tracing.ENOTSOCK:        "Socket operation on non-socket",
	tracing.EDESTADDRREQ:    "Destination address required",
	tracing.EPROTOTYPE:      "Protocol wrong type for socket",
	tracing.ENOPROTOOPT:     "Protocol not available",
	tracing.EPROTONOSUPPORT: "Protocol not supported",
	tracing.EOPNOTSUPP:      "Operation not supported",
	tracing.EAFNOSUPPORT:    "Address family not supported by protocol",
	tracing.EADDRINUSE:      "Address already in use",
	tracing.EADDRNOTAVAIL:   "Cannot assign requested address",
	tracing.ENOTCONN:        "Transport endpoint is not connected",
	tracing.EISCONN:         "Transport endpoint is already connected",
	tracing.ECONNREFUSED:    "Connection refused",
	tracing.EINPROGRESS:     "Operation now in progress",
	tracing.EALREADY:        "Operation already in progress",
	tracing.ENOBUFS:         "No buffer space available",
	ESOCKTNOSUPPORT:         "Socket type not supported",
	tracing.ENOTTY:          "Inappropriate ioctl for device",
}

// ESOCKTNOSUPPORT is returned for a socket type the family does not have.
const ESOCKTNOSUPPORT = 94

// Name returns the symbolic name ("EADDRINUSE").
func (e Errno) Name() string {
	if e == ESOCKTNOSUPPORT {
		return "ESOCKTNOSUPPORT"
	}
	return tracing.ErrnoName(int64(e))
}

// Error reads like strace: "EADDRINUSE (Address already in use)".
func (e Errno) Error() string {
	if t, ok := errnoText[e]; ok {
		return e.Name() + " (" + t + ")"
	}
	return e.Name()
}

// Ret is the value the kernel function returns: -errno.
func (e Errno) Ret() int64 { return -int64(e) }

// ErrnoOf extracts the errno of an error from kernel code: an Errno, or
// something with an Errno() method (slab and skb errors); anything else is
// EINVAL.
func ErrnoOf(err error) Errno {
	if err == nil {
		return 0
	}
	var e Errno
	if errors.As(err, &e) {
		return e
	}
	var k interface{ Errno() int64 }
	if errors.As(err, &k) {
		return Errno(-k.Errno())
	}
	return tracing.EINVAL
}

// retArg is an errno as a trace return value.
func retArg(err error) tracing.Arg { return tracing.Errno(ErrnoOf(err).Ret()) }
