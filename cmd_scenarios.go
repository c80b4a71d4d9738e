package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stackscope/stackscope/scenario"
)

func newScenariosCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in lecture scenarios, each with a one-line description",
		Long: `scenarios lists the lecture scenarios built into stackscope: packetdrill
scripts, commented to be read aloud, that show one piece of TCP each (the
handshake and its queues, SYN cookies, delayed ACKs, retransmission, window
probes, the ways a connection closes). Run one by name:

  stackscope run handshake --headless   the script with the kernel's function graph
  stackscope run handshake --check      PASS or FAIL
  stackscope run --check                every built-in scenario`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := scenario.Builtins()
			if err != nil {
				return fmt.Errorf("scenarios: %w", err)
			}
			width := 0
			for _, b := range list {
				width = max(width, len(b.Name))
			}
			for _, b := range list {
				fmt.Fprintf(stdout, "%-*s  %s\n", width, b.Name, b.Description)
			}
			return nil
		},
	}
}
