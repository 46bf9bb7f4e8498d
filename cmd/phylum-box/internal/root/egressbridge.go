package root

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/egress"
	"github.com/phylum-box/phylum-box/internal/exitcode"
)

// newCmdEgressBridge is the egress bridge. It runs inside a sandboxed step whose
// package code may run while it still needs the package index (pip's and poetry's
// resolve): the step has a network namespace of its own, and this bridge, its first
// process, relays the proxy variables' loopback port to the host-side filtering
// proxy (internal/egress). It is not meant to be typed by anyone.
func newCmdEgressBridge(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:                egress.BridgeCommand + " --socket PATH [--listen ADDR] -- CMD [ARGS...]",
		Short:              "relay a sandboxed step's proxy traffic to phylum-box's egress filter (internal)",
		Hidden:             true,
		DisableFlagParsing: true,
		Annotations:        map[string]string{cmdutil.RawAnnotation: "internal"},
		RunE: func(cmd *cobra.Command, args []string) error {
			socket, listen, argv, err := egress.ParseBridgeArgs(args)
			if err != nil {
				return cmdutil.UsageError("%s: %w", egress.BridgeCommand, err)
			}
			code, err := egress.Bridge(socket, listen, argv, os.Stdin, os.Stdout, os.Stderr)
			if err != nil {
				fmt.Fprintf(f.App.Stderr, "phylum-box %s: %v\n", egress.BridgeCommand, err)
				if code == 0 {
					code = exitcode.Internal
				}
			}
			return cmdutil.ExitSilently(code)
		},
	}
}
