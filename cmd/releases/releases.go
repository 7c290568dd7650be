// Package releases is `slipway releases`: an app's releases, and promoting
// one of them or rolling back to one.
package releases

import (
	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

// NewCmdReleases is `slipway releases`, which lists, and its subcommands.
func NewCmdReleases(f *cmdutil.Factory) *cobra.Command {
	cmd := NewCmdList(f, nil)
	cmd.AddCommand(
		NewCmdInfo(f, nil),
		NewCmdManifest(f, nil),
		NewCmdOutput(f, nil),
		NewCmdPromote(f, nil),
		NewCmdRollback(f, nil),
	)
	return cmd
}
