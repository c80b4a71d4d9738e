package sockets

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Sysctls are the tunables (net.core.*, net.ipv4.*) the model honours, with
// Linux 6.x defaults. The kernel reads them with READ_ONCE; here they are
// read on the kernel loop and written through Set, also on the loop.
type Sysctls struct {
	Somaxconn         int
	RmemDefault       int
	WmemDefault       int
	RmemMax           int
	WmemMax           int
	TcpRmem           [3]int
	TcpWmem           [3]int
	TcpModerateRcvbuf int // receive buffers grow with the reader (tcp_rcv_space_adjust)
	TcpAppWin         int // 1/2^n of the receive buffer is kept out of the window (0: none)
	IpLocalPortRange  [2]int
	IpUnprivPortStart int
	IpNonlocalBind    int
	IpAutobindReuse   int
	IpDefaultTTL      int
	TcpMaxSynBacklog  int
	TcpSyncookies     int
	TcpSynRetries     int
	TcpSynackRetries  int
	TcpRetries2       int
	TcpFinTimeout     int
	TcpTwReuse        int
	// TcpNotsentLowat is how many bytes written but not yet sent a socket
	// may hold and still poll writable (tcp_notsent_lowat, unless the
	// socket's TCP_NOTSENT_LOWAT says otherwise); Linux's default,
	// UINT_MAX, leaves it all to the send buffer.
	TcpNotsentLowat int
	// TcpAutocorking holds back a small write while earlier packets of the
	// socket still wait in a device (tcp_should_autocork); Linux's default
	// is 1.
	TcpAutocorking int
	// TcpShrinkWindow lets the offered window shrink when the receive
	// buffer fills (tcp_shrink_window, 6.5 and later; needs window scaling);
	// TcpWorkaroundSignedWindows caps an unscaled window at 32767 for
	// peers that read it as signed. Both are 0 by default.
	TcpShrinkWindow            int
	TcpWorkaroundSignedWindows int
	// TcpRtoMinUs is the smallest RTO a new socket uses, in µs
	// (tcp_rto_min_us, 6.11 and later; 200000, TCP_RTO_MIN): it bounds
	// the RTT variance, and it is what a loss probe adds with one packet
	// out and what keeps a delayed ACK under the RTO.
	TcpRtoMinUs int
	// TcpLimitOutputBytes caps what TCP Small Queues lets one socket have
	// in its device (tcp_limit_output_bytes, 1 MiB); TcpPacingSsRatio and
	// TcpPacingCaRatio scale the pacing rate (percent of cwnd*mss/srtt) in
	// slow start and after it (200 and 120).
	TcpLimitOutputBytes int
	// TcpCompSackDelayNs, TcpCompSackSlackNs and TcpCompSackNr compress
	// the ACKs a receiver owes while data is out of order: after three
	// immediate duplicate ACKs, one ACK per 5% of the RTT (at most 1 ms,
	// plus up to 100 µs of slack) or per 44 held back.
	TcpCompSackDelayNs int
	TcpCompSackSlackNs int
	TcpCompSackNr      int
	TcpPacingSsRatio   int
	TcpPacingCaRatio   int
	// TcpSlowStartAfterIdle restarts the congestion window after an idle
	// period longer than the RTO (RFC 2861); Linux's default is 1.
	TcpSlowStartAfterIdle int
	// TcpEarlyRetrans: 3 and 4 turn the tail loss probe on (Linux's
	// default is 3), 0 turns it off.
	TcpEarlyRetrans int
	// TcpRecovery: bit 1 turns RACK loss detection on (Linux's default 1),
	// bit 2 keeps its reordering window fixed, bit 4 drops the
	// duplicate-ACK threshold shortcut.
	TcpRecovery int
	// TcpFrto: F-RTO (RFC 5682) judges whether an RTO was spurious;
	// Linux's default is 2 (the SACK-enhanced version).
	TcpFrto int
	// TcpDsack: report duplicate segments with D-SACK (RFC 2883); Linux's
	// default is 1.
	TcpDsack int
	// TcpRetransCollapse: a retransmission of a short segment takes the
	// small segments after it along, up to an MSS (Linux's default 1).
	TcpRetransCollapse int
	// TcpInvalidRatelimit: the least time, in ms, between two duplicate
	// or challenge ACKs for invalid segments (Linux's default 500).
	TcpInvalidRatelimit int
	// TcpSynLinearTimeouts: connect's first SYN retransmissions that keep
	// the initial RTO instead of doubling it (Linux's default 4, since 6.5).
	TcpSynLinearTimeouts int
	// TcpOrphanRetries: retransmissions before an orphaned connection is
	// given up; 0 (the default) means 8.
	TcpOrphanRetries   int
	TcpAbortOnOverflow int
	TcpMaxTwBuckets    int
	// TcpRfc1337: non-zero keeps a TIME_WAIT alive when an in-window RST
	// arrives (RFC 1337's remedy for TIME_WAIT assassination); 0, the
	// default, lets the RST end it.
	TcpRfc1337         int
	TcpTimestamps      int
	TcpSack            int
	TcpWindowScaling   int
	TcpKeepaliveTime   int
	TcpKeepaliveIntvl  int
	TcpKeepaliveProbes int
	TcpCongestion      string
	// TcpAllowedCongestion: net.ipv4.tcp_allowed_congestion_control.
	TcpAllowedCongestion string
}

