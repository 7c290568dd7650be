package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

// staged is a promotion of rNew whose web service has steps: BeginPromotion
// says so, a canary is ready canaryAfter after it starts, a check passes
// (or fails with checkErr) after its duration.
type staged struct {
	steps       []model.Step
	canaryAfter time.Duration
	checkErr    error
	// versions counts the run's staged-rollout version checks.
	versions int
}

var checkStep = model.Step{Check: &model.Check{HTTP: "/health/deep", Expect: 200, For: 30 * time.Second}}

// install mocks what a staged promotion adds, ahead of the fake's own
// BeginPromotion (a mock registered first wins).
func (s *staged) install(env *testsuite.TestWorkflowEnvironment) {
	env.OnGetVersion("staged-rollout", workflow.DefaultVersion, 1).
		Run(func(mock.Arguments) { s.versions++ }).Return(workflow.Version(1))
	if s.steps != nil {
		env.OnActivity(acts.BeginPromotion, mock.Anything, mock.Anything).Return(activities.BeginResult{
			From: rOld, Steps: []activities.StagedService{{Service: "web", Steps: s.steps, Port: 5000, Scheme: "http"}},
		}, nil)
	}
	env.OnActivity(acts.StageCanary, mock.Anything, mock.Anything).After(s.canaryAfter).Return(
		func(_ context.Context, in activities.CanaryInput) (activities.CanaryResult, error) {
			return activities.CanaryResult{Canary: 1, Service: 1}, nil
		})
	env.OnActivity(acts.CheckService, mock.Anything, mock.Anything).After(checkStep.Check.For).Return(
		func(context.Context, activities.CheckInput) error { return s.checkErr })
	env.OnActivity(acts.RecordStep, mock.Anything, mock.Anything).Return(nil)
}

func stepMessages(rec *recorder) []string {
	var out []string
	for _, in := range inputs[activities.StepInput](rec, "RecordStep") {
		out = append(out, in.Message)
	}
	return out
}

// A canary step, then a timed pause: the pause is a durable timer, shown
// with its end in the state, and the promotion's timeout (10 s here) does
// not run during it. Pause is refused during the steps: it acts on the
// rolling update that follows them.
func TestStagedTimedPause(t *testing.T) {
	env, rec := newEnv(t)
	s := &staged{steps: []model.Step{{Replicas: 50}, {Pause: time.Minute}}, canaryAfter: 2 * time.Second}
	s.install(env)
	var during workflows.PromotionState
	queryAt(t, env, 30*time.Second, &during)
	var paused string
	var pauseErr error
	update(env, workflows.SignalPause, 40*time.Second, &paused, &pauseErr)
	start := promote(t, env, rollingFake(), workflows.PromoteInput{Promotion: promoID, Actor: "alice", Timeout: 10 * time.Second})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, rec, "BeginPromotion", "StageCanary", "RecordStep", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if !only[activities.FinishInput](rec, "FinishPromotion").Canaries {
		t.Error("the end of a staged promotion does not delete its canaries")
	}
	wantEqual(t, "canary", only[activities.CanaryInput](rec, "StageCanary"), activities.CanaryInput{
		App: app, Release: rNew, Promotion: promoID, Service: "web", Percent: 50,
		Step: "web 1/2 replicas 50%", ProgressDeadline: 10,
	})
	wantEqual(t, "state during the pause", []any{during.Phase, during.Step, during.Gate, during.GateUntil.Sub(start)},
		[]any{model.PhaseRollingOut, "web 2/2 pause 1m0s", workflows.GatePause, 2*time.Second + time.Minute})
	if pauseErr == nil || !strings.Contains(pauseErr.Error(), "the promotion is at step web 2/2 pause 1m0s of a staged rollout") {
		t.Errorf("pause during the steps: %q, %v; want refused", paused, pauseErr)
	}
	wantEqual(t, "record", stepMessages(rec), []string{"web 2/2 pause 1m0s: done"})
	if at := rec.callsOf("ApplyRelease")[0].At.Sub(start); at != 62*time.Second {
		t.Errorf("applied %s after the start, want after the canary (2s) and the pause (1m)", at)
	}
	st := query(t, env)
	wantEqual(t, "final state", []any{st.Result, st.Step, st.Gate, st.ContinuedBy}, []any{model.ResultActive, "", "", ""})
	if s.versions != 1 {
		t.Errorf("staged-rollout version checked %d times, want once", s.versions)
	}
}

