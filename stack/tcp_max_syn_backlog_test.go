package stack

import "testing"

// TestMaxSynBacklogKeepsAQuarterForProvenPeers: without syncookies,
// tcp_conn_request keeps the last quarter of tcp_max_syn_backlog for peers
// already proven alive (none are: the model keeps no TCP metrics). With
// the limit at 8, SYNs are answered while fewer than 7 requests wait;
// the 8th, 9th and 10th are dropped and counted in ListenDrops, whatever
// the listen backlog (100). The previous build ignored the sysctl and
// answered all ten.
func TestMaxSynBacklogKeepsAQuarterForProvenPeers(t *testing.T) {
	r := newListenRig(t, 100, map[string]string{"net.ipv4.tcp_syncookies": "0", "net.ipv4.tcp_max_syn_backlog": "8"})
	answered := 0
	for i := range uint16(10) {
		if out := r.send(t, peerTCP(t, 41000+i, 80, 1, 0, "S", synOpts(), nil)); len(out) == 1 {
			answered++
		}
	}
	q, _ := r.queues(t)
	if drops := r.f.mib(t, LINUX_MIB_LISTENDROPS); answered != 7 || q != 7 || drops != 3 {
		t.Fatalf("%d SYNs answered, %d requests queued, ListenDrops %d; want 7, 7, 3", answered, q, drops)
	}
}
