package tracing

import "strconv"

// Linux errno values (include/uapi/asm-generic/errno-base.h and errno.h) that
// the model returns. Kernel-side functions return them negated, as the
// kernel does.
const (
	EPERM           = 1
	ENOENT          = 2
	EINTR           = 4
	EBADF           = 9
	EAGAIN          = 11
	ENOMEM          = 12
	EACCES          = 13
	EFAULT          = 14
	EBUSY           = 16
	EEXIST          = 17
	EINVAL          = 22
	EMFILE          = 24
	ENOTTY          = 25
	ENOSPC          = 28
	EPIPE           = 32
	EDOM            = 33
	ERANGE          = 34
	ENOSYS          = 38
	ENONET          = 64
	EPROTO          = 71
	ENOTSOCK        = 88
	EDESTADDRREQ    = 89
	EMSGSIZE        = 90
	EPROTOTYPE      = 91
	ENOPROTOOPT     = 92
	EPROTONOSUPPORT = 93
	EOPNOTSUPP      = 95
	EAFNOSUPPORT    = 97
	EADDRINUSE      = 98
	EADDRNOTAVAIL   = 99
	ENETUNREACH     = 101
	ECONNABORTED    = 103
	ECONNRESET      = 104
	ENOBUFS         = 105
	EISCONN         = 106
	ENOTCONN        = 107
	ETIMEDOUT       = 110
	ECONNREFUSED    = 111
	EHOSTDOWN       = 112
	EHOSTUNREACH    = 113
	EALREADY        = 114
	EINPROGRESS     = 115
	// ENOIOCTLCMD is kernel-internal (include/linux/errno.h): a layer has
	// no such ioctl, the caller tries the next one; user space never sees
	// it.
	ENOIOCTLCMD = 515
)

var errnoNames = map[int64]string{
	EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EBADF: "EBADF",
	EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT",
	EBUSY: "EBUSY", EEXIST: "EEXIST", EINVAL: "EINVAL", EMFILE: "EMFILE", ENOTTY: "ENOTTY",
	ENOSPC: "ENOSPC", EPIPE: "EPIPE", EDOM: "EDOM", ERANGE: "ERANGE", ENOSYS: "ENOSYS", EPROTO: "EPROTO", ENONET: "ENONET", EHOSTDOWN: "EHOSTDOWN",
	ENOTSOCK: "ENOTSOCK", EDESTADDRREQ: "EDESTADDRREQ", EMSGSIZE: "EMSGSIZE",
	EPROTOTYPE: "EPROTOTYPE", ENOPROTOOPT: "ENOPROTOOPT",
	EPROTONOSUPPORT: "EPROTONOSUPPORT", EOPNOTSUPP: "EOPNOTSUPP",
	EAFNOSUPPORT: "EAFNOSUPPORT", EADDRINUSE: "EADDRINUSE",
	EADDRNOTAVAIL: "EADDRNOTAVAIL", ENETUNREACH: "ENETUNREACH",
	ECONNABORTED: "ECONNABORTED", ECONNRESET: "ECONNRESET", ENOBUFS: "ENOBUFS",
	EISCONN: "EISCONN", ENOTCONN: "ENOTCONN", ETIMEDOUT: "ETIMEDOUT",
	ECONNREFUSED: "ECONNREFUSED", EHOSTUNREACH: "EHOSTUNREACH",
	EALREADY: "EALREADY", EINPROGRESS: "EINPROGRESS", ENOIOCTLCMD: "ENOIOCTLCMD",
}

// ErrnoName returns the symbolic name of a positive errno ("ENOMEM").
func ErrnoName(n int64) string {
	if s, ok := errnoNames[n]; ok {
		return s
	}
	return "errno" + strconv.FormatInt(n, 10)
}
