package main

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/benchrun"
)

func TestBenchRejectsBadArgumentsBeforeCreatingAnything(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--duration", "1ms"}, "--duration 1ms: use 10ms to 10m per row"},
		{[]string{"--duration", "2h"}, "--duration 2h0m0s: use 10ms to 10m per row"},
		{[]string{"--conns", "0"}, "--conns 0: use 1 to 20000"},
		{[]string{"--rounds", "0"}, "--rounds 0: use 1 to 20"},
		{[]string{"--mtu-max", "1400"}, "--mtu-max 1400: use 1500 to 65535, or 0"},
		{[]string{"--rows", "h2s,latency"}, `--rows: unknown name "latency" (known: h2s, s2h, h2s-max, s2h-max, cps, rtt, mem, or all)`},
		{[]string{"--peers", "linux"}, `--peers: unknown name "linux" (known: stackscope, recorder, recorder-null, disk-load, gvisor, veth, or all)`},
		{[]string{"--peers", ""}, "--peers: empty"},
		{[]string{"--gvisor-bin", "/nonexistent/gvisor-peer"}, "--gvisor-bin /nonexistent/gvisor-peer: not a file"},
		{[]string{"--gvisor-bin", notDir, "--gvisor-src", "bench/gvisor"}, "--gvisor-bin and --gvisor-src: give one"},
		{[]string{"--trace-dir", notDir}, "not a directory"},
		{[]string{"extra"}, `unknown command "extra"`},
	} {
		_, err := runCLI(t, append([]string{"bench"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bench %v: %v, want %q", c.args, err, c.want)
		}
	}
}

func TestBenchFlagsMakeTheRunsOptions(t *testing.T) {
	o, err := benchFlags{duration: 250e6, rounds: 3, rows: "rtt,h2s", peers: "gvisor,stackscope", conns: 10}.check()
	if err != nil {
		t.Fatal(err)
	}
	if o.Duration.String() != "250ms" || strings.Join(o.Rows, ",") != "h2s,rtt" ||
		strings.Join(o.Peers, ",") != "stackscope,gvisor" || o.Conns != 10 || o.MaxMTU != 0 || o.Rounds != 3 {
		t.Errorf("options %+v", o)
	}
}

func TestBenchHelpExplainsEveryRowAndPeer(t *testing.T) {
	out, err := runCLI(t, "bench", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range benchrun.Rows {
		if !strings.Contains(out, "  "+r.Name+" ") {
			t.Errorf("--help does not explain row %s", r.Name)
		}
	}
	for _, p := range benchrun.Peers {
		if !strings.Contains(out, "  "+p.Name+" ") {
			t.Errorf("--help does not explain peer %s", p.Name)
		}
	}
	for _, want := range []string{"needs root", "bench/gvisor", "--gvisor-bin", "Ctrl-C", "memory per idle established connection",
		"O_DIRECT", "a floor for any recorder"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("help line over 100 columns: %q", line)
		}
	}
	root, _ := runCLI(t, "--help")
	if strings.Contains(root, "  peer") {
		t.Error("the hidden peer command shows in the root's help")
	}
}

// The command line the bench starts a peer with is the one the peer
// command reads.
func TestPeerArgsRoundTrip(t *testing.T) {
	for _, want := range []benchrun.PeerConfig{
		{Kind: benchrun.KindStackscope, Tun: "stkb0", MTU: 65535, Host: netip.MustParsePrefix("10.77.0.1/24"),
			Addr: netip.MustParsePrefix("10.77.0.2/24"), Record: "/tmp/t.sst", Holders: 3, Version: "9.9"},
		{Kind: benchrun.KindLinux, Tun: "stkb0", MTU: 1500, Host: netip.MustParsePrefix("10.77.0.1/24"),
			Addr: netip.MustParsePrefix("10.78.0.2/24"), Holders: 1, Version: version},
	} {
		var got benchrun.PeerConfig
		cmd := newBenchPeerCmd(func(cfg benchrun.PeerConfig, _ io.Reader, _ io.Writer) error {
			got = cfg
			return nil
		})
		args := benchrun.PeerArgs(want)
		if args[0] != "bench" || args[1] != "peer" {
			t.Fatalf("args %v", args)
		}
		cmd.SetArgs(args[2:])
		cmd.SetOut(&bytes.Buffer{})
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if got != want {
			t.Errorf("%v\n  read as %+v\n  want    %+v", args, got, want)
		}
	}
}

func TestPeerRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "bsd"}, `--kind "bsd": want stackscope or linux`},
		{[]string{"--addr", "10.77.0.2"}, `--addr "10.77.0.2": want an IPv4 prefix`},
		{[]string{"--mtu", "100"}, "--mtu 100: use 576 to 65535"},
	} {
		cmd := newBenchPeerCmd(func(benchrun.PeerConfig, io.Reader, io.Writer) error {
			t.Errorf("%v: served", c.args)
			return nil
		})
		cmd.SetArgs(c.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

func TestWrapHelpIndentsContinuations(t *testing.T) {
	got := wrapHelp("  mem      ", "one two three four five six", 22)
	want := "  mem      one two\n           three four\n           five six"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
