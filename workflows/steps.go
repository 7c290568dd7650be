package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
)

// versionStagedRollout marks runs that run the release's deployment steps
// between the release phase and the apply. Runs of releases without steps
// record no marker.
const versionStagedRollout = "staged-rollout"

// The gates of a staged rollout's pauses. Anyone may continue either one,
// who started the promotion included: a pause is the manifest author's
// moment to look, not a second person's approval.
const (
	// GatePause is a timed pause: it opens by itself at GateUntil, or
	// earlier when continued.
	GatePause = "pause"
	// GateManual waits until someone continues the promotion (until
	// GateUntil at most: then it rolls back).
	GateManual = "manual pause"
)

// manualPauseTimeout bounds a manual pause, as approvalTimeout bounds
// approval: a promotion nobody continues rolls back instead of holding
// the app's deploy lock.
const manualPauseTimeout = 24 * time.Hour

// continuedFromUI is who continued a pause with a `continue` signal that
// named nobody (the Temporal UI's, usually).
const continuedFromUI = "Temporal UI"

// stagedRollout runs the steps of each staged service (deployment.steps),
// service after service in the manifest's order, after the release phase
// and before the release is applied; services without steps roll as
// before, in that apply. It returns ended=true with the run's error when
// the promotion ends here: a step failed, or a rollback, a cancel or the
// timeout came first. Either way the promotion compensates as a failed
// rolling update does: the previous release is applied again, which gives
// every service its count back and deletes the canaries.
//
// Nothing is staged on a first promotion (no release runs beside which to
// stage) or a rollback command (the way out of an emergency does not wait).
// The promotion's timeout does not run during pauses: the manifest's
// author chose them, and the timeout bounds the rollout.
func (p *promotion) stagedRollout(ctx workflow.Context, staged []activities.StagedService) (ended bool, err error) {
	if len(staged) == 0 || p.in.RollbackTo != "" || p.st.From == "" {
		return false, nil
	}
	if workflow.GetVersion(ctx, versionStagedRollout, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false, nil
	}
	p.staged = true
	approvedBy := p.st.ContinuedBy
	p.st.Phase, p.st.ContinuedBy = model.PhaseRollingOut, ""
	for _, s := range staged {
		for i, step := range s.Steps {
			p.st.Step = fmt.Sprintf("%s %d/%d %s", s.Service, i+1, len(s.Steps), step)
			p.details(ctx)
			var why string
			switch {
			case step.Replicas > 0:
				why = p.stepCanary(ctx, s, step)
			case step.Check != nil:
				why = p.stepCheck(ctx, s, *step.Check)
			default:
				why = p.stepPause(ctx, step)
			}
			if why != "" {
				p.st.Step = ""
				return true, p.compensate(ctx, why)
			}
		}
	}
	p.st.Step, p.st.ContinuedBy = "", approvedBy
	return false, nil
}

// stepCanary runs step.Replicas percent of s on the new release, and
// returns "" once the canary is ready, or why the promotion must roll back.
func (p *promotion) stepCanary(ctx workflow.Context, s activities.StagedService, step model.Step) string {
	cctx, cancel := workflow.WithCancel(ctx)
	f := workflow.ExecuteActivity(phaseOptions(cctx, p.in.Timeout), a.StageCanary, activities.CanaryInput{
		App: p.in.App, Release: p.in.Release, Promotion: p.in.Promotion, Service: s.Service,
		Percent: step.Replicas, Step: p.st.Step, ProgressDeadline: int32(p.in.Timeout / time.Second),
	})
	if why := p.ctl.wait(ctx, f); why != "" {
		// Waited for, as an apply is: nothing of the canary is written
		// after the rollback began.
		cancel()
		_ = f.Get(ctx, nil)
		return why + " at step " + p.st.Step
	}
	if err := f.Get(ctx, nil); err != nil {
		return "step " + p.st.Step + ": " + reason(err)
	}
	return ""
}

