package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
)

// This file keeps the promotion as it ran before versionNeverStuck, so that
// runs started by an older worker replay and finish on a new one. New runs
// never come here. Delete it (and the histories recorded from it in
// testdata/) once no such run can still be open: promotions last at most
// their timeout plus the compensation, so one release after the change.

func (p *promotion) runV0(ctx workflow.Context) (PromoteResult, error) {
	in := p.in
	res := PromoteResult{Promotion: in.Promotion, Release: in.Release}
	if in.RollbackTo != "" {
		p.st.Phase = model.PhaseCreating
		p.details(ctx)
		if err := p.copyRelease(ctx).Get(ctx, nil); err != nil {
			return res, err
		}
	}
	info := workflow.GetInfo(ctx)
	var begin activities.BeginResult
	err := workflow.ExecuteActivity(recordOptions(ctx), a.BeginPromotion, activities.BeginInput{
		App: in.App, Release: in.Release, Promotion: in.Promotion,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Event: p.transition(model.AtomRunning, model.AtomPending),
	}).Get(ctx, &begin)
	if err != nil {
		return res, err
	}
	p.st.From, res.From = begin.From, begin.From
	p.st.Phase = model.PhaseRollingOut
	p.details(ctx)

	var applied activities.ApplyResult
	err = workflow.ExecuteActivity(applyOptions(ctx), a.ApplyRelease, activities.ApplyInput{
		App: in.App, Release: in.Release, Promotion: in.Promotion,
		Phase: model.PhaseRollingOut, Step: "applying " + in.Release,
		ProgressDeadline: int32(in.Timeout / time.Second),
		Event:            p.transition(model.AtomPending, model.AtomUpdating),
	}).Get(ctx, &applied)
	if err != nil {
		if isType(err, activities.ErrInvalid) {
			// Rendering failed: nothing was applied, nothing to undo.
			return res, p.reject(ctx, reason(err))
		}
		return res, p.compensate(ctx, reason(err))
	}
	p.services = applied.Services

	failure := p.watchV0(ctx)
	if failure != "" {
		return res, p.compensate(ctx, failure)
	}
	err = workflow.ExecuteActivity(recordOptions(ctx), a.FinishPromotion, activities.FinishInput{
		App: in.App, Promotion: in.Promotion, Release: in.Release, Services: p.services, From: p.st.From,
		Result: model.ResultActive, Progress: p.st.Services,
		Event: p.transition(model.AtomUpdating, model.AtomRunning),
	}).Get(ctx, nil)
	if err != nil {
		return res, p.compensate(ctx, reason(err))
	}
	p.st.Phase, p.st.Result = model.PhaseDone, model.ResultActive
	p.details(ctx)
	res.Result = model.ResultActive
	return res, nil
}

// watchV0 waits for the rollout while serving pause, resume and rollback.
// It returns "" once every service is rolled out, else why it failed.
// The timeout's clock stops while the promotion is paused.
func (p *promotion) watchV0(ctx workflow.Context) string {
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
