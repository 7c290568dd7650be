package webhooks

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type FailuresOptions struct {
	*cmdutil.Factory
	App string
}

func NewCmdFailures(f *cmdutil.Factory, runF func(context.Context, *FailuresOptions) error) *cobra.Command {
	opts := &FailuresOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "failures",
		Short: "List the deliveries that failed for good, with their last error (the newest 50)",
		Long: `List the deliveries that failed for good: each was retried with backoff for an
hour and never answered 2xx. ERROR is the last attempt's.`,
		Example: "  slipway webhooks failures -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, failuresRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func failuresRun(ctx context.Context, opts *FailuresOptions) error {
	app, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	list, err := s.WebhookFailures(ctx, app.Name)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	t := cmdutil.NewTable("WEBHOOK", "EVENT", "WHEN", "DELIVERY", "ERROR")
	for i := len(list) - 1; i >= 0; i-- { // newest first
		fl := list[i]
		t.Add(fl.Webhook, fl.Event, cmdutil.Ago(fl.Time, opts.Now()), fl.Delivery, fl.Error)
	}
	return t.Print(opts.IO.Out)
}
