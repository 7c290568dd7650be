package workflows_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/webhook"
	"github.com/slipway-dev/slipway/workflows"
)

// releasePhase makes BeginPromotion report release commands for services,
// and RunReleasePhase take after (test clock) and return err. It is set
// up before the fake's own mocks, which it overrides.
func releasePhase(env *testsuite.TestWorkflowEnvironment, f *fake, services []string, after time.Duration, err error) *atomic.Bool {
	env.OnActivity(acts.BeginPromotion, mock.Anything, mock.Anything).Return(activities.BeginResult{From: f.from, ReleaseCommands: services}, nil)
	cancelled := &atomic.Bool{}
	env.OnActivity(acts.RunReleasePhase, mock.Anything, mock.Anything).After(after).Return(
		func(ctx context.Context, in activities.ReleasePhaseInput) (activities.ReleasePhaseResult, error) {
			if ctx.Err() != nil {
				cancelled.Store(true)
				return activities.ReleasePhaseResult{}, ctx.Err()
			}
			return activities.ReleasePhaseResult{Services: services, Output: "out"}, err
		})
	return cancelled
}

func goodFake() *fake {
	return &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		watch: map[string]watchPlan{
			rNew: {after: 2 * time.Second, progress: newProgress},
			rOld: {after: time.Second, progress: oldProgress},
		},
	}
}

// A release phase that passes comes between Begin and Apply, and the
// promotion goes on as any other.
func TestReleasePhasePasses(t *testing.T) {
	env, rec := newEnv(t)
	f := goodFake()
	releasePhase(env, f, []string{"web"}, 3*time.Second, nil)
	var during workflows.PromotionState
	queryAt(t, env, 2*time.Second, &during)
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: 5 * time.Minute})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, rec, "BeginPromotion", "RunReleasePhase", "ApplyRelease", "WatchRollout", "FinishPromotion")
	in := only[activities.ReleasePhaseInput](rec, "RunReleasePhase")
	wantEqual(t, "phase input", in, activities.ReleasePhaseInput{App: app, Release: rNew, Promotion: promoID, Deadline: 5 * time.Minute})
	if during.Phase != model.PhaseRelease {
		t.Errorf("phase during the release commands %q, want %q", during.Phase, model.PhaseRelease)
	}
	if c := rec.callsOf("RunReleasePhase")[0].Info; c.HeartbeatTimeout == 0 || c.HeartbeatTimeout > 2*time.Second {
		t.Errorf("heartbeat timeout %s: a rollback would not stop the command within seconds", c.HeartbeatTimeout)
	}
}

// A failed release command rejects the promotion: nothing is applied, the
// app stays on its release, and the records say why.
func TestReleasePhaseFailsRejects(t *testing.T) {
	env, rec := newEnv(t)
	f := goodFake()
	why := "the release command of web failed: exit code 3; its last lines:\nmigrating\nboom"
	releasePhase(env, f, []string{"web"}, time.Second, permanent(why, activities.ErrReleaseFailed))
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})
	wantFailure(t, env, "Rejected", "release phase: "+why)
	wantNames(t, rec, "BeginPromotion", "RunReleasePhase", "FinishPromotion")
	if n := len(rec.callsOf("RunReleasePhase")); n != 1 {
		t.Errorf("the release phase ran %d times: a failed command is not run again", n)
	}
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	if fin.Result != model.ResultRejected || fin.Release != rOld || !fin.KeepObjects || fin.Reason != "release phase: "+why {
		t.Errorf("finish %+v, want rejected on %s with nothing touched", fin, rOld)
	}
	wantEvents(t, rec, ev(1, model.AtomRunning, model.AtomPending), ev(2, model.AtomPending, model.AtomRunning))
	if st := query(t, env); st.Result != model.ResultRejected || st.Phase != model.PhaseDone {
		t.Errorf("state %+v", st)
	}
}

// A rollback while the release commands run cancels them and ends the
// promotion with nothing applied.
func TestReleasePhaseRollbackCancels(t *testing.T) {
	env, rec := newEnv(t)
	f := goodFake()
	cancelled := releasePhase(env, f, []string{"web"}, time.Hour, nil)
	signalAt(env, 5*time.Second, workflows.SignalRollback, "ops")
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})
	wantFailure(t, env, "Rejected", "rollback requested by ops during the release phase")
	wantNames(t, rec, "BeginPromotion", "RunReleasePhase", "FinishPromotion")
	if !cancelled.Load() && !strings.Contains(strings.Join(rec.cancelled, ","), "RunReleasePhase") {
		t.Error("the release phase was not cancelled")
	}
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	if fin.Result != model.ResultRolledBack || !fin.KeepObjects || fin.Release != rOld {
		t.Errorf("finish %+v, want rolled back with nothing touched", fin)
	}
}

// The promotion's timeout covers the release phase.
func TestReleasePhaseTimeout(t *testing.T) {
	env, rec := newEnv(t)
	f := goodFake()
	releasePhase(env, f, []string{"web"}, time.Hour, nil)
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: time.Minute})
	wantFailure(t, env, "Rejected", "timeout: not rolled out within 1m0s during the release phase")
	wantNames(t, rec, "BeginPromotion", "RunReleasePhase", "FinishPromotion")
}

// A release without release commands costs no activity.
func TestReleasePhaseSkippedWithoutCommands(t *testing.T) {
	env, rec := newEnv(t)
	f := goodFake()
	releasePhase(env, f, nil, time.Second, nil)
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
}

// A rollback to an earlier release never runs release commands: it is the
// way out of an emergency.
func TestReleasePhaseNotOnRollback(t *testing.T) {
	env, rec := newEnv(t)
	f := goodFake()
	releasePhase(env, f, []string{"web"}, time.Second, permanent("would fail", activities.ErrReleaseFailed))
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, RollbackTo: rTarget})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	for _, n := range rec.names() {
		if n == "RunReleasePhase" {
			t.Fatalf("a rollback ran the release phase: %v", rec.names())
		}
	}
	if len(rec.callsOf("ApplyRelease")) != 1 {
		t.Fatalf("activities %v", rec.names())
	}
}

// A release phase that rejects the promotion tells the app's webhooks the
// app stayed where it was: promote:rolledback, with the command's reason.
func TestReleasePhaseRejectionNotifies(t *testing.T) {
	env, _ := newEnv(t)
	n := watchNotify(t, env)
	f := goodFake()
	why := "the release command of web failed: exit code 3"
	env.OnActivity(acts.BeginPromotion, mock.Anything, mock.Anything).Return(
		activities.BeginResult{From: f.from, ReleaseCommands: []string{"web"}, Webhooks: webhook.Events}, nil)
	env.OnActivity(acts.RunReleasePhase, mock.Anything, mock.Anything).Return(activities.ReleasePhaseResult{}, permanent(why, activities.ErrReleaseFailed))
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})
	wantFailure(t, env, "Rejected", "release phase: "+why)
	if got := n.events(); !slices.Equal(got, []string{webhook.PromoteStarted, webhook.PromoteRolledBack}) {
		t.Fatalf("events %v, want started then rolledback", got)
	}
	if r := n.payloads[1].Reason; r != "release phase: "+why {
		t.Errorf("reason %q", r)
	}
}
