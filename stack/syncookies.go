package stack

// SYN cookies (net/ipv4/syncookies.c, RFC 4987 section 3.6): when a
// listener's SYN queue is full (or always, with tcp_syncookies=2), the
// SYN-ACK's initial sequence number carries what the request sock would
// have remembered, and no request sock is kept. The final ACK gives it
// back (ack_seq - 1) and the connection is rebuilt from it.
//
// The cookie is the kernel's, bit for bit in its layout:
//
//	ISN = H0(saddr, daddr, sport, dport) + peer's ISN + (count << 24)
//	    + ((H1(saddr, daddr, sport, dport, count) + mssind) mod 2^24)
//
// count is the minute counter (tcp_cookie_time), mssind the index of the
// peer's MSS in msstab. H0 and H1 are SipHash-2-4 (siphash_4u32) under two
// 128-bit secrets, as in Linux; the secrets come from the kernel's seeded
// random source the first time they are needed (net_get_random_once), so
// a run repeats exactly.

import (
	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// Cookie layout and lifetime (net/ipv4/syncookies.c, include/net/tcp.h).
const (
	COOKIEBITS           = 24 // the low bits hold hash + MSS index; the top 8 the minute count
	COOKIEMASK           = 1<<COOKIEBITS - 1
	MAX_SYNCOOKIE_AGE    = 2 // minutes a cookie stays valid
	TCP_SYNCOOKIE_PERIOD = 60 * HZ
	TCP_SYNCOOKIE_VALID  = MAX_SYNCOOKIE_AGE * TCP_SYNCOOKIE_PERIOD

	// With timestamps, the low TSBITS bits of the SYN-ACK's tsval carry
	// the options the SYN offered: | ECN | SACK | wscale (4 bits) |, where
	// a wscale of 0xf means "no window scaling".
	TSBITS             = 6
	TS_OPT_WSCALE_MASK = 0xf
	TS_OPT_SACK        = 1 << 4
	TS_OPT_ECN         = 1 << 5
)

// msstab is the table of MSS values a cookie can encode (two bits of
// index); sorted, read-only.
var msstab = [4]uint16{536, 1300, 1440, 1460}

// syncookieSecret is syncookie_secret: the two siphash keys, H0's and H1's.
type syncookieSecret struct {
	key  [2]sipKey
	done bool // net_get_random_once has run
}

// tcpCookieTime is tcp_cookie_time (include/net/tcp.h): minutes since
// jiffies started counting, the cookie's clock.
func (k *Kernel) tcpCookieTime() uint32 {
	return uint32(k.jiffies64() / TCP_SYNCOOKIE_PERIOD)
}

// cookieHash is cookie_hash: siphash_4u32 of the 4-tuple and count under
// secret c (0 or 1); the secrets are drawn on first use.
func (k *Kernel) cookieHash(saddr, daddr sockets.Be32, sport, dport sockets.Be16, count uint32, c int) uint32 {
	if s := &k.syncookieSecret; !s.done {
		// net_get_random_once(syncookie_secret, sizeof(syncookie_secret))
		for i := range s.key {
			s.key[i] = sipKey{k.rnd.r.Uint64(), k.rnd.r.Uint64()}
		}
		s.done = true
	}
	return uint32(siphash4u32(uint32(saddr), uint32(daddr), uint32(sport)<<16|uint32(dport), count,
		k.syncookieSecret.key[c]))
}

// secureTcpSynCookie is secure_tcp_syn_cookie: the cookie for a SYN with
// sequence number sseq, with data (the MSS index) added into the hashed
// low 24 bits and this minute's count in the top 8.
func (k *Kernel) secureTcpSynCookie(saddr, daddr sockets.Be32, sport, dport sockets.Be16, sseq, data uint32) uint32 {
	k.tr.Enter2(fnSecureTcpSynCookie, tracing.IPv4(uint32(saddr)), tracing.Uint(uint64(data)))
	count := k.tcpCookieTime()
	cookie := k.cookieHash(saddr, daddr, sport, dport, 0, 0) + sseq + count<<COOKIEBITS +
		(k.cookieHash(saddr, daddr, sport, dport, count, 1)+data)&COOKIEMASK
	k.tr.Exit(fnSecureTcpSynCookie, tracing.Uint(uint64(cookie)))
	return cookie
}

// checkTcpSynCookie is check_tcp_syn_cookie: undo secure_tcp_syn_cookie.
// It returns the data (MSS index) if the cookie's minute is less than
// MAX_SYNCOOKIE_AGE minutes ago, else 0xffffffff; a forged cookie yields
// data out of range, which the caller rejects.
func (k *Kernel) checkTcpSynCookie(cookie uint32, saddr, daddr sockets.Be32, sport, dport sockets.Be16, sseq uint32) uint32 {
	k.tr.Enter2(fnCheckTcpSynCookie, tracing.IPv4(uint32(saddr)), tracing.Uint(uint64(cookie)))
	count := k.tcpCookieTime()
	cookie -= k.cookieHash(saddr, daddr, sport, dport, 0, 0) + sseq
	diff := (count - cookie>>COOKIEBITS) & (0xffffffff >> COOKIEBITS)
	data := uint32(0xffffffff)
	if diff < MAX_SYNCOOKIE_AGE {
		data = (cookie - k.cookieHash(saddr, daddr, sport, dport, count-diff, 1)) & COOKIEMASK
	}
	k.tr.Exit(fnCheckTcpSynCookie, tracing.Uint(uint64(data)))
	return data
}

// cookieInitSequence is cookie_init_sequence (include/net/tcp.h): remember
// on the listener that its SYN queue overflowed (tcp_synq_overflow), count
// SyncookiesSent, and make the cookie; *mss is rounded down to what the
// cookie can carry.
func (k *Kernel) cookieInitSequence(sk *sockets.Sock, seg *tcpSegmentIn, mss *uint16) uint32 {
	k.tr.Enter2(fnCookieInitSequence, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(*mss)))
	k.tcpSynqOverflow(sk)
	k.mib.inc(LINUX_MIB_SYNCOOKIESSENT)
	isn := k.cookieV4InitSequence(seg, mss)
	k.tr.Exit(fnCookieInitSequence, tracing.Uint(uint64(isn)))
	return isn
}

