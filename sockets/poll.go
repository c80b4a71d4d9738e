package sockets

import (
	"strconv"

	"github.com/stackscope/stackscope/tracing"
)

// poll(2) event bits (include/uapi/asm-generic/poll.h), in revents as in
// events. POLLERR, POLLHUP and POLLNVAL are reported whether asked for or
// not.
const (
	POLLIN     = 0x0001
	POLLPRI    = 0x0002
	POLLOUT    = 0x0004
	POLLERR    = 0x0008
	POLLHUP    = 0x0010
	POLLNVAL   = 0x0020
	POLLRDNORM = 0x0040
	POLLRDBAND = 0x0080
	POLLWRNORM = 0x0100
	POLLWRBAND = 0x0200
	POLLMSG    = 0x0400
	POLLRDHUP  = 0x2000
)

// DEFAULT_POLLMASK is what a file without a poll operation reports: always
// readable and writable.
const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM

// PollNames lists the poll bits by name, in bit order.
var PollNames = []struct {
	Bit  uint32
	Name string
}{
	{POLLIN, "POLLIN"}, {POLLPRI, "POLLPRI"}, {POLLOUT, "POLLOUT"}, {POLLERR, "POLLERR"},
	{POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"}, {POLLRDNORM, "POLLRDNORM"}, {POLLRDBAND, "POLLRDBAND"},
	{POLLWRNORM, "POLLWRNORM"}, {POLLWRBAND, "POLLWRBAND"}, {POLLMSG, "POLLMSG"}, {POLLRDHUP, "POLLRDHUP"},
}

// PollString writes a mask as "POLLIN|POLLRDNORM" ("0" for none).
func PollString(mask uint32) string {
	out := ""
	for _, n := range PollNames {
		if mask&n.Bit != 0 {
			if out != "" {
				out += "|"
			}
			out += n.Name
			mask &^= n.Bit
		}
	}
	if mask != 0 {
		if out != "" {
			out += "|"
		}
		out += "0x" + strconv.FormatUint(uint64(mask), 16)
	}
	if out == "" {
		return "0"
	}
	return out
}

// PollTable is poll_table: how a file's poll operation queues the polling
// task on the file's wait queues (Qproc is poll_queue_proc, __pollwait for
// poll(2)). Qproc is nil when the caller will not sleep (a poll with
// timeout 0, or one that already found an event); Key is the events asked
// for.
type PollTable struct {
	Qproc func(file *File, wq *WaitQueue)
	Key   uint32
}

// PollWait is poll_wait: queue the polling task on wq, if the table asks
// for it.
func PollWait(file *File, wq *WaitQueue, p *PollTable) {
	if p != nil && p.Qproc != nil && wq != nil {
		p.Qproc(file, wq)
	}
}

// SockPollWait is sock_poll_wait: the socket's wait queue is where the
// protocol's wake-ups (sk_data_ready, sk_write_space, sk_state_change,
// sk_error_report) land.
func SockPollWait(file *File, sock *Socket, p *PollTable) {
	PollWait(file, &sock.Wq, p)
}

// SockPoll is sock_poll (net/socket.c), the poll operation of
// socket_file_ops: the socket type's poll (tcp_poll for inet_stream_ops,
// udp_poll for UDP).
func SockPoll(net *Net, file *File, p *PollTable) uint32 {
	tr := net.Tracer
	sock := file.PrivateData
	tr.Enter1(fnSockPoll, tracing.Ptr(uint64(sock.addr)))
	var mask uint32
	if sock.Ops != nil && sock.Ops.Poll != nil {
		mask = sock.Ops.Poll(file, sock, p)
	}
	tr.Exit(fnSockPoll, tracing.Uint(uint64(mask)))
	return mask
}
