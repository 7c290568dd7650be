package promotions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/runs"
	"github.com/slipway-dev/slipway/workflows"
)

// ControlOptions are those of pause, resume and cancel: one control sent
// to the app's promotion in flight.
type ControlOptions struct {
	*cmdutil.Factory
	App string
	// Control is the update (and signal) to send: workflows.SignalPause,
	// SignalResume or SignalRollback.
	Control string
	// Command is the command's path ("slipway promotions cancel"): the
	// promotion's reason says who sent a rollback and from where.
	Command string
}

// doing is what each control prints while it waits for the answer.
var doing = map[string]string{
	workflows.SignalPause:    "Pausing",
	workflows.SignalResume:   "Resuming",
	workflows.SignalRollback: "Cancelling",
	workflows.SignalContinue: "Approving",
}

// newCmdControl makes pause, resume and cancel. Each is an update that the
// promotion answers once its effect is real, or refuses with the reason.
func newCmdControl(f *cmdutil.Factory, runF func(context.Context, *ControlOptions) error, use, control, short string) *cobra.Command {
	opts := &ControlOptions{Factory: f, Control: control}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: fmt.Sprintf("  slipway promotions %s -a myapp", use),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Command = cmd.CommandPath()
			return cmdutil.Run(cmd, opts, runF, controlRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func controlRun(ctx context.Context, opts *ControlOptions) error {
	a, _, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	tc, err := opts.Temporal()
	if err != nil {
		return err
	}
	// Who is asking is a round trip to the API server: made while Temporal
	// is asked what is in flight, since a pause must take effect at once.
	actor := make(chan string, 1)
	go func() { actor <- opts.Actor(ctx) }()
	release, err := inFlight(ctx, tc, a.Name)
	if err != nil {
		return err
	}
	by := <-actor
	if opts.Control != workflows.SignalContinue {
		// Who approves is compared with who started: it is the identity
		// alone. Other controls say where they came from, for the record.
		by += " (" + opts.Command + ")"
	}
	verb := doing[opts.Control]
	if opts.Control == workflows.SignalContinue {
		verb = continuing(ctx, tc, a.Name)
	}
	return cmdutil.Step(opts.IO.Out, fmt.Sprintf("%s promotion of %s to %s", verb, a.Name, release), func() (string, error) {
		return send(ctx, tc, a.Name, opts.Control, by)
	})
}

// continuing is what continue says it does: continue a staged rollout's
// pause, or approve. The promotion is asked (a continue needs its answer
// anyway); one that does not say is being approved.
func continuing(ctx context.Context, tc client.Client, app string) string {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := tc.QueryWorkflow(qctx, workflows.PromoteWorkflowID(app), "", workflows.QueryState)
	var st workflows.PromotionState
	if err == nil && v.Get(&st) == nil && st.Step != "" {
		return "Continuing"
	}
	return doing[workflows.SignalContinue]
}

// inFlight returns the release the app's running promotion promotes, from
// its search attributes: no query, so no wait for a worker before the
// control is sent; ErrNotUpdating when none runs.
func inFlight(ctx context.Context, tc client.Client, app string) (string, error) {
	d, err := runs.Open(ctx, tc, workflows.PromoteWorkflowID(app))
	if err != nil {
		return "", err
	}
	if d == nil {
		return "", ErrNotUpdating
	}
	var release string
	if p := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[config.SearchRelease]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &release)
	}
	return release, nil
}

// answerTimeout bounds the wait for a promotion to answer a control. A
// pause sent while the release is being applied is answered once the
// Deployments exist and are paused.
const answerTimeout = 30 * time.Second

// send delivers one control and returns what to print after OK. A
// rollback must work even with no worker running: if none answers, it is
// sent as a signal, which Temporal keeps until a worker acts on it.
func send(ctx context.Context, c client.Client, app, control, by string) (string, error) {
	id := workflows.PromoteWorkflowID(app)
	uctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	h, err := c.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: control, Args: []any{by}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(uctx, nil)
	}
	var appErr *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &appErr):
		return "", errors.New(appErr.Message())
	case errors.As(err, &nf):
		return "", ErrNotUpdating
	case uctx.Err() != nil && ctx.Err() == nil && control == workflows.SignalRollback:
		if err := c.SignalWorkflow(ctx, id, "", control, by); err != nil {
			return "", err
		}
		return "requested: no worker answered; it rolls back as soon as one runs", nil
	case uctx.Err() != nil && ctx.Err() == nil:
		return "", fmt.Errorf("no answer within %s: is a worker running? `slipway dev status`", answerTimeout)
	}
	return "", err
}