// cookieV4InitSequence is cookie_v4_init_sequence: the cookie for the SYN
// in seg, from its IPv4 and TCP headers.
func (k *Kernel) cookieV4InitSequence(seg *tcpSegmentIn, mss *uint16) uint32 {
	k.tr.Enter1(fnCookieV4InitSequence, tracing.Skb(uint64(seg.s.Addr())))
	isn := k.cookieV4InitSequenceHdr(seg.iph, seg.th, mss)
	k.tr.Exit(fnCookieV4InitSequence, tracing.Uint(uint64(isn)))
	return isn
}

// cookieV4InitSequenceHdr is __cookie_v4_init_sequence: pick the largest
// msstab entry not above the peer's MSS, store it in *mssp, and encode its
// index in the cookie.
func (k *Kernel) cookieV4InitSequenceHdr(iph header.IPv4, th header.TCP, mssp *uint16) uint32 {
	k.tr.Enter1(fnCookieV4InitSequenceHdr, tracing.Int(int64(*mssp)))
	mssind := len(msstab) - 1
	for ; mssind > 0; mssind-- {
		if *mssp >= msstab[mssind] {
			break
		}
	}
	*mssp = msstab[mssind]
	isn := k.secureTcpSynCookie(sockets.Be32From(iph.Src()), sockets.Be32From(iph.Dst()),
		sockets.Htons(th.SrcPort()), sockets.Htons(th.DstPort()), th.Seq(), uint32(mssind))
	k.tr.Exit(fnCookieV4InitSequenceHdr, tracing.Int(int64(mssind)))
	return isn
}

// cookieV4CheckHdr is __cookie_v4_check: is ack_seq - 1 a cookie we made
// for this 4-tuple and the peer's ISN (seq - 1) in the last two minutes?
// It returns the MSS the cookie carries, or 0.
func (k *Kernel) cookieV4CheckHdr(iph header.IPv4, th header.TCP) uint16 {
	k.tr.Enter1(fnCookieV4CheckHdr, tracing.Uint(uint64(th.AckSeq())))
	mssind := k.checkTcpSynCookie(th.AckSeq()-1, sockets.Be32From(iph.Src()), sockets.Be32From(iph.Dst()),
		sockets.Htons(th.SrcPort()), sockets.Htons(th.DstPort()), th.Seq()-1)
	var mss uint16
	if mssind < uint32(len(msstab)) {
		mss = msstab[mssind]
	}
	k.tr.Exit(fnCookieV4CheckHdr, tracing.Int(int64(mss)))
	return mss
}

