package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// Signals an operator sends to a promotion, from the CLI or the Temporal
// UI, and the query that shows its state.
const (
	SignalPause    = "pause"
	SignalResume   = "resume"
	SignalRollback = "rollback"
	QueryState     = "state"
)

// PhaseCreating is a rollback's first phase: copying the target release.
const PhaseCreating = "creating release"

// DefaultTimeout bounds a rollout when the caller gives none.
const DefaultTimeout = 10 * time.Minute

// compensationTimeout bounds watching the previous release come back.
const compensationTimeout = 5 * time.Minute

// PromoteWorkflowID is the one workflow ID of an app's promotions: starting
// a second one while one runs is refused, which is the app's deploy lock.
func PromoteWorkflowID(app string) string { return "promote/" + app }

type PromoteInput struct {
	App string
	// Release to promote. For a rollback it is the ID the copy will get.
	Release string
	// RollbackTo, when set, first copies this release's build and env into
	// Release ("rollback to RollbackTo") and then promotes the copy.
	RollbackTo string
	// Timeout bounds the rollout; time spent paused does not count.
	Timeout time.Duration
	// Promotion is the promotion's ID; a new one when empty.
	Promotion string
}

type PromoteResult struct {
	Promotion, Release, From string
	Result                   string // records.ResultActive (errors carry the others)
}

// PromotionState is what the `state` query returns.
type PromotionState struct {
	Promotion, App, Release, From string
	Phase                         string
	Paused                        bool
	Services                      []records.ServiceProgress
	Result, Reason                string
}

// Promote rolls a release out until it is active on every service, or
// completely rolled back to the release before it: never half way. A
// failure of the rollout, its timeout, or a `rollback` signal re-applies
// the previous release and watches it back to healthy.
func Promote(ctx workflow.Context, in PromoteInput) (PromoteResult, error) {
	p := &promotion{in: in, st: PromotionState{App: in.App, Release: in.Release, Phase: records.PhasePending}}
	if p.in.Timeout <= 0 {
		p.in.Timeout = DefaultTimeout
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (PromotionState, error) { return p.st, nil }); err != nil {
		return PromoteResult{}, err
	}
	if p.in.Promotion == "" {
		if err := workflow.SideEffect(ctx, func(workflow.Context) any { return model.NewPromotionID() }).Get(&p.in.Promotion); err != nil {
			return PromoteResult{}, err
		}
	}
	p.st.Promotion = p.in.Promotion
	return p.run(ctx)
}

type promotion struct {
	in       PromoteInput
	st       PromotionState
	seq      int      // events written so far
	services []string // services of the release being promoted
}

func (p *promotion) transition(from, to string) activities.Transition {
	p.seq++
	return activities.Transition{Seq: p.seq, From: from, To: to}
}

// details keeps the Temporal UI's current details in step with the state.
func (p *promotion) details(ctx workflow.Context) {
	var b strings.Builder
	from := p.st.From
	if from == "" {
		from = "(none)"
	}
	// Sprintf, not Fprintf: writing through an io.Writer is an interface
	// call that workflowcheck cannot prove deterministic.
	b.WriteString(fmt.Sprintf("**%s** %s → %s: %s", p.st.App, from, p.st.Release, p.st.Phase))
	if p.st.Paused {
		b.WriteString(" (paused)")
	}
	if p.st.Reason != "" {
		b.WriteString("\n\nReason: " + p.st.Reason)
	}
	if len(p.st.Services) > 0 {
		b.WriteString("\n\n| service | desired | updated | ready | available |\n|---|---|---|---|---|")
		for _, s := range p.st.Services {
			b.WriteString(fmt.Sprintf("\n| %s | %d | %d | %d | %d |", s.Name, s.Desired, s.Updated, s.Ready, s.Available))
		}
	}
	workflow.SetCurrentDetails(ctx, b.String())
}

