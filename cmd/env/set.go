package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
)

type SetOptions struct {
	*cmdutil.Factory
	App     string
	Env     model.Env // the KEY=VALUE arguments over the lines on stdin
	Replace bool
	Release string // fork this release rather than the newest
	Promote bool
	// ID prints only the new release's ID on stdout.
	ID bool
	// PromoteRelease promotes the new release when Promote is set.
	// NewCmdSet makes it run a promotion; tests check the call instead.
	PromoteRelease Promoter
}

func NewCmdSet(f *cmdutil.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{Factory: f, PromoteRelease: promoteRelease}
	cmd := &cobra.Command{
		Use:   "set KEY=VALUE...",
		Short: "Set environment variables, making a new release",
		Example: `  slipway env set FOO=bar BAZ=qux -a myapp
  slipway env set --replace < .env`,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := model.ParsePairs(args)
			if err != nil {
				return err
			}
			if !f.IO.InTTY && f.IO.In != nil {
				b, err := io.ReadAll(f.IO.In)
				if err != nil {
					return err
				}
				fromStdin, err := model.ParseEnv(string(b))
				if err != nil {
					return fmt.Errorf("stdin: %w", err)
				}
				set = fromStdin.Merge(set)
			}
			if len(set) == 0 && !opts.Replace {
				return errors.New("nothing to set: pass KEY=VALUE arguments or lines on stdin")
			}
			if err := set.Validate(); err != nil {
				return err
			}
			opts.Env = set
			return cmdutil.Run(cmd, opts, runF, setRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().BoolVar(&opts.Replace, "replace", false, "replace the whole environment with these variables")
	cmd.Flags().StringVar(&opts.Release, "release", "", "fork this release rather than the newest")
	_ = cmd.RegisterFlagCompletionFunc("release", f.CompleteReleaseFlag(&opts.App))
	cmd.Flags().BoolVarP(&opts.Promote, "promote", "p", false, "promote the new release")
	cmdutil.AddIDFlag(cmd, &opts.ID, "new release's")
	cmdutil.AddWaitFlag(cmd)
	return cmd
}

func setRun(ctx context.Context, opts *SetOptions) error {
	return changeRun(ctx, opts.Factory, envChange{
		app: opts.App, release: opts.Release, replace: opts.Replace,
		msg: "Setting " + strings.Join(opts.Env.Keys(), ", "), set: opts.Env, id: opts.ID,
	}, promoter(opts.Promote, opts.PromoteRelease))
}