// stepCheck runs a check step: "" when it passed.
func (p *promotion) stepCheck(ctx workflow.Context, s activities.StagedService, c model.Check) string {
	cctx, cancel := workflow.WithCancel(ctx)
	f := workflow.ExecuteActivity(checkOptions(cctx, c.For), a.CheckService, activities.CheckInput{
		App: p.in.App, Promotion: p.in.Promotion, Service: s.Service, Port: s.Port, Scheme: s.Scheme,
		Check: c, Step: p.st.Step,
	})
	if why := p.ctl.wait(ctx, f); why != "" {
		cancel() // a GET writes nothing: no need to wait
		return why + " at step " + p.st.Step
	}
	if err := f.Get(ctx, nil); err != nil {
		return "step " + p.st.Step + ": " + reason(err)
	}
	return ""
}

// stepPause waits at a pause's gate until it opens (its time is up, or
// someone continues the promotion) and returns "", or why the promotion
// must roll back. The controls are served meanwhile; the promotion's own
// timeout is stopped.
func (p *promotion) stepPause(ctx workflow.Context, step model.Step) string {
	c := p.ctl
	c.stopClock(ctx)
	gate, wait := GatePause, step.Pause
	if step.Manual {
		gate, wait = GateManual, manualPauseTimeout
	}
	tctx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimer(tctx, wait)
	p.st.Gate, p.st.GateUntil = gate, workflow.Now(ctx).Add(wait)
	p.details(ctx)
	c.serve(ctx, timer, func() bool { return c.stop != "" || p.st.Gate == "" || timer.IsReady() })
	continued := p.st.Gate == ""
	p.st.Gate, p.st.GateUntil = "", time.Time{}
	if c.stop == "" && step.Manual && !continued {
		c.stop = fmt.Sprintf("not continued within %.0f hours", manualPauseTimeout.Hours())
	}
	if c.stop != "" {
		return c.stop + " at step " + p.st.Step
	}
	msg := p.st.Step + ": done"
	if continued {
		if p.st.ContinuedBy == "" {
			p.st.ContinuedBy = continuedFromUI
		}
		msg = p.st.Step + ": continued by " + p.st.ContinuedBy
	}
	p.details(ctx)
	c.startClock(ctx)
	// The record says who continued; what arrives meanwhile is honoured
	// by the next step's wait.
	f := workflow.ExecuteActivity(recordOptions(ctx), a.RecordStep, activities.StepInput{
		App: p.in.App, Promotion: p.in.Promotion, Message: msg,
	})
	_ = c.finishing(ctx, f)
	if c.stop != "" {
		return c.stop + " at step " + p.st.Step
	}
	return ""
}

// stepDetails is the step in the Temporal UI's current details: which,
// until when, and who continued the last pause.
func (p *promotion) stepDetails() string {
	if p.st.Step == "" {
		return ""
	}
	out := "\n\nStep " + p.st.Step
	switch p.st.Gate {
	case GatePause:
		out += fmt.Sprintf(": until %s, or `slipway promotions continue -a %s` (the `continue` signal) ends it now.",
			p.st.GateUntil.UTC().Format(time.RFC3339), p.st.App)
	case GateManual:
		out += fmt.Sprintf(": waiting until someone runs `slipway promotions continue -a %s`, or sends the `continue` signal (rolled back at %s).",
			p.st.App, p.st.GateUntil.UTC().Format(time.RFC3339))
	}
	if p.st.ContinuedBy != "" {
		out += "\n\nLast pause continued by " + p.st.ContinuedBy
	}
	return out
}

// checkOptions suit a check step: it lasts its duration, heartbeats, and
// an answer it did not expect is final.
func checkOptions(ctx workflow.Context, d time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    d + time.Minute,
		ScheduleToCloseTimeout: d + 2*time.Minute,
		HeartbeatTimeout:       heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: append([]string{activities.ErrCheckFailed}, permanentErrors...),
		},
	})
}
