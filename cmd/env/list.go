package env

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type ListOptions struct {
	*cmdutil.Factory
	App     string
	Release string // "" for the newest
	Output  string
}

func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "env",
		Short:   "Show the app's environment (of its newest release, or of --release)",
		Example: "  slipway env -a myapp\n  slipway env -a myapp --release RABCDEFGHIJ -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().StringVar(&opts.Release, "release", "", "show this release's environment rather than the newest's")
	_ = cmd.RegisterFlagCompletionFunc("release", f.CompleteReleaseFlag(&opts.App))
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	env, err := releaseEnv(ctx, opts.Factory, opts.App, opts.Release)
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, env) // {"KEY": "value"}, keys sorted
	}
	_, err = io.WriteString(opts.IO.Out, env.String())
	return err
}