func (p *promotion) run(ctx workflow.Context) (PromoteResult, error) {
	in := p.in
	res := PromoteResult{Promotion: in.Promotion, Release: in.Release}
	if in.RollbackTo != "" {
		p.st.Phase = PhaseCreating
		p.details(ctx)
		if err := p.copyRelease(ctx); err != nil {
			return res, err
		}
	}
	info := workflow.GetInfo(ctx)
	var begin activities.BeginResult
	err := workflow.ExecuteActivity(recordOptions(ctx), a.BeginPromotion, activities.BeginInput{
		App: in.App, Release: in.Release, Promotion: in.Promotion,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Event: p.transition(activities.AtomRunning, activities.AtomPending),
	}).Get(ctx, &begin)
	if err != nil {
		return res, err
	}
	p.st.From, res.From = begin.From, begin.From
	p.st.Phase = records.PhaseRollingOut
	p.details(ctx)

	var applied activities.ApplyResult
	err = workflow.ExecuteActivity(applyOptions(ctx), a.ApplyRelease, activities.ApplyInput{
		App: in.App, Release: in.Release, Promotion: in.Promotion,
		Phase: records.PhaseRollingOut, Step: "applying " + in.Release,
		ProgressDeadline: int32(in.Timeout / time.Second),
		Event:            p.transition(activities.AtomPending, activities.AtomUpdating),
	}).Get(ctx, &applied)
	if err != nil {
		if isType(err, activities.ErrInvalid) {
			// Rendering failed: nothing was applied, nothing to undo.
			return res, p.reject(ctx, reason(err))
		}
		return res, p.compensate(ctx, reason(err))
	}
	p.services = applied.Services

	failure := p.watch(ctx)
	if failure != "" {
		return res, p.compensate(ctx, failure)
	}
	err = workflow.ExecuteActivity(recordOptions(ctx), a.FinishPromotion, activities.FinishInput{
		App: in.App, Promotion: in.Promotion, Release: in.Release, Services: p.services, From: p.st.From,
		Result: records.ResultActive, Progress: p.st.Services,
		Event: p.transition(activities.AtomUpdating, activities.AtomRunning),
	}).Get(ctx, nil)
	if err != nil {
		return res, p.compensate(ctx, reason(err))
	}
	p.st.Phase, p.st.Result = records.PhaseDone, records.ResultActive
	p.details(ctx)
	res.Result = records.ResultActive
	return res, nil
}

// copyRelease makes the rollback's release: the target's build and env.
func (p *promotion) copyRelease(ctx workflow.Context) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: ReleaseWorkflowID(p.in.App, p.in.Release),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchApp.ValueSet(p.in.App), SearchRelease.ValueSet(p.in.Release)),
		StaticSummary: "release " + p.in.Release + " of " + p.in.App + ": rollback to " + p.in.RollbackTo,
	})
	return workflow.ExecuteChildWorkflow(cctx, CreateRelease, activities.CreateReleaseInput{
		App: p.in.App, ReleaseID: p.in.Release,
		Change: activities.ReleaseChange{From: p.in.RollbackTo, Description: "rollback to " + p.in.RollbackTo},
	}).Get(ctx, nil)
}

// watch waits for the rollout while serving pause, resume and rollback.
// It returns "" once every service is rolled out, else why it failed.
// The timeout's clock stops while the promotion is paused.
func (p *promotion) watch(ctx workflow.Context) string {
	in := p.in
	wctx, cancelWatch := workflow.WithCancel(ctx)
	defer cancelWatch()
	watchF := workflow.ExecuteActivity(watchOptions(wctx), a.WatchRollout, activities.WatchInput{
		App: in.App, Release: in.Release, Promotion: in.Promotion, Services: p.services,
	})
	pauseCh := workflow.GetSignalChannel(ctx, SignalPause)
	resumeCh := workflow.GetSignalChannel(ctx, SignalResume)
	rollbackCh := workflow.GetSignalChannel(ctx, SignalRollback)
	progressCh := workflow.GetSignalChannel(ctx, activities.SignalProgress)

	remaining := in.Timeout
	var timerF workflow.Future
	var cancelTimer workflow.CancelFunc
	var timerStart time.Time
	startTimer := func() {
		var tctx workflow.Context
		tctx, cancelTimer = workflow.WithCancel(ctx)
		timerF, timerStart = workflow.NewTimer(tctx, remaining), workflow.Now(ctx)
	}
	startTimer()
	defer func() { cancelTimer() }()

	failure, done := "", false
	for !done && failure == "" {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(watchF, func(f workflow.Future) {
			var res activities.WatchResult
			if err := f.Get(ctx, &res); err != nil {
				failure = reason(err)
				return
			}
			p.st.Services, done = res.Services, true
		})
		if timerF != nil {
			sel.AddFuture(timerF, func(f workflow.Future) {
				if f.Get(ctx, nil) == nil {
					failure = fmt.Sprintf("timeout: not rolled out within %s", in.Timeout)
				}
			})
		}
		sel.AddReceive(pauseCh, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			if p.st.Paused {
				return
			}
			if err := p.setPaused(ctx, true); err != nil {
				failure = "pause failed: " + reason(err)
				return
			}
			cancelTimer()
			remaining -= workflow.Now(ctx).Sub(timerStart)
			timerF = nil
		})
		sel.AddReceive(resumeCh, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			if !p.st.Paused {
				return
			}
			if err := p.setPaused(ctx, false); err != nil {
				failure = "resume failed: " + reason(err)
				return
			}
			startTimer()
		})
		sel.AddReceive(rollbackCh, func(c workflow.ReceiveChannel, _ bool) {
			var by string
			c.Receive(ctx, &by)
			failure = "rollback requested"
			if by != "" {
				failure += " by " + by
			}
		})
		sel.AddReceive(progressCh, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &p.st.Services)
			p.details(ctx)
		})
		sel.Select(ctx)
	}
	return failure
}

