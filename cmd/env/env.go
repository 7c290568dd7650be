// Package env is `slipway env`: an app's environment. Every change makes a
// new release.
package env

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

func NewCmdEnv(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "env",
		Short:   "Show the app's environment (of its newest release)",
		Example: "  slipway env -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := latestEnv(cmd.Context(), f, app)
			if err != nil {
				return err
			}
			_, err = io.WriteString(f.IO.Out, env.String())
			return err
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	cmd.AddCommand(newCmdGet(f), newCmdSet(f), newCmdUnset(f))
	return cmd
}

// latestEnv is the env of the app's newest release (empty for a new app).
func latestEnv(ctx context.Context, f *cmdutil.Factory, appFlag string) (model.Env, error) {
	a, s, err := f.AppStore(ctx, appFlag)
	if err != nil {
		return nil, err
	}
	env, err := s.ReleaseEnv(ctx, a.Name, a.Status.Latest)
	return model.Env(env), cmdutil.KubeError(err)
}

func newCmdGet(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "get KEY",
		Short:   "Show one environment variable",
		Example: "  slipway env get FOO -a myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := latestEnv(cmd.Context(), f, app)
			if err != nil {
				return err
			}
			v, ok := env[args[0]]
			if !ok {
				return fmt.Errorf("env not found: %s", args[0])
			}
			fmt.Fprintln(f.IO.Out, v)
			return nil
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}

type setOptions struct {
	app     string
	replace bool
	release string
	promote bool
}

func newCmdSet(f *cmdutil.Factory) *cobra.Command {
	var o setOptions
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
			if len(set) == 0 && !o.replace {
				return errors.New("nothing to set: pass KEY=VALUE arguments or lines on stdin")
			}
			if err := set.Validate(); err != nil {
				return err
			}
			return change(cmd.Context(), f, o, "Setting "+strings.Join(set.Keys(), ", "), set, nil)
		},
	}
	cmdutil.AddAppFlag(cmd, &o.app)
	cmd.Flags().BoolVar(&o.replace, "replace", false, "replace the whole environment with these variables")
	cmd.Flags().StringVar(&o.release, "release", "", "fork this release rather than the newest")
	cmd.Flags().BoolVar(&o.promote, "promote", false, "promote the new release")
	return cmd
}

func newCmdUnset(f *cmdutil.Factory) *cobra.Command {
	var o setOptions
	cmd := &cobra.Command{
		Use:     "unset KEY...",
		Short:   "Remove environment variables, making a new release",
		Example: "  slipway env unset FOO BAZ -a myapp",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return change(cmd.Context(), f, o, "Unsetting "+strings.Join(args, ", "), nil, args)
		},
	}
	cmdutil.AddAppFlag(cmd, &o.app)
	cmd.Flags().StringVar(&o.release, "release", "", "fork this release rather than the newest")
	cmd.Flags().BoolVar(&o.promote, "promote", false, "promote the new release")
	return cmd
}

// change checks the change against the forked release, stages the values in
// a Secret (so they never enter Temporal's history), and runs the release
// workflow.
func change(ctx context.Context, f *cmdutil.Factory, o setOptions, msg string, set model.Env, unset []string) error {
	a, s, err := f.AppStore(ctx, o.app)
	if err != nil {
		return err
	}
	baseEnv, err := s.ReleaseEnv(ctx, a.Name, cmp.Or(o.release, a.Status.Latest))
	if err != nil {
		return cmdutil.KubeError(err)
	}
	base := model.Env(baseEnv)
	for _, k := range unset {
		if _, ok := base[k]; !ok {
			return fmt.Errorf("env not found: %s", k)
		}
	}
	next := base.Merge(set)
	if o.replace {
		next = set.Clone()
	}
	if err := next.Validate(); err != nil {
		return err
	}
	rid := model.NewReleaseID()
	in := activities.CreateReleaseInput{App: a.Name, ReleaseID: rid, Change: activities.ReleaseChange{
		Unset: unset, Replace: o.replace, From: o.release, Actor: f.Actor(ctx),
	}}
	var res activities.CreateReleaseResult
	err = cmdutil.Step(f.IO.Out, msg, func() (string, error) {
		if set != nil || o.replace {
			in.Change.EnvSecret = activities.StagedEnvName(rid)
			if err := cmdutil.StageSecret(ctx, s, a, in.Change.EnvSecret, set); err != nil {
				return "", err
			}
			// The workflow deletes the staged values once the release holds
			// them; if it failed instead, they must not linger. (After a
			// Ctrl-C the workflow still runs and needs them.)
			defer func() {
				if ctx.Err() == nil {
					_ = s.Core.CoreV1().Secrets(a.Namespace).Delete(ctx, in.Change.EnvSecret, metav1.DeleteOptions{})
				}
			}()
		}
		return "", f.RunWorkflow(ctx, cmdutil.RunOptions{
			ID: workflows.ReleaseWorkflowID(a.Name, rid), App: a.Name, Release: rid,
			Summary: "release " + rid + " of " + a.Name + ": " + strings.TrimSuffix(msg, "..."),
		}, workflows.CreateRelease, in, &res)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "Release: %s\n", res.ReleaseID)
	if o.promote {
		return promotions.Promote(ctx, f, promotions.PromoteOptions{App: a.Name, Release: res.ReleaseID, Timeout: workflows.DefaultTimeout})
	}
	return nil
}
