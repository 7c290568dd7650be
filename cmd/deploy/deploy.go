// Package deploy is `slipway deploy`: build, then promote the new release,
// as Convox's deploy does.
package deploy

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/build"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promote"
	"github.com/slipway-dev/slipway/workflows"
)

func NewCmdDeploy(f *cmdutil.Factory) *cobra.Command {
	var o build.Options
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "deploy [DIR]",
		Short: "Build the app from a directory and promote the new release",
		Example: `  slipway deploy -a myapp
  slipway deploy examples/hello -a hello`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = "."
			if len(args) == 1 {
				o.Dir = args[0]
			}
			res, err := build.Run(cmd.Context(), f, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Build:   %s\nRelease: %s\n", res.BuildID, res.ReleaseID)
			return promote.Run(cmd.Context(), f, promote.Options{App: build.AppName(o), Release: res.ReleaseID, Timeout: timeout})
		},
	}
	cmdutil.AddAppFlag(cmd, &o.App)
	cmd.Flags().StringVarP(&o.Description, "description", "d", "", "build description (default: the git commit of a clean checkout)")
	cmd.Flags().StringVarP(&o.Manifest, "manifest", "m", "convox.yml", "manifest file, relative to DIR")
	cmd.Flags().DurationVar(&timeout, "timeout", workflows.DefaultTimeout, "roll back if the rollout is not done within this")
	build.AddBuildFlags(cmd, &o)
	return cmd
}
