package apps

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

type InfoOptions struct {
	*cmdutil.Factory
	App string
}

func NewCmdInfo(f *cmdutil.Factory, runF func(context.Context, *InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "info [NAME]",
		Short:   "Show an app",
		Example: "  slipway apps info myapp",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.App = args[0]
			}
			return cmdutil.Run(cmd, opts, runF, infoRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func infoRun(ctx context.Context, opts *InfoOptions) error {
	a, _, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	return AppInfo(a).Print(opts.IO.Out)
}

// AppInfo is the info block of `apps info`.
func AppInfo(a *records.App) *cmdutil.Info {
	i := cmdutil.NewInfo()
	i.Add("Name", a.Name)
	i.Add("Namespace", a.Namespace)
	i.Add("Status", a.Status.Status)
	i.Add("Release", a.Status.Release)
	if a.Status.Reason != "" {
		i.Add("Reason", a.Status.Reason)
	}
	return i
}
