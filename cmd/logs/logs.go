// Package logs is `slipway logs`: the app's processes' logs, interleaved,
// each line prefixed with its time and process as Convox prints them,
// following new processes as a rollout starts them.
package logs

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type LogsOptions struct {
	*cmdutil.Factory
	App      string
	Service  string
	Since    time.Duration
	NoFollow bool
	Filter   string
	// Stream opens one container's log; nil is the API server's (tests
	// give their own: client-go's fake clientset has no logs).
	Stream Stream
}

func NewCmdLogs(f *cmdutil.Factory, runF func(context.Context, *LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the app's logs, following new processes",
		Long: `Show the logs of the app's processes, interleaved, each line as
TIME service/SERVICE:RELEASE/PROCESS MESSAGE. It follows them, and the
processes a rollout starts, until Ctrl-C; --no-follow prints what there is
and ends.`,
		Example: "  slipway logs -a myapp\n  slipway logs --service web --since 1h --no-follow\n  slipway logs --filter ERROR",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Since < 0 {
				return fmt.Errorf("--since %s: give a positive duration, such as 10m or 2h", opts.Since)
			}
			return cmdutil.Run(cmd, opts, runF, logsRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().StringVar(&opts.Service, "service", "", "only this service's processes")
	cmd.Flags().DurationVar(&opts.Since, "since", 10*time.Minute, "show lines this recent (0: all)")
	cmd.Flags().BoolVar(&opts.NoFollow, "no-follow", false, "print the lines there are and end")
	cmd.Flags().StringVar(&opts.Filter, "filter", "", "only lines containing this text")
	return cmd
}

func logsRun(ctx context.Context, opts *LogsOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	stream := opts.Stream
	if stream == nil {
		stream = PodLogs(s.Core)
	}
	t := &tail{
		core: s.Core, ns: s.Namespace(a.Name), app: a.Name, service: opts.Service, filter: opts.Filter,
		follow: !opts.NoFollow, stream: stream, out: opts.IO.Out, errOut: opts.IO.ErrOut,
	}
	if opts.Since > 0 {
		t.since = new(int64(opts.Since.Seconds()))
	}
	if opts.NoFollow {
		return t.once(ctx)
	}
	return t.run(ctx)
}
