package env

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type UnsetOptions struct {
	*cmdutil.Factory
	App     string
	Keys    []string
	Release string // fork this release rather than the newest
	Promote bool
	// ID prints only the new release's ID on stdout.
	ID bool
	// PromoteRelease promotes the new release when Promote is set, as in
	// SetOptions.
	PromoteRelease Promoter
}

func NewCmdUnset(f *cmdutil.Factory, runF func(context.Context, *UnsetOptions) error) *cobra.Command {
	opts := &UnsetOptions{Factory: f, PromoteRelease: promoteRelease}
	cmd := &cobra.Command{
		Use:     "unset KEY...",
		Short:   "Remove environment variables, making a new release",
		Example: "  slipway env unset FOO BAZ -a myapp",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Keys = args
			return cmdutil.Run(cmd, opts, runF, unsetRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().StringVar(&opts.Release, "release", "", "fork this release rather than the newest")
	_ = cmd.RegisterFlagCompletionFunc("release", f.CompleteReleaseFlag(&opts.App))
	cmd.Flags().BoolVarP(&opts.Promote, "promote", "p", false, "promote the new release")
	cmdutil.AddIDFlag(cmd, &opts.ID, "new release's")
	cmdutil.AddWaitFlag(cmd)
	return cmd
}

func unsetRun(ctx context.Context, opts *UnsetOptions) error {
	return changeRun(ctx, opts.Factory, envChange{
		app: opts.App, release: opts.Release,
		msg: "Unsetting " + strings.Join(opts.Keys, ", "), unset: opts.Keys, id: opts.ID,
	}, promoter(opts.Promote, opts.PromoteRelease))
}
