package builds

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

type ListOptions struct {
	*cmdutil.Factory
	App    string
	Limit  int
	Output string
}

func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "builds",
		Short:   "List the app's builds, newest first",
		Example: "  slipway builds -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().IntVarP(&opts.Limit, "limit", "l", 10, "how many builds to list")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	bs, err := s.ListBuilds(ctx, a.Name)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if opts.Limit > 0 && len(bs) > opts.Limit {
		bs = bs[:opts.Limit]
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, ListJSON(bs))
	}
	return Table(bs, opts.Now()).Print(opts.IO.Out)
}

// Table is Convox's builds table.
func Table(bs []*records.Build, now time.Time) *cmdutil.Table {
	t := cmdutil.NewTable("ID", "STATUS", "RELEASE", "STARTED", "ELAPSED", "DESCRIPTION")
	for _, b := range bs {
		t.Add(b.Spec.ID, b.Status.Status, b.Status.Release, cmdutil.Ago(started(b), now), elapsed(b), b.Spec.Description)
	}
	return t
}
