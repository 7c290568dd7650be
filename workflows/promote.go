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
	"github.com/slipway-dev/slipway/webhook"
)

// Controls an operator sends to a promotion. Each is both a signal (durable,
// accepted with no worker running, sendable from the Temporal UI) and an
// update of the same name (the CLI's: answered at once with the effect, or
// refused with the reason). The `state` query shows where the promotion is.
const (
	SignalPause    = "pause"
	SignalResume   = "resume"
	SignalRollback = "rollback"
	// SignalContinue opens the gate a promotion waits at: the approval of
	// a protected app's promotion, given by someone other than who
	// started it. Its argument is who continues.
	SignalContinue = "continue"
	QueryState     = "state"
)

// DefaultTimeout bounds a rollout when the caller gives none.
const DefaultTimeout = 10 * time.Minute

// compensationTimeout bounds watching the previous release come back.
const compensationTimeout = 5 * time.Minute

// versionNeverStuck marks runs whose every phase answers the deadline, the
// rollback controls and cancellation; older runs finish as they started
// (promote_v0.go).
const versionNeverStuck = "never-stuck"

// versionLocalPause marks runs that pause and resume with a local activity.
const versionLocalPause = "local-pause"

// versionFinishHolds marks runs whose final write, once the rollout has
// succeeded, is not interrupted by a late cancel.
const versionFinishHolds = "finish-holds"

// versionApproval marks runs that wait for approval when the app is
// protected.
const versionApproval = "approval"

// approvalTimeout bounds the wait for approval: a promotion nobody
// approves ends rejected instead of holding the app's deploy lock.
const approvalTimeout = 24 * time.Hour

// repairSeq numbers the events of a repair after those of the promotion it
// repairs, so that none of them is taken for one already written.
const repairSeq = 100

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
	// Timeout bounds the promotion up to the end of the rollout; time spent
	// paused does not count.
	Timeout time.Duration
	// Promotion is the promotion's ID; a new one when empty.
	Promotion string
	// Repair, with Promotion, puts right a promotion whose own run ended
	// before it finished (terminated, reset, timed out): it rolls the app
	// back to the release before it, as a failed rollout would have been.
	// Repair says why, for the record.
	Repair string
	// Actor is who asked: a person's Kubernetes identity or OS user, or
	// "slipway reconciler".
	Actor string
	// KeepPrevious, when positive, keeps the release before running beside
	// for this long once the promotion has ended active: a rollback to it
	// meanwhile only switches the Services (window.go).
	KeepPrevious time.Duration `json:",omitempty"`
}

type PromoteResult struct {
	Promotion, Release, From string
	Result                   string // model.ResultActive (errors carry the others)
	// Switched is when a rollback's traffic went to the kept pods of the
	// release it rolls back to (window.go); zero for any other.
	Switched time.Time `json:",omitzero"`
}

// PromotionState is what the `state` query returns. Per-service progress
// during the rollout is the WatchRollout activity's heartbeat (see
// DescribeWorkflowExecution), which costs no history; Services here is the
// last progress the workflow itself saw.
type PromotionState struct {
	Promotion, App, Release, From string
	Phase                         string
	Paused                        bool
	Services                      []records.ServiceProgress
	Result, Reason                string
	// Notice is the answer to the last control sent as a signal, which
	// cannot answer its sender: why it was refused, or "" when it took effect.
	Notice string
	// Gate is what the promotion waits for before it goes on ("" when it
	// waits for nothing), and GateUntil when it stops waiting; ContinuedBy
	// is who opened the last gate.
	Gate        string
	GateUntil   time.Time
	ContinuedBy string
	// Switched is when a rollback switched the traffic to the kept pods
	// of the release it rolls back to; KeptUntil is when the window this
	// promotion opened closes (window.go).
	Switched  time.Time `json:",omitzero"`
	KeptUntil time.Time `json:",omitzero"`
	// Step is the step of a staged rollout the promotion is at, as
	// "web 2/4 pause 1m0s" (steps.go); "" outside one.
	Step string `json:",omitempty"`
}

// Promote rolls a release out until it is active on every service, or
// completely rolled back to the release before it: never half way, never
// stuck. A failure of the rollout or of an API call that cannot succeed,
// the timeout, a `rollback` control or a cancel request, in any phase,
// re-applies the previous release and watches it back to healthy. It
// counts itself in the worker's metrics (metrics.go).
func Promote(ctx workflow.Context, in PromoteInput) (PromoteResult, error) {
	p := &promotion{in: in, st: PromotionState{App: in.App, Release: in.Release, Phase: model.PhasePending}}
	if in.Repair == "" {
		countStarted(ctx)
	}
	res, err := p.promote(ctx)
	countEnded(ctx, p.st.Result, err)
	return res, err
}

