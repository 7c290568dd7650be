package releases

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

type InfoOptions struct {
	*cmdutil.Factory
	App    string
	ID     string
	Output string
}

func NewCmdInfo(f *cmdutil.Factory, runF func(context.Context, *InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{Factory: f}
	cmd := &cobra.Command{
		Use:               "info ID",
		Short:             "Show a release, with its environment",
		Example:           "  slipway releases info RABCDEFGHIJ -a myapp",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteReleases(&opts.App),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, infoRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func infoRun(ctx context.Context, opts *InfoOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	r, err := s.GetRelease(ctx, a.Name, opts.ID)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	env, err := s.GetReleaseEnv(ctx, r)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, InfoJSON(r, a.Status.Release, env))
	}
	return Info(r, model.Env(env)).Print(opts.IO.Out)
}

// Info is the info block of `releases info`.
func Info(r *records.Release, env model.Env) *cmdutil.Info {
	i := cmdutil.NewInfo()
	i.Add("Id", r.Spec.ID)
	i.Add("Build", r.Spec.Build)
	i.Add("Created", r.CreationTimestamp.UTC().Format(time.RFC3339))
	i.Add("Description", r.Spec.Description)
	if r.Spec.Actor != "" {
		i.Add("By", r.Spec.Actor)
	}
	i.Add("Env", strings.TrimSuffix(env.String(), "\n"))
	return i
}
