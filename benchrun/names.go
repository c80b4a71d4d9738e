package benchrun

import (
	"fmt"
	"slices"
	"strings"
)

// Peer names: what the host's Linux talks to in a column of the table.
const (
	PeerStackscope   = "stackscope"    // live mode on a TUN device
	PeerRecorder     = "recorder"      // the same, with a trace recorder on every input and event
	PeerRecorderNull = "recorder-null" // the same recorder writing to /dev/null (throughput rows only)
	PeerDiskLoad     = "disk-load"     // plain stackscope beside a disk writer in the bench (throughput rows only)
	PeerGvisor       = "gvisor"        // gVisor's netstack on a TUN device (bench/gvisor)
	PeerVeth         = "veth"          // the host kernel in a second namespace, over a veth pair
)

// Peers lists the peers in the table's column order.
var Peers = []struct{ Name, Column, Doc string }{
	{PeerStackscope, "stackscope", "stackscope's live mode on a TUN device (the built-in echo, discard and chargen services)"},
	{PeerRecorder, "+recorder", "the same, recording every input and every event to a trace file, as live --record does"},
	{PeerRecorderNull, "+rec→null", "the same recorder writing to /dev/null: what recording costs apart from the disk " +
		"(the throughput rows only)"},
	{PeerDiskLoad, "+disk load", "plain stackscope (no recorder), while the bench itself writes 1 MiB blocks of zeros " +
		"with O_DIRECT to a file beside the recorder's traces, as many as the transfer moves: what the disk alone costs " +
		"(the throughput rows only)"},
	{PeerGvisor, "gVisor", "gVisor's netstack on a TUN device, serving the same services (bench/gvisor, built with go build)"},
	{PeerVeth, "veth", "the host kernel talking to itself: the services on Linux sockets in a second namespace, over a veth pair"},
}

// Row names, as --rows takes them. A row may print more than one line
// (rtt prints the median and the 99th percentile).
const (
	RowH2S    = "h2s"     // host -> stack bulk throughput at MTU 1500
	RowS2H    = "s2h"     // stack -> host bulk throughput at MTU 1500
	RowH2SMax = "h2s-max" // host -> stack at the largest MTU the device takes
	RowS2HMax = "s2h-max" // stack -> host at the largest MTU
	RowCPS    = "cps"     // connections per second (connect + close)
	RowRTT    = "rtt"     // 1-byte round trip through echo
	RowMem    = "mem"     // memory per idle established connection
)

// Rows lists the rows in the table's order with what --help says of them.
var Rows = []struct{ Name, Doc string }{
	{RowH2S, "host->stack bulk TCP throughput at MTU 1500: the host writes to the discard service (port 9) for the row's duration, " +
		"then half-closes and waits for the server's close, so every byte counted has arrived"},
	{RowS2H, "stack->host bulk TCP throughput at MTU 1500: the host reads from the chargen service (port 19) for the row's duration"},
	{RowH2SMax, "host->stack throughput as h2s, at the largest MTU the TUN device takes (found by setting it; veth uses the same MTU)"},
	{RowS2HMax, "stack->host throughput as s2h, at the largest MTU"},
	{RowCPS, "connections per second: the host connects to discard and closes at once, one after another, for the row's duration"},
	{RowRTT, "1-byte round-trip latency: one byte to the echo service (port 7) and back, one at a time; the median and the 99th percentile"},
	{RowMem, "memory per idle established connection: the growth of the peer process's live heap and goroutine stacks (after a GC) " +
		"while N connections are open to a holder that accepts and keeps them, divided by N (not for veth: kernel memory is no process's heap)"},
}

// Line is one line of the table: a figure, its unit, and which way is
// better.
type Line struct {
	ID     string // e.g. "h2s", "rtt-p50"
	Row    string // the --rows name that selects it
	Label  string
	Unit   string
	Higher bool // higher is better (throughput, rate)
	Tput   bool // a throughput line (the recorder target is on these)
}

// Lines lists the table's lines in order.
var Lines = []Line{
	{ID: RowH2S, Row: RowH2S, Label: "host->stack bulk, MTU 1500", Unit: "Mbit/s", Higher: true, Tput: true},
	{ID: RowS2H, Row: RowS2H, Label: "stack->host bulk, MTU 1500", Unit: "Mbit/s", Higher: true, Tput: true},
	{ID: RowH2SMax, Row: RowH2SMax, Label: "host->stack bulk, MTU max", Unit: "Mbit/s", Higher: true, Tput: true},
	{ID: RowS2HMax, Row: RowS2HMax, Label: "stack->host bulk, MTU max", Unit: "Mbit/s", Higher: true, Tput: true},
	{ID: RowCPS, Row: RowCPS, Label: "connect+close", Unit: "conn/s", Higher: true},
	{ID: "rtt-p50", Row: RowRTT, Label: "1-byte round trip, median", Unit: "µs"},
	{ID: "rtt-p99", Row: RowRTT, Label: "1-byte round trip, p99", Unit: "µs"},
	{ID: RowMem, Row: RowMem, Label: "memory per idle connection", Unit: "KiB"},
}

// notApplicable says why a row has no figure for a peer, or "" when it
// has one: the host kernel's memory is no process's heap, and the
// /dev/null recorder and the disk load are there to split the recorder's
// throughput cost.
func notApplicable(peer, row string) string {
	switch {
	case peer == PeerVeth && row == RowMem:
		return "kernel memory is no process's heap"
	case (peer == PeerRecorderNull || peer == PeerDiskLoad) && !throughputRow(row):
		return "measured on the throughput rows only"
	}
	return ""
}

// throughputRow reports whether a row's lines are throughput lines.
func throughputRow(row string) bool {
	for _, l := range Lines {
		if l.Row == row {
			return l.Tput
		}
	}
	return false
}

// ParseRows reads --rows: "all" or a comma-separated list of row names.
func ParseRows(s string) ([]string, error) {
	var names []string
	for _, r := range Rows {
		names = append(names, r.Name)
	}
	return parseList("--rows", s, names)
}

// ParsePeers reads --peers: "all" or a comma-separated list of peer names.
func ParsePeers(s string) ([]string, error) {
	var names []string
	for _, p := range Peers {
		names = append(names, p.Name)
	}
	return parseList("--peers", s, names)
}

// parseList returns the chosen names in known's order, without repeats.
func parseList(flag, s string, known []string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "all" {
		return slices.Clone(known), nil
	}
	chosen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !slices.Contains(known, part) {
			return nil, fmt.Errorf("%s: unknown name %q (known: %s, or all)", flag, part, strings.Join(known, ", "))
		}
		chosen[part] = true
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("%s: empty; name at least one of %s, or all", flag, strings.Join(known, ", "))
	}
	var out []string
	for _, k := range known {
		if chosen[k] {
			out = append(out, k)
		}
	}
	return out, nil
}
