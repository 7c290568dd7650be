package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

// ReconcileEvery is how often a worker looks for promotions whose run ended
// without finishing. A repair starts within this of the run's end.
const ReconcileEvery = 15 * time.Second

// Actor is the reconciler's name on what it does.
const Actor = "slipway reconciler"

// Reconciler puts right what no workflow code can: a promotion whose run
// was terminated, reset, timed out or cut by the history limit stops
// between two steps, leaving its app updating and the deploy lock's records
// behind. For every app that says updating while the run named on its
// newest promotion is closed (or gone), it starts a repair: a promotion
// workflow, under the same deploy lock, that rolls the app back to the
// release before and closes the promotion's record with the reason.
// Every worker runs one; the deploy lock makes their repairs one.
type Reconciler struct {
	Store    *records.Store
	Temporal client.Client
	Logger   *slog.Logger
}

// Run reconciles at once and then every ReconcileEvery until ctx ends.
// Runs start ReconcileEvery apart, however long one takes, as a ticker's
// would.
func (r *Reconciler) Run(ctx context.Context) {
	wait.NonSlidingUntilWithContext(ctx, func(ctx context.Context) {
		if _, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("reconcile", "error", err)
		}
	}, ReconcileEvery)
}

// Once looks at every app once and returns the apps it started a repair for.
func (r *Reconciler) Once(ctx context.Context) ([]string, error) {
	apps, err := r.Store.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	var repaired []string
	var errs []error
	for _, app := range apps {
		if app.Status.Status != model.AppUpdating && app.Status.Status != model.AppRollback {
			continue
		}
		ok, err := r.reconcile(ctx, app.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", app.Name, err))
		}
		if ok {
			repaired = append(repaired, app.Name)
		}
	}
	return repaired, errors.Join(errs...)
}

func (r *Reconciler) reconcile(ctx context.Context, app string) (bool, error) {
	ps, err := r.Store.ListPromotions(ctx, app)
	if err != nil || len(ps) == 0 {
		return false, err
	}
	p := ps[0]
	why, err := r.ended(ctx, p)
	if err != nil || why == "" {
		return false, err
	}
	_, err = r.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        workflows.PromoteWorkflowID(app),
		TaskQueue: config.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchApp.ValueSet(app), workflows.SearchRelease.ValueSet(p.Spec.Release)),
		Memo:                                     map[string]any{"actor": Actor},
		StaticSummary:                            fmt.Sprintf("repair %s: promotion %s of %s %s", app, p.Spec.ID, p.Spec.Release, why),
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.Promote, workflows.PromoteInput{
		App: app, Promotion: p.Spec.ID, Actor: Actor,
		Repair: "its workflow run " + why + " before it finished; slipway rolled it back",
	})
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return false, nil // a promotion (or a repair) of the app runs: it ends with the records right
	}
	if err != nil {
		return false, err
	}
	r.Logger.Info("repairing a promotion whose run ended half way", "app", app, "promotion", p.Spec.ID, "run", p.Spec.RunID, "why", why)
	return true, nil
}

// ended says how a promotion's run ended ("was terminated", ...), or ""
// while it runs.
func (r *Reconciler) ended(ctx context.Context, p *records.Promotion) (string, error) {
	d, err := r.Temporal.DescribeWorkflowExecution(ctx, p.Spec.WorkflowID, p.Spec.RunID)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return "no longer exists in Temporal", nil
	}
	if err != nil {
		return "", err
	}
	st := d.GetWorkflowExecutionInfo().GetStatus()
	if st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return "", nil
	}
	return closedHow(st), nil
}

func closedHow(st enumspb.WorkflowExecutionStatus) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "was terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "was cancelled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued as new"
	}
	return "ended (" + strings.ToLower(strings.TrimPrefix(st.String(), "WorkflowExecutionStatus")) + ")"
}
