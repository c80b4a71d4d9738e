package stack

import "github.com/stackscope/stackscope/tracing"

var (
	fnSecureTcpSynCookie, fnCheckTcpSynCookie, fnCookieInitSequence, fnCookieV4InitSequence tracing.FuncID
	fnCookieV4InitSequenceHdr, fnCookieV4CheckHdr, fnCookieInitTimestamp, fnTcpSynqOverflow tracing.FuncID
	fnTcpSynqNoRecentOverflow, fnTcpV4CookieCheck, fnCookieV4Check, fnCookieTcpCheck        tracing.FuncID
	fnCookieTcpReqskAlloc, fnTcpGetCookieSock, fnSynFloodWarning                            tracing.FuncID
)

func init() {
	const (
		cookiesC = "net/ipv4/syncookies.c"
		tcpH     = "include/net/tcp.h"
	)
	inline := func(name, file string, goFn any, args []string, explain string) tracing.FuncID {
		return tracing.Register(tracing.Spec{Name: name, File: file, Go: goFn, Args: args, Inline: true, Explain: explain})
	}
	fnSecureTcpSynCookie = inline("secure_tcp_syn_cookie", cookiesC, (*Kernel).secureTcpSynCookie, []string{"saddr", "data"},
		"Computes the cookie: a keyed hash of the four-tuple plus the peer's ISN, this minute's count in the top 8 bits, "+
			"and a second hash (which includes the count) plus the MSS index in the low 24 bits.")
	fnCheckTcpSynCookie = inline("check_tcp_syn_cookie", cookiesC, (*Kernel).checkTcpSynCookie, []string{"saddr", "cookie"},
		"Peels the layers off a returned cookie: subtracts the first hash and the ISN, reads the minute count (at most "+
			"2 minutes old), subtracts the second hash and is left with the MSS index.")
	fnCookieInitSequence = inline("cookie_init_sequence", tcpH, (*Kernel).cookieInitSequence, []string{"sk", "mss"},
		"Marks the listener as under SYN flood (tcp_synq_overflow), counts SyncookiesSent and computes the cookie that "+
			"becomes the SYN-ACK's sequence number.")
	fnCookieV4InitSequence = reg("cookie_v4_init_sequence", cookiesC, (*Kernel).cookieV4InitSequence, []string{"skb"},
		"The IPv4 cookie_init_seq: makes the cookie from the SYN's IP and TCP headers.")
	fnCookieV4InitSequenceHdr = reg("__cookie_v4_init_sequence", cookiesC, (*Kernel).cookieV4InitSequenceHdr, []string{"mss"},
		"Rounds the peer's MSS down to one of 536, 1300, 1440, 1460 (msstab) and encodes that index in the cookie: "+
			"all a cookie remembers of the SYN, besides what fits in the timestamp.")
	fnCookieV4CheckHdr = reg("__cookie_v4_check", cookiesC, (*Kernel).cookieV4CheckHdr, []string{"ack_seq"},
		"Checks that ack_seq - 1 is a cookie we issued to this four-tuple and the peer's ISN (seq - 1) within 2 minutes; "+
			"returns the MSS it carries, or 0.")
	fnCookieInitTimestamp = reg("cookie_init_timestamp", cookiesC, (*Kernel).cookieInitTimestamp, []string{"req"},
		"With timestamps, hides the SYN's window scale, SACK and ECN in the low 6 bits of the SYN-ACK's timestamp "+
			"(rounded down so it is never in the future); the peer echoes it back in the final ACK.")
	fnTcpSynqOverflow = inline("tcp_synq_overflow", tcpH, (*Kernel).tcpSynqOverflow, []string{"sk", "stamp"},
		"Records when the listener last sent cookies, in jiffies, in the listener's otherwise unused rx_opt.ts_recent_stamp "+
			"(updated at most once a second).")
	fnTcpSynqNoRecentOverflow = inline("tcp_synq_no_recent_overflow", tcpH, (*Kernel).tcpSynqNoRecentOverflow, []string{"sk", "none"},
		"True when the listener sent no cookie in the last 2 minutes: then an ACK that matches no request sock is not "+
			"even checked as a cookie.")
	fnTcpV4CookieCheck = inline("tcp_v4_cookie_check", "net/ipv4/tcp_ipv4.c", (*Kernel).tcpV4CookieCheck, []string{"sk", "skb"},
		"A segment without SYN reached a listener: it may be the final ACK of a SYN-cookie handshake.")
	fnCookieV4Check = reg("cookie_v4_check", cookiesC, (*Kernel).cookieV4Check, []string{"sk", "skb"},
		"Turns a valid cookie ACK into a connection: rebuilds the request sock from the cookie and the echoed "+
			"timestamp, chooses the receive window again, and creates the child for the accept queue.")
	fnCookieTcpCheck = inline("cookie_tcp_check", cookiesC, (*Kernel).cookieTcpCheck, []string{"sk"},
		"Checks the cookie if the listener sent cookies lately (SyncookiesRecv or SyncookiesFailed), decodes the options "+
			"from the timestamp and allocates a request sock.")
	fnCookieTcpReqskAlloc = reg("cookie_tcp_reqsk_alloc", cookiesC, (*Kernel).cookieTcpReqskAlloc, []string{"sk", "mss"},
		"Allocates a request sock and fills it from the ACK: both ISNs are one below its seq and ack_seq; MSS and "+
			"options come from the cookie.")
	fnTcpGetCookieSock = reg("tcp_get_cookie_sock", cookiesC, (*Kernel).tcpGetCookieSock, []string{"sk", "req"},
		"Creates the child with syn_recv_sock, as for a normal handshake, and puts it on the accept queue; a full accept "+
			"queue means no child and the request sock is freed.")
	fnSynFloodWarning = tracing.Register(tracing.Spec{Name: "net_info_ratelimited", File: "include/linux/net.h", Args: []string{"saddr", "port"},
		Explain: "A rate-limited kernel message. From tcp_syn_flood_action, once per listen(): \"TCP: Possible SYN flooding on " +
			"port <saddr>:<port>. Sending cookies.\" (or \"Dropping request.\" with tcp_syncookies=0)."})
}
