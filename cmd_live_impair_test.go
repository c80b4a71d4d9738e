package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/stack/netdev"
)

func TestParsePercentAsTcDoes(t *testing.T) {
	for in, want := range map[string]float64{"": 0, "5%": 0.05, "5": 0.05, "0.5%": 0.005, " 10% ": 0.1, "100": 1} {
		if got, err := parsePercent(in); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"five", "-1%", "101%", "5%%"} {
		if _, err := parsePercent(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseRateAsTcDoes(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "10mbit": 10e6, "10Mbit": 10e6, "512kbit": 512e3, "1gbit": 1e9,
		"1mbps": 8e6, "2kbps": 16e3, "9600": 9600, "1.5mbit": 1.5e6} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"fast", "10 mbits", "-1mbit", "0", "1bit"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLiveImpairFlags(t *testing.T) {
	cmd := &cobra.Command{Use: "live"}
	var f impairFlags
	f.add(cmd)
	if ti, err := f.impairments(); ti != nil || err != nil {
		t.Fatalf("no flags: %+v, %v; want no stage", ti, err)
	}
	if err := cmd.Flags().Parse([]string{"--loss", "5%", "--reorder", "10", "--delay", "20ms", "--duplicate", "2%",
		"--corrupt", "1%", "--rate", "10mbit", "--impair-seed", "9"}); err != nil {
		t.Fatal(err)
	}
	ti, err := f.impairments()
	if err != nil {
		t.Fatal(err)
	}
	want := netdev.Impairments{Loss: 0.05, Reorder: 0.1, Delay: int64(20 * time.Millisecond), Duplicate: 0.02, Corrupt: 0.01, Rate: 10e6}
	if ti == nil || ti.Rx != want || ti.Tx != want || ti.Seed != 9 {
		t.Errorf("impairments %+v, want %+v both ways, seed 9", ti, want)
	}
}

// TestLiveRefusesBadImpairments: a wrong value is reported, naming the
// flag, before any device is made.
func TestLiveRefusesBadImpairments(t *testing.T) {
	for _, args := range [][]string{{"--loss", "200%"}, {"--rate", "fast"}, {"--delay", "-5ms"}} {
		_, err := runCLI(t, append([]string{"live", "--headless"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: %v", args, err)
		}
	}
	out, err := runCLI(t, "live", "--help")
	for _, w := range []string{"--loss", "--reorder", "--delay", "--duplicate", "--corrupt", "--rate", "--impair-seed", "tc-netem"} {
		if err != nil || !strings.Contains(out, w) {
			t.Errorf("live --help lacks %s (%v)", w, err)
		}
	}
}
