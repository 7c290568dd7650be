package env

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type ListOptions struct {
	*cmdutil.Factory
	App string
}

func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "env",
		Short:   "Show the app's environment (of its newest release)",
		Example: "  slipway env -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	env, err := latestEnv(ctx, opts.Factory, opts.App)
	if err != nil {
		return err
	}
	_, err = io.WriteString(opts.IO.Out, env.String())
	return err
}
