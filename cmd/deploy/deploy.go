// Package deploy is `slipway deploy`: build, then promote the new release,
// as Convox's deploy does.
package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/build"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/workflows"
)

type DeployOptions struct {
	*cmdutil.Factory
	Build   build.Options
	Timeout time.Duration
	// KeepPrevious is the rollback window (--keep-previous).
	KeepPrevious time.Duration
	// ID prints only the promoted release's ID on stdout.
	ID bool
}

func NewCmdDeploy(f *cmdutil.Factory, runF func(context.Context, *DeployOptions) error) *cobra.Command {
	opts := &DeployOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "deploy [DIR]",
		Short: "Build the app from a directory and promote the new release",
		Example: `  slipway deploy -a myapp
  slipway deploy examples/hello -a hello
  RELEASE=$(slipway deploy --id -a myapp)`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Build.Dir = "."
			if len(args) == 1 {
				opts.Build.Dir = args[0]
			}
			if err := promotions.CheckKeepPrevious(opts.KeepPrevious); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, deployRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.Build.App)
	cmd.Flags().StringVarP(&opts.Build.Description, "description", "d", "", "build description (default: the git commit of a clean checkout)")
	cmd.Flags().StringVarP(&opts.Build.Manifest, "manifest", "m", "convox.yml", "manifest file, relative to DIR")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", workflows.DefaultTimeout, "roll back if the rollout is not done within this")
	promotions.AddKeepPreviousFlag(cmd, &opts.KeepPrevious)
	build.AddBuildFlags(cmd, &opts.Build)
	cmdutil.AddIDFlag(cmd, &opts.ID, "promoted release's")
	cmdutil.AddWaitFlag(cmd)
	return cmd
}

func deployRun(ctx context.Context, opts *DeployOptions) error {
	f := opts.ForID(opts.ID)
	res, err := build.Run(ctx, f, opts.Build)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "Build:   %s\nRelease: %s\n", res.BuildID, res.ReleaseID)
	if err := promotions.Promote(ctx, f, promotions.PromoteOptions{
		App: build.AppName(opts.Build), Release: res.ReleaseID, Timeout: opts.Timeout, KeepPrevious: opts.KeepPrevious,
	}); err != nil {
		return err
	}
	if opts.ID {
		return opts.PrintID(res.ReleaseID)
	}
	return nil
}
