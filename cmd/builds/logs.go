package builds

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type LogsOptions struct {
	*cmdutil.Factory
	App string
	ID  string
}

func NewCmdLogs(f *cmdutil.Factory, runF func(context.Context, *LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:               "logs ID",
		Short:             "Print a build's log",
		Example:           "  slipway builds logs BABCDEFGHIJ -a myapp",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteBuilds(&opts.App),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(cmd, opts, runF, logsRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func logsRun(ctx context.Context, opts *LogsOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	b, err := s.GetBuild(ctx, a.Name, opts.ID)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if b.Status.Logs == "" {
		return fmt.Errorf("build %s has no log yet", b.Spec.ID)
	}
	bucket, err := opts.Blobs(ctx)
	if err != nil {
		return err
	}
	defer bucket.Close()
	r, err := bucket.NewReader(ctx, b.Status.Logs, nil)
	if err != nil {
		return fmt.Errorf("log of build %s: %w", b.Spec.ID, err)
	}
	defer r.Close()
	_, err = io.Copy(opts.IO.Out, r)
	return err
}
