package env

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type GetOptions struct {
	*cmdutil.Factory
	App     string
	Key     string
	Release string // "" for the newest
}

func NewCmdGet(f *cmdutil.Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	opts := &GetOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "get KEY",
		Short:   "Show one environment variable",
		Example: "  slipway env get FOO -a myapp\n  slipway env get FOO -a myapp --release RABCDEFGHIJ",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Key = args[0]
			return cmdutil.Run(cmd, opts, runF, getRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().StringVar(&opts.Release, "release", "", "read this release's environment rather than the newest's")
	_ = cmd.RegisterFlagCompletionFunc("release", f.CompleteReleaseFlag(&opts.App))
	return cmd
}

func getRun(ctx context.Context, opts *GetOptions) error {
	env, err := releaseEnv(ctx, opts.Factory, opts.App, opts.Release)
	if err != nil {
		return err
	}
	v, ok := env[opts.Key]
	if !ok {
		return fmt.Errorf("env not found: %s", opts.Key)
	}
	fmt.Fprintln(opts.IO.Out, v)
	return nil
}
