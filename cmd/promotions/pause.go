package promotions

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/workflows"
)

func NewCmdPause(f *cmdutil.Factory, runF func(context.Context, *ControlOptions) error) *cobra.Command {
	return newCmdControl(f, runF, "pause", workflows.SignalPause, "Pause the rollout in flight: its Deployments stop and its timeout clock stops")
}
