package apps

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/workflows"
)

type ProtectOptions struct {
	*cmdutil.Factory
	App       string
	Protected bool
}

// NewCmdProtect is `apps protect` (protected true) or `apps unprotect`.
func NewCmdProtect(f *cmdutil.Factory, runF func(context.Context, *ProtectOptions) error, protected bool) *cobra.Command {
	opts := &ProtectOptions{Factory: f, Protected: protected}
	cmd := &cobra.Command{
		Use:   "protect",
		Short: "Make every promotion of an app wait for another person's approval",
		Long: `Make every promotion of an app wait for another person's approval.

A promotion of a protected app begins, then waits before anything is
applied until someone other than who started it runs ` + "`slipway promotions continue`" + `
(or sends the promotion the continue signal from the Temporal UI, with
their name as its input). A promotion nobody approves within 24 hours
ends rejected. A rollback (` + "`slipway releases rollback`" + `, and every automatic
one) never waits: it returns to a release that was approved before.`,
		Example: "  slipway apps protect -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, protectRun)
		},
	}
	if !protected {
		cmd.Use, cmd.Short, cmd.Long = "unprotect", "Let an app's promotions go on without approval", ""
		cmd.Example = "  slipway apps unprotect -a myapp"
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func protectRun(ctx context.Context, opts *ProtectOptions) error {
	a, _, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	verb, what := "Protecting", "protect"
	if !opts.Protected {
		verb, what = "Unprotecting", "unprotect"
	}
	return cmdutil.Step(opts.IO.Out, verb+" "+a.Name, func() (string, error) {
		var res workflows.ProtectResult
		return "", opts.RunWorkflow(ctx, cmdutil.RunOptions{
			ID: workflows.AppWorkflowID("protect", a.Name), App: a.Name,
			Summary: fmt.Sprintf("%s app %s", what, a.Name),
		}, workflows.ProtectApp, workflows.ProtectInput{App: a.Name, Protected: opts.Protected}, &res)
	})
}