// DefaultSysctls returns 6.x defaults for a machine whose ehash has
// ehashEntries buckets (tcp_max_syn_backlog and tcp_max_tw_buckets derive
// from it, as tcp_sk_init computes them).
func DefaultSysctls(ehashEntries int) *Sysctls {
	return &Sysctls{
		Somaxconn:             4096,
		RmemDefault:           212992,
		WmemDefault:           212992,
		RmemMax:               212992,
		WmemMax:               212992,
		TcpRmem:               [3]int{4096, 131072, 6291456},
		TcpModerateRcvbuf:     1,
		TcpAppWin:             31,
		TcpWmem:               [3]int{4096, 16384, 4194304},
		IpLocalPortRange:      [2]int{32768, 60999},
		IpUnprivPortStart:     1024,
		IpDefaultTTL:          64,
		TcpMaxSynBacklog:      max(128, ehashEntries/128),
		TcpSyncookies:         1,
		TcpSynRetries:         6,
		TcpSynackRetries:      5,
		TcpRetries2:           15,
		TcpFinTimeout:         60,
		TcpTwReuse:            2,
		TcpNotsentLowat:       1<<32 - 1,
		TcpRtoMinUs:           200000,
		TcpSlowStartAfterIdle: 1,
		TcpAutocorking:        1,
		TcpLimitOutputBytes:   16 * 65536,
		TcpCompSackDelayNs:    1000000,
		TcpCompSackSlackNs:    100000,
		TcpCompSackNr:         44,
		TcpPacingSsRatio:      200,
		TcpPacingCaRatio:      120,
		TcpEarlyRetrans:       3,
		TcpRecovery:           1,
		TcpFrto:               2,
		TcpRetransCollapse:    1,
		TcpDsack:              1,
		TcpInvalidRatelimit:   500,
		TcpSynLinearTimeouts:  4,
		TcpMaxTwBuckets:       max(ehashEntries/2, 1),
		TcpTimestamps:         1,
		TcpSack:               1,
		TcpWindowScaling:      1,
		TcpKeepaliveTime:      7200,
		TcpKeepaliveIntvl:     75,
		TcpKeepaliveProbes:    9,
		TcpCongestion:         "cubic",
		TcpAllowedCongestion:  "reno cubic",
	}
}

// SysctlEntry describes one tunable.
type SysctlEntry struct {
	Name string // "net.core.somaxconn"
	Help string
	get  func(s *Sysctls) string
	set  func(s *Sysctls, v string) error // nil: read-only
}