// A manual pause waits until someone continues it: who started the
// promotion may (unlike approval), and the record says who did.
func TestStagedManualPauseContinuedByUpdate(t *testing.T) {
	env, rec := newEnv(t)
	s := &staged{steps: []model.Step{{Replicas: 20}, {Manual: true}}}
	s.install(env)
	var during workflows.PromotionState
	queryAt(t, env, 2*time.Hour, &during)
	var got string
	var refused error
	updateAs(env, workflows.SignalContinue, "alice", 3*time.Hour, &got, &refused)
	start := promote(t, env, rollingFake(), workflows.PromoteInput{Promotion: promoID, Actor: "alice", Timeout: time.Minute})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if refused != nil {
		t.Errorf("continue by who started it refused: %v", refused)
	}
	wantEqual(t, "state while waiting", []any{during.Step, during.Gate, during.GateUntil.Sub(start)},
		[]any{"web 2/2 manual pause", workflows.GateManual, 24 * time.Hour})
	wantEqual(t, "record", stepMessages(rec), []string{"web 2/2 manual pause: continued by alice"})
	if at := rec.callsOf("ApplyRelease")[0].At.Sub(start); at != 3*time.Hour {
		t.Errorf("applied %s after the start, want at alice's continue (3h)", at)
	}
	if step := only[activities.ApplyInput](rec, "ApplyRelease").Step; step != "applying "+rNew {
		t.Errorf("apply step %q: a pause's continue is not an approval", step)
	}
}

// The Temporal UI continues with a signal: one that names nobody is
// recorded as the UI's, and the state shows who continued the last pause
// while the next one waits.
func TestStagedManualPauseContinuedBySignal(t *testing.T) {
	env, rec := newEnv(t)
	s := &staged{steps: []model.Step{{Manual: true}, {Manual: true}}}
	s.install(env)
	signalAt(env, time.Minute, workflows.SignalContinue, "carol")
	var between workflows.PromotionState
	queryAt(t, env, 2*time.Minute, &between)
	signalAt(env, 3*time.Minute, workflows.SignalContinue, "")
	promote(t, env, rollingFake(), workflows.PromoteInput{Promotion: promoID, Actor: "alice"})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantEqual(t, "state between the pauses", []any{between.Step, between.Gate, between.ContinuedBy, between.Notice},
		[]any{"web 2/2 manual pause", workflows.GateManual, "carol", ""})
	wantEqual(t, "record", stepMessages(rec), []string{
		"web 1/2 manual pause: continued by carol", "web 2/2 manual pause: continued by Temporal UI",
	})
	wantNames(t, rec, "BeginPromotion", "RecordStep", "RecordStep", "ApplyRelease", "WatchRollout", "FinishPromotion")
}

// A check that gets another answer rolls back as a failed rollout does:
// the previous release is applied again (which deletes the canaries and
// gives the service its count back) and watched; the reason names the
// step and the answer.
func TestStagedFailedCheckCompensates(t *testing.T) {
	env, rec := newEnv(t)
	s := &staged{
		steps:    []model.Step{{Replicas: 50}, checkStep},
		checkErr: permanent("web: check GET /health/deep answered 503, want 200 (GET 4)", activities.ErrCheckFailed),
	}
	s.install(env)
	promote(t, env, rollingFake(), workflows.PromoteInput{Promotion: promoID, Actor: "alice"})

	why := "step web 2/2 check /health/deep answers 200 for 30s: web: check GET /health/deep answered 503, want 200 (GET 4)"
	wantFailure(t, env, "RolledBack", "rollback: "+why)
	wantNames(t, rec, "BeginPromotion", "StageCanary", "CheckService", "ApplyRelease", "WatchRollout", "FinishPromotion")
	wantEqual(t, "check", only[activities.CheckInput](rec, "CheckService"), activities.CheckInput{
		App: app, Promotion: promoID, Service: "web", Port: 5000, Scheme: "http", Check: *checkStep.Check,
		Step: "web 2/2 check /health/deep answers 200 for 30s",
	})
	back := only[activities.ApplyInput](rec, "ApplyRelease")
	wantEqual(t, "re-apply", []any{back.Release, back.Phase, back.Prune}, []any{rOld, model.PhaseRollingBack, true})
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	wantEqual(t, "finish", []any{fin.Release, fin.Result, fin.Reason}, []any{rOld, model.ResultRolledBack, why})
}

