package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/webhook"
)

// versionReleasePhase marks runs that run the release's release commands
// between BeginPromotion and ApplyRelease. Runs of releases without one
// record no marker.
const versionReleasePhase = "release-phase"

// releasePhase runs the release commands of the services in commands
// (none: nothing happens, not even an activity) before anything of the
// release is applied. It returns ended=true with the run's error when the
// promotion ends here: a command failed (result rejected), or a rollback,
// a cancel or the timeout came first (the phase is cancelled, its pod
// deleted, and the promotion ends as a rejected one does, rolled back with
// nothing applied).
//
// A rollback to an earlier release (RollbackTo) does not run it: a
// rollback is the way out of an emergency and must not depend on a
// command that may fail. Compensation and repair never reach this code.
// Promoting an older release with `releases promote` does run it.
func (p *promotion) releasePhase(ctx workflow.Context, commands []string) (ended bool, err error) {
	if len(commands) == 0 || p.in.RollbackTo != "" {
		return false, nil
	}
	if workflow.GetVersion(ctx, versionReleasePhase, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false, nil
	}
	p.st.Phase = model.PhaseRelease
	p.details(ctx)
	rctx, cancel := workflow.WithCancel(ctx)
	f := workflow.ExecuteActivity(phaseOptions(rctx, p.in.Timeout, activities.ErrReleaseFailed), a.RunReleasePhase, activities.ReleasePhaseInput{
		App: p.in.App, Release: p.in.Release, Promotion: p.in.Promotion, Deadline: p.in.Timeout,
	})
	if why := p.ctl.wait(ctx, f); why != "" {
		// Waited for: the command's pod is gone before the promotion ends.
		cancel()
		_ = f.Get(ctx, nil)
		return true, p.reject(ctx, why+" during the release phase")
	}
	if err := f.Get(ctx, nil); err != nil {
		why := "release phase: " + reason(err)
		p.finish(ctx, activities.FinishInput{
			Release: p.st.From, Result: model.ResultRejected, Reason: why, KeepObjects: true,
			Event: p.transition(model.AtomPending, model.AtomRunning),
		})
		// Nothing was applied: the app stays on its release, which is
		// what promote:rolledback tells a receiver.
		p.notify(ctx, webhook.PromoteRolledBack, why)
		return true, temporal.NewNonRetryableApplicationError(why, "Rejected", nil)
	}
	return false, nil
}