func intEntry(name, help string, p func(*Sysctls) *int, lo, hi int) SysctlEntry {
	return SysctlEntry{Name: name, Help: help,
		get: func(s *Sysctls) string { return strconv.Itoa(*p(s)) },
		set: func(s *Sysctls, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%s takes an integer, not %q", name, v)
			}
			if n < lo || n > hi {
				return fmt.Errorf("%s must be between %d and %d", name, lo, hi)
			}
			*p(s) = n
			return nil
		}}
}

// vecEntry is a tunable of several integers, each from least up; those
// of an ordered one may not decrease (ip_local_port_range). tcp_rmem and
// tcp_wmem are not ordered: the kernel takes any three values from 1 up.
func vecEntry(name, help string, p func(*Sysctls) []int, ordered bool, least int) SysctlEntry {
	return SysctlEntry{Name: name, Help: help,
		get: func(s *Sysctls) string {
			var parts []string
			for _, n := range p(s) {
				parts = append(parts, strconv.Itoa(n))
			}
			return strings.Join(parts, "\t")
		},
		set: func(s *Sysctls, v string) error {
			dst := p(s)
			f := strings.Fields(v)
			if len(f) != len(dst) {
				return fmt.Errorf("%s takes %d integers", name, len(dst))
			}
			vals := make([]int, len(f))
			for i, x := range f {
				n, err := strconv.Atoi(x)
				if err != nil || n < least || n > 1<<31-1 {
					return fmt.Errorf("%s: %q is not an integer from %d to %d", name, x, least, 1<<31-1)
				}
				if ordered && i > 0 && n < vals[i-1] {
					return fmt.Errorf("%s: the values must not decrease", name)
				}
				vals[i] = n
			}
			copy(dst, vals)
			return nil
		}}
}

