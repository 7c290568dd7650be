package workflows_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

const (
	app     = "shop"
	rNew    = "RNEWNEWNEWN" // the release being promoted
	rOld    = "ROLDOLDOLDO" // the app's active release before
	rTarget = "RTARGETAAAA" // the release a rollback command copies
	promoID = "PPROMOTIONX"

	crashLoop = "web: container main is in CrashLoopBackOff (pod web-57c4656969-glhwq)"
)

var (
	newServices = []string{"web", "worker"}
	oldServices = []string{"web"}
	newProgress = []records.ServiceProgress{
		{Name: "web", Desired: 2, Updated: 2, Ready: 2, Available: 2, Done: true},
		{Name: "worker", Desired: 1, Updated: 1, Ready: 1, Available: 1, Done: true},
	}
	oldProgress = []records.ServiceProgress{{Name: "web", Desired: 2, Updated: 2, Ready: 2, Available: 2, Done: true}}
)

// watchPlan is how the mocked WatchRollout of one release behaves.
type watchPlan struct {
	after    time.Duration // test-clock time each attempt takes
	first    []error       // errors of the first attempts, in order
	err      error         // error of every later attempt (nil: success)
	progress []records.ServiceProgress
}

// fake is the cluster as the promotion's activities see it.
type fake struct {
	from      string              // the app's active release at Begin
	services  map[string][]string // services each release renders to
	applyErr  map[string]error    // ApplyRelease error per release
	watch     map[string]watchPlan
	beginErr  error
	pauseErr  error
	finishErr error // of a FinishPromotion that marks the release active
	// finishAfter is the test-clock time a FinishPromotion takes.
	finishAfter time.Duration
	copyAfter   time.Duration
	copyErr     error
	// beginAfter and applyAfter are test-clock times the activities take.
	beginAfter time.Duration
	applyAfter map[string]time.Duration
	inspect    activities.PromotionInfo // of the promotion a repair repairs
	webhooks   []string                 // events Begin says the app's webhooks are sent
	protected  bool                     // the app's promotions wait for approval
}

func (f *fake) install(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(acts.BeginPromotion, mock.Anything, mock.Anything).After(f.beginAfter).Return(
		func(context.Context, activities.BeginInput) (activities.BeginResult, error) {
			if f.beginErr != nil {
				return activities.BeginResult{}, f.beginErr
			}
			return activities.BeginResult{From: f.from, Protected: f.protected, Webhooks: f.webhooks}, nil
		})
	for _, rel := range []string{rNew, rOld} {
		env.OnActivity(acts.ApplyRelease, mock.Anything,
			mock.MatchedBy(func(in activities.ApplyInput) bool { return in.Release == rel }),
		).After(f.applyAfter[rel]).Return(
			func(_ context.Context, in activities.ApplyInput) (activities.ApplyResult, error) {
				if err := f.applyErr[in.Release]; err != nil {
					return activities.ApplyResult{}, err
				}
				return activities.ApplyResult{Services: f.services[in.Release]}, nil
			})
	}
	env.OnActivity(acts.InspectPromotion, mock.Anything, mock.Anything).Return(f.inspect, nil)
	for rel, w := range f.watch {
		var attempts atomic.Int32
		env.OnActivity(acts.WatchRollout, mock.Anything,
			mock.MatchedBy(func(in activities.WatchInput) bool { return in.Release == rel }),
		).After(w.after).Return(
			func(context.Context, activities.WatchInput) (activities.WatchResult, error) {
				i := int(attempts.Add(1)) - 1
				err := w.err
				if i < len(w.first) {
					err = w.first[i]
				}
				if err != nil {
					return activities.WatchResult{}, err
				}
				return activities.WatchResult{Services: w.progress}, nil
			})
	}
	env.OnActivity(acts.SetPaused, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.PauseInput) error { return f.pauseErr })
	env.OnActivity(acts.FinishPromotion, mock.Anything, mock.Anything).After(f.finishAfter).Return(
		func(_ context.Context, in activities.FinishInput) error {
			if in.Result == model.ResultActive {
				return f.finishErr
			}
			return nil
		})
	env.OnActivity(acts.CreateRelease, mock.Anything, mock.Anything).After(f.copyAfter).Return(
		func(_ context.Context, in activities.CreateReleaseInput) (activities.CreateReleaseResult, error) {
			if f.copyErr != nil {
				return activities.CreateReleaseResult{}, f.copyErr
			}
			return activities.CreateReleaseResult{ReleaseID: in.ReleaseID, Description: in.Change.Description}, nil
		})
}

