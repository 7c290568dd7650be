// Package apps is `slipway apps`: list, create, inspect and delete apps.
//
// Every command in cmd/ has this shape: an Options struct holding the
// parsed flags and arguments and the clients it needs, taken from the
// Factory; NewCmdX(f, runF), which fills Options and calls runF when a
// test passes one (so flag parsing is tested alone); and xRun(ctx, opts),
// which does the work against whatever clients Options holds (so a test
// runs it on fakes).
package apps

import (
	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promotions"
)

// NewCmdApps is `slipway apps`, which lists, and its subcommands.
func NewCmdApps(f *cmdutil.Factory) *cobra.Command {
	cmd := NewCmdList(f, nil)
	cmd.AddCommand(
		NewCmdCreate(f, nil),
		NewCmdInfo(f, nil),
		NewCmdDelete(f, nil),
		NewCmdProtect(f, nil, true),
		NewCmdProtect(f, nil, false),
		promotions.NewCmdAppsCancel(f, nil),
	)
	return cmd
}