func (p *promotion) promote(ctx workflow.Context) (PromoteResult, error) {
	in := p.in
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
	if workflow.GetVersion(ctx, versionNeverStuck, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return p.runV0(ctx)
	}
	c, err := newControl(ctx, p)
	if err != nil {
		return PromoteResult{}, err
	}
	p.ctl = c
	if in.Repair != "" {
		return p.repair(ctx)
	}
	return p.run(ctx)
}

type promotion struct {
	in       PromoteInput
	st       PromotionState
	seq      int      // events written so far
	services []string // services of the release being promoted
	ctl      *control
	webhooks []string // events the app's webhooks are sent (notify.go)
	win      window   // the rollback window (window.go)
	staged   bool     // steps ran canaries, which the end deletes (steps.go)
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
	if p.st.Gate == GateApproval {
		b.WriteString(fmt.Sprintf("\n\nWaiting until %s for someone other than %s to approve: `slipway promotions continue -a %s`, or the `continue` signal with the approver's name as its input.",
			p.st.GateUntil.UTC().Format(time.RFC3339), p.in.Actor, p.st.App))
	}
	b.WriteString(p.stepDetails()) // steps.go
	if p.st.ContinuedBy != "" && p.st.Step == "" {
		b.WriteString("\n\nApproved by " + p.st.ContinuedBy)
	}
	if !p.st.Switched.IsZero() {
		b.WriteString("\n\nTraffic switched to the kept pods of " + p.in.RollbackTo + " at " + p.st.Switched.UTC().Format(time.RFC3339Nano))
	}
	if (p.st.Phase == model.PhaseRollingOut || p.st.Phase == model.PhasePaused) && p.st.Step == "" {
		b.WriteString("\n\nLive progress: the pending WatchRollout activity's heartbeat details.")
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
		p.st.Phase = model.PhaseCreating
		p.details(ctx)
		// The copy is short and touches no running object: let it finish,
		// then honour whatever arrived meanwhile.
		if err := p.ctl.finishing(ctx, p.copyRelease(ctx)); err != nil {
			return res, err
		}
		if why := p.ctl.stop; why != "" {
			return res, temporal.NewNonRetryableApplicationError(why+" before anything was applied", "Rejected", nil)
		}
	}
	info := workflow.GetInfo(ctx)
	var begin activities.BeginResult
	// Begin is a few short writes: it runs to its end even in a cancelled
	// run (a half-written record is worse than a second's wait), and what
	// arrived meanwhile is honoured right after.
	bctx, _ := workflow.NewDisconnectedContext(ctx)
	beginF := workflow.ExecuteActivity(recordOptions(bctx), a.BeginPromotion, activities.BeginInput{
		App: in.App, Release: in.Release, Promotion: in.Promotion,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Actor: in.Actor,
		Event: p.transition(model.AtomRunning, model.AtomPending),
	})
	if err := p.ctl.finishing(ctx, beginF); err != nil {
		return res, p.reject(ctx, reason(err))
	}
	_ = beginF.Get(ctx, &begin)
	p.st.From, res.From = begin.From, begin.From
	p.webhooks = webhooksOn(ctx, begin.Webhooks)
	p.windowVersion(ctx, begin.Window) // window.go
	p.notify(ctx, webhook.PromoteStarted, "")
	if why := p.ctl.stop; why != "" {
		return res, p.reject(ctx, why)
	}
	if begin.Protected && in.RollbackTo == "" &&
		workflow.GetVersion(ctx, versionApproval, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		if why := p.awaitApproval(ctx); why != "" {
			return res, p.reject(ctx, why)
		}
	}
	if ended, err := p.releasePhase(ctx, begin.ReleaseCommands); ended { // releasephase.go
		return res, err
	}
	if ended, err := p.useWindow(ctx); ended { // window.go
		return res, err
	}
	if ended, err := p.stagedRollout(ctx, begin.Steps); ended { // steps.go
		return res, err
	}
	p.st.Phase = model.PhaseRollingOut
	if p.st.Paused {
		p.st.Phase = model.PhasePaused
	}
	p.details(ctx)

	// Apply writes: when stopped it is cancelled and waited for, so that no
	// attempt writes the new release after the rollback began.
	actx, cancelApply := workflow.WithCancel(ctx)
	pausedAtApply := p.st.Paused
	rolloutBegan := workflow.Now(ctx)
	applyF := workflow.ExecuteActivity(applyOptions(actx), a.ApplyRelease, activities.ApplyInput{
		App: in.App, Release: in.Release, Promotion: in.Promotion,
		Phase: model.PhaseRollingOut, Step: p.applyStep(),
		ProgressDeadline: int32(in.Timeout / time.Second), Paused: pausedAtApply,
		Event:    p.transition(model.AtomPending, model.AtomUpdating),
		Switched: p.win.switched,
	})
	if why := p.ctl.wait(ctx, applyF); why != "" {
		cancelApply()
		_ = applyF.Get(ctx, nil)
		return res, p.compensate(ctx, why)
	}
	var applied activities.ApplyResult
	if err := applyF.Get(ctx, &applied); err != nil {
		if isType(err, activities.ErrInvalid) {
			// Rendering failed: nothing was applied, nothing to undo.
			return res, p.reject(ctx, reason(err))
		}
		return res, p.compensate(ctx, reason(err))
	}
	p.services = applied.Services
	if p.st.Paused != pausedAtApply {
		// Paused or resumed while applying: the Deployments exist now.
		if err := p.setPaused(ctx, p.st.Paused); err != nil {
			return res, p.compensate(ctx, "pause failed: "+reason(err))
		}
	}
	p.ctl.pending = false

	wctx, cancelWatch := workflow.WithCancel(ctx)
	watchF := workflow.ExecuteActivity(watchOptions(wctx), a.WatchRollout, activities.WatchInput{
		App: in.App, Release: in.Release, Promotion: in.Promotion, Services: p.services,
	})
	if why := p.ctl.wait(ctx, watchF); why != "" {
		// Watching writes nothing: no need to wait for it to stop.
		cancelWatch()
		return res, p.compensate(ctx, why)
	}
	var watched activities.WatchResult
	if err := watchF.Get(ctx, &watched); err != nil {
		p.st.Services = watched.Services
		return res, p.compensate(ctx, reason(err))
	}
	p.st.Services = watched.Services
	timeRollout(ctx, rolloutBegan)
	fctx := ctx
	if workflow.GetVersion(ctx, versionFinishHolds, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		// The new release is rolled out: marking it active runs to its end.
		// A cancel that arrives meanwhile would otherwise fail the wait
		// while the write may still land, and roll back a release the
		// records briefly called active.
		fctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	if err := p.switchBack(fctx); err != nil { // window.go
		return res, p.compensate(ctx, "switching traffic back from the kept pods: "+reason(err))
	}
	err := workflow.ExecuteActivity(recordOptions(fctx), a.FinishPromotion, activities.FinishInput{
		App: in.App, Promotion: in.Promotion, Release: in.Release, Services: p.services, From: p.st.From,
		Result: model.ResultActive, Progress: p.st.Services, Canaries: p.staged,
		Event: p.transition(model.AtomUpdating, model.AtomRunning),
	}).Get(fctx, nil)
	if err != nil {
		return res, p.compensate(ctx, reason(err))
	}
	p.st.Phase, p.st.Result = model.PhaseDone, model.ResultActive
	if ctx.Err() != nil {
		p.st.Notice = "cancel refused: " + in.Release + " had rolled out when it arrived, and stays active"
		if p.st.From != "" {
			p.st.Notice += "; to undo it, run `slipway releases rollback " + p.st.From + " -a " + in.App + "`"
		}
	}
	p.details(ctx)
	p.keepPrevious(ctx) // window.go
	p.notify(ctx, webhook.PromoteCompleted, "")
	res.Result, res.Switched = model.ResultActive, p.st.Switched
	return res, nil
}

// repair rolls back a promotion whose own run ended before it finished. It
// holds the app's deploy lock like any promotion, and writes on the
// promotion's record, so the record says how it ended and why.
func (p *promotion) repair(ctx workflow.Context) (PromoteResult, error) {
	p.seq = repairSeq
	var st activities.PromotionInfo
	err := workflow.ExecuteActivity(recordOptions(ctx), a.InspectPromotion, activities.InspectInput{
		App: p.in.App, Promotion: p.in.Promotion,
	}).Get(ctx, &st)
	if err != nil {
		return PromoteResult{}, err
	}
	p.st.Release, p.st.From = st.Release, st.From
	p.webhooks = webhooksOn(ctx, st.Webhooks)
	res := PromoteResult{Promotion: p.in.Promotion, Release: st.Release, From: st.From}
	return res, p.compensate(ctx, p.in.Repair)
}

// copyRelease makes the rollback's release: the target's build and env.
func (p *promotion) copyRelease(ctx workflow.Context) workflow.Future {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: ReleaseWorkflowID(p.in.App, p.in.Release),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchApp.ValueSet(p.in.App), SearchRelease.ValueSet(p.in.Release)),
		StaticSummary: "release " + p.in.Release + " of " + p.in.App + ": rollback to " + p.in.RollbackTo,
	})
	return workflow.ExecuteChildWorkflow(cctx, CreateRelease, activities.CreateReleaseInput{
		App: p.in.App, ReleaseID: p.in.Release,
		Change: activities.ReleaseChange{From: p.in.RollbackTo, Description: "rollback to " + p.in.RollbackTo, Actor: p.in.Actor},
	})
}

