package promotions

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/workflows"
)

func NewCmdCancel(f *cmdutil.Factory, runF func(context.Context, *ControlOptions) error) *cobra.Command {
	return newCmdControl(f, runF, "cancel", workflows.SignalRollback, "Roll the promotion in flight back to the release before it")
}

// NewCmdAppsCancel is `apps cancel`, Convox's name for `promotions cancel`.
func NewCmdAppsCancel(f *cmdutil.Factory, runF func(context.Context, *ControlOptions) error) *cobra.Command {
	cmd := NewCmdCancel(f, runF)
	cmd.Short = "Roll the promotion in flight back (Convox's name for `promotions cancel`)"
	return cmd
}
