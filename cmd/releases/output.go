package releases

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"gocloud.dev/gcerrors"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type OutputOptions struct {
	*cmdutil.Factory
	App string
	ID  string
}

func NewCmdOutput(f *cmdutil.Factory, runF func(context.Context, *OutputOptions) error) *cobra.Command {
	opts := &OutputOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "output ID",
		Short: "Print the output of a release's release commands, from its last promotion",
		Long: `Print the output of the release commands (a service's release: in
convox.yml) that the release's last promotion ran before applying it.`,
		Example:           "  slipway releases output RABCDEFGHIJ -a myapp",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteReleases(&opts.App),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(cmd, opts, runF, outputRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func outputRun(ctx context.Context, opts *OutputOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	r, err := s.GetRelease(ctx, a.Name, opts.ID)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	ps, err := s.ListPromotions(ctx, a.Name)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	bucket, err := opts.Blobs(ctx)
	if err != nil {
		return err
	}
	defer bucket.Close()
	// Newest first: the last promotion of the release that ran its
	// release commands.
	for _, p := range ps {
		if p.Spec.Release != r.Spec.ID {
			continue
		}
		rd, err := bucket.NewReader(ctx, blobs.ReleaseOutputKey(a.Name, p.Spec.ID), nil)
		if gcerrors.Code(err) == gcerrors.NotFound {
			continue
		}
		if err != nil {
			return fmt.Errorf("output of release %s: %w", r.Spec.ID, err)
		}
		defer rd.Close()
		_, err = io.Copy(opts.IO.Out, rd)
		return err
	}
	return fmt.Errorf("release %s has no release command output: it has no release command, or was never promoted (`slipway releases promote %s -a %s`)", r.Spec.ID, r.Spec.ID, a.Name)
}
