package releases

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promote"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

func newCmdPromote(f *cmdutil.Factory) *cobra.Command {
	var app string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "promote [ID]",
		Short: "Roll a release out (default: the newest); it ends active everywhere or completely rolled back",
		Example: `  slipway releases promote -a myapp
  slipway releases promote RABCDEFGHIJ -a myapp --timeout 5m`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := f.App(cmd.Context(), app)
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			if id, err = promote.Resolve(cmd.Context(), f, a, id); err != nil {
				return err
			}
			return promote.Run(cmd.Context(), f, promote.Options{App: a.Name, Release: id, Timeout: timeout})
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	cmd.Flags().DurationVar(&timeout, "timeout", workflows.DefaultTimeout, "roll back if the rollout is not done within this (time paused does not count)")
	return cmd
}

func newCmdRollback(f *cmdutil.Factory) *cobra.Command {
	var app string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "rollback ID",
		Short:   "Copy an earlier release (its build and env) into a new release and promote it",
		Example: "  slipway releases rollback RABCDEFGHIJ -a myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := f.App(cmd.Context(), app)
			if err != nil {
				return err
			}
			target, err := promote.Resolve(cmd.Context(), f, a, args[0])
			if err != nil {
				return err
			}
			return promote.Run(cmd.Context(), f, promote.Options{
				App: a.Name, Release: model.NewReleaseID(), RollbackTo: target, Timeout: timeout,
			})
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	cmd.Flags().DurationVar(&timeout, "timeout", workflows.DefaultTimeout, "roll back if the rollout is not done within this")
	return cmd
}
