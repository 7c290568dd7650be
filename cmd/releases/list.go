package releases

import (
	"context"
	"errors"
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
		Use:     "releases",
		Short:   "List the app's releases, newest first",
		Example: "  slipway releases -a myapp --limit 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Limit < 1 {
				return errors.New("--limit must be at least 1")
			}
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().IntVarP(&opts.Limit, "limit", "l", 10, "how many releases to list")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	rs, err := s.ListReleases(ctx, a, opts.Limit)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, ListJSON(rs, a.Status.Release))
	}
	return Table(rs, a.Status.Release, opts.Now()).Print(opts.IO.Out)
}

// Table is Convox's releases table; active is the app's active release.
func Table(rs []*records.Release, active string, now time.Time) *cmdutil.Table {
	t := cmdutil.NewTable("ID", "STATUS", "BUILD", "CREATED", "DESCRIPTION")
	for _, r := range rs {
		status := ""
		if r.Spec.ID == active {
			status = "active"
		}
		t.Add(r.Spec.ID, status, r.Spec.Build, cmdutil.Ago(r.CreationTimestamp.Time, now), r.Spec.Description)
	}
	return t
}
