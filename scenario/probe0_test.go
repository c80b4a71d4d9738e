package scenario

import "testing"

// The zero-window probe timer (tcp_probe_timer, tcp_send_probe0) with
// tcp_retries2 = 2, so that giving up comes quickly. The peer shuts its
// window at the handshake; the server's data waits in sk_write_queue and
// a probe (snd_una - 1, no data) asks for the window every RTO, backed off.
const probe0Opening = "`sysctl -q net.ipv4.tcp_retries2=2`" + `
` + listener + `   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 0
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
  +.3 > . 0:0(0) ack 1
`

// TestUnansweredProbesGiveUp: after tcp_retries2 probes without an answer
// the connection is given up (tcp_write_err: ETIMEDOUT). The previous
// build probed forever.
func TestUnansweredProbesGiveUp(t *testing.T) {
	if _, err := runScript(t, probe0Opening+`
  +.6 > . 0:0(0) ack 1
 +1.3 read(4, ..., 1000) = -1 ETIMEDOUT (Connection timed out)
`); err != nil {
		t.Fatal(err)
	}
}

// TestAnsweredProbesKeepTheConnection: RFC 1122 4.2.2.17: a peer that
// answers every probe (with its window still shut) keeps the connection
// open however long it takes; each answer resets icsk_probes_out. The
// interval's backoff stops at tcp_retries2 doublings (1.2 s here).
func TestAnsweredProbesKeepTheConnection(t *testing.T) {
	if _, err := runScript(t, probe0Opening+`
 +.01 < . 1:1(0) ack 1 win 0
  +.59 > . 0:0(0) ack 1
 +.01 < . 1:1(0) ack 1 win 0
 +1.2 > . 0:0(0) ack 1
 +.01 < . 1:1(0) ack 1 win 0
 +1.19 > . 0:0(0) ack 1
 +.01 < . 1:1(0) ack 1 win 0
 +1.19 > . 0:0(0) ack 1
   +0 %{ assert tcpi_state == 1, tcpi_state }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestUserTimeoutEndsProbingOnTime: with TCP_USER_TIMEOUT 1.5 s, the
// probe timer is armed no later than 1.5 s after the first probe
// (tcp_clamp_probe0_to_user_timeout): the connection is given up at
// 1.9 s, not at the next backed-off probe (2.2 s).
func TestUserTimeoutEndsProbingOnTime(t *testing.T) {
	if _, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 0
   +0 accept(3, ..., ...) = 4
   +0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [1500], 4) = 0
   +0 write(4, ..., 1000) = 1000
  +.3 > . 0:0(0) ack 1
 +.01 < . 1:1(0) ack 1 win 0
  +.59 > . 0:0(0) ack 1
 +.01 < . 1:1(0) ack 1 win 0
  +.95 %{ assert tcpi_state == 7, tcpi_state }%
`); err != nil {
		t.Fatal(err)
	}
}

// TestUserTimeoutSetWhileProbing: TCP_USER_TIMEOUT lowered to 1 s while
// the connection has been probing for almost 2 s: the next probe timer is
// armed TCP_TIMEOUT_MIN ahead (the time left is below zero), and the
// connection is given up at once instead of at the next backed-off probe.
func TestUserTimeoutSetWhileProbing(t *testing.T) {
	if _, err := runScript(t, listener+`   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 0
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 1000) = 1000
  +.3 > . 0:0(0) ack 1
 +.01 < . 1:1(0) ack 1 win 0
  +.59 > . 0:0(0) ack 1
 +.01 < . 1:1(0) ack 1 win 0
 +1.19 > . 0:0(0) ack 1
 +.01 < . 1:1(0) ack 1 win 0
 +.09 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [1000], 4) = 0
 +.01 < . 1:1(0) ack 1 win 0
 +.01 %{ assert tcpi_state == 7, tcpi_state }%
`); err != nil {
		t.Fatal(err)
	}
}
