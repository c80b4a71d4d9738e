package sockets

import (
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// InetTimewaitSock is struct inet_timewait_sock with tcp_timewait_sock's
// fields: what is left of a TCP connection in TIME_WAIT (or of an orphan
// in FIN_WAIT2 waiting for the peer's FIN). It shares only sock_common
// with a full sock and comes from its own slab cache (tw_sock_TCP, 256
// bytes against TCP's 2368), which is why a busy server can hold tens of
// thousands of them. Its sock_common state is always TIME_WAIT; TwSubstate
// says which of the two it stands for.
type InetTimewaitSock struct {
	SockCommon
	TwSubstate State
	// tcp_timewait_sock: what tcp_timewait_state_process needs.
	TwRcvNxt        uint32
	TwSndNxt        uint32
	TwRcvWnd        uint32 // the window last advertised, unscaled
	TwRcvWscale     uint8
	TwTsRecent      uint32 // the peer's last timestamp
	TwTsRecentStamp int64  // when it came (0: no timestamps)
	TwTsOffset      uint32
	TwKillAt        int64 // when tw_timer fires (nanoseconds)
	// The bind buckets the tw keeps alive (tw_tb, tw_tb2): the port stays
	// taken until the tw dies.
	TwTb  *InetBindBucket
	TwTb2 *InetBind2Bucket
}

// NewTimewaitSockAt is the initialising half of inet_twsk_alloc: a tw at
// addr (its tw_sock_TCP object) copies sk's sock_common (addresses, ports,
// hash, reuse, bound device) and stands for substate.
func NewTimewaitSockAt(addr slab.Addr, sk *Sock, substate State) *InetTimewaitSock {
	tw := &InetTimewaitSock{TwSubstate: substate}
	tw.SkcDaddr, tw.SkcRcvSaddr, tw.SkcHash = sk.SkcDaddr, sk.SkcRcvSaddr, sk.SkcHash
	tw.SkcDport, tw.SkcNum, tw.SkcFamily = sk.SkcDport, sk.SkcNum, sk.SkcFamily
	tw.SkcReuse, tw.SkcReuseport, tw.SkcBoundDevIf = sk.SkcReuse, sk.SkcReuseport, sk.SkcBoundDevIf
	tw.SkcProt, tw.SkcNet = sk.SkcProt, sk.SkcNet
	tw.SkcState = TCP_TIME_WAIT
	tw.SkcRefcnt = 1
	tw.addr = addr
	tw.owner = tw
	return tw
}

// InetTwskHashdanceSchedule is inet_twsk_hashdance_schedule: the tw joins
// sk's (port, address) bucket as an owner, keeping the port taken, and
// takes sk's place in its ehash chain, so segments for the four-tuple now
// find the tw. The caller arms tw_timer.
func InetTwskHashdanceSchedule(net *Net, h *InetHashinfo, tw *InetTimewaitSock, sk *Sock) {
	net.Tracer.Enter2(fnInetTwskHashdance, tracing.Ptr(uint64(tw.addr)), tracing.Sock(uint64(sk.addr)))
	if icsk := IcskOf(sk); icsk != nil && icsk.IcskBind2Hash != nil {
		tw.TwTb, tw.TwTb2 = icsk.IcskBindHash, icsk.IcskBind2Hash
		tw.TwTb2.owners.addHead(&tw.SockCommon, bindNodeOf)
		tw.bindChain = &tw.TwTb2.owners
	}
	InetEhashInsertCommon(h, &tw.SockCommon)
	tw.SkcRefcnt += 2 // ehash and the timer
	UnhashCommon(&sk.SockCommon)
	net.Tracer.Exit(fnInetTwskHashdance, tracing.Arg{})
}

// InetTwskKill is inet_twsk_kill: the tw leaves ehash and its bind
// bucket; buckets left without owners are freed, and the port is free.
func InetTwskKill(net *Net, h *InetHashinfo, tw *InetTimewaitSock) {
	net.Tracer.Enter1(fnInetTwskKill, tracing.Ptr(uint64(tw.addr)))
	if tw.chain != nil {
		UnhashCommon(&tw.SockCommon)
		tw.SkcRefcnt--
	}
	if tw.bindChain != nil {
		tw.bindChain.del(&tw.SockCommon, bindNodeOf)
		tw.bindChain = nil
		inetBind2BucketDestroy(net, h, tw.TwTb, tw.TwTb2)
		inetBindBucketDestroy(net, h, tw.TwTb)
		tw.TwTb, tw.TwTb2 = nil, nil
	}
	net.Tracer.Exit(fnInetTwskKill, tracing.Arg{})
}