func (p *promotion) setPaused(ctx workflow.Context, paused bool) error {
	err := workflow.ExecuteActivity(recordOptions(ctx), a.SetPaused, activities.PauseInput{
		App: p.in.App, Promotion: p.in.Promotion, Services: p.services, Paused: paused,
	}).Get(ctx, nil)
	if err != nil {
		return err
	}
	p.st.Paused = paused
	p.st.Phase = records.PhaseRollingOut
	if paused {
		p.st.Phase = records.PhasePaused
	}
	p.details(ctx)
	return nil
}

// reject ends a promotion that failed before anything was applied.
func (p *promotion) reject(ctx workflow.Context, why string) error {
	p.finish(ctx, activities.FinishInput{
		Release: p.st.From, Result: records.ResultRolledBack, Reason: why, KeepObjects: true,
		Event: p.transition(activities.AtomPending, activities.AtomRunning),
	})
	return temporal.NewNonRetryableApplicationError(why, "Rejected", nil)
}

// compensate puts the previous release back (or removes everything for a
// first promotion) and watches it back to healthy. It runs on a
// disconnected context: even a cancelled run undoes what it did.
func (p *promotion) compensate(ctx workflow.Context, why string) error {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	p.st.Phase, p.st.Reason, p.st.Paused = records.PhaseRollingBack, why, false
	p.details(ctx)
	var failed error
	var services []string
	if p.st.From != "" {
		var applied activities.ApplyResult
		failed = workflow.ExecuteActivity(applyOptions(ctx), a.ApplyRelease, activities.ApplyInput{
			App: p.in.App, Release: p.st.From, Promotion: p.in.Promotion,
			Phase: records.PhaseRollingBack, Step: "rolling back to " + p.st.From + ": " + why,
			ProgressDeadline: int32(compensationTimeout / time.Second), Prune: true,
			Event: p.transition(activities.AtomUpdating, activities.AtomRollback),
		}).Get(ctx, &applied)
		services = applied.Services
		if failed == nil {
			// Only the timeouts differ from watchOptions: WithActivityOptions
			// would replace its retry policy with the server's default.
			wctx := workflow.WithHeartbeatTimeout(
				workflow.WithStartToCloseTimeout(watchOptions(ctx), compensationTimeout), 10*time.Second)
			// A previous release that cannot come back in a few attempts
			// will not: say so (the app shows "error") instead of retrying
			// for ever.
			wctx = workflow.WithRetryPolicy(wctx, temporal.RetryPolicy{
				InitialInterval: 200 * time.Millisecond, MaximumInterval: 5 * time.Second, MaximumAttempts: 5,
				NonRetryableErrorTypes: []string{activities.ErrNotFound, activities.ErrInvalid, activities.ErrRolloutFailed},
			})
			var res activities.WatchResult
			failed = workflow.ExecuteActivity(wctx, a.WatchRollout, activities.WatchInput{
				App: p.in.App, Release: p.st.From, Promotion: p.in.Promotion, Services: services,
			}).Get(ctx, &res)
			p.st.Services = res.Services
		}
	}
	if failed != nil {
		p.finish(ctx, activities.FinishInput{
			Release: p.st.From, Result: records.ResultFailed,
			Reason: fmt.Sprintf("rollback failed: %s (after: %s); promote a release to recover", reason(failed), why),
			Event:  p.transition(activities.AtomRollback, activities.AtomError),
		})
		return temporal.NewNonRetryableApplicationError("rollback failed: "+reason(failed)+" (after: "+why+")", "RollbackFailed", nil)
	}
	done := activities.FinishInput{
		Release: p.st.From, Services: services, Result: records.ResultRolledBack, Reason: why,
	}
	if p.st.From == "" {
		// No re-apply wrote the Updating => Rollback event: the finish does.
		done.Before = p.transition(activities.AtomUpdating, activities.AtomRollback)
	}
	done.Event = p.transition(activities.AtomRollback, activities.AtomRunning)
	p.finish(ctx, done)
	return temporal.NewNonRetryableApplicationError("rollback: "+why, "RolledBack", nil)
}

func (p *promotion) finish(ctx workflow.Context, in activities.FinishInput) {
	in.App, in.Promotion, in.From = p.in.App, p.in.Promotion, p.st.From
	in.Progress = p.st.Services
	// A failed finish is retried by its policy; if it still fails the
	// records lag, but the workflow's own result says what happened.
	_ = workflow.ExecuteActivity(recordOptions(ctx), a.FinishPromotion, in).Get(ctx, nil)
	p.st.Phase, p.st.Result, p.st.Reason = records.PhaseDone, in.Result, in.Reason
	p.details(ctx)
}