// cookieInitTimestamp is cookie_init_timestamp: the SYN-ACK's timestamp
// (before the connection's ts_off is added), with the SYN's window scale,
// SACK and ECN in the low TSBITS bits, and never later than now. The
// kernel returns it in nanoseconds as the skb's delivery time; the model
// returns it in TCP timestamp units (milliseconds).
func (k *Kernel) cookieInitTimestamp(req *sockets.RequestSock) uint64 {
	k.tr.Enter1(fnCookieInitTimestamp, tracing.Ptr(uint64(req.Addr())))
	tsNow := uint64(k.clock.Now() / (1e9 / tcpTsHz))
	options := uint64(TS_OPT_WSCALE_MASK)
	if req.WscaleOk {
		options = uint64(req.SndWscale)
	}
	if req.SackOk {
		options |= TS_OPT_SACK
	}
	// ecn_ok would set TS_OPT_ECN; the model does not negotiate ECN.
	ts := tsNow>>TSBITS<<TSBITS | options
	if ts > tsNow {
		ts -= 1 << TSBITS
	}
	k.tr.Exit(fnCookieInitTimestamp, tracing.Uint(ts))
	return ts
}

// cookieTimestampDecode is cookie_timestamp_decode: read the SYN's options
// back from the low bits of the echoed timestamp (rcv_tsecr, ts_off
// already removed). No timestamp: no options at all. It reports false if
// the cookie claims an option this host has switched off.
func (k *Kernel) cookieTimestampDecode(rx *TcpOptionsReceived) bool {
	options := rx.RcvTsecr
	if !rx.SawTstamp {
		tcpClearOptions(rx)
		return true
	}
	if k.net.Sysctl.TcpTimestamps == 0 {
		return false
	}
	rx.SackOk = options&TS_OPT_SACK != 0
	if rx.SackOk && k.net.Sysctl.TcpSack == 0 {
		return false
	}
	if options&TS_OPT_WSCALE_MASK == TS_OPT_WSCALE_MASK {
		return true // the SYN had no window scale option
	}
	rx.WscaleOk = true
	rx.SndWscale = uint8(options & TS_OPT_WSCALE_MASK)
	return k.net.Sysctl.TcpWindowScaling != 0
}

// tcpClearOptions is tcp_clear_options: forget timestamps, SACK and window
// scaling (the MSS clamp stays).
func tcpClearOptions(rx *TcpOptionsReceived) {
	rx.TstampOk, rx.SackOk, rx.WscaleOk = false, false, false
	rx.SndWscale = 0
}

// tcpSynqOverflow is tcp_synq_overflow (include/net/tcp.h): note when the
// listener last had to send cookies, at most once a second. The kernel
// keeps that time (in jiffies) in the listener's rx_opt.ts_recent_stamp,
// which a listener has no other use for; so does the model.
func (k *Kernel) tcpSynqOverflow(sk *sockets.Sock) {
	rx := &tcpSk(sk).RxOpt
	now := uint32(k.jiffies64())
	last := uint32(rx.TsRecentStamp)
	if !timeBetween32(now, last, last+HZ) {
		rx.TsRecentStamp = int64(now)
	}
	k.tr.Point(fnTcpSynqOverflow, tracing.Sock(uint64(sk.Addr())), tracing.Uint(uint64(uint32(rx.TsRecentStamp))))
}

