package sockets

// Address families (include/linux/socket.h).
const (
	AF_UNSPEC  = 0
	AF_UNIX    = 1
	AF_INET    = 2
	AF_INET6   = 10
	AF_NETLINK = 16
	AF_PACKET  = 17
	AF_MAX     = 46
)

// Socket types (include/linux/net.h) and the flags socket() takes in type.
const (
	SOCK_STREAM    = 1
	SOCK_DGRAM     = 2
	SOCK_RAW       = 3
	SOCK_SEQPACKET = 5
	SOCK_MAX       = 11
	SOCK_TYPE_MASK = 0xf
	SOCK_NONBLOCK  = O_NONBLOCK
	SOCK_CLOEXEC   = O_CLOEXEC
)

// Protocols (include/uapi/linux/in.h).
const (
	IPPROTO_IP   = 0
	IPPROTO_ICMP = 1
	IPPROTO_TCP  = 6
	IPPROTO_UDP  = 17
	IPPROTO_RAW  = 255
)

// File flags (include/uapi/asm-generic/fcntl.h) and fcntl commands.
const (
	O_RDWR     = 0x2
	O_NONBLOCK = 0x800
	O_CLOEXEC  = 0x80000
	F_GETFD    = 1
	F_SETFD    = 2
	F_GETFL    = 3
	F_SETFL    = 4
	FD_CLOEXEC = 1
)

// Option levels and options (include/uapi/asm-generic/socket.h, linux/tcp.h).
const (
	SOL_SOCKET = 1
	SOL_IP     = 0 // IP-level options (ip_setsockopt, ip_getsockopt)
	SOL_TCP    = IPPROTO_TCP

	SO_DEBUG      = 1
	SO_REUSEADDR  = 2
	SO_TYPE       = 3
	SO_ERROR      = 4
	SO_BROADCAST  = 6
	SO_SNDBUF     = 7
	SO_RCVBUF     = 8
	SO_KEEPALIVE  = 9
	SO_OOBINLINE  = 10
	SO_PRIORITY   = 12
	SO_LINGER     = 13
	SO_REUSEPORT  = 15
	SO_RCVLOWAT   = 18
	SO_SNDLOWAT   = 19 // getsockopt reads 1; setsockopt is ENOPROTOOPT (POSIX.1g)
	SO_RCVTIMEO   = 20 // SO_RCVTIMEO_OLD: struct timeval
	SO_SNDTIMEO   = 21
	SO_ACCEPTCONN = 30
	SO_PEEK_OFF   = 42
	SO_PROTOCOL   = 38
	SO_DOMAIN     = 39

	TCP_NODELAY   = 1
	TCP_MAXSEG    = 2
	TCP_CORK      = 3
	TCP_KEEPIDLE  = 4
	TCP_KEEPINTVL = 5
	TCP_KEEPCNT   = 6
	TCP_SYNCNT    = 7 // SYN retransmissions before connect() gives up
	// TCP_LINGER2: seconds an orphan waits in FIN_WAIT2 (0: the sysctl
	// tcp_fin_timeout; negative: none, a RST instead).
	TCP_LINGER2 = 8
	// TCP_USER_TIMEOUT: ms that transmitted data may stay unacknowledged
	// before the connection is given up (RFC 5482); 0 = the system's.
	TCP_USER_TIMEOUT = 18
	TCP_INFO         = 11 // struct tcp_info (TcpInfo)
	// TCP_DEFER_ACCEPT: seconds a listener waits for data after the
	// handshake before a bare ACK completes it, kept as a count of
	// SYN-ACK retransmissions (rskq_defer_accept) and read back as the
	// seconds those cover.
	TCP_DEFER_ACCEPT = 9
	// TCP_WINDOW_CLAMP: the largest receive window to advertise, in
	// bytes (at least SOCK_MIN_RCVBUF/2; 0 clears it, only in CLOSE).
	TCP_WINDOW_CLAMP = 10
	// TCP_QUICKACK: 1 leaves delayed-ACK pingpong mode (and sends an ACK
	// that waits), 0 enters it; reading it says whether quick-ack is on.
	TCP_QUICKACK = 12
	// TCP_NOTSENT_LOWAT: bytes written but not yet sent the socket may
	// hold and still be writable (0: the sysctl tcp_notsent_lowat).
	TCP_NOTSENT_LOWAT = 25
	// TCP_CONGESTION names the congestion control algorithm: a string of
	// at most TCP_CA_NAME_MAX-1 characters ("cubic", "reno").
	TCP_CONGESTION  = 13
	TCP_CA_NAME_MAX = 16
)

