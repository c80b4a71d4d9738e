package stack

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

// integritySize is how much each integrity test moves each way (issue 8:
// 20 MB), fixed so that runs compare.
const integritySize = 20 << 20

// TestWireIntegrity moves 20 MB each way between two kernels on the wire
// through each impairment the issue names, and all of them at once: every
// byte arrives in order (the SHA-256 of what arrived is that of what was
// sent), no transfer stalls (each must finish within its virtual time
// budget), and the retransmissions are reported. The wire is seeded, so
// each run is the same.
func TestWireIntegrity(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("20 MB each way through six impairments: not in -short mode or under the race detector (the plain test step runs it)")
	}
	for _, c := range []struct {
		name string
		im   netdevImpairments
	}{
		{"loss 5%", netdevImpairments{Delay: 5e6, Loss: 0.05}},
		{"reorder 10% with 20 ms delay", netdevImpairments{Delay: 20e6, Reorder: 0.1}},
		{"duplicate 2%", netdevImpairments{Delay: 5e6, Duplicate: 0.02}},
		{"corrupt 1%", netdevImpairments{Delay: 5e6, Corrupt: 0.01}},
		{"50 ms RTT, 10 Mbit/s", netdevImpairments{Delay: 25e6, Rate: 10e6, QueueBytes: 128 << 10}},
		{"all at once", netdevImpairments{Delay: 25e6, Loss: 0.05, Reorder: 0.1, Duplicate: 0.02, Corrupt: 0.01, Rate: 10e6, QueueBytes: 128 << 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newPairFix(t, PairConfig{Seed: 11, AB: c.im, BA: c.im})
			lfd := f.listen(f.pa, addrA, 9, 8)
			cfd, sfd := f.dial(lfd, 9)
			up, down := pattern(integritySize, 21), pattern(integritySize, 22)
			start := f.p.Now()
			f.transfer(f.pb, cfd, f.pa, sfd, up, 3600*sec)
			mid := f.p.Now()
			f.transfer(f.pa, sfd, f.pb, cfd, down, 3600*sec)
			end := f.p.Now()
			undone := func(k *Kernel) uint64 {
				return f.mib(k, LINUX_MIB_TCPFULLUNDO) + f.mib(k, LINUX_MIB_TCPPARTIALUNDO) + f.mib(k, LINUX_MIB_TCPDSACKUNDO) + f.mib(k, LINUX_MIB_TCPLOSSUNDO)
			}
			sum := func(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b))[:16] }
			t.Logf("B->A %.1f s, A->B %.1f s (virtual); sha256 %s / %s; retransmitted B %d, A %d; fast retransmits %d+%d, timeouts %d+%d, loss probes %d+%d, undone recoveries %d+%d",
				float64(mid-start)/1e9, float64(end-mid)/1e9, sum(up), sum(down),
				f.mib(f.p.B, TCP_MIB_RETRANSSEGS), f.mib(f.p.A, TCP_MIB_RETRANSSEGS),
				f.mib(f.p.B, LINUX_MIB_TCPFASTRETRANS), f.mib(f.p.A, LINUX_MIB_TCPFASTRETRANS),
				f.mib(f.p.B, LINUX_MIB_TCPTIMEOUTS), f.mib(f.p.A, LINUX_MIB_TCPTIMEOUTS),
				f.mib(f.p.B, LINUX_MIB_TCPLOSSPROBES), f.mib(f.p.A, LINUX_MIB_TCPLOSSPROBES),
				undone(f.p.B), undone(f.p.A))
		})
	}
}
