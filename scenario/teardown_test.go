package scenario

import (
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// Connection teardown as 6.12's tcp_minisocks.c, tcp_close and
// tcp_rcv_state_process do it.

// accepted is a server's connection accepted as fd 4, without
// timestamps.
const accepted = listener + `   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
`

// mibIs checks one counter after a script.
func mibIs(t *testing.T, r *Runner, m stack.Mib, want uint64) {
	t.Helper()
	if got, err := r.Kernel().Mib(m); err != nil || got != want {
		t.Errorf("%v = %d (%v), want %d", m, got, err, want)
	}
}

// TestTimeWaitAcksEveryRetransmittedFin: in TIME_WAIT each retransmitted
// FIN gets its ACK, however close together they come: a segment that
// takes sequence space is never rate-limited (tcp_oow_rate_limited), only
// bare ACKs are. The previous build limited everything to one ACK per
// 500 ms and sent none for the third FIN.
func TestTimeWaitAcksEveryRetransmittedFin(t *testing.T) {
	r, err := runScript(t, accepted+` +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.1 < . 1:1(0) ack 2 win 512
 +.1 < F. 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
 +.1 < F. 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
 +.1 < F. 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
// Bare ACKs out of the window are limited: one answer per 500 ms.
 +.1 < . 100:100(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
 +.1 < . 100:100(0) ack 2 win 512
 +.1 < . 100:100(0) ack 2 win 512
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPACKSKIPPEDTIMEWAIT, 2)
}

// TestFinWait2OrphanCountsItsOwnSkippedAcks: an orphan in FIN_WAIT2 kept
// as a timewait sock counts out-of-window ACKs it does not answer in
// TCPACKSkippedFinWait2, not TCPACKSkippedTimeWait.
func TestFinWait2OrphanCountsItsOwnSkippedAcks(t *testing.T) {
	r, err := runScript(t, accepted+` +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.1 < . 1:1(0) ack 2 win 512
 +.1 < . 0:0(0) ack 2 win 512
   +0 > . 2:2(0) ack 1
 +.1 < . 0:0(0) ack 2 win 512
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPACKSKIPPEDFINWAIT2, 1)
	mibIs(t, r, stack.LINUX_MIB_TCPACKSKIPPEDTIMEWAIT, 0)
}

// TestTimeWaitRejectsAnOldTimestamp: PAWS in TIME_WAIT. After the
// peer's FIN with TS val 1020, a SYN with a higher sequence number but
// TS val 900 is an old duplicate (tcp_paws_reject): it does not open a
// new connection; it is answered with the TIME_WAIT ACK and counted in
// PAWSEstabRejected. The previous build took it as a new connection and
// sent a SYN-ACK.
func TestTimeWaitRejectsAnOldTimestamp(t *testing.T) {
	r, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 8) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 1000,nop,wscale 7>
 +.1 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 1010 ecr 100>
   +0 accept(3, ..., ...) = 4
 +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1 <nop,nop,TS val 200 ecr 1010>
 +.1 < F. 1:1(0) ack 2 win 512 <nop,nop,TS val 1020 ecr 200>
   +0 > . 2:2(0) ack 2 <nop,nop,TS val 300 ecr 1020>
 +.1 < S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 900 ecr 0,nop,wscale 7>
   +0 > . 2:2(0) ack 2 <nop,nop,TS val 400 ecr 1020>
// A newer timestamp is a new connection (TCP_TW_SYN).
 +.1 < S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 2000 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1001 <mss 1460,sackOK,TS val 500 ecr 2000,nop,wscale 7>
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_PAWSESTABREJECTED, 1)
	// The tw is counted when it is scheduled (__inet_twsk_schedule), so
	// the one the new SYN took over counts too; the previous build
	// counted a tw only when its 60 s ran out.
	mibIs(t, r, stack.LINUX_MIB_TIMEWAITED, 1)
}

