package workflows_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/uber-go/tally/v4"
	sdktally "go.temporal.io/sdk/contrib/tally"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

// newMeteredEnv is newEnv with the worker's kind of metrics handler (tally),
// over a scope the test reads.
func newMeteredEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, tally.TestScope) {
	t.Helper()
	scope := tally.NewTestScope("", nil)
	var s testsuite.WorkflowTestSuite
	s.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	s.SetMetricsHandler(sdktally.NewMetricsHandler(scope))
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute)
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	env.RegisterWorkflow(workflows.CreateRelease)
	return env, scope
}

// counted is the value of the counter name whose result tag is result
// ("" for a counter without one), summed over its other tags.
func counted(scope tally.TestScope, name, result string) int64 {
	var n int64
	for _, c := range scope.Snapshot().Counters() {
		if c.Name() == name && c.Tags()[workflows.MetricTagResult] == result {
			n += c.Value()
		}
	}
	return n
}

// timed is every duration recorded by the timer name with result tag result.
func timed(scope tally.TestScope, name, result string) []time.Duration {
	var out []time.Duration
	for _, tm := range scope.Snapshot().Timers() {
		if tm.Name() == name && tm.Tags()[workflows.MetricTagResult] == result {
			out = append(out, tm.Values()...)
		}
	}
	return out
}

// wantCounts checks the started and ended counters; ended maps a result
// to its count, and every other result must count none.
func wantCounts(t *testing.T, scope tally.TestScope, started int64, ended map[string]int64) {
	t.Helper()
	if got := counted(scope, workflows.MetricPromotionsStarted, ""); got != started {
		t.Errorf("%s = %d, want %d", workflows.MetricPromotionsStarted, got, started)
	}
	for _, r := range []string{model.ResultActive, model.ResultRolledBack, model.ResultFailed, workflows.MetricResultCancelled, workflows.MetricResultError} {
		if got := counted(scope, workflows.MetricPromotionsEnded, r); got != ended[r] {
			t.Errorf("%s{result=%q} = %d, want %d", workflows.MetricPromotionsEnded, r, got, ended[r])
		}
	}
}

func TestPromoteMetricsActive(t *testing.T) {
	env, scope := newMeteredEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices},
		watch:    map[string]watchPlan{rNew: {after: 3 * time.Second, progress: newProgress}},
	}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantCounts(t, scope, 1, map[string]int64{model.ResultActive: 1})
	if d := timed(scope, workflows.MetricPromotionDuration, model.ResultActive); len(d) != 1 || d[0] < 3*time.Second {
		t.Errorf("%s{result=active} recorded %v, want one duration of at least the 3s rollout", workflows.MetricPromotionDuration, d)
	}
	if d := timed(scope, workflows.MetricRolloutDuration, ""); len(d) != 1 || d[0] != 3*time.Second {
		t.Errorf("%s recorded %v, want the rollout's 3s", workflows.MetricRolloutDuration, d)
	}
}

func TestPromoteMetricsRolledBack(t *testing.T) {
	env, scope := newMeteredEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		watch: map[string]watchPlan{
			rNew: {after: 2 * time.Second, err: permanent(crashLoop, activities.ErrRolloutFailed)},
			rOld: {after: time.Second, progress: oldProgress},
		},
	}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: time.Minute})
	wantFailure(t, env, "RolledBack", "rollback: "+crashLoop)
	wantCounts(t, scope, 1, map[string]int64{model.ResultRolledBack: 1})
	if d := timed(scope, workflows.MetricPromotionDuration, model.ResultRolledBack); len(d) != 1 || d[0] < 3*time.Second {
		t.Errorf("%s{result=rolled back} recorded %v, want one duration of at least the 3s it took", workflows.MetricPromotionDuration, d)
	}
	if d := timed(scope, workflows.MetricRolloutDuration, ""); len(d) != 0 {
		t.Errorf("%s recorded %v for a rollout that failed", workflows.MetricRolloutDuration, d)
	}
}

// A failed rollback counts as failed.
func TestPromoteMetricsFailed(t *testing.T) {
	env, scope := newMeteredEnv(t)
	msg := `web: apply: Deployment.apps "web" is invalid`
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		applyErr: map[string]error{rOld: permanent(msg, activities.ErrApplyFailed)},
		watch:    map[string]watchPlan{rNew: {err: permanent(crashLoop, activities.ErrRolloutFailed)}},
	}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: time.Minute})
	wantFailure(t, env, "RollbackFailed", "rollback failed: "+msg+" (after: "+crashLoop+")")
	wantCounts(t, scope, 1, map[string]int64{model.ResultFailed: 1})
}

// A repair ends the promotion it repairs, which was counted as started
// when it began: it counts an end and no start.
func TestPromoteMetricsRepair(t *testing.T) {
	env, scope := newMeteredEnv(t)
	f := &fake{
		services: map[string][]string{rOld: oldServices},
		watch:    map[string]watchPlan{rOld: {progress: oldProgress}},
		inspect:  activities.PromotionInfo{Release: rNew, From: rOld},
	}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Repair: "its workflow was terminated"})
	wantFailure(t, env, "RolledBack", "rollback: its workflow was terminated")
	wantCounts(t, scope, 0, map[string]int64{model.ResultRolledBack: 1})
}

// A run that ends before its record has a result: cancelled while a
// rollback command copies its release, or failed outright.
func TestPromoteMetricsWithoutResult(t *testing.T) {
	env, scope := newMeteredEnv(t)
	f := &fake{
		inspect: activities.PromotionInfo{Release: rNew, From: rOld},
	}
	// InspectPromotion fails for good: the repair cannot even start.
	env.OnActivity(acts.InspectPromotion, mock.Anything, mock.Anything).Return(activities.PromotionInfo{}, permanent("no promotion PPROMOTIONX", "NotFound"))
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Repair: "terminated"})
	if env.GetWorkflowError() == nil {
		t.Fatal("repair of a missing promotion succeeded")
	}
	wantCounts(t, scope, 0, map[string]int64{workflows.MetricResultError: 1})

	env, scope = newMeteredEnv(t)
	f = &fake{from: rOld, copyAfter: time.Minute}
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
	promote(t, env, f, workflows.PromoteInput{Release: "RCOPYCOPYCO", RollbackTo: rTarget, Promotion: promoID})
	if env.GetWorkflowError() == nil {
		t.Fatal("a rollback command cancelled while copying succeeded")
	}
	wantCounts(t, scope, 1, map[string]int64{workflows.MetricResultCancelled: 1})
}