// A rollback while a pause waits ends it at once and compensates; so does
// the timeout during a canary step, whose clock runs.
func TestStagedRollbackDuringPause(t *testing.T) {
	env, rec := newEnv(t)
	s := &staged{steps: []model.Step{{Replicas: 50}, {Manual: true}}}
	s.install(env)
	var got string
	var refused error
	update(env, workflows.SignalRollback, 10*time.Minute, &got, &refused)
	start := promote(t, env, rollingFake(), workflows.PromoteInput{Promotion: promoID, Actor: "alice"})

	if refused != nil {
		t.Errorf("rollback during a pause refused: %v", refused)
	}
	wantFailure(t, env, "RolledBack", "rollback: rollback requested by bob at step web 2/2 manual pause")
	wantNames(t, rec, "BeginPromotion", "StageCanary", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if at := rec.callsOf("ApplyRelease")[0].At.Sub(start); at != 10*time.Minute {
		t.Errorf("rolled back %s after the start, want at the rollback (10m)", at)
	}

	env, rec = newEnv(t)
	s = &staged{steps: []model.Step{{Replicas: 50}}, canaryAfter: time.Hour}
	s.install(env)
	promote(t, env, rollingFake(), workflows.PromoteInput{Promotion: promoID, Actor: "alice", Timeout: time.Minute})
	wantFailure(t, env, "RolledBack", "rollback: timeout: not rolled out within 1m0s at step web 1/1 replicas 50%")
	wantNames(t, rec, "BeginPromotion", "StageCanary", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if n := len(rec.cancelled); n != 1 || rec.cancelled[0] != "StageCanary" {
		t.Errorf("cancelled %v, want the canary step", rec.cancelled)
	}
}

// A release without steps runs as before: no new activity, no version
// marker, so the histories of such promotions stay as they were.
func TestUnstagedPromotionRecordsNoMarker(t *testing.T) {
	env, rec := newEnv(t)
	s := &staged{}
	s.install(env)
	promote(t, env, rollingFake(), workflows.PromoteInput{Promotion: promoID})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if only[activities.FinishInput](rec, "FinishPromotion").Canaries {
		t.Error("a promotion without steps looks for canaries to delete at its end")
	}
	if s.versions != 0 {
		t.Errorf("staged-rollout version checked %d times by a promotion without steps", s.versions)
	}
}

// Neither a first promotion (nothing runs beside which to stage) nor a
// rollback command stages anything.
func TestStagedStepsSkipped(t *testing.T) {
	env, rec := newEnv(t)
	env.OnActivity(acts.BeginPromotion, mock.Anything, mock.Anything).Return(activities.BeginResult{
		Steps: []activities.StagedService{{Service: "web", Steps: []model.Step{{Manual: true}}}},
	}, nil)
	f := rollingFake()
	f.from = ""
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("first promotion failed: %v", err)
	}
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")

	env, rec = newEnv(t)
	s := &staged{steps: []model.Step{{Manual: true}}}
	s.install(env)
	promote(t, env, rollingFake(), workflows.PromoteInput{Promotion: promoID, RollbackTo: rTarget})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("rollback command failed: %v", err)
	}
	if s.versions != 0 || len(rec.callsOf("RecordStep")) != 0 {
		t.Errorf("a rollback command staged: %v", rec.names())
	}
}