// promote runs a Promote of rNew with f as the cluster and returns the
// time it started on the test clock.
func promote(t *testing.T, env *testsuite.TestWorkflowEnvironment, f *fake, in workflows.PromoteInput) time.Time {
	t.Helper()
	f.install(env)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.PromoteWorkflowID(app)})
	if in.App == "" {
		in.App = app
	}
	if in.Release == "" {
		in.Release = rNew
	}
	start := env.Now()
	env.ExecuteWorkflow(workflows.Promote, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	return start
}

func queryState(env *testsuite.TestWorkflowEnvironment) (workflows.PromotionState, error) {
	var st workflows.PromotionState
	v, err := env.QueryWorkflow(workflows.QueryState)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

func query(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.PromotionState {
	t.Helper()
	st, err := queryState(env)
	if err != nil {
		t.Fatalf("query %s: %v", workflows.QueryState, err)
	}
	return st
}

// queryAt queries the state at d after the start, into *st.
func queryAt(t *testing.T, env *testsuite.TestWorkflowEnvironment, d time.Duration, st *workflows.PromotionState) {
	env.RegisterDelayedCallback(func() {
		var err error
		if *st, err = queryState(env); err != nil {
			t.Errorf("query %s at %s: %v", workflows.QueryState, d, err)
		}
	}, d)
}

func signalAt(env *testsuite.TestWorkflowEnvironment, d time.Duration, name string, arg any) {
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(name, arg) }, d)
}

func wantNames(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	if got := rec.names(); !slices.Equal(got, want) {
		t.Fatalf("activities started:\n got  %v\n want %v", got, want)
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// wantEvents checks the status transitions written by the promotion's
// activities, in the order the activities started.
func wantEvents(t *testing.T, rec *recorder, want ...activities.Transition) {
	t.Helper()
	var got []activities.Transition
	rec.mu.Lock()
	calls := slices.Clone(rec.calls)
	rec.mu.Unlock()
	for _, c := range calls {
		var err error
		switch c.Name {
		case "BeginPromotion":
			var in activities.BeginInput
			err = c.args.Get(&in)
			got = append(got, in.Event)
		case "ApplyRelease":
			var in activities.ApplyInput
			err = c.args.Get(&in)
			got = append(got, in.Event)
		case "FinishPromotion":
			var in activities.FinishInput
			err = c.args.Get(&in)
			got = append(got, in.Event)
		}
		if err != nil {
			t.Fatalf("decode %s input: %v", c.Name, err)
		}
	}
	wantEqual(t, "events", got, want)
}

func ev(seq int, from, to string) activities.Transition {
	return activities.Transition{Seq: seq, From: from, To: to}
}

// wantFailure checks the workflow's error: an application error of kind
// whose message is msg.
func wantFailure(t *testing.T, env *testsuite.TestWorkflowEnvironment, kind, msg string) {
	t.Helper()
	appErr := appError(t, env.GetWorkflowError())
	if appErr.Type() != kind || appErr.Message() != msg {
		t.Errorf("workflow error: got %s %q, want %s %q", appErr.Type(), appErr.Message(), kind, msg)
	}
	if !appErr.NonRetryable() {
		t.Errorf("workflow error %q is retryable: a retry would promote again", appErr.Message())
	}
}

func TestPromoteSuccess(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices},
		watch:    map[string]watchPlan{rNew: {after: 3 * time.Second, progress: newProgress}},
	}
	start := promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.PromoteResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "result", res, workflows.PromoteResult{Promotion: promoID, Release: rNew, From: rOld, Result: model.ResultActive})
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")

	run := rec.callsOf("BeginPromotion")[0].Info.WorkflowExecution
	if run.RunID == "" {
		t.Error("test environment gave no run ID")
	}
	wantEqual(t, "BeginPromotion input", only[activities.BeginInput](rec, "BeginPromotion"), activities.BeginInput{
		App: app, Release: rNew, Promotion: promoID,
		WorkflowID: workflows.PromoteWorkflowID(app), RunID: run.RunID,
		Event: ev(1, model.AtomRunning, model.AtomPending),
	})
	wantEqual(t, "ApplyRelease input", only[activities.ApplyInput](rec, "ApplyRelease"), activities.ApplyInput{
		App: app, Release: rNew, Promotion: promoID,
		Phase: model.PhaseRollingOut, Step: "applying " + rNew,
		ProgressDeadline: int32(workflows.DefaultTimeout / time.Second), // no Timeout given
		Event:            ev(2, model.AtomPending, model.AtomUpdating),
	})
	wantEqual(t, "WatchRollout input", only[activities.WatchInput](rec, "WatchRollout"), activities.WatchInput{
		App: app, Release: rNew, Promotion: promoID, Services: newServices,
	})
	wantEqual(t, "FinishPromotion input", only[activities.FinishInput](rec, "FinishPromotion"), activities.FinishInput{
		App: app, Promotion: promoID, Release: rNew, Services: newServices, From: rOld,
		Result: model.ResultActive, Progress: newProgress,
		Event: ev(3, model.AtomUpdating, model.AtomRunning),
	})
	wantEvents(t, rec,
		ev(1, model.AtomRunning, model.AtomPending),
		ev(2, model.AtomPending, model.AtomUpdating),
		ev(3, model.AtomUpdating, model.AtomRunning))
	if at := rec.callsOf("FinishPromotion")[0].At.Sub(start); at != 3*time.Second {
		t.Errorf("finished %s after the start, want when the watch returned (3s)", at)
	}
	wantEqual(t, "final state", query(t, env), workflows.PromotionState{
		Promotion: promoID, App: app, Release: rNew, From: rOld,
		Phase: model.PhaseDone, Services: newProgress, Result: model.ResultActive,
	})
}

