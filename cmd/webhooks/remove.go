package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/webhook"
)

type RemoveOptions struct {
	*cmdutil.Factory
	App string
	Key string // an ID or a URL
}

func NewCmdRemove(f *cmdutil.Factory, runF func(context.Context, *RemoveOptions) error) *cobra.Command {
	opts := &RemoveOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "remove ID|URL",
		Short:   "Remove a webhook; events already being sent to it are dropped",
		Example: "  slipway webhooks remove WABCDEFGHIJ -a myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Key = args[0]
			return cmdutil.Run(cmd, opts, runF, removeRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

var errNoHook = errors.New("no such webhook")

func removeRun(ctx context.Context, opts *RemoveOptions) error {
	app, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	// Look first: removing what is not there writes nothing, not even an
	// empty Secret.
	c, err := s.GetWebhooks(ctx, app.Name)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	h, ok := c.Find(opts.Key)
	if !ok {
		return noSuchHook(app.Name, opts.Key)
	}
	_, err = s.ChangeWebhooks(ctx, app.Name, func(c *webhook.Config) error {
		n := len(c.Hooks)
		c.Hooks = slices.DeleteFunc(c.Hooks, func(o webhook.Hook) bool { return o.ID == h.ID })
		if len(c.Hooks) == n {
			return errNoHook
		}
		return nil
	})
	if errors.Is(err, errNoHook) {
		return noSuchHook(app.Name, opts.Key)
	}
	if err != nil {
		return cmdutil.KubeError(err)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "Removed webhook %s from %s\n", h.ID, app.Name)
	return err
}
