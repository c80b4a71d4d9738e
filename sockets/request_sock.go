package sockets

import "github.com/stackscope/stackscope/slab"

// RequestSock is struct request_sock with the inet and TCP parts a SYN
// needs (inet_request_sock, tcp_request_sock): the mini socket that stands
// for a half-open connection in the SYN queue. Its addresses and ports are
// in sock_common (ir_loc_addr = SkcRcvSaddr, ir_rmt_addr = SkcDaddr,
// ir_num = SkcNum, ir_rmt_port = SkcDport).
type RequestSock struct {
	SockCommon
	DlNext     *RequestSock // the next request in the accept queue
	Mss        uint16
	NumRetrans uint8
	NumTimeout uint8
	Syncookie  bool
	Acked      bool  // the final ACK came, but the accept queue was full or TCP_DEFER_ACCEPT waits for data
	Timeout    int64 // nanoseconds until the next SYN-ACK retransmit
	// LastOowAckTime is last_oow_ack_time: jiffies of the last ACK or
	// SYN-ACK sent for an out-of-window or repeated segment (0: none).
	LastOowAckTime uint32
	SntSynack      int64 // when the last SYN-ACK went out (snt_synack), 0 for a cookie
	RskListener    *Sock // the listener this request belongs to
	Sk             *Sock // the child socket, once created

	// inet_request_sock / tcp_request_sock fields.
	SndWscale, RcvWscale uint8
	TstampOk, SackOk     bool
	WscaleOk             bool
	RcvIsn, SntIsn       uint32
	TsOff                uint32
	TsRecent             uint32
	AdvMss               uint16
	RcvWnd               uint32 // rsk_rcv_wnd
	WindowClamp          uint32 // rsk_window_clamp
}

// RequestSockQueue is struct request_sock_queue (icsk_accept_queue): the
// SYN queue's counters and the accept queue of established children.
type RequestSockQueue struct {
	RskqLock        bool // spinlock held
	RskqDeferAccept uint8
	Qlen            uint32 // request socks in the SYN queue
	Young           uint32 // of those, ones never retransmitted
	SynfloodWarned  bool   // "Possible SYN flooding" was logged for this socket
	RskqAcceptHead  *RequestSock
	RskqAcceptTail  *RequestSock
}

// ReqskQueueEmpty is reqsk_queue_empty: no child waits in the accept queue.
func ReqskQueueEmpty(q *RequestSockQueue) bool { return q.RskqAcceptHead == nil }

// ReqskQueueLen is reqsk_queue_len: the SYN queue length.
func ReqskQueueLen(q *RequestSockQueue) uint32 { return q.Qlen }

// AcceptQueue returns the request socks waiting to be accepted, head first.
func (q *RequestSockQueue) AcceptQueue() []*RequestSock {
	var out []*RequestSock
	for r := q.RskqAcceptHead; r != nil; r = r.DlNext {
		out = append(out, r)
	}
	return out
}

// SkAcceptqIsFull is sk_acceptq_is_full: strictly greater, so listen(fd, N)
// queues up to N+1 children (commit 64a146513f8f forbids ">=").
func SkAcceptqIsFull(sk *Sock) bool { return sk.SkAckBacklog > sk.SkMaxAckBacklog }

// SkAcceptqAdded is sk_acceptq_added.
func SkAcceptqAdded(sk *Sock) { sk.SkAckBacklog++ }

// SkAcceptqRemoved is sk_acceptq_removed.
func SkAcceptqRemoved(sk *Sock) { sk.SkAckBacklog-- }

// InetCskReqskQueueIsFull is inet_csk_reqsk_queue_is_full: in 6.x the SYN
// queue is full when it holds more than the listen backlog.
func InetCskReqskQueueIsFull(sk *Sock) bool {
	icsk := IcskOf(sk)
	return icsk != nil && icsk.IcskAcceptQueue.Qlen > sk.SkMaxAckBacklog
}

// NewRequestSockAt prepares a request sock living at addr (its slab
// object) for listener lsk.
func NewRequestSockAt(addr slab.Addr, lsk *Sock) *RequestSock {
	r := &RequestSock{RskListener: lsk}
	r.addr = addr
	r.owner = r
	r.SkcFamily = lsk.SkcFamily
	r.SkcState = TCP_NEW_SYN_RECV
	r.SkcRefcnt = 1
	r.SkcNet = lsk.SkcNet
	return r
}
