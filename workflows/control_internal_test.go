package workflows

import (
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// On a real server a cancel request can settle the watched activity's
// future (as "canceled") before the control loop hears ctx.Done. The
// promotion must still say it was cancelled from Temporal, not "canceled".
func TestWaitNamesACancelThatSettledTheFutureFirst(t *testing.T) {
	var env testsuite.WorkflowTestSuite
	wenv := env.NewTestWorkflowEnvironment()
	wenv.ExecuteWorkflow(func(ctx workflow.Context) (string, error) {
		cctx, cancel := workflow.WithCancel(ctx)
		f, settle := workflow.NewFuture(ctx)
		workflow.Go(ctx, func(ctx workflow.Context) {
			// Both in one step, the future first: the order a server's
			// workflow task can deliver them in.
			settle.SetError(temporal.NewCanceledError())
			cancel()
		})
		c := &control{
			pauseCh:    workflow.GetSignalChannel(ctx, SignalPause),
			resumeCh:   workflow.GetSignalChannel(ctx, SignalResume),
			rollbackCh: workflow.GetSignalChannel(ctx, SignalRollback),
			continueCh: workflow.GetSignalChannel(ctx, SignalContinue),
			requests:   workflow.NewChannel(ctx),
		}
		return c.wait(cctx, f), nil
	})
	var why string
	if err := wenv.GetWorkflowResult(&why); err != nil {
		t.Fatal(err)
	}
	if why != stopCancelled {
		t.Errorf("wait returned %q, want %q", why, stopCancelled)
	}
}