// tcpSynqNoRecentOverflow is tcp_synq_no_recent_overflow: true when the
// listener has sent no cookie within the cookies' lifetime, so an ACK
// without a request sock cannot be an answer to one and is not checked.
func (k *Kernel) tcpSynqNoRecentOverflow(sk *sockets.Sock) bool {
	now := uint32(k.jiffies64())
	last := uint32(tcpSk(sk).RxOpt.TsRecentStamp)
	// The lower bound is a second early: tcp_synq_overflow on another CPU
	// may have moved the stamp after this CPU read jiffies.
	none := !timeBetween32(now, last-HZ, last+TCP_SYNCOOKIE_VALID)
	k.tr.Point(fnTcpSynqNoRecentOverflow, tracing.Sock(uint64(sk.Addr())), tracing.Bool(none))
	return none
}

// tcpV4CookieCheck is tcp_v4_cookie_check (net/ipv4/tcp_ipv4.c): a
// segment without SYN reached a listener, so it may be the final ACK of a
// cookie handshake (cookie_v4_check).
func (k *Kernel) tcpV4CookieCheck(sk *sockets.Sock, seg *tcpSegmentIn) *sockets.Sock {
	k.tr.Enter2(fnTcpV4CookieCheck, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	nsk := sk
	if !seg.has(header.TCP_FLAG_SYN) {
		nsk = k.cookieV4Check(sk, seg)
	}
	var a uint64
	if nsk != nil {
		a = uint64(nsk.Addr())
	}
	k.tr.Exit(fnTcpV4CookieCheck, tracing.Sock(a))
	return nsk
}

// cookieV4Check is cookie_v4_check: if the ACK carries a valid cookie,
// rebuild the request sock from it, choose the window again, and create
// the child (tcp_get_cookie_sock). It returns the listener when the
// segment is not a cookie ACK (the listener then answers it with a RST),
// the child, or nil when the segment was dropped.
func (k *Kernel) cookieV4Check(sk *sockets.Sock, seg *tcpSegmentIn) (ret *sockets.Sock) {
	tr := k.tr
	tr.Enter2(fnCookieV4Check, tracing.Sock(uint64(sk.Addr())), tracing.Skb(uint64(seg.s.Addr())))
	defer func() {
		var a uint64
		if ret != nil {
			a = uint64(ret.Addr())
		}
		tr.Exit(fnCookieV4Check, tracing.Sock(a))
	}()
	if k.net.Sysctl.TcpSyncookies == 0 || !seg.has(header.TCP_FLAG_ACK) || seg.has(header.TCP_FLAG_RST) {
		return sk
	}
	req, ok := k.cookieTcpCheck(sk, seg)
	if !ok {
		return sk
	}
	if req == nil {
		_ = skb.KfreeSkbReason(seg.s, skb.SKB_DROP_REASON_NO_SOCKET)
		return nil
	}
	req.SkcRcvSaddr = sockets.Be32From(seg.iph.Dst())
	req.SkcDaddr = sockets.Be32From(seg.iph.Src())
	rt, err := k.ipRouteOutput(seg.iph.Src())
	if err != nil {
		k.reqskFreeNow(req)
		_ = skb.KfreeSkbReason(seg.s, skb.SKB_DROP_REASON_IP_OUTNOROUTES)
		return nil
	}
	// Redo what the SYN-ACK chose, with the MSS from the cookie.
	clamp := tcpRcvbufLockedClamp(sk, tcpSk(sk).WindowClamp)
	req.RcvWnd, req.RcvWscale = k.tcpSelectInitialWindow(tcpFullSpace(sk), int(req.Mss), &clamp, req.WscaleOk)
	req.WindowClamp = clamp
	// The kernel's tcp_v4_syn_recv_sock takes advmss from the route and
	// inet_ehash_insert hashes the child's 4-tuple; the model's child
	// takes both from the request sock.
	req.AdvMss = uint16(min(rt.Dev.MTU-40, 65535-40)) // ipv4_default_advmss
	req.SkcHash = sockets.InetEhashfn(k.net, k.hash, req.SkcRcvSaddr, req.SkcNum, req.SkcDaddr, req.SkcDport)
	child := k.tcpGetCookieSock(sk, seg, req)
	if child == nil {
		_ = skb.KfreeSkbReason(seg.s, skb.SKB_DROP_REASON_NO_SOCKET)
		return nil
	}
	return child
}

// cookieTcpCheck is cookie_tcp_check: only if the listener sent cookies
// lately, check the cookie (SyncookiesFailed or SyncookiesRecv), decode
// the options from the echoed timestamp and allocate the request sock.
// ok false is the kernel's ERR_PTR(-EINVAL): not a cookie ACK; a nil req
// with ok true means the allocation failed.
func (k *Kernel) cookieTcpCheck(sk *sockets.Sock, seg *tcpSegmentIn) (req *sockets.RequestSock, ok bool) {
	tr := k.tr
	tr.Enter1(fnCookieTcpCheck, tracing.Sock(uint64(sk.Addr())))
	defer func() { tr.Exit(fnCookieTcpCheck, tracing.Bool(ok)) }()
	if k.tcpSynqNoRecentOverflow(sk) {
		return nil, false
	}
	mss := k.cookieV4CheckHdr(seg.iph, seg.th)
	if mss == 0 {
		k.mib.inc(LINUX_MIB_SYNCOOKIESFAILED)
		return nil, false
	}
	k.mib.inc(LINUX_MIB_SYNCOOKIESRECV)
	var rx TcpOptionsReceived
	k.tcpParseOptionsUnestab(seg.th.Options(), false, &rx)
	var tsoff uint32
	if rx.SawTstamp && rx.RcvTsecr != 0 {
		tsoff = k.secureTCPTsOff(sockets.Be32From(seg.iph.Dst()), sockets.Be32From(seg.iph.Src()))
		rx.RcvTsecr -= tsoff
	}
	if !k.cookieTimestampDecode(&rx) {
		return nil, false
	}
	return k.cookieTcpReqskAlloc(sk, seg, &rx, mss, tsoff), true
}

// cookieTcpReqskAlloc is cookie_tcp_reqsk_alloc (with
// cookie_tcp_reqsk_init): a request sock rebuilt from the ACK: both ISNs
// are one below its seq and ack_seq, the MSS and options come from the
// cookie.
func (k *Kernel) cookieTcpReqskAlloc(sk *sockets.Sock, seg *tcpSegmentIn, rx *TcpOptionsReceived, mss uint16, tsoff uint32) *sockets.RequestSock {
	k.tr.Enter2(fnCookieTcpReqskAlloc, tracing.Sock(uint64(sk.Addr())), tracing.Int(int64(mss)))
	req, err := k.inetReqskAlloc(sk)
	if err != nil {
		k.tr.Exit(fnCookieTcpReqskAlloc, tracing.Ptr(0))
		return nil
	}
	req.NumRetrans = 0
	req.SkcNum = seg.th.DstPort()
	req.SkcDport = sockets.Htons(seg.th.SrcPort())
	req.SkcBoundDevIf = sk.SkcBoundDevIf
	req.RcvIsn = seg.seq - 1
	req.SntIsn = seg.ack - 1
	req.Mss = mss
	if rx.SawTstamp {
		req.TsRecent = rx.RcvTsval
	}
	req.SndWscale = rx.SndWscale
	req.TstampOk = rx.SawTstamp
	req.SackOk = rx.SackOk
	req.WscaleOk = rx.WscaleOk
	req.TsOff = tsoff
	k.tr.Exit(fnCookieTcpReqskAlloc, tracing.Ptr(uint64(req.Addr())))
	return req
}

// tcpGetCookieSock is tcp_get_cookie_sock: create the child with the
// usual syn_recv_sock (which refuses when the accept queue is full) and
// queue it for accept() with its request sock; on failure free the
// request.
func (k *Kernel) tcpGetCookieSock(sk *sockets.Sock, seg *tcpSegmentIn, req *sockets.RequestSock) *sockets.Sock {
	k.tr.Enter2(fnTcpGetCookieSock, tracing.Sock(uint64(sk.Addr())), tracing.Ptr(uint64(req.Addr())))
	child := k.tcpV4SynRecvSock(sk, seg, req) // icsk_af_ops->syn_recv_sock
	if child == nil {
		k.reqskFreeNow(req)
		k.tr.Exit(fnTcpGetCookieSock, tracing.Sock(0))
		return nil
	}
	req.SkcRefcnt = 1 // the accept queue's
	k.inetCskReqskQueueAdd(sk, req, child)
	k.tr.Exit(fnTcpGetCookieSock, tracing.Sock(uint64(child.Addr())))
	return child
}
