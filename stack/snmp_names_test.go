package stack

import (
	"strings"
	"testing"
)

// TestEveryMibHasAName: the name table keeps pace with the counters (a
// counter added without its name would print as an empty column).
func TestEveryMibHasAName(t *testing.T) {
	seen := map[string]bool{}
	for m := Mib(0); m < numMibs; m++ {
		name := m.String()
		if mibNames[m][0] == "" || mibNames[m][1] == "" || seen[name] {
			t.Errorf("counter %d: name %q (empty or repeated)", m, name)
		}
		seen[name] = true
	}
}

// TestProcOrder: /proc prints each group's counters in the kernel's order
// (snmp4_net_list and friends), whatever order the Mib constants were
// added in, and under the kernel's names (PAWSActive, not the enum's
// PAWSActiveRejected).
func TestProcOrder(t *testing.T) {
	var s snmp
	var b strings.Builder
	if err := s.WriteProc(&b); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(b.String(), "\n") {
		if g, rest, ok := strings.Cut(l, ": "); ok && !strings.HasPrefix(rest, "0") {
			lines[g] = rest
		}
	}
	for g, want := range map[string]string{
		"IpExt":  "InTruncatedPkts InBcastPkts InCsumErrors ReasmOverlaps",
		"Icmp":   "InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos",
		"TcpExt": "SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned",
	} {
		if !strings.HasPrefix(lines[g], want) {
			t.Errorf("%s: %q, want it to start %q", g, lines[g], want)
		}
	}
	if !strings.Contains(lines["TcpExt"], " PAWSActive ") {
		t.Errorf("TcpExt has no PAWSActive column: %q", lines["TcpExt"])
	}
}
