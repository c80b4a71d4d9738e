package stack

import (
	"testing"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// udp_sendmsg refuses MSG_OOB ("mirror BSD error message compatibility")
// before it looks at the address: nothing is sent.
func TestUDPSendMsgOOBIsEOPNOTSUPP(t *testing.T) {
	f := boot(t, Config{})
	fd := f.udpSocket(t)
	to := addr("127.0.0.1:9")
	if _, err := f.p.Sendto(fd, []byte("x"), sockets.MSG_OOB, &to); errnoOf(err) != tracing.EOPNOTSUPP {
		t.Errorf("sendto(MSG_OOB): %v, want EOPNOTSUPP", err)
	}
	if n := f.mib(t, UDP_MIB_OUTDATAGRAMS); n != 0 {
		t.Errorf("OutDatagrams %d, want 0", n)
	}
}
