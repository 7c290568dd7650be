package workflows_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

const keeper = "PKEEPERKEEP" // the promotion that opened the window

// windowEnv is a test environment whose promotions find window open at
// Begin (nil: none), with the window's activities mocked. It counts the
// run's keep-previous version checks, and records the PreviousWindow
// children started.
type windowEnv struct {
	env      *testsuite.TestWorkflowEnvironment
	rec      *recorder
	versions atomic.Int32
	switchAt time.Time

	mu       sync.Mutex
	children []workflows.WindowInput
	ids      []string
}

func newWindowEnv(t *testing.T, window *activities.KeptWindow, from string) *windowEnv {
	env, rec := newEnv(t)
	w := &windowEnv{env: env, rec: rec, switchAt: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	// Registered before the fake's own, so this one answers Begin.
	env.OnActivity(acts.BeginPromotion, mock.Anything, mock.Anything).Return(activities.BeginResult{From: from, Window: window}, nil)
	env.OnGetVersion("keep-previous", workflow.DefaultVersion, 1).Return(func(string, workflow.Version, workflow.Version) workflow.Version {
		w.versions.Add(1)
		return 1
	})
	env.OnActivity(acts.KeepPrevious, mock.Anything, mock.Anything).Return(activities.KeepResult{Services: []string{"web"}}, nil)
	env.OnActivity(acts.SwitchTraffic, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SwitchInput) (activities.SwitchResult, error) {
			return activities.SwitchResult{Services: window.Services, At: w.switchAt}, nil
		})
	env.OnActivity(acts.CloseWindow, mock.Anything, mock.Anything).Return(activities.CloseResult{Closed: []string{"web-previous"}}, nil)
	env.RegisterWorkflow(workflows.PreviousWindow)
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		if info.WorkflowType.Name != "PreviousWindow" {
			return
		}
		var in workflows.WindowInput
		if err := args.Get(&in); err != nil {
			t.Errorf("decode PreviousWindow input: %v", err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.children = append(w.children, in)
		w.ids = append(w.ids, info.WorkflowExecution.ID)
	})
	return w
}

// A promotion asked to keep the previous release opens a window once it
// is active: the kept Deployments of the release before, and a
// PreviousWindow child, outliving the promotion, that closes exactly that
// window when its time is up.
func TestPromoteKeepPreviousOpensWindow(t *testing.T) {
	w := newWindowEnv(t, nil, rOld)
	start := promote(t, w.env, rollingFake(), workflows.PromoteInput{Promotion: promoID, KeepPrevious: 10 * time.Minute})
	if err := w.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, w.rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion", "KeepPrevious", "CloseWindow")
	until := start.Add(3 * time.Second).Add(10 * time.Minute)
	keep := only[activities.KeepInput](w.rec, "KeepPrevious")
	if keep.Release != rOld || keep.Promotion != promoID || !slices.Equal(keep.Services, newServices) || !keep.Until.Equal(until) {
		t.Errorf("KeepPrevious input %+v, want %s kept until %s beside %v", keep, rOld, until, newServices)
	}
	if c := w.rec.callsOf("KeepPrevious")[0]; c.At.Before(w.rec.callsOf("FinishPromotion")[0].At) {
		t.Error("kept before the promotion ended active")
	}
	if len(w.children) != 1 || w.ids[0] != workflows.WindowWorkflowID(app, promoID) ||
		w.children[0].Release != rOld || w.children[0].Promotion != promoID || !w.children[0].Until.Equal(until) {
		t.Fatalf("windows started %v %+v, want one %s until %s", w.ids, w.children, workflows.WindowWorkflowID(app, promoID), until)
	}
	// The child's timer closed it, by the promotion's ID, at its end.
	cl := w.rec.callsOf("CloseWindow")[0]
	in := only[activities.CloseInput](w.rec, "CloseWindow")
	if in != (activities.CloseInput{App: app, Window: promoID}) || cl.WorkflowID != workflows.WindowWorkflowID(app, promoID) || !cl.At.Equal(until) {
		t.Errorf("closed %+v by %s at %s, want this promotion's window at %s", in, cl.WorkflowID, cl.At, until)
	}
	if n := w.versions.Load(); n != 1 {
		t.Errorf("keep-previous version taken %d times, want once", n)
	}
	if st := query(t, w.env); !st.KeptUntil.Equal(until) || st.Result != model.ResultActive {
		t.Errorf("state %+v, want active, kept until %s", st, until)
	}
}