func (p *promotion) setPaused(ctx workflow.Context, paused bool) error {
	in := activities.PauseInput{App: p.in.App, Promotion: p.in.Promotion, Services: p.services, Paused: paused}
	var f workflow.Future
	// A local activity pauses within the workflow task that took the
	// request, instead of a round trip through the task queue: an
	// operator's pause takes effect (and answers) sooner.
	if workflow.GetVersion(ctx, versionLocalPause, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		f = workflow.ExecuteActivity(recordOptions(ctx), a.SetPaused, in)
	} else {
		f = workflow.ExecuteLocalActivity(localOptions(ctx), a.SetPaused, in)
	}
	if err := f.Get(ctx, nil); err != nil {
		return err
	}
	p.st.Paused = paused
	p.st.Phase = model.PhaseRollingOut
	if paused {
		p.st.Phase = model.PhasePaused
	}
	p.details(ctx)
	return nil
}

// reject ends a promotion that failed before anything was applied.
func (p *promotion) reject(ctx workflow.Context, why string) error {
	p.finish(ctx, activities.FinishInput{
		Release: p.st.From, Result: model.ResultRolledBack, Reason: why, KeepObjects: true,
		Event: p.transition(model.AtomPending, model.AtomRunning),
	})
	p.notify(ctx, webhook.PromoteRolledBack, why)
	return temporal.NewNonRetryableApplicationError(why, "Rejected", nil)
}

