package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
)

// The rollback window (`--keep-previous`): once a promotion has ended
// active, the release before it keeps running beside, in kept Deployments
// no Service selects (render/previous.go), until a PreviousWindow child
// closes them. A rollback to that release inside the window switches the
// Services to the kept pods first, rolls the service's own Deployment back
// as any rollback does, and switches the Services back once it has
// converged. Any other promotion closes an open window before it applies
// anything.

// versionKeepPrevious marks runs that know of rollback windows. It is
// taken only by a promotion asked to keep the previous release or that
// finds a window open, so every other run records no marker.
const versionKeepPrevious = "keep-previous"

// windowRecheck is how often a window is looked at again while a
// promotion of the app runs at its end, and windowInUseLimit how long
// past its end it waits for promotions before it closes anyway.
const (
	windowRecheck    = 30 * time.Second
	windowInUseLimit = time.Hour
)

// WindowWorkflowID is the one workflow ID of the window a promotion opens.
func WindowWorkflowID(app, promotion string) string { return "keep-previous/" + app + "/" + promotion }

type WindowInput struct {
	App string
	// Promotion opened the window; Release is the release it keeps.
	Promotion, Release string
	// Until is when it closes.
	Until time.Time
}

type WindowResult struct {
	// Closed are the kept Deployments it deleted; none when a later
	// promotion had closed the window first.
	Closed []string
}

// PreviousWindow closes a rollback window when its time is up: it deletes
// the kept Deployments of the promotion that opened it, and only those.
// It runs apart from that promotion, which does not hold the app's deploy
// lock for the window. A promotion of the app that runs when the time is
// up found the window when it began, and closes it or uses it (a
// rollback to the kept release) and then closes it: it is waited for,
// for at most windowInUseLimit.
func PreviousWindow(ctx workflow.Context, in WindowInput) (WindowResult, error) {
	until := in.Until
	for {
		if d := until.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return WindowResult{}, err
			}
		}
		force := workflow.Now(ctx).Sub(in.Until) >= windowInUseLimit
		var res activities.CloseResult
		err := workflow.ExecuteActivity(closeOptions(ctx), a.CloseWindow, activities.CloseInput{
			App: in.App, Window: in.Promotion, Force: force,
		}).Get(ctx, &res)
		if err != nil {
			return WindowResult{}, err
		}
		if !res.InUse {
			return WindowResult{Closed: res.Closed}, nil
		}
		until = workflow.Now(ctx).Add(windowRecheck)
	}
}

// closeOptions suit closing a window: a few writes, retried for minutes
// (refusals too: they undo), as nothing waits for them but the window.
func closeOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			NonRetryableErrorTypes: []string{activities.ErrNotFound, activities.ErrInvalid},
		},
	})
}

// window is what a promotion knows of rollback windows.
type window struct {
	// on: the run took versionKeepPrevious.
	on bool
	// open is the app's window when the promotion began.
	open *activities.KeptWindow
	// switched are the services whose traffic is on their kept pods.
	switched []string
}

// windowVersion records whether this run acts on rollback windows: only
// a run asked to keep the previous release, or that found a window open,
// takes the version, so old histories and the promotions of every other
// app replay unchanged.
func (p *promotion) windowVersion(ctx workflow.Context, open *activities.KeptWindow) {
	if p.in.KeepPrevious <= 0 && open == nil {
		return
	}
	p.win.on = workflow.GetVersion(ctx, versionKeepPrevious, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	if p.win.on {
		p.win.open = open
	}
}

// useWindow runs before anything is applied. A rollback to the kept
// release, whose kept pods are all ready, switches the traffic to them;
// any other promotion (or a switch that did not happen) closes the window
// first, switching back whatever a Service selects of it. ended says the
// promotion ended here (rejected: the window could not be closed).
func (p *promotion) useWindow(ctx workflow.Context) (ended bool, err error) {
	open := p.win.open
	if open == nil {
		return false, nil
	}
	p.win.open = nil
	if p.in.RollbackTo != "" && p.in.RollbackTo == open.Release && open.Ready {
		var sw activities.SwitchResult
		f := workflow.ExecuteActivity(recordOptions(ctx), a.SwitchTraffic, activities.SwitchInput{
			App: p.in.App, Promotion: p.in.Promotion, Window: open.Promotion, Release: open.Release,
		})
		// One write per Service: it runs to its end, and what arrived
		// meanwhile is honoured by the apply's wait (which rolls back,
		// switching back too).
		if p.ctl.finishing(ctx, f) == nil && f.Get(ctx, &sw) == nil && len(sw.Services) > 0 {
			p.win.switched = sw.Services
			p.st.Switched = sw.At
			p.details(ctx)
			return false, nil
		}
		// Not switched (the pods went, or the switch failed): a normal
		// rollback, after the window is closed.
	}
	f := workflow.ExecuteActivity(recordOptions(ctx), a.CloseWindow, activities.CloseInput{
		App: p.in.App, Promotion: p.in.Promotion, Force: true,
	})
	if err := p.ctl.finishing(ctx, f); err != nil {
		return true, p.reject(ctx, "closing the rollback window of "+open.Release+": "+reason(err))
	}
	return false, nil
}

// switchBack, once the rollback using the kept pods has converged (or
// its own compensation has), points the Services back at the service's
// own pods and closes the window.
func (p *promotion) switchBack(ctx workflow.Context) error {
	if len(p.win.switched) == 0 {
		return nil
	}
	err := workflow.ExecuteActivity(recordOptions(ctx), a.CloseWindow, activities.CloseInput{
		App: p.in.App, Promotion: p.in.Promotion, Force: true,
	}).Get(ctx, nil)
	if err == nil {
		p.win.switched = nil
	}
	return err
}

// keepPrevious opens a window once the promotion has ended active, when
// it was asked to: the release before keeps running in kept Deployments
// until a PreviousWindow child, which outlives the promotion, closes
// them. A window that fails to open does not undo the promotion: the
// state's notice says why.
func (p *promotion) keepPrevious(ctx workflow.Context) {
	if !p.win.on || p.in.KeepPrevious <= 0 || p.st.From == "" {
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	until := workflow.Now(ctx).Add(p.in.KeepPrevious)
	var kept activities.KeepResult
	err := workflow.ExecuteActivity(applyOptions(ctx), a.KeepPrevious, activities.KeepInput{
		App: p.in.App, Promotion: p.in.Promotion, Release: p.st.From, Services: p.services, Until: until,
	}).Get(ctx, &kept)
	if err != nil {
		p.st.Notice = "the rollback window did not open: " + reason(err)
		p.details(ctx)
	} else if len(kept.Services) == 0 {
		return // nothing of the release takes traffic: no window
	}
	// Started even after a failure: it closes whatever was kept.
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            WindowWorkflowID(p.in.App, p.in.Promotion),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(SearchApp.ValueSet(p.in.App), SearchRelease.ValueSet(p.st.From)),
		StaticSummary:         "keep " + p.st.From + " of " + p.in.App + " until " + until.UTC().Format(time.RFC3339),
	})
	// Waited for until started, so that the start is not lost when the run
	// ends next; an error means it had started already.
	_ = workflow.ExecuteChildWorkflow(cctx, PreviousWindow, WindowInput{
		App: p.in.App, Promotion: p.in.Promotion, Release: p.st.From, Until: until,
	}).GetChildWorkflowExecution().Get(ctx, nil)
	p.st.KeptUntil = until
}