// Without --keep-previous and with no window open, nothing changes: no
// new activity, and no version marker in the history.
func TestPromoteWithoutWindowRecordsNothing(t *testing.T) {
	w := newWindowEnv(t, nil, rOld)
	promote(t, w.env, rollingFake(), workflows.PromoteInput{Promotion: promoID})
	if err := w.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, w.rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if n := w.versions.Load(); n != 0 {
		t.Errorf("keep-previous version taken %d times, want never", n)
	}
	if len(w.children) != 0 {
		t.Errorf("windows started: %v", w.ids)
	}

	// Nor does a first promotion asked to keep: there is nothing before.
	w = newWindowEnv(t, nil, "")
	f := rollingFake()
	f.from = ""
	promote(t, w.env, f, workflows.PromoteInput{Promotion: promoID, KeepPrevious: time.Minute})
	wantNames(t, w.rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
}

// A rollback to the kept release inside the window: the traffic is
// switched to the kept pods before anything else, the service's own
// Deployment is rolled back with the Services left on the kept pods, and
// once it has converged the Services go back to it and the window is
// closed, before the promotion ends active.
func TestRollbackInsideWindowSwitchesFirst(t *testing.T) {
	open := &activities.KeptWindow{Promotion: keeper, Release: rTarget, Services: []string{"web"}, Ready: true}
	w := newWindowEnv(t, open, rOld)
	promote(t, w.env, rollingFake(), workflows.PromoteInput{Promotion: promoID, RollbackTo: rTarget})
	if err := w.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, w.rec, "CreateRelease", "BeginPromotion", "SwitchTraffic", "ApplyRelease", "WatchRollout", "CloseWindow", "FinishPromotion")
	wantEqual(t, "switch", only[activities.SwitchInput](w.rec, "SwitchTraffic"),
		activities.SwitchInput{App: app, Promotion: promoID, Window: keeper, Release: rTarget})
	apply := only[activities.ApplyInput](w.rec, "ApplyRelease")
	if apply.Release != rNew || !slices.Equal(apply.Switched, []string{"web"}) {
		t.Errorf("apply %+v, want the copy %s applied with web's traffic left switched", apply, rNew)
	}
	wantEqual(t, "close", only[activities.CloseInput](w.rec, "CloseWindow"),
		activities.CloseInput{App: app, Promotion: promoID, Force: true})
	var res workflows.PromoteResult
	if err := w.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if !res.Switched.Equal(w.switchAt) || res.Result != model.ResultActive {
		t.Errorf("result %+v, want active, switched at %s", res, w.switchAt)
	}
	if st := query(t, w.env); !st.Switched.Equal(w.switchAt) {
		t.Errorf("state says switched at %s, want %s", st.Switched, w.switchAt)
	}
	if len(w.children) != 0 {
		t.Errorf("a rollback without --keep-previous opened a window: %v", w.ids)
	}
}

// A fast rollback that fails rolls back like any promotion, and once the
// release before is healthy again its own pods get the traffic back:
// the Services are switched back only then.
func TestRollbackInsideWindowFailsSwitchesBackAfterCompensation(t *testing.T) {
	open := &activities.KeptWindow{Promotion: keeper, Release: rTarget, Services: []string{"web"}, Ready: true}
	w := newWindowEnv(t, open, rOld)
	f := rollingFake()
	f.watch[rNew] = watchPlan{err: permanent(crashLoop, activities.ErrRolloutFailed)}
	promote(t, w.env, f, workflows.PromoteInput{Promotion: promoID, RollbackTo: rTarget})
	wantFailure(t, w.env, "RolledBack", "rollback: "+crashLoop)
	wantNames(t, w.rec, "CreateRelease", "BeginPromotion", "SwitchTraffic", "ApplyRelease", "WatchRollout",
		"ApplyRelease", "WatchRollout", "CloseWindow", "FinishPromotion")
	applies := inputs[activities.ApplyInput](w.rec, "ApplyRelease")
	if back := applies[1]; back.Release != rOld || back.Phase != model.PhaseRollingBack || !slices.Equal(back.Switched, []string{"web"}) {
		t.Errorf("compensation apply %+v, want %s with web's traffic still on the kept pods", back, rOld)
	}
	if fin := only[activities.FinishInput](w.rec, "FinishPromotion"); fin.Release != rOld || fin.Result != model.ResultRolledBack {
		t.Errorf("finish %+v, want rolled back to %s", fin, rOld)
	}
}

