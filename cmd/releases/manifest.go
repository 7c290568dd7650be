package releases

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type ManifestOptions struct {
	*cmdutil.Factory
	App string
	ID  string
}

func NewCmdManifest(f *cmdutil.Factory, runF func(context.Context, *ManifestOptions) error) *cobra.Command {
	opts := &ManifestOptions{Factory: f}
	cmd := &cobra.Command{
		Use:               "manifest ID",
		Short:             "Print a release's convox.yml as written",
		Example:           "  slipway releases manifest RABCDEFGHIJ -a myapp",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteReleases(&opts.App),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(cmd, opts, runF, manifestRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func manifestRun(ctx context.Context, opts *ManifestOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	r, err := s.GetRelease(ctx, a.Name, opts.ID)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if r.Spec.Manifest == "" {
		return fmt.Errorf("release %s has no manifest: it has no build yet", r.Spec.ID)
	}
	_, err = io.WriteString(opts.IO.Out, r.Spec.Manifest)
	return err
}