// TestOrphanGivenDataAfterItsFinIsReset: after close() the orphan's FIN
// is acknowledged by a segment that also brings 100 new bytes. No one
// will read them: tcp_rcv_state_process ends the socket (TCPAbortOnData)
// and the segment is answered with a RST. The previous build went to
// FIN_WAIT2 and dropped the data silently.
func TestOrphanGivenDataAfterItsFinIsReset(t *testing.T) {
	r, err := runScript(t, accepted+` +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.1 < P. 1:101(100) ack 2 win 512
   +0 > R 2:2(0)
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPABORTONDATA, 1)
}

// TestCloseWithUnreadDataResetsInLastAck: the peer's data and FIN arrive
// unread; shutdown(SHUT_WR) takes the socket to LAST_ACK; close() finds
// the unread bytes and resets, as __tcp_close does in any state
// (TCPAbortOnClose). The previous build only did so where tcp_need_reset
// says, not in LAST_ACK or CLOSING, and retransmitted its FIN instead.
func TestCloseWithUnreadDataResetsInLastAck(t *testing.T) {
	r, err := runScript(t, accepted+` +.1 < P. 1:101(100) ack 1 win 512
   +0 > . 1:1(0) ack 101
   +0 < F. 101:101(0) ack 1 win 512
 +.04 > . 1:1(0) ack 102
 +.1 shutdown(4, SHUT_WR) = 0
   +0 > F. 1:1(0) ack 102
   +0 %{ assert tcpi_state == 9, tcpi_state }%
 +.1 close(4) = 0
   +0 > R. 2:2(0) ack 102
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPABORTONCLOSE, 1)
}

// TestResetCarriesAnAcceptableSequence: 3000 bytes are out when the peer
// acknowledges 1000 and shuts its window. An abort (SO_LINGER 0) sends
// the RST at tcp_acceptable_seq: the window's end (1001), since snd_nxt
// (3001) lies beyond it and the peer would drop a RST there. The previous
// build sent it at 3001.
func TestResetCarriesAnAcceptableSequence(t *testing.T) {
	if _, err := runScript(t, accepted+` +.1 write(4, ..., 3000) = 3000
   +0 > . 1:1461(1460) ack 1
   +0 > . 1461:2921(1460) ack 1
   +0 > P. 2921:3001(80) ack 1
 +.1 < . 1:1(0) ack 1001 win 0
   +0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
   +0 close(4) = 0
   +0 > R. 1001:1001(0) ack 1
`); err != nil {
		t.Fatal(err)
	}
}

