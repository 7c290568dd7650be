package apps

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

type InfoOptions struct {
	*cmdutil.Factory
	App    string
	Output string
}

func NewCmdInfo(f *cmdutil.Factory, runF func(context.Context, *InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{Factory: f}
	cmd := &cobra.Command{
		Use:               "info [NAME]",
		Short:             "Show an app",
		Example:           "  slipway apps info myapp",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: f.CompleteAppArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.App = args[0]
			}
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
	a, _, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, JSON(a))
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
	if a.Spec.Protected {
		i.Add("Protected", "yes: promotions wait for another person's approval")
	}
	if len(a.Spec.Scale) > 0 {
		i.Add("Scale", ScaleLines(a.Spec.Scale))
	}
	return i
}

// ScaleLines is the scale set by hand, a line per service: "web: count=3
// cpu=500" (a field not set by hand is left out: the manifest's applies).
func ScaleLines(scale []records.ServiceScale) string {
	var b strings.Builder
	for _, sc := range scale {
		b.WriteString(sc.Service + ":")
		for _, f := range []struct {
			name string
			v    *int32
		}{{"count", sc.Count}, {"cpu", sc.CPU}, {"memory", sc.Memory}} {
			if f.v != nil {
				fmt.Fprintf(&b, " %s=%d", f.name, *f.v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