// compensate puts the previous release back (or removes everything for a
// first promotion) and watches it back to healthy. It runs on a
// disconnected context: even a cancelled run undoes what it did. Every step
// is bounded, so it ends, at worst with the app in status error.
func (p *promotion) compensate(ctx workflow.Context, why string) error {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	p.st.Phase, p.st.Reason, p.st.Paused = model.PhaseRollingBack, why, false
	p.details(ctx)
	var failed error
	var services []string
	if p.st.From != "" {
		var applied activities.ApplyResult
		failed = workflow.ExecuteActivity(applyOptions(ctx), a.ApplyRelease, activities.ApplyInput{
			App: p.in.App, Release: p.st.From, Promotion: p.in.Promotion,
			Phase: model.PhaseRollingBack, Step: "rolling back to " + p.st.From + ": " + why,
			ProgressDeadline: int32(compensationTimeout / time.Second), Prune: true,
			Event:    p.transition(model.AtomUpdating, model.AtomRollback),
			Switched: p.win.switched,
		}).Get(ctx, &applied)
		services = applied.Services
		if failed == nil {
			var res activities.WatchResult
			failed = workflow.ExecuteActivity(compensationWatchOptions(ctx), a.WatchRollout, activities.WatchInput{
				App: p.in.App, Release: p.st.From, Promotion: p.in.Promotion, Services: services,
			}).Get(ctx, &res)
			p.st.Services = res.Services
		}
		if failed == nil {
			// Back on a healthy release: its own pods take the traffic
			// again (window.go). Until then, the kept pods had it.
			failed = p.switchBack(ctx)
		}
	}
	if failed != nil {
		p.finish(ctx, activities.FinishInput{
			Release: p.st.From, Result: model.ResultFailed,
			Reason: fmt.Sprintf("rollback failed: %s (after: %s); promote a release to recover", reason(failed), why),
			Event:  p.transition(model.AtomRollback, model.AtomError),
		})
		p.notify(ctx, webhook.PromoteError, p.st.Reason)
		return temporal.NewNonRetryableApplicationError("rollback failed: "+reason(failed)+" (after: "+why+")", "RollbackFailed", nil)
	}
	done := activities.FinishInput{
		Release: p.st.From, Services: services, Result: model.ResultRolledBack, Reason: why,
	}
	if p.st.From == "" {
		// No re-apply wrote the Updating => Rollback event: the finish does.
		done.Before = p.transition(model.AtomUpdating, model.AtomRollback)
	}
	done.Event = p.transition(model.AtomRollback, model.AtomRunning)
	p.finish(ctx, done)
	p.notify(ctx, webhook.PromoteRolledBack, why)
	return temporal.NewNonRetryableApplicationError("rollback: "+why, "RolledBack", nil)
}

func (p *promotion) finish(ctx workflow.Context, in activities.FinishInput) {
	in.App, in.Promotion, in.From = p.in.App, p.in.Promotion, p.st.From
	in.Progress = p.st.Services
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	// A finish that still fails after its bounded retries leaves the records
	// behind the workflow: the worker's reconciler puts them right once the
	// run has closed, and the run's own result says what happened.
	_ = workflow.ExecuteActivity(recordOptions(ctx), a.FinishPromotion, in).Get(ctx, nil)
	p.st.Phase, p.st.Result, p.st.Reason = model.PhaseDone, in.Result, in.Reason
	p.details(ctx)
}
