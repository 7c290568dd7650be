package promotions

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/workflows"
)

func NewCmdContinue(f *cmdutil.Factory, runF func(context.Context, *ControlOptions) error) *cobra.Command {
	cmd := newCmdControl(f, runF, "continue", workflows.SignalContinue,
		"Continue the promotion in flight past the gate it waits at: approve a protected app's promotion, or end a staged rollout's pause")
	cmd.Long = `Continue the promotion in flight past the gate it waits at.

A promotion of a protected app (` + "`slipway apps protect`" + `) waits for approval
before anything is applied; continue approves it. The person who started
the promotion cannot approve it: slipway compares the Kubernetes identity
each command runs as.

A staged rollout (deployment.steps in convox.yml) waits at each pause step:
continue ends a manual pause, or a timed one early. Anyone may, who
started the promotion included.`
	return cmd
}
