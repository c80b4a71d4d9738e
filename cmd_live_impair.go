package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/stack/netdev"
)

// impairFlags are live's flags for the TUN driver's impairment stage:
// what tc-netem would do to the link, done by stackscope's driver, the
// same both ways.
type impairFlags struct {
	loss, reorder, duplicate, corrupt string
	delay, jitter, reorderGap         time.Duration
	rate                              string
	queue                             int
	seed                              uint64
}

// impairHelp is the part of live's --help that explains the flags.
const impairHelp = `A lossy, slow or reordering link, as tc-netem would make it, without tc: these
flags put an impairment stage in the TUN driver, acting the same way on both
directions (the host's frames before the model kernel receives them, the model
kernel's frames before the host reads them). Percentages are written as tc
writes them ("5%" or "5"); rates as tc writes them: bit, kbit, mbit, gbit
(bits per second, powers of 1000) or bps, kbps, mbps, gbps (bytes per second).

  stackscope live --headless --netns stk --loss 5% --delay 20ms --reorder 10%
  stackscope live --headless --netns stk --delay 25ms --rate 10mbit

The stage's choices come from a generator seeded with --impair-seed, but it runs
on the machine's clock, so two runs do not lose the same frames unless the
traffic is timed the same.`

func (f *impairFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.loss, "loss", "", "lose this share of the frames each way (e.g. 5%)")
	fl.StringVar(&f.duplicate, "duplicate", "", "deliver this share of the frames twice (e.g. 2%)")
	fl.StringVar(&f.corrupt, "corrupt", "", "flip one random bit in this share of the frames (e.g. 1%)")
	fl.StringVar(&f.reorder, "reorder", "", "hold this share of the frames back by --reorder-gap, so later ones overtake them (e.g. 10%)")
	fl.DurationVar(&f.reorderGap, "reorder-gap", 0, "how long --reorder holds a frame back (0: 5ms)")
	fl.DurationVar(&f.delay, "delay", 0, "one-way delay of every frame (e.g. 20ms; the round trip is twice this)")
	fl.DurationVar(&f.jitter, "jitter", 0, "a random extra delay of up to this much, without reordering")
	fl.StringVar(&f.rate, "rate", "", "limit each direction to this rate (e.g. 10mbit)")
	fl.IntVar(&f.queue, "rate-queue", 0, "bytes that may wait for the --rate limit before frames are dropped (0: 150000)")
	fl.Uint64Var(&f.seed, "impair-seed", 1, "seed of the impairment stage's random choices")
}

// impairments returns the stage's configuration, or nil when no flag
// asks for one.
func (f *impairFlags) impairments() (*netdev.TunImpairments, error) {
	var im netdev.Impairments
	var err error
	for _, p := range []struct {
		flag, v string
		dst     *float64
	}{{"loss", f.loss, &im.Loss}, {"duplicate", f.duplicate, &im.Duplicate},
		{"corrupt", f.corrupt, &im.Corrupt}, {"reorder", f.reorder, &im.Reorder}} {
		if *p.dst, err = parsePercent(p.v); err != nil {
			return nil, fmt.Errorf("--%s: %w", p.flag, err)
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
		dst  *int64
	}{{"delay", f.delay, &im.Delay}, {"jitter", f.jitter, &im.Jitter}, {"reorder-gap", f.reorderGap, &im.ReorderGap}} {
		if d.v < 0 {
			return nil, fmt.Errorf("--%s %v: must not be negative", d.flag, d.v)
		}
		*d.dst = int64(d.v)
	}
	if im.Rate, err = parseRate(f.rate); err != nil {
		return nil, fmt.Errorf("--rate: %w", err)
	}
	if f.queue < 0 {
		return nil, fmt.Errorf("--rate-queue %d: must not be negative", f.queue)
	}
	im.QueueBytes = f.queue
	if im.IsZero() {
		return nil, nil
	}
	ti := &netdev.TunImpairments{Seed: f.seed, Rx: im, Tx: im}
	if err := ti.Validate(); err != nil {
		return nil, err
	}
	return ti, nil
}

// parsePercent reads a percentage as tc does: "5%", "5" and "0.5%" are
// 0.05, 0.05 and 0.005; "" is 0.
func parsePercent(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || v < 0 || v > 100 {
		return 0, fmt.Errorf("%q is not a percentage from 0 to 100 (write 5%% or 5)", s)
	}
	return v / 100, nil
}

// parseRate reads a rate as tc does, in bits per second: "10mbit" is
// 10,000,000; "1mbps" is a megabyte a second, 8,000,000; a bare number is
// bits per second; "" is no limit.
func parseRate(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{
		{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1},
		{"gbps", 8e9}, {"mbps", 8e6}, {"kbps", 8e3}, {"bps", 8},
	}
	num, mult := s, 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 || v*mult < 8 || v*mult > 1e12 {
		return 0, fmt.Errorf("%q is not a rate from 8bit to 1000gbit (write 10mbit, 512kbit, 1mbps)", s)
	}
	return int64(v * mult), nil
}