// TestFinWait2WaitsAtLeastThreeAndAHalfRtos: with tcp_fin_timeout 1 s and
// round trips of about a second (RTO above 2 s), the orphan's FIN_WAIT2
// lasts 3.5 RTOs, not 1 s (tcp_fin_time, tcp_time_wait): two seconds in,
// a duplicate ACK still finds it and is dropped without a RST, and the
// peer's FIN is then acknowledged from TIME_WAIT; a tw scheduled for 4 s
// or less counts as TWKilled, not TW. The previous build answered the
// duplicate ACK with a RST (the tw was gone after 1 s).
func TestFinWait2WaitsAtLeastThreeAndAHalfRtos(t *testing.T) {
	r, err := runScript(t, "`sysctl -q net.ipv4.tcp_fin_timeout=1`\n"+listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.9 < . 1:1(0) ack 1 win 512
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_rto >= 2000000, tcpi_rto }%
 +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1
  +.9 < . 1:1(0) ack 2 win 512
   +2 < . 1:1(0) ack 2 win 512
 +.1 < F. 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
`)
	if err != nil {
		t.Fatal(err)
	}
	// Counted once, when the FIN_WAIT2 tw was scheduled for more
	// than 4 s; the FIN only re-arms it.
	mibIs(t, r, stack.LINUX_MIB_TIMEWAITED, 1)
	mibIs(t, r, stack.LINUX_MIB_TIMEWAITKILLED, 0)
}

// TestShutdownInSynRecvWaitsForTheHandshake: in a simultaneous open,
// shutdown(SHUT_WR) while the socket is in SYN_RECV sends nothing yet
// (tcp_shutdown acts in ESTABLISHED, SYN_SENT and CLOSE_WAIT only); the
// shutdown is remembered, and the FIN goes once the peer's SYN-ACK
// completes the handshake, straight into FIN_WAIT1. The previous build
// sent the FIN from SYN_RECV at once.
func TestShutdownInSynRecvWaitsForTheHandshake(t *testing.T) {
	if _, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < S 0:0(0) win 65535 <mss 1000,sackOK,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
   +0 %{ assert tcpi_state == 3, tcpi_state }%
 +.01 shutdown(3, SHUT_WR) = 0
   +0 %{ assert tcpi_state == 3, tcpi_state }%
 +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,sackOK,nop,wscale 7>
   +0 > F. 1:1(0) ack 1
   +0 %{ assert tcpi_state == 4, tcpi_state }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestFinTimeoutBeyondSixtySeconds: with tcp_fin_timeout 100 s, the
// orphan in FIN_WAIT2 stays a full socket on the keepalive timer for the
// 40 s past TCP_TIMEWAIT_LEN, then tcp_keepalive_timer hands it to a
// timewait sock for the remaining 40 s (tcp_time_wait): duplicate ACKs
// at 50 s and 70 s find it and get nothing back, one at 90 s finds no
// socket and gets a RST. The previous build kept one tw for all 100 s.
func TestFinTimeoutBeyondSixtySeconds(t *testing.T) {
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_fin_timeout=100`\n"+accepted+` +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.1 < . 1:1(0) ack 2 win 512
  +50 < . 1:1(0) ack 2 win 512
  +20 < . 1:1(0) ack 2 win 512
  +20 < . 1:1(0) ack 2 win 512
   +0 > R 2:2(0)
`); err != nil {
		t.Fatal(err)
	}
}

// TestLinger2: TCP_LINGER2 sets how long this socket's orphan waits in
// FIN_WAIT2 (getsockopt shows the sysctl for 0, at most 120 s); -1 means
// not at all. With -1, the ACK of the orphan's FIN ends it with a RST
// (TCPAbortOnData); a close() in FIN_WAIT2 resets at once
// (TCPAbortOnLinger). The previous build refused the option
// (ENOPROTOOPT).
func TestLinger2(t *testing.T) {
	r, err := runScript(t, accepted+`   +0 getsockopt(4, SOL_TCP, TCP_LINGER2, [60], [4]) = 0
   +0 setsockopt(4, SOL_TCP, TCP_LINGER2, [500], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_LINGER2, [120], [4]) = 0
   +0 setsockopt(4, SOL_TCP, TCP_LINGER2, [-1], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_LINGER2, [-1], [4]) = 0
 +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.1 < . 1:1(0) ack 2 win 512
   +0 > R 2:2(0)
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPABORTONDATA, 1)

	r, err = runScript(t, accepted+`   +0 setsockopt(4, SOL_TCP, TCP_LINGER2, [-1], 4) = 0
 +.1 shutdown(4, SHUT_WR) = 0
   +0 > F. 1:1(0) ack 1
 +.1 < . 1:1(0) ack 2 win 512
   +0 %{ assert tcpi_state == 5, tcpi_state }%
 +.1 close(4) = 0
   +0 > R. 2:2(0) ack 1
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPABORTONLINGER, 1)
}

// TestCloseLingers: with SO_LINGER {1, 1 s}, close() sleeps in
// sk_stream_wait_close until the peer acknowledges the FIN (it returns at
// 0.7 s here) or the linger time runs out (at 1.2 s, the FIN retransmitted
// meanwhile). A blocking call's time range only bounds its return, so the
// runner's log says when it returned. The previous build returned at once
// (0.2 s).
func TestCloseLingers(t *testing.T) {
	const lingering = accepted + `   +0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=1}, 8) = 0
