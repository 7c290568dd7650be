// Package webhooks is `slipway webhooks`: the URLs an app's promotions and
// builds are posted to.
package webhooks

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/webhook"
)

// NewCmdWebhooks is `slipway webhooks`, which lists, and its subcommands.
func NewCmdWebhooks(f *cmdutil.Factory) *cobra.Command {
	cmd := NewCmdList(f, nil)
	cmd.AddCommand(
		NewCmdAdd(f, nil),
		NewCmdRemove(f, nil),
		NewCmdFailures(f, nil),
	)
	return cmd
}

type ListOptions struct {
	*cmdutil.Factory
	App string
}

func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "List the app's webhooks (URLs shown without their path, where tokens go)",
		Long: `List the app's webhooks. Each is POSTed a signed JSON body for the events it
subscribes to; FAILED counts its deliveries that failed for good (see
` + "`slipway webhooks failures`" + `). The signing secret is never shown again
after ` + "`webhooks add`" + ` printed it.`,
		Example: "  slipway webhooks -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	app, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	c, err := s.GetWebhooks(ctx, app.Name)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	failures, err := s.WebhookFailures(ctx, app.Name)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	failed := map[string]int{}
	for _, fl := range failures {
		failed[fl.Webhook]++
	}
	t := cmdutil.NewTable("ID", "URL", "EVENTS", "FAILED")
	for _, h := range c.Hooks {
		t.Add(h.ID, webhook.Redact(h.URL), events(h.Events), strconv.Itoa(failed[h.ID]))
	}
	return t.Print(opts.IO.Out)
}

func events(es []string) string {
	if len(es) == 0 {
		return "all"
	}
	return strings.Join(es, ",")
}

// noSuchHook says what to do about a webhook the app does not have.
func noSuchHook(app, key string) error {
	return fmt.Errorf("app %s has no webhook %s: see `slipway webhooks -a %s` for their IDs", app, key, app)
}
