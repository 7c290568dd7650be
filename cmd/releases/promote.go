package releases

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/workflows"
)

type PromoteOptions struct {
	*cmdutil.Factory
	App     string
	ID      string // "" for the newest release
	Timeout time.Duration
	// KeepPrevious is the rollback window (--keep-previous).
	KeepPrevious time.Duration
}

func NewCmdPromote(f *cmdutil.Factory, runF func(context.Context, *PromoteOptions) error) *cobra.Command {
	opts := &PromoteOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "promote [ID]",
		Short: "Roll a release out (default: the newest); it ends active everywhere or completely rolled back",
		Example: `  slipway releases promote -a myapp
  slipway releases promote RABCDEFGHIJ -a myapp --timeout 5m
  slipway releases promote -a myapp --keep-previous 10m`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: f.CompleteReleases(&opts.App),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ID = args[0]
			}
			if err := promotions.CheckKeepPrevious(opts.KeepPrevious); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, promoteRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", workflows.DefaultTimeout, "roll back if the rollout is not done within this (time paused does not count)")
	promotions.AddKeepPreviousFlag(cmd, &opts.KeepPrevious)
	cmdutil.AddWaitFlag(cmd)
	return cmd
}

func promoteRun(ctx context.Context, opts *PromoteOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	id, err := promotions.Resolve(ctx, s, a, opts.ID)
	if err != nil {
		return err
	}
	return promotions.Promote(ctx, opts.Factory, promotions.PromoteOptions{App: a.Name, Release: id, Timeout: opts.Timeout, KeepPrevious: opts.KeepPrevious})
}