// Kept pods that are not all ready are no faster than a normal rollback:
// the window is closed and the rollback rolls as any.
func TestRollbackInsideWindowNotReady(t *testing.T) {
	open := &activities.KeptWindow{Promotion: keeper, Release: rTarget, Services: []string{"web"}, Ready: false}
	w := newWindowEnv(t, open, rOld)
	promote(t, w.env, rollingFake(), workflows.PromoteInput{Promotion: promoID, RollbackTo: rTarget})
	if err := w.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, w.rec, "CreateRelease", "BeginPromotion", "CloseWindow", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if apply := only[activities.ApplyInput](w.rec, "ApplyRelease"); apply.Switched != nil {
		t.Errorf("apply %+v with traffic switched, want none", apply)
	}
}

// Any other promotion closes an open window before it applies anything;
// asked to keep, it opens its own once active.
func TestLaterPromotionClosesWindow(t *testing.T) {
	open := &activities.KeptWindow{Promotion: keeper, Release: rTarget, Services: []string{"web"}, Ready: true}
	w := newWindowEnv(t, open, rOld)
	promote(t, w.env, rollingFake(), workflows.PromoteInput{Promotion: promoID, KeepPrevious: time.Hour})
	if err := w.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, w.rec, "BeginPromotion", "CloseWindow", "ApplyRelease", "WatchRollout", "FinishPromotion", "KeepPrevious", "CloseWindow")
	closes := inputs[activities.CloseInput](w.rec, "CloseWindow")
	wantEqual(t, "first close", closes[0], activities.CloseInput{App: app, Promotion: promoID, Force: true})
	wantEqual(t, "own window's close", closes[1], activities.CloseInput{App: app, Window: promoID})
	if only[activities.ApplyInput](w.rec, "ApplyRelease").Switched != nil {
		t.Error("a promotion switched traffic")
	}
	// A rollback to another release than the kept one closes it too.
	w = newWindowEnv(t, open, rOld)
	promote(t, w.env, rollingFake(), workflows.PromoteInput{Promotion: promoID, RollbackTo: "ROTHEROTHER"})
	wantNames(t, w.rec, "CreateRelease", "BeginPromotion", "CloseWindow", "ApplyRelease", "WatchRollout", "FinishPromotion")
}

// A window whose time is up while a promotion of the app runs (a
// rollback using its kept pods, say) waits for it, looking again every
// 30 s.
func TestPreviousWindowWaitsForRollbackUsingIt(t *testing.T) {
	env, rec := newEnv(t)
	var calls atomic.Int32
	env.OnActivity(acts.CloseWindow, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.CloseInput) (activities.CloseResult, error) {
			if calls.Add(1) < 3 {
				return activities.CloseResult{InUse: true}, nil
			}
			return activities.CloseResult{Closed: []string{"web-previous"}}, nil
		})
	start := env.Now()
	in := workflows.WindowInput{App: app, Promotion: keeper, Release: rOld, Until: start.Add(10 * time.Minute)}
	env.ExecuteWorkflow(workflows.PreviousWindow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.WindowResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Closed, []string{"web-previous"}) {
		t.Errorf("closed %v", res.Closed)
	}
	var at []time.Duration
	for _, c := range rec.callsOf("CloseWindow") {
		at = append(at, c.At.Sub(start))
	}
	if want := []time.Duration{10 * time.Minute, 10*time.Minute + 30*time.Second, 11 * time.Minute}; !slices.Equal(at, want) {
		t.Errorf("closed at %v, want %v", at, want)
	}
	for _, c := range inputs[activities.CloseInput](rec, "CloseWindow") {
		if c != (activities.CloseInput{App: app, Window: keeper}) {
			t.Errorf("close %+v, want %s's window, unforced", c, keeper)
		}
	}
}
