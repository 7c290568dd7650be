package apps

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

type ListOptions struct {
	*cmdutil.Factory
	Output string
}

func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "apps",
		Short:   "List apps",
		Example: "  slipway apps",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	s, err := opts.Store()
	if err != nil {
		return err
	}
	apps, err := s.ListApps(ctx)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, ListJSON(apps))
	}
	return AppsTable(apps).Print(opts.IO.Out)
}

// AppsTable is Convox's apps table.
func AppsTable(apps []*records.App) *cmdutil.Table {
	t := cmdutil.NewTable("APP", "STATUS", "RELEASE")
	for _, a := range apps {
		t.Add(a.Name, a.Status.Status, a.Status.Release)
	}
	return t
}
