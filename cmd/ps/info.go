package ps

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type InfoOptions struct {
	*cmdutil.Factory
	App string
	ID  string
}

func NewCmdInfo(f *cmdutil.Factory, runF func(context.Context, *InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "info ID",
		Short:   "Show a process",
		Example: "  slipway ps info web-7d9f8c6b5-abc12",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(cmd, opts, runF, infoRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func infoRun(ctx context.Context, opts *InfoOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	p, err := Find(ctx, s, a, opts.ID)
	if err != nil {
		return err
	}
	return ProcessInfo(FromPod(p), opts.Now()).Print(opts.IO.Out)
}

// ProcessInfo is Convox's `ps info` block.
func ProcessInfo(p Process, now time.Time) *cmdutil.Info {
	i := cmdutil.NewInfo()
	i.Add("Id", p.ID)
	i.Add("App", p.App)
	i.Add("Command", p.Command)
	i.Add("Instance", p.Instance)
	i.Add("Release", p.Release)
	i.Add("Service", p.Service)
	i.Add("Started", cmdutil.Ago(p.Started, now))
	i.Add("Status", p.Status)
	return i
}