`
	for _, c := range []struct{ script, returns string }{
		{lingering + ` +.1...0.7 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.5 < . 1:1(0) ack 2 win 512
`, "0.700000 (line 10 returns)"},
		{lingering + ` +.1...1.2 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.3 > F. 1:1(0) ack 1
 +1 < . 1:1(0) ack 2 win 512
`, "1.200000 (line 10 returns)"},
	} {
		var log strings.Builder
		if err := newScriptRunner(t, c.script, WithOutput(&log)).Run(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), c.returns) {
			t.Errorf("close() did not return as %q; the log:\n%s", c.returns, grepLines(log.String(), "close(4)"))
		}
	}
}

// grepLines returns the lines of s that hold sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestNegativeLingerWaitsWithoutLimit: SO_LINGER's l_linger is read as
// unsigned, so -1 is no limit (MAX_SCHEDULE_TIMEOUT): close() sends the
// FIN and waits for its ACK. The previous build took -1 as 0 and reset
// the connection.
func TestNegativeLingerWaitsWithoutLimit(t *testing.T) {
	if _, err := runScript(t, accepted+`   +0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=-1}, 8) = 0
 +.1...0.7 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.5 < . 1:1(0) ack 2 win 512
`); err != nil {
		t.Fatal(err)
	}
}

// TestCurrEstabCountsCloseWait: CurrEstab counts CLOSE_WAIT as well as
// ESTABLISHED (tcp_set_state), so the peer's FIN leaves it at 1; the
// close that follows (LAST_ACK) takes it to 0. The previous build
// counted 0 in CLOSE_WAIT.
func TestCurrEstabCountsCloseWait(t *testing.T) {
	const peerFin = accepted + ` +.2 < F. 1:1(0) ack 1 win 512
   +0 > . 1:1(0) ack 2
`
	r, err := runScript(t, peerFin)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.TCP_MIB_CURRESTAB, 1)
	r, err = runScript(t, peerFin+` +.1 close(4) = 0
   +0 > F. 1:1(0) ack 2
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.TCP_MIB_CURRESTAB, 0)
}

// TestNoTimeWaitPastMaxTwBuckets: with tcp_max_tw_buckets tws already
// (here 0), tcp_time_wait gets no tw (inet_twsk_alloc), counts
// TCPTimeWaitOverflow and just closes; the orphan that would have waited
// in FIN_WAIT2 is gone, so the peer's FIN meets a RST. The previous build
// kept the tw and ACKed the FIN.
func TestNoTimeWaitPastMaxTwBuckets(t *testing.T) {
	r, err := runScript(t, "`sysctl -q net.ipv4.tcp_max_tw_buckets=0`\n"+accepted+` +.2 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.05 < . 1:1(0) ack 2 win 512
 +.3 < F. 1:1(0) ack 2 win 512
   +0 > R 2:2(0)
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_TCPTIMEWAITOVERFLOW, 1)
}

// TestRfc1337IgnoresRstInTimeWait: with tcp_rfc1337 set, an in-window RST
// does not end TIME_WAIT, so a later old ACK is answered by the tw (an
// ACK) rather than by a RST for no socket. The default (0) lets the RST
// end it.
func TestRfc1337IgnoresRstInTimeWait(t *testing.T) {
	const timeWait = accepted + ` +.2 close(4) = 0
   +0 > F. 1:1(0) ack 1
 +.05 < F. 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
 +.05 < R 2:2(0) win 0
`
	if _, err := runScript(t, "`sysctl -q net.ipv4.tcp_rfc1337=1`\n"+timeWait+` +1 < . 1:1(0) ack 2 win 512
   +0 > . 2:2(0) ack 2
`); err != nil {
		t.Fatal(err)
	}
	if _, err := runScript(t, timeWait+` +1 < . 1:1(0) ack 2 win 512
   +0 > R 2:2(0)
`); err != nil {
		t.Fatal(err)
	}
}
