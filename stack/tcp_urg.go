package stack

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// Urgent data, receiving side (RFC 793's URG as Linux keeps it): one
// urgent byte per connection, named by the last urgent pointer seen.
// tp.UrgData says where it stands: NOTYET while the byte has not arrived,
// VALID with the byte in the low 8 bits once it has, READ once a
// recv(MSG_OOB) took it. Without SO_OOBINLINE the byte is taken out of
// the stream: a read stops in front of it and the next one skips it.
const (
	TCP_URG_VALID  uint16 = 0x0100
	TCP_URG_NOTYET uint16 = 0x0200
	TCP_URG_READ   uint16 = 0x0400
)

// tcpStdurg is net.ipv4.tcp_stdurg, left at its default: 0, the urgent
// pointer names the byte after the urgent one (BSD's reading), so the
// urgent byte is seq + urg_ptr - 1.
const tcpStdurg = false

// tcpCheckUrg is tcp_check_urg: a segment with URG moves the urgent mark
// forward to the byte its pointer names, unless that byte was already
// read, is older than rcv_nxt, or is not past the mark already known. If
// the reader stands right at an old urgent byte it has not read inline,
// that byte is skipped now, as the new mark replaces it. The process that
// owns the socket would get SIGURG (F_SETOWN is not modelled).
func (k *Kernel) tcpCheckUrg(sk *sockets.Sock, seg *tcpSegmentIn) {
	tp := tcpSk(sk)
	ptr := uint32(seg.th.UrgPtr())
	if ptr != 0 && !tcpStdurg {
		ptr--
	}
	ptr += seg.seq
	switch {
	case after(tp.CopiedSeq, ptr): // seen and read already
		return
	case before(ptr, tp.RcvNxt): // not replayed: that byte is in
		return
	case tp.UrgData != 0 && !after(ptr, tp.UrgSeq): // a newer mark is known
		return
	}
	k.tr.Point(fnTcpCheckUrg, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(ptr)))
	if tp.UrgSeq == tp.CopiedSeq && tp.UrgData != 0 && !sk.SockFlagSet(sockets.SOCK_URGINLINE) && tp.CopiedSeq != tp.RcvNxt {
		// The reader is at the old urgent byte: step over it now.
		tp.CopiedSeq++
		if s := skb.SkbPeek(&sk.SkReceiveQueue); s != nil && !before(tp.CopiedSeq, cbEndSeqOf(s)) {
			k.tcpEatSkb(sk, s)
		}
	}
	tp.UrgData = TCP_URG_NOTYET
	tp.UrgSeq = ptr
}

// tcpUrg is tcp_urg, step 6 of segment processing: note a new urgent
// pointer, and if the urgent byte is in this segment, keep a copy of it
// (urg_data VALID) and wake the reader, whose poll now says POLLPRI.
// seg's data still starts at its TCP header.
func (k *Kernel) tcpUrg(sk *sockets.Sock, seg *tcpSegmentIn) {
	tp := tcpSk(sk)
	if seg.has(header.TCP_FLAG_URG) {
		k.tcpCheckUrg(sk, seg)
	}
	if tp.UrgData != TCP_URG_NOTYET {
		return
	}
	ptr := tp.UrgSeq - seg.seq + uint32(seg.th.DataOffset())
	if seg.has(header.TCP_FLAG_SYN) {
		ptr--
	}
	if ptr >= seg.s.Len {
		return // not in this segment
	}
	var b [1]byte
	if err := skb.SkbCopyBits(seg.s, int(ptr), b[:]); err != nil {
		return
	}
	tp.UrgData = TCP_URG_VALID | uint16(b[0])
	k.tr.Point(fnTcpUrg, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(b[0])))
	if !sk.SockFlagSet(sockets.SOCK_DEAD) {
		sk.SkDataReady(sk)
	}
}

// tcpRecvUrg is tcp_recv_urg, recv(MSG_OOB): the urgent byte, once, with
// MSG_OOB in the result's flags (MSG_PEEK leaves it to be read again).
// EINVAL when there is none to read out of band (none came, it was read
// already, or SO_OOBINLINE keeps it in the stream); EAGAIN, without ever
// waiting, while it has not arrived; 0 once the connection has ended.
func (k *Kernel) tcpRecvUrg(sk *sockets.Sock, buf []byte, flags int, res *sockets.RecvResult) (int, error) {
	tp := tcpSk(sk)
	if sk.SockFlagSet(sockets.SOCK_URGINLINE) || tp.UrgData == 0 || tp.UrgData == TCP_URG_READ {
		return -1, sockets.Errno(tracing.EINVAL)
	}
	if sk.SkcState == sockets.TCP_CLOSE && !sk.SockFlagSet(sockets.SOCK_DONE) {
		return -1, sockets.Errno(tracing.ENOTCONN)
	}
	if tp.UrgData&TCP_URG_VALID != 0 {
		c := byte(tp.UrgData)
		if flags&sockets.MSG_PEEK == 0 {
			tp.UrgData = TCP_URG_READ
		}
		res.MsgFlags |= sockets.MSG_OOB
		if len(buf) == 0 {
			res.MsgFlags |= sockets.MSG_TRUNC
			return 0, nil
		}
		if flags&sockets.MSG_TRUNC == 0 {
			buf[0] = c
		}
		return 1, nil
	}
	if sk.SkcState == sockets.TCP_CLOSE || sk.SkShutdown&sockets.RCV_SHUTDOWN != 0 {
		return 0, nil
	}
	return -1, sockets.Errno(tracing.EAGAIN)
}

// tcpAtUrgMark says whether the next byte to read is the urgent byte
// (SIOCATMARK; tcp_poll and tcp_inq look at it too).
func tcpAtUrgMark(tp *TcpSock) bool { return tp.UrgData != 0 && tp.UrgSeq == tp.CopiedSeq }
