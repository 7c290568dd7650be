// Package promotions is `slipway promotions`: an app's promotions, past and
// in flight, the operator's controls over the one in flight, and the
// runner that promotes a release from the CLI (`releases promote`,
// `releases rollback`, `deploy` and `env set --promote` use it).
package promotions

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

// ErrNotUpdating is Convox's answer when there is nothing to act on.
var ErrNotUpdating = errors.New("app is not updating")

// NewCmdPromotions is `slipway promotions`, which lists, and its
// subcommands.
func NewCmdPromotions(f *cmdutil.Factory) *cobra.Command {
	cmd := NewCmdList(f, nil)
	cmd.AddCommand(
		NewCmdInfo(f, nil),
		NewCmdPause(f, nil),
		NewCmdResume(f, nil),
		NewCmdContinue(f, nil),
		NewCmdCancel(f, nil),
	)
	return cmd
}
