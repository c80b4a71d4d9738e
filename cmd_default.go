package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/stackscope/stackscope/stack/live"
	"github.com/stackscope/stackscope/stack/netdev"
	"github.com/stackscope/stackscope/ui"
)

// openDefault is what stackscope does with no arguments: the inspector,
// live on a TUN device (stk0, 10.77.0.2) where it may create one, and the
// demo otherwise, with a banner that says why and how to go live.
func openDefault(stdin io.Reader, stdout io.Writer) error {
	if !isTerminal(stdout) {
		return fmt.Errorf("%w (or run a subcommand: stackscope --help)", ui.ErrNoTerminal)
	}
	cfg := live.Config{Tun: live.DefaultTun(), Seed: 1}
	s, err := live.Start(cfg)
	if err == nil {
		return runInspector(ui.LiveSource(s, cfg.Tun.StackAddr.String()), stdin, stdout)
	}
	why := err.Error()
	if errors.Is(err, netdev.ErrNoPrivilege) {
		why = "no CAP_NET_ADMIN, so no TUN device"
	}
	d, derr := live.StartDemo(live.DemoConfig{Seed: 1})
	if derr != nil {
		return fmt.Errorf("demo: %w", derr)
	}
	banner := "DEMO (" + why + "): clients talk to the services over lo; S fills a SYN queue. " +
		"Live: sudo stackscope, or setcap cap_net_admin+ep"
	return runInspector(ui.DemoSource(d, banner), stdin, stdout)
}
