// Package ps is `slipway ps`: an app's processes (its pods), one's
// details, and stopping one.
package ps

import (
	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

// NewCmdPs is `slipway ps`, which lists, and its subcommands.
func NewCmdPs(f *cmdutil.Factory) *cobra.Command {
	cmd := NewCmdList(f, nil)
	cmd.AddCommand(
		NewCmdInfo(f, nil),
		NewCmdStop(f, nil),
	)
	return cmd
}
