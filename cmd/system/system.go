// Package system is `slipway system`: setting up a real cluster.
package system

import (
	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

// NewCmdSystem is `slipway system` and its subcommands.
func NewCmdSystem(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "system", Short: "Set up slipway on a cluster"}
	cmd.AddCommand(NewCmdInstall(f, nil))
	return cmd
}