// sysctlTable lists every tunable in a fixed order.
var sysctlTable = []SysctlEntry{
	intEntry("net.core.somaxconn", "the largest listen() backlog; bigger requests are clamped", func(s *Sysctls) *int { return &s.Somaxconn }, 0, 1<<31-1),
	intEntry("net.core.rmem_default", "default SO_RCVBUF of non-TCP sockets", func(s *Sysctls) *int { return &s.RmemDefault }, 256, 1<<31-1),
	intEntry("net.core.wmem_default", "default SO_SNDBUF of non-TCP sockets", func(s *Sysctls) *int { return &s.WmemDefault }, 256, 1<<31-1),
	intEntry("net.core.rmem_max", "the largest SO_RCVBUF a process may ask for", func(s *Sysctls) *int { return &s.RmemMax }, 256, 1<<31-1),
	intEntry("net.core.wmem_max", "the largest SO_SNDBUF a process may ask for", func(s *Sysctls) *int { return &s.WmemMax }, 256, 1<<31-1),
	vecEntry("net.ipv4.tcp_rmem", "TCP receive buffer: min, default, max (autotuning grows toward max)", func(s *Sysctls) []int { return s.TcpRmem[:] }, false, 1),
	vecEntry("net.ipv4.tcp_wmem", "TCP send buffer: min, default, max", func(s *Sysctls) []int { return s.TcpWmem[:] }, false, 1),
	intEntry("net.ipv4.tcp_moderate_rcvbuf", "receive buffers grow with what the application reads per RTT (autotuning)", func(s *Sysctls) *int { return &s.TcpModerateRcvbuf }, 0, 255),
	intEntry("net.ipv4.tcp_app_win", "keep 1/2^n of the receive buffer out of the window, for the application (0: none)", func(s *Sysctls) *int { return &s.TcpAppWin }, 0, 31),
	vecEntry("net.ipv4.ip_local_port_range", "ephemeral ports for bind(port 0) and connect()", func(s *Sysctls) []int { return s.IpLocalPortRange[:] }, true, 0),
	intEntry("net.ipv4.ip_unprivileged_port_start", "ports below this need CAP_NET_BIND_SERVICE", func(s *Sysctls) *int { return &s.IpUnprivPortStart }, 0, 65535),
	intEntry("net.ipv4.ip_nonlocal_bind", "allow bind() to addresses the host does not own", func(s *Sysctls) *int { return &s.IpNonlocalBind }, 0, 1),
	intEntry("net.ipv4.ip_autobind_reuse", "let bind(port 0) reuse ports when the range is exhausted", func(s *Sysctls) *int { return &s.IpAutobindReuse }, 0, 1),
	intEntry("net.ipv4.ip_default_ttl", "TTL of outgoing packets", func(s *Sysctls) *int { return &s.IpDefaultTTL }, 1, 255),
	intEntry("net.ipv4.tcp_max_syn_backlog", "the SYN queue's global cap (6.x limits each queue by the listen backlog)", func(s *Sysctls) *int { return &s.TcpMaxSynBacklog }, 1, 1<<31-1),
	intEntry("net.ipv4.tcp_syncookies", "0 off, 1 when a SYN queue overflows, 2 always", func(s *Sysctls) *int { return &s.TcpSyncookies }, 0, 2),
	intEntry("net.ipv4.tcp_syn_retries", "SYN retransmissions before connect() gives up", func(s *Sysctls) *int { return &s.TcpSynRetries }, 1, 127),
	intEntry("net.ipv4.tcp_retries2", "retransmissions of data before the connection is given up", func(s *Sysctls) *int { return &s.TcpRetries2 }, 0, 255),
	intEntry("net.ipv4.tcp_synack_retries", "SYN-ACK retransmissions for a request sock", func(s *Sysctls) *int { return &s.TcpSynackRetries }, 0, 255),
	intEntry("net.ipv4.tcp_fin_timeout", "seconds an orphaned FIN_WAIT2 socket lives", func(s *Sysctls) *int { return &s.TcpFinTimeout }, 0, 1<<31-1),
	intEntry("net.ipv4.tcp_tw_reuse", "reuse TIME_WAIT for new connections: 0 no, 1 yes, 2 loopback only", func(s *Sysctls) *int { return &s.TcpTwReuse }, 0, 2),
	intEntry("net.ipv4.tcp_early_retrans", "tail loss probes: 3 or 4 on, 0 off", func(s *Sysctls) *int { return &s.TcpEarlyRetrans }, 0, 4),
	intEntry("net.ipv4.tcp_recovery", "loss detection: 1 RACK (RFC 8985), +2 fixed reordering window, +4 no duplicate-ACK shortcut; 0 the duplicate-ACK threshold only", func(s *Sysctls) *int { return &s.TcpRecovery }, 0, 7),
	intEntry("net.ipv4.tcp_syn_linear_timeouts", "SYN retransmissions of connect() at the initial RTO before backoff starts", func(s *Sysctls) *int { return &s.TcpSynLinearTimeouts }, 0, 10),
	intEntry("net.ipv4.tcp_orphan_retries", "retransmissions before an orphaned connection is dropped (0: 8)", func(s *Sysctls) *int { return &s.TcpOrphanRetries }, 0, 255),
	intEntry("net.ipv4.tcp_invalid_ratelimit", "ms between duplicate or challenge ACKs answering invalid segments (RFC 5961, PAWS)", func(s *Sysctls) *int { return &s.TcpInvalidRatelimit }, 0, 1<<31-1),
	intEntry("net.ipv4.tcp_dsack", "report segments received twice with D-SACK blocks (RFC 2883)", func(s *Sysctls) *int { return &s.TcpDsack }, 0, 1),
	intEntry("net.ipv4.tcp_retrans_collapse", "a retransmission of a short segment takes the small segments after it along, up to an MSS; 0 off", func(s *Sysctls) *int { return &s.TcpRetransCollapse }, 0, 1),
	intEntry("net.ipv4.tcp_frto", "F-RTO (RFC 5682): after an RTO, send new data first to tell a spurious timeout from a real loss; 0 off", func(s *Sysctls) *int { return &s.TcpFrto }, 0, 2),
	intEntry("net.ipv4.tcp_notsent_lowat", "bytes written but not yet sent a socket may hold and still poll writable (a write past it waits)", func(s *Sysctls) *int { return &s.TcpNotsentLowat }, 0, 1<<32-1),
	intEntry("net.ipv4.tcp_rto_min_us", "the smallest RTO of a new socket, in microseconds", func(s *Sysctls) *int { return &s.TcpRtoMinUs }, 1, 1<<31-1),
	intEntry("net.ipv4.tcp_shrink_window", "let the offered window shrink to what the receive buffer has free, instead of never taking back what was offered (needs window scaling)", func(s *Sysctls) *int { return &s.TcpShrinkWindow }, 0, 1),
	intEntry("net.ipv4.tcp_workaround_signed_windows", "offer at most 32767 bytes when the peer does not scale windows", func(s *Sysctls) *int { return &s.TcpWorkaroundSignedWindows }, 0, 1),
	intEntry("net.ipv4.tcp_autocorking", "hold back a small write while the socket's earlier packets still wait in a device (they leave together when the device is done)", func(s *Sysctls) *int { return &s.TcpAutocorking }, 0, 1),
	intEntry("net.ipv4.tcp_comp_sack_delay_ns", "the longest an ACK owed while data is out of order is held back (SACK compression), in ns", func(s *Sysctls) *int { return &s.TcpCompSackDelayNs }, 0, 1<<30),
	intEntry("net.ipv4.tcp_comp_sack_slack_ns", "how much later than tcp_comp_sack_delay_ns the held-back ACK may go, in ns (the model sends it on time)", func(s *Sysctls) *int { return &s.TcpCompSackSlackNs }, 0, 1<<30),
	intEntry("net.ipv4.tcp_comp_sack_nr", "how many ACKs SACK compression may hold back before one goes (0: none are held)", func(s *Sysctls) *int { return &s.TcpCompSackNr }, 0, 255),
	intEntry("net.ipv4.tcp_limit_output_bytes", "bytes of one TCP socket that may wait in its device before TCP Small Queues holds the rest back (the pacing rate may allow more, up to this)", func(s *Sysctls) *int { return &s.TcpLimitOutputBytes }, 0, 1<<30),
	intEntry("net.ipv4.tcp_pacing_ss_ratio", "the pacing rate in slow start, in percent of cwnd*mss/srtt", func(s *Sysctls) *int { return &s.TcpPacingSsRatio }, 0, 1000),
	intEntry("net.ipv4.tcp_pacing_ca_ratio", "the pacing rate after slow start, in percent of cwnd*mss/srtt", func(s *Sysctls) *int { return &s.TcpPacingCaRatio }, 0, 1000),
	intEntry("net.ipv4.tcp_slow_start_after_idle", "restart the congestion window after an idle period longer than the RTO (RFC 2861)", func(s *Sysctls) *int { return &s.TcpSlowStartAfterIdle }, 0, 1),
	intEntry("net.ipv4.tcp_abort_on_overflow", "reset instead of dropping the final ACK when the accept queue is full", func(s *Sysctls) *int { return &s.TcpAbortOnOverflow }, 0, 1),
	intEntry("net.ipv4.tcp_rfc1337", "ignore an in-window RST in TIME_WAIT instead of ending it (RFC 1337)", func(s *Sysctls) *int { return &s.TcpRfc1337 }, -1<<31, 1<<31-1),
	intEntry("net.ipv4.tcp_max_tw_buckets", "the most TIME_WAIT sockets at once", func(s *Sysctls) *int { return &s.TcpMaxTwBuckets }, 0, 1<<31-1),
	intEntry("net.ipv4.tcp_timestamps", "TCP timestamps option (RFC 7323)", func(s *Sysctls) *int { return &s.TcpTimestamps }, 0, 2),
	intEntry("net.ipv4.tcp_sack", "selective acknowledgements (RFC 2018)", func(s *Sysctls) *int { return &s.TcpSack }, 0, 1),
	intEntry("net.ipv4.tcp_window_scaling", "window scaling (RFC 7323)", func(s *Sysctls) *int { return &s.TcpWindowScaling }, 0, 1),
	intEntry("net.ipv4.tcp_keepalive_time", "idle seconds before the first keepalive probe", func(s *Sysctls) *int { return &s.TcpKeepaliveTime }, 1, 1<<31-1),
	intEntry("net.ipv4.tcp_keepalive_intvl", "seconds between keepalive probes", func(s *Sysctls) *int { return &s.TcpKeepaliveIntvl }, 1, 1<<31-1),
	intEntry("net.ipv4.tcp_keepalive_probes", "unanswered probes before the connection is dropped", func(s *Sysctls) *int { return &s.TcpKeepaliveProbes }, 1, 127),
	{Name: "net.ipv4.tcp_congestion_control", Help: "default congestion control (the model has cubic and reno)",
		get: func(s *Sysctls) string { return s.TcpCongestion },
		set: func(s *Sysctls, v string) error {
			v = strings.TrimSpace(v)
			if v != "cubic" && v != "reno" {
				return fmt.Errorf("net.ipv4.tcp_congestion_control: %q is not available (cubic, reno)", v)
			}
			s.TcpCongestion = v
			return nil
		}},
	{Name: "net.ipv4.tcp_available_congestion_control", Help: "the congestion control algorithms there are, in the order they registered (read-only)",
		get: func(*Sysctls) string { return "reno cubic" }},
	{Name: "net.ipv4.tcp_allowed_congestion_control", Help: "the algorithms an unprivileged TCP_CONGESTION may choose (every process here is privileged, so it restricts nothing)",
		get: func(s *Sysctls) string { return s.TcpAllowedCongestion },
		set: func(s *Sysctls, v string) error {
			names := strings.Fields(v)
			for _, n := range names {
				if n != "cubic" && n != "reno" {
					return fmt.Errorf("net.ipv4.tcp_allowed_congestion_control: %q is not available (cubic, reno)", n)
				}
			}
			// tcp_set_allowed_congestion_control keeps them in
			// registration order, each once.
			var kept []string
			for _, n := range []string{"reno", "cubic"} {
				if slices.Contains(names, n) {
					kept = append(kept, n)
				}
			}
			s.TcpAllowedCongestion = strings.Join(kept, " ")
			return nil
		}},
}

