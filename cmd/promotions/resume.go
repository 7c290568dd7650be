package promotions

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/workflows"
)

func NewCmdResume(f *cmdutil.Factory, runF func(context.Context, *ControlOptions) error) *cobra.Command {
	return newCmdControl(f, runF, "resume", workflows.SignalResume, "Resume a paused rollout")
}
