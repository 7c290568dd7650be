package builds

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
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
		Short:             "Show a build",
		Example:           "  slipway builds info BABCDEFGHIJ -a myapp",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteBuilds(&opts.App),
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
	b, err := s.GetBuild(ctx, a.Name, opts.ID)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, JSON(b))
	}
	return Info(b).Print(opts.IO.Out)
}

// Info is the info block of `builds info`.
func Info(b *records.Build) *cmdutil.Info {
	i := cmdutil.NewInfo()
	i.Add("Id", b.Spec.ID)
	i.Add("Status", b.Status.Status)
	i.Add("Release", b.Status.Release)
	i.Add("Description", b.Spec.Description)
	if b.Spec.Actor != "" {
		i.Add("By", b.Spec.Actor)
	}
	i.Add("Started", started(b).UTC().Format(time.RFC3339))
	i.Add("Elapsed", elapsed(b))
	if b.Status.Builder != "" {
		i.Add("Builder", b.Status.Builder)
	}
	if b.Status.Reason != "" {
		i.Add("Reason", b.Status.Reason)
	}
	images := ""
	for _, im := range b.Status.Images {
		ref := im.Ref
		if im.Digest != "" {
			ref += "@" + im.Digest
		}
		images += fmt.Sprintf("%s: %s\n", im.Service, ref)
	}
	if images != "" {
		i.Add("Images", images)
	}
	return i
}
