package releases

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

type RollbackOptions struct {
	*cmdutil.Factory
	App     string
	ID      string // the release to roll back to
	Timeout time.Duration
	// NewID names the copy of the release; model.NewReleaseID unless a
	// test sets it.
	NewID func() string
}

func NewCmdRollback(f *cmdutil.Factory, runF func(context.Context, *RollbackOptions) error) *cobra.Command {
	opts := &RollbackOptions{Factory: f, NewID: model.NewReleaseID}
	cmd := &cobra.Command{
		Use:     "rollback ID",
		Short:   "Copy an earlier release (its build and env) into a new release and promote it",
		Example: "  slipway releases rollback RABCDEFGHIJ -a myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(cmd, opts, runF, rollbackRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", workflows.DefaultTimeout, "roll back if the rollout is not done within this")
	return cmd
}

func rollbackRun(ctx context.Context, opts *RollbackOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	target, err := promotions.Resolve(ctx, s, a, opts.ID)
	if err != nil {
		return err
	}
	return promotions.Promote(ctx, opts.Factory, promotions.PromoteOptions{
		App: a.Name, Release: opts.NewID(), RollbackTo: target, Timeout: opts.Timeout,
	})
}