func TestPromoteGeneratesPromotionID(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices},
		watch:    map[string]watchPlan{rNew: {progress: newProgress}},
	}
	promote(t, env, f, workflows.PromoteInput{})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.PromoteResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^P[A-Z]{10}$`).MatchString(res.Promotion) {
		t.Fatalf("promotion ID %q, want P and 10 upper-case letters", res.Promotion)
	}
	ids := []string{
		only[activities.BeginInput](rec, "BeginPromotion").Promotion,
		only[activities.ApplyInput](rec, "ApplyRelease").Promotion,
		only[activities.WatchInput](rec, "WatchRollout").Promotion,
		only[activities.FinishInput](rec, "FinishPromotion").Promotion,
		query(t, env).Promotion,
	}
	for _, id := range ids {
		if id != res.Promotion {
			t.Errorf("promotion IDs differ: %v, result %s", ids, res.Promotion)
			break
		}
	}
}

func TestPromoteBeginFailure(t *testing.T) {
	env, rec := newEnv(t)
	msg := "release " + rNew + " has no build to run: `slipway build` first"
	f := &fake{beginErr: permanent(msg, activities.ErrInvalid)}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	// Begin may have marked the app updating before it failed: the finish
	// puts it back, touching no object and not the active release.
	wantNames(t, rec, "BeginPromotion", "FinishPromotion")
	wantFailure(t, env, "Rejected", msg)
	wantEqual(t, "FinishPromotion input", only[activities.FinishInput](rec, "FinishPromotion"), activities.FinishInput{
		App: app, Promotion: promoID, Result: model.ResultRolledBack, Reason: msg, KeepObjects: true,
		Event: ev(2, model.AtomPending, model.AtomRunning),
	})
}

func TestPromoteWatchFailureRollsBack(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		watch: map[string]watchPlan{
			rNew: {after: 2 * time.Second, err: permanent(crashLoop, activities.ErrRolloutFailed)},
			rOld: {after: time.Second, progress: oldProgress},
		},
	}
	start := promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: time.Minute})

	wantFailure(t, env, "RolledBack", "rollback: "+crashLoop)
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "ApplyRelease", "WatchRollout", "FinishPromotion")
	applies := inputs[activities.ApplyInput](rec, "ApplyRelease")
	wantEqual(t, "re-apply of the previous release", applies[1], activities.ApplyInput{
		App: app, Release: rOld, Promotion: promoID,
		Phase: model.PhaseRollingBack, Step: "rolling back to " + rOld + ": " + crashLoop,
		ProgressDeadline: 300, Prune: true,
		Event: ev(3, model.AtomUpdating, model.AtomRollback),
	})
	if at := rec.callsOf("ApplyRelease")[1].At.Sub(start); at != 2*time.Second {
		t.Errorf("rollback started %s after the start, want as soon as the watch failed (2s)", at)
	}
	watches := inputs[activities.WatchInput](rec, "WatchRollout")
	wantEqual(t, "watch of the previous release", watches[1], activities.WatchInput{
		App: app, Release: rOld, Promotion: promoID, Services: oldServices,
	})
	info := rec.callsOf("WatchRollout")[1].Info
	if info.StartToCloseTimeout != 5*time.Minute || info.HeartbeatTimeout != 2*time.Second {
		t.Errorf("compensation watch: start-to-close %s, heartbeat %s; want 5m and 2s",
			info.StartToCloseTimeout, info.HeartbeatTimeout)
	}
	wantEqual(t, "FinishPromotion input", only[activities.FinishInput](rec, "FinishPromotion"), activities.FinishInput{
		App: app, Promotion: promoID, Release: rOld, Services: oldServices, From: rOld,
		Result: model.ResultRolledBack, Reason: crashLoop, Progress: oldProgress,
		Event: ev(4, model.AtomRollback, model.AtomRunning),
	})
	wantEvents(t, rec,
		ev(1, model.AtomRunning, model.AtomPending),
		ev(2, model.AtomPending, model.AtomUpdating),
		ev(3, model.AtomUpdating, model.AtomRollback),
		ev(4, model.AtomRollback, model.AtomRunning))
	st := query(t, env)
	if st.Phase != model.PhaseDone || st.Result != model.ResultRolledBack || st.Reason != crashLoop || st.Paused {
		t.Errorf("final state %+v, want done, rolled back, reason %q", st, crashLoop)
	}
}

func TestPromoteFirstPromotionFailureRemovesIt(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:     "", // nothing ran before
		services: map[string][]string{rNew: newServices},
		watch:    map[string]watchPlan{rNew: {err: permanent(crashLoop, activities.ErrRolloutFailed)}},
	}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	wantFailure(t, env, "RolledBack", "rollback: "+crashLoop)
	// Nothing to re-apply: the finish removes every service.
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
	wantEqual(t, "FinishPromotion input", only[activities.FinishInput](rec, "FinishPromotion"), activities.FinishInput{
		App: app, Promotion: promoID, Release: "", Services: nil, From: "",
		Result: model.ResultRolledBack, Reason: crashLoop,
		Before: ev(3, model.AtomUpdating, model.AtomRollback),
		Event:  ev(4, model.AtomRollback, model.AtomRunning),
	})
}

func TestPromoteRenderErrorRejects(t *testing.T) {
	env, rec := newEnv(t)
	msg := "release " + rNew + ": convox.yml: required env: FOO, BAR"
	f := &fake{
		from:     rOld,
		applyErr: map[string]error{rNew: permanent(msg, activities.ErrInvalid)},
	}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	// The reason itself, without "rollback:": nothing was rolled out.
	wantFailure(t, env, "Rejected", msg)
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "FinishPromotion")
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	// KeepObjects: nothing was applied, so nothing may be pruned.
	wantEqual(t, "FinishPromotion input", fin, activities.FinishInput{
		App: app, Promotion: promoID, Release: rOld, From: rOld,
		Result: model.ResultRolledBack, Reason: msg, KeepObjects: true,
		Event: ev(3, model.AtomPending, model.AtomRunning),
	})
}

func TestPromoteApplyFailureRollsBack(t *testing.T) {
	env, rec := newEnv(t)
	msg := `web: apply: Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value`
	f := &fake{
		from:     rOld,
		services: map[string][]string{rOld: oldServices},
		applyErr: map[string]error{rNew: permanent(msg, activities.ErrApplyFailed)},
		watch:    map[string]watchPlan{rOld: {progress: oldProgress}},
	}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	wantFailure(t, env, "RolledBack", "rollback: "+msg)
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "ApplyRelease", "WatchRollout", "FinishPromotion")
	applies := inputs[activities.ApplyInput](rec, "ApplyRelease")
	if a := applies[1]; a.Release != rOld || !a.Prune || a.Phase != model.PhaseRollingBack {
		t.Errorf("second apply %+v, want %s pruned while rolling back", a, rOld)
	}
	wantEqual(t, "watch", only[activities.WatchInput](rec, "WatchRollout"), activities.WatchInput{
		App: app, Release: rOld, Promotion: promoID, Services: oldServices,
	})
	wantEqual(t, "FinishPromotion input", only[activities.FinishInput](rec, "FinishPromotion"), activities.FinishInput{
		App: app, Promotion: promoID, Release: rOld, Services: oldServices, From: rOld,
		Result: model.ResultRolledBack, Reason: msg, Progress: oldProgress,
		Event: ev(4, model.AtomRollback, model.AtomRunning),
	})
}

func TestPromoteTimeout(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		watch: map[string]watchPlan{
			rNew: {after: time.Hour}, // never done within the timeout
			rOld: {progress: oldProgress},
		},
	}
	start := promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: 30 * time.Second})

	why := "timeout: not rolled out within 30s"
	wantFailure(t, env, "RolledBack", "rollback: "+why)
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if d := inputs[activities.ApplyInput](rec, "ApplyRelease")[0].ProgressDeadline; d != 30 {
		t.Errorf("progress deadline %d, want the timeout (30)", d)
	}
	if at := rec.callsOf("ApplyRelease")[1].At.Sub(start); at != 30*time.Second {
		t.Errorf("rollback started %s after the start, want at the timeout (30s)", at)
	}
	if !slices.Contains(rec.cancelled, "WatchRollout") {
		t.Error("the timed-out watch was not cancelled")
	}
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	if fin.Result != model.ResultRolledBack || fin.Reason != why || fin.Release != rOld {
		t.Errorf("finish %+v, want rolled back to %s because %q", fin, rOld, why)
	}
}

func TestPromotePauseResume(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices},
		// Done at 5m50s: past the 1m timeout on the wall, but only 50s
		// of it unpaused.
		watch: map[string]watchPlan{rNew: {after: 5*time.Minute + 50*time.Second, progress: newProgress}},
	}
	signalAt(env, 10*time.Second, workflows.SignalResume, nil) // not paused: ignored
	signalAt(env, 20*time.Second, workflows.SignalPause, nil)
	signalAt(env, 30*time.Second, workflows.SignalPause, nil) // already paused: ignored
	signalAt(env, 5*time.Minute+20*time.Second, workflows.SignalResume, nil)
	var paused, resumed workflows.PromotionState
	queryAt(t, env, 2*time.Minute, &paused)
	queryAt(t, env, 5*time.Minute+30*time.Second, &resumed)
	start := promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: time.Minute})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "SetPaused", "SetPaused", "FinishPromotion")
	wantEqual(t, "SetPaused inputs", inputs[activities.PauseInput](rec, "SetPaused"), []activities.PauseInput{
		{App: app, Promotion: promoID, Services: newServices, Paused: true},
		{App: app, Promotion: promoID, Services: newServices, Paused: false},
	})
	var at []time.Duration
	for _, c := range rec.callsOf("SetPaused") {
		at = append(at, c.At.Sub(start))
	}
	wantEqual(t, "SetPaused times", at, []time.Duration{20 * time.Second, 5*time.Minute + 20*time.Second})
	if !paused.Paused || paused.Phase != model.PhasePaused {
		t.Errorf("state while paused: %+v, want paused", paused)
	}
	if resumed.Paused || resumed.Phase != model.PhaseRollingOut {
		t.Errorf("state after resume: %+v, want rolling out", resumed)
	}
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	if fin.Result != model.ResultActive || fin.Release != rNew {
		t.Errorf("finish %+v, want %s active", fin, rNew)
	}
}

// The time before the pause and after the resume both count.
func TestPromoteTimeoutCountsUnpausedTime(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		watch: map[string]watchPlan{
			rNew: {after: 6*time.Minute + 10*time.Second, progress: newProgress},
			rOld: {progress: oldProgress},
		},
	}
	signalAt(env, 20*time.Second, workflows.SignalPause, nil)
	signalAt(env, 5*time.Minute+20*time.Second, workflows.SignalResume, nil)
	start := promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: time.Minute})

	why := "timeout: not rolled out within 1m0s"
	wantFailure(t, env, "RolledBack", "rollback: "+why)
	// 20s before the pause + 40s after the resume at 5m20s.
	if at := rec.callsOf("ApplyRelease")[1].At.Sub(start); at != 6*time.Minute {
		t.Errorf("timed out %s after the start, want 6m0s", at)
	}
}

func TestPromoteRollbackSignal(t *testing.T) {
	for _, tc := range []struct {
		name string
		by   any
		why  string
	}{
		{"by an operator", "alice", "rollback requested by alice"},
		{"anonymous", "", "rollback requested"},
		{"no payload", nil, "rollback requested"}, // as the Web UI can send it
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, rec := newEnv(t)
			f := &fake{
				from:     rOld,
				services: map[string][]string{rNew: newServices, rOld: oldServices},
				watch: map[string]watchPlan{
					rNew: {after: time.Hour},
					rOld: {progress: oldProgress},
				},
			}
			signalAt(env, 10*time.Second, workflows.SignalRollback, tc.by)
			start := promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

			wantFailure(t, env, "RolledBack", "rollback: "+tc.why)
			wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "ApplyRelease", "WatchRollout", "FinishPromotion")
			if at := rec.callsOf("ApplyRelease")[1].At.Sub(start); at != 10*time.Second {
				t.Errorf("rollback started %s after the start, want at the signal (10s)", at)
			}
			if !slices.Contains(rec.cancelled, "WatchRollout") {
				t.Error("the watch of the new release was not cancelled")
			}
			applies := inputs[activities.ApplyInput](rec, "ApplyRelease")
			if applies[1].Release != rOld || !applies[1].Prune {
				t.Errorf("second apply %+v, want %s with prune", applies[1], rOld)
			}
			wantEqual(t, "FinishPromotion input", only[activities.FinishInput](rec, "FinishPromotion"), activities.FinishInput{
				App: app, Promotion: promoID, Release: rOld, Services: oldServices, From: rOld,
				Result: model.ResultRolledBack, Reason: tc.why, Progress: oldProgress,
				Event: ev(4, model.AtomRollback, model.AtomRunning),
			})
		})
	}
}

func TestPromoteCompensationFailure(t *testing.T) {
	applyMsg := `web: apply: Deployment.apps "web" is invalid`
	watchMsg := "web: container main is in ImagePullBackOff (pod web-6d4cf56db6-x2x9p)"
	for _, tc := range []struct {
		name   string
		f      fake
		names  []string
		failed string
	}{
		{
			name: "re-apply fails",
			f: fake{
				applyErr: map[string]error{rOld: permanent(applyMsg, activities.ErrApplyFailed)},
			},
			names:  []string{"BeginPromotion", "ApplyRelease", "WatchRollout", "ApplyRelease", "FinishPromotion"},
			failed: applyMsg,
		},
		{
			name: "re-watch fails",
			f: fake{
				watch: map[string]watchPlan{rOld: {err: permanent(watchMsg, activities.ErrRolloutFailed)}},
			},
			names:  []string{"BeginPromotion", "ApplyRelease", "WatchRollout", "ApplyRelease", "WatchRollout", "FinishPromotion"},
			failed: watchMsg,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, rec := newEnv(t)
			f := tc.f
			f.from = rOld
			f.services = map[string][]string{rNew: newServices, rOld: oldServices}
			if f.watch == nil {
				f.watch = map[string]watchPlan{}
			}
			f.watch[rNew] = watchPlan{err: permanent(crashLoop, activities.ErrRolloutFailed)}
			promote(t, env, &f, workflows.PromoteInput{Promotion: promoID})

			wantFailure(t, env, "RollbackFailed", "rollback failed: "+tc.failed+" (after: "+crashLoop+")")
			wantNames(t, rec, tc.names...)
			fin := only[activities.FinishInput](rec, "FinishPromotion")
			// Progress is not checked: a failed watch returns none.
			fin.Progress = nil
			wantEqual(t, "FinishPromotion input", fin, activities.FinishInput{
				App: app, Promotion: promoID, Release: rOld, From: rOld, Result: model.ResultFailed,
				Reason: "rollback failed: " + tc.failed + " (after: " + crashLoop + "); promote a release to recover",
				Event:  ev(4, model.AtomRollback, model.AtomError),
			})
			if st := query(t, env); st.Result != model.ResultFailed || !strings.HasPrefix(st.Reason, "rollback failed:") {
				t.Errorf("final state %+v, want failed", st)
			}
		})
	}
}

func TestPromoteRollbackCommand(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:      rOld,
		services:  map[string][]string{rNew: newServices},
		watch:     map[string]watchPlan{rNew: {progress: newProgress}},
		copyAfter: 10 * time.Second,
	}
	var copying workflows.PromotionState
	queryAt(t, env, 5*time.Second, &copying)
	promote(t, env, f, workflows.PromoteInput{Release: rNew, RollbackTo: rTarget, Promotion: promoID})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, rec, "CreateRelease", "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
	wantEqual(t, "CreateRelease input", only[activities.CreateReleaseInput](rec, "CreateRelease"), activities.CreateReleaseInput{
		App: app, ReleaseID: rNew,
		Change: activities.ReleaseChange{From: rTarget, Description: "rollback to " + rTarget},
	})
	c := rec.callsOf("CreateRelease")[0]
	if c.WorkflowID != workflows.ReleaseWorkflowID(app, rNew) || c.Info.WorkflowType == nil || c.Info.WorkflowType.Name != "CreateRelease" {
		t.Errorf("release copied by workflow %s (%+v), want the CreateRelease child %s",
			c.WorkflowID, c.Info.WorkflowType, workflows.ReleaseWorkflowID(app, rNew))
	}
	if copying.Phase != model.PhaseCreating || copying.Release != rNew {
		t.Errorf("state while copying: %+v, want phase %q", copying, model.PhaseCreating)
	}
	begin := only[activities.BeginInput](rec, "BeginPromotion")
	if begin.Release != rNew || begin.Event != ev(1, model.AtomRunning, model.AtomPending) {
		t.Errorf("begin %+v, want the promotion of the copy %s", begin, rNew)
	}
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	if fin.Release != rNew || fin.From != rOld || fin.Result != model.ResultActive {
		t.Errorf("finish %+v, want the copy %s active", fin, rNew)
	}
}

func TestPromoteRollbackCommandCopyFails(t *testing.T) {
	env, rec := newEnv(t)
	msg := "release " + rTarget + " not found in app " + app
	f := &fake{copyErr: permanent(msg, activities.ErrNotFound)}
	promote(t, env, f, workflows.PromoteInput{Release: rNew, RollbackTo: rTarget, Promotion: promoID})

	// Nothing was begun, so there is nothing to finish.
	wantNames(t, rec, "CreateRelease")
	if got := appError(t, env.GetWorkflowError()).Message(); got != msg {
		t.Errorf("workflow error %q, want %q", got, msg)
	}
}

// A cancelled run (temporal workflow cancel) still undoes what it applied.
func TestPromoteCancelledRunRollsBack(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		watch: map[string]watchPlan{
			rNew: {after: time.Hour},
			rOld: {progress: oldProgress},
		},
	}
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "ApplyRelease", "WatchRollout", "FinishPromotion")
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	if fin.Release != rOld || fin.Result != model.ResultRolledBack || fin.Reason == "" {
		t.Errorf("finish %+v, want rolled back to %s with a reason", fin, rOld)
	}
	wantFailure(t, env, "RolledBack", "rollback: "+fin.Reason)
}

func TestPromotePauseFailureRollsBack(t *testing.T) {
	env, rec := newEnv(t)
	msg := "promotion " + promoID + " not found"
	f := &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		watch: map[string]watchPlan{
			rNew: {after: time.Hour},
			rOld: {progress: oldProgress},
		},
		pauseErr: permanent(msg, activities.ErrNotFound),
	}
	signalAt(env, 5*time.Second, workflows.SignalPause, nil)
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	why := "pause failed: " + msg
	wantFailure(t, env, "RolledBack", "rollback: "+why)
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "SetPaused", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if fin := only[activities.FinishInput](rec, "FinishPromotion"); fin.Reason != why || fin.Result != model.ResultRolledBack {
		t.Errorf("finish %+v, want rolled back because %q", fin, why)
	}
}

// A cancel that arrives while a rolled-out release is being marked active
// is too late: the write runs to its end, the release stays active, and
// the state says the cancel was refused.
func TestPromoteLateCancelKeepsActive(t *testing.T) {
	env, rec := newEnv(t)
	f := &fake{
		from:        rOld,
		services:    map[string][]string{rNew: newServices, rOld: oldServices},
		watch:       map[string]watchPlan{rNew: {after: 3 * time.Second, progress: newProgress}, rOld: {progress: oldProgress}},
		finishAfter: 2 * time.Second,
	}
	env.RegisterDelayedCallback(env.CancelWorkflow, 4*time.Second) // during the finish
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.PromoteResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Result != model.ResultActive {
		t.Errorf("result %+v, want active", res)
	}
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if len(rec.cancelled) != 0 {
		t.Errorf("activities cancelled: %v, want none", rec.cancelled)
	}
	st := query(t, env)
	want := "cancel refused: " + rNew + " had rolled out when it arrived, and stays active; to undo it, run `slipway releases rollback " + rOld + " -a " + app + "`"
	if st.Phase != model.PhaseDone || st.Result != model.ResultActive || st.Notice != want {
		t.Errorf("state %+v, want done, active, notice %q", st, want)
	}
}

func TestPromoteFinishFailureRollsBack(t *testing.T) {
	env, rec := newEnv(t)
	msg := "app " + app + " not found"
	f := &fake{
		from:      rOld,
		services:  map[string][]string{rNew: newServices, rOld: oldServices},
		watch:     map[string]watchPlan{rNew: {progress: newProgress}, rOld: {progress: oldProgress}},
		finishErr: permanent(msg, activities.ErrNotFound),
	}
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	wantFailure(t, env, "RolledBack", "rollback: "+msg)
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion",
		"ApplyRelease", "WatchRollout", "FinishPromotion")
	fins := inputs[activities.FinishInput](rec, "FinishPromotion")
	if fins[1].Result != model.ResultRolledBack || fins[1].Release != rOld || fins[1].Event != ev(5, model.AtomRollback, model.AtomRunning) {
		t.Errorf("second finish %+v, want rolled back to %s with event 5", fins[1], rOld)
	}
}

// The watch of the previous release keeps watchOptions' retry policy: a
// transient error is retried after 200ms (not the server's default 1s,
// growing to 100s), and a NotFound error is not retried at all.
func TestPromoteCompensationWatchRetryPolicy(t *testing.T) {
	t.Run("transient error retried quickly", func(t *testing.T) {
		env, rec := newEnv(t)
		f := &fake{
			from:     rOld,
			services: map[string][]string{rNew: newServices, rOld: oldServices},
			watch: map[string]watchPlan{
				rNew: {err: permanent(crashLoop, activities.ErrRolloutFailed)},
				rOld: {first: []error{errors.New("connection refused"), errors.New("connection refused")}, progress: oldProgress},
			},
		}
		promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

		wantFailure(t, env, "RolledBack", "rollback: "+crashLoop)
		var old []call
		for _, c := range rec.callsOf("WatchRollout") {
			var in activities.WatchInput
			if err := c.args.Get(&in); err == nil && in.Release == rOld {
				old = append(old, c)
			}
		}
		if len(old) != 3 {
			t.Fatalf("watched %s %d times, want 3 (two transient failures)", rOld, len(old))
		}
		gaps := []time.Duration{old[1].At.Sub(old[0].At), old[2].At.Sub(old[1].At)}
		wantEqual(t, "retry intervals", gaps, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond})
	})
	t.Run("NotFound not retried", func(t *testing.T) {
		env, rec := newEnv(t)
		msg := "release " + rOld + " not found"
		f := &fake{
			from:     rOld,
			services: map[string][]string{rNew: newServices, rOld: oldServices},
			watch: map[string]watchPlan{
				rNew: {err: permanent(crashLoop, activities.ErrRolloutFailed)},
				// A retryable error of a type the policy lists as final.
				rOld: {err: temporal.NewApplicationError(msg, activities.ErrNotFound)},
			},
		}
		promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

		wantFailure(t, env, "RollbackFailed", "rollback failed: "+msg+" (after: "+crashLoop+")")
		wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "ApplyRelease", "WatchRollout", "FinishPromotion")
	})
}
