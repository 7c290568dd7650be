package webhooks

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/webhook"
)

type AddOptions struct {
	*cmdutil.Factory
	App    string
	URL    string
	Events string
	Secret string
}

func NewCmdAdd(f *cmdutil.Factory, runF func(context.Context, *AddOptions) error) *cobra.Command {
	opts := &AddOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "add URL",
		Short: "Add a webhook: POST the app's events to URL",
		Long: `Add a webhook. The first one makes the app's signing secret, which is printed
once: keep it to verify each delivery's Slipway-Signature header. --secret
sets the app's secret instead (for every webhook of the app).`,
		Example: "  slipway webhooks add https://example.com/hooks/slipway -a myapp\n" +
			"  slipway webhooks add https://hooks.example.com/deploys --events promote:completed,promote:rolledback -a myapp",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.URL = args[0]
			return cmdutil.Run(cmd, opts, runF, addRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().StringVar(&opts.Events, "events", "", "comma-separated events to send (default: all): "+events(webhook.Events))
	cmd.Flags().StringVar(&opts.Secret, "secret", "", "the app's signing secret (default: the app's, else a new random one)")
	return cmd
}

// minSecret is the shortest signing secret taken.
const minSecret = 16

func addRun(ctx context.Context, opts *AddOptions) error {
	// Everything a person typed is checked before anything is read or
	// written.
	if err := webhook.CheckURL(opts.URL); err != nil {
		return err
	}
	evs, err := webhook.ParseEvents(opts.Events)
	if err != nil {
		return err
	}
	if opts.Secret != "" && len(opts.Secret) < minSecret {
		return fmt.Errorf("--secret is %d characters: give at least %d, or leave it out for a random one", len(opts.Secret), minSecret)
	}
	app, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	id, err := webhook.NewID()
	if err != nil {
		return err
	}
	fresh, err := webhook.NewSecret()
	if err != nil {
		return err
	}
	var made string // the secret this command made, to print once
	_, err = s.ChangeWebhooks(ctx, app.Name, func(c *webhook.Config) error {
		made = ""
		if h, ok := c.Find(opts.URL); ok {
			return &exists{app: app.Name, id: h.ID}
		}
		switch {
		case opts.Secret != "":
			c.Secret = opts.Secret
		case c.Secret == "":
			c.Secret, made = fresh, fresh
		}
		c.Hooks = append(c.Hooks, webhook.Hook{ID: id, URL: opts.URL, Events: evs})
		return nil
	})
	var ex *exists
	if errors.As(err, &ex) {
		return err
	}
	if err != nil {
		return cmdutil.KubeError(err)
	}
	fmt.Fprintf(opts.IO.Out, "Added webhook %s to %s (events: %s)\n", id, app.Name, events(evs))
	if made != "" {
		fmt.Fprintf(opts.IO.Out, "Signing secret of %s (shown once; every delivery's Slipway-Signature is its HMAC-SHA256):\n%s\n", app.Name, made)
	}
	return nil
}

type exists struct{ app, id string }

func (e *exists) Error() string {
	return fmt.Sprintf("app %s already has this URL as webhook %s: remove it first (`slipway webhooks remove %s -a %s`) to change its events", e.app, e.id, e.id, e.app)
}
