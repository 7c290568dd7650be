// Package env is `slipway env`: an app's environment. Every change makes a
// new release.
package env

import (
	"cmp"
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
)

// NewCmdEnv is `slipway env`, which lists, and its subcommands.
func NewCmdEnv(f *cmdutil.Factory) *cobra.Command {
	cmd := NewCmdList(f, nil)
	cmd.AddCommand(
		NewCmdGet(f, nil),
		NewCmdSet(f, nil),
		NewCmdUnset(f, nil),
		NewCmdEdit(f, nil),
	)
	return cmd
}

// releaseEnv is the env of an app's release: release, else its newest
// (empty for a new app).
func releaseEnv(ctx context.Context, f *cmdutil.Factory, appFlag, release string) (model.Env, error) {
	a, s, err := f.AppStore(ctx, appFlag)
	if err != nil {
		return nil, err
	}
	env, err := s.ReleaseEnv(ctx, a.Name, cmp.Or(release, a.Status.Latest))
	return model.Env(env), cmdutil.KubeError(err)
}