// Socket ioctls that answer with an int (include/uapi/linux/sockios.h,
// asm-generic/ioctls.h): SIOCINQ is FIONREAD, SIOCOUTQ is TIOCOUTQ.
const (
	SIOCINQ     = 0x541B // bytes not yet read
	SIOCOUTQ    = 0x5411 // bytes not yet acknowledged (sent or not)
	SIOCOUTQNSD = 0x894B // bytes not yet sent
	SIOCATMARK  = 0x8905 // is the next byte to read the urgent mark?
)

// shutdown() how (include/linux/net.h) and sk_shutdown bits.
const (
	SHUT_RD   = 0
	SHUT_WR   = 1
	SHUT_RDWR = 2

	RCV_SHUTDOWN  = 1
	SEND_SHUTDOWN = 2
	SHUTDOWN_MASK = 3
)

// sk_reuse values.
const (
	SK_NO_REUSE    = 0
	SK_CAN_REUSE   = 1
	SK_FORCE_REUSE = 2
)

// sk_userlocks bits: what the user fixed so the kernel must not change it.
const (
	SOCK_SNDBUF_LOCK   = 1
	SOCK_RCVBUF_LOCK   = 2
	SOCK_BINDADDR_LOCK = 4
	SOCK_BINDPORT_LOCK = 8
)

// MaxScheduleTimeout is MAX_SCHEDULE_TIMEOUT: wait forever.
const MaxScheduleTimeout = int64(^uint64(0) >> 1)

// State is a TCP state (include/net/tcp_states.h).
type State uint8

const (
	TCP_ESTABLISHED State = iota + 1
	TCP_SYN_SENT
	TCP_SYN_RECV
	TCP_FIN_WAIT1
	TCP_FIN_WAIT2
	TCP_TIME_WAIT
	TCP_CLOSE
	TCP_CLOSE_WAIT
	TCP_LAST_ACK
	TCP_LISTEN
	TCP_CLOSING
	TCP_NEW_SYN_RECV
	TCP_BOUND_INACTIVE
)

var stateNames = [...]string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE"}

func (s State) String() string {
	if int(s) < len(stateNames) && s != 0 {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// SocketState is socket_state (include/uapi/linux/net.h): the BSD-level
// state of struct socket.
type SocketState uint8

const (
	SS_FREE SocketState = iota
	SS_UNCONNECTED
	SS_CONNECTING
	SS_CONNECTED
	SS_DISCONNECTING
)

func (s SocketState) String() string {
	switch s {
	case SS_FREE:
		return "SS_FREE"
	case SS_UNCONNECTED:
		return "SS_UNCONNECTED"
	case SS_CONNECTING:
		return "SS_CONNECTING"
	case SS_CONNECTED:
		return "SS_CONNECTED"
	case SS_DISCONNECTING:
		return "SS_DISCONNECTING"
	}
	return "SS_UNKNOWN"
}

// SockFlag is a bit of sk_flags (enum sock_flags, include/net/sock.h).
type SockFlag uint8

const (
	SOCK_DEAD SockFlag = iota
	SOCK_DONE
	SOCK_URGINLINE
	SOCK_KEEPOPEN
	SOCK_LINGER
	SOCK_DESTROY
	SOCK_BROADCAST
	SOCK_TIMESTAMP
	SOCK_ZAPPED
	SOCK_RCU_FREE
	SOCK_DBG
	numSockFlags
)

var sockFlagNames = [numSockFlags]string{"SOCK_DEAD", "SOCK_DONE", "SOCK_URGINLINE", "SOCK_KEEPOPEN",
	"SOCK_LINGER", "SOCK_DESTROY", "SOCK_BROADCAST", "SOCK_TIMESTAMP", "SOCK_ZAPPED", "SOCK_RCU_FREE", "SOCK_DBG"}

func (f SockFlag) String() string {
	if f < numSockFlags {
		return sockFlagNames[f]
	}
	return "SOCK_?"
}