// SysctlNames lists the tunables in a fixed order.
func SysctlNames() []string {
	out := make([]string, len(sysctlTable))
	for i, e := range sysctlTable {
		out[i] = e.Name
	}
	return out
}

func findSysctl(name string) (SysctlEntry, error) {
	name = strings.ReplaceAll(strings.TrimSpace(name), "/", ".")
	for _, e := range sysctlTable {
		if e.Name == name {
			return e, nil
		}
	}
	return SysctlEntry{}, fmt.Errorf("unknown sysctl %q (the model has: %s)", name, strings.Join(SysctlNames(), ", "))
}

// Get reads a tunable as sysctl prints it.
func (s *Sysctls) Get(name string) (string, error) {
	e, err := findSysctl(name)
	if err != nil {
		return "", err
	}
	return e.get(s), nil
}

// Validate reports whether Set(name, value) would succeed, without
// changing anything.
func (s *Sysctls) Validate(name, value string) error {
	cp := *s
	return cp.Set(name, value)
}

// Set writes a tunable, checking its range.
func (s *Sysctls) Set(name, value string) error {
	e, err := findSysctl(name)
	if err != nil {
		return err
	}
	if e.set == nil {
		return fmt.Errorf("%s is read-only", e.Name)
	}
	return e.set(s, value)
}

// Help returns a tunable's one-line description.
func SysctlHelp(name string) string {
	e, err := findSysctl(name)
	if err != nil {
		return ""
	}
	return e.Help
}

// All returns every tunable and its value, in table order.
func (s *Sysctls) All() [][2]string {
	out := make([][2]string, len(sysctlTable))
	for i, e := range sysctlTable {
		out[i] = [2]string{e.Name, e.get(s)}
	}
	return out
}

// Writable returns the tunables that can be set and their values, in
// table order: what a recording's boot description needs to set them
// all again.
func (s *Sysctls) Writable() [][2]string {
	var out [][2]string
	for _, e := range sysctlTable {
		if e.set != nil {
			out = append(out, [2]string{e.Name, e.get(s)})
		}
	}
	return out
}
