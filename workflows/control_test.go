package workflows_test

import (
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

// slowApply is a promotion whose apply of rNew takes a minute and whose
// rollout never ends by itself.
func slowApply() *fake {
	return &fake{
		from:       rOld,
		services:   map[string][]string{rNew: newServices, rOld: oldServices},
		applyAfter: map[string]time.Duration{rNew: time.Minute},
		watch: map[string]watchPlan{
			rNew: {after: time.Hour},
			rOld: {progress: oldProgress},
		},
	}
}

// Every control stops a promotion while it applies, not only while it
// watches: the apply is cancelled and waited for, then the previous release
// is put back.
func TestPromoteStopsDuringApply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		act     func(env *testsuite.TestWorkflowEnvironment)
		why     string
	}{
		{"rollback signal", 0, func(env *testsuite.TestWorkflowEnvironment) {
			env.SignalWorkflow(workflows.SignalRollback, "alice")
		}, "rollback requested by alice"},
		{"cancel request", 0, func(env *testsuite.TestWorkflowEnvironment) { env.CancelWorkflow() }, "cancelled from Temporal"},
		{"timeout", 5 * time.Second, func(*testsuite.TestWorkflowEnvironment) {}, "timeout: not rolled out within 5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, rec := newEnv(t)
			env.RegisterDelayedCallback(func() { tc.act(env) }, 5*time.Second)
			start := promote(t, env, slowApply(), workflows.PromoteInput{Promotion: promoID, Timeout: tc.timeout})

			wantFailure(t, env, "RolledBack", "rollback: "+tc.why)
			wantNames(t, rec, "BeginPromotion", "ApplyRelease", "ApplyRelease", "WatchRollout", "FinishPromotion")
			if !slices.Contains(rec.cancelled, "ApplyRelease") {
				t.Error("the apply of the new release was not cancelled")
			}
			if at := rec.callsOf("ApplyRelease")[1].At.Sub(start); at != 5*time.Second {
				t.Errorf("rollback began %s after the start, want at once (5s)", at)
			}
			applies := inputs[activities.ApplyInput](rec, "ApplyRelease")
			if applies[1].Release != rOld || !applies[1].Prune {
				t.Errorf("second apply %+v, want %s with prune", applies[1], rOld)
			}
			fin := only[activities.FinishInput](rec, "FinishPromotion")
			if fin.Result != model.ResultRolledBack || fin.Release != rOld || fin.Reason != tc.why {
				t.Errorf("finish %+v, want rolled back to %s because %q", fin, rOld, tc.why)
			}
		})
	}
}

// A control that arrives while Begin writes the records lets Begin finish,
// then ends the promotion with nothing applied and the records put back.
func TestPromoteStopsDuringBegin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		act     func(env *testsuite.TestWorkflowEnvironment)
		why     string
	}{
		{"rollback signal", 0, func(env *testsuite.TestWorkflowEnvironment) {
			env.SignalWorkflow(workflows.SignalRollback, nil)
		}, "rollback requested"},
		{"cancel request", 0, func(env *testsuite.TestWorkflowEnvironment) { env.CancelWorkflow() }, "cancelled from Temporal"},
		{"timeout", 2 * time.Second, func(*testsuite.TestWorkflowEnvironment) {}, "timeout: not rolled out within 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, rec := newEnv(t)
			f := slowApply()
			f.beginAfter = 5 * time.Second
			env.RegisterDelayedCallback(func() { tc.act(env) }, time.Second)
			promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: tc.timeout})

			wantFailure(t, env, "Rejected", tc.why)
			wantNames(t, rec, "BeginPromotion", "FinishPromotion")
			if slices.Contains(rec.cancelled, "BeginPromotion") {
				t.Error("Begin was cancelled half way through its writes")
			}
			wantEqual(t, "FinishPromotion input", only[activities.FinishInput](rec, "FinishPromotion"), activities.FinishInput{
				App: app, Promotion: promoID, Release: rOld, From: rOld,
				Result: model.ResultRolledBack, Reason: tc.why, KeepObjects: true,
				Event: ev(2, model.AtomPending, model.AtomRunning),
			})
		})
	}
}

// Pause and resume sent while the release is being applied take effect on
// the Deployments as soon as they exist; sent before, the apply creates
// them paused.
func TestPromotePauseBeforeTheDeploymentsExist(t *testing.T) {
	t.Run("during the apply", func(t *testing.T) {
		env, rec := newEnv(t)
		f := slowApply()
		f.watch[rNew] = watchPlan{after: 10 * time.Second, progress: newProgress}
		signalAt(env, 5*time.Second, workflows.SignalPause, nil)
		var during workflows.PromotionState
		queryAt(t, env, 6*time.Second, &during)
		signalAt(env, 65*time.Second, workflows.SignalResume, nil)
		promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Timeout: 2 * time.Minute})

		if err := env.GetWorkflowError(); err != nil {
			t.Fatalf("workflow failed: %v (the paused minutes must not count against the timeout)", err)
		}
		if !during.Paused || during.Phase != model.PhasePaused {
			t.Errorf("state after the pause: %+v, want paused", during)
		}
		if only[activities.ApplyInput](rec, "ApplyRelease").Paused {
			t.Error("applied paused, but the pause came after the apply began")
		}
		var paused []bool
		for _, in := range inputs[activities.PauseInput](rec, "SetPaused") {
			paused = append(paused, in.Paused)
		}
		wantEqual(t, "SetPaused calls", paused, []bool{true, false})
	})
	t.Run("during begin", func(t *testing.T) {
		env, rec := newEnv(t)
		f := slowApply()
		f.beginAfter = 5 * time.Second
		f.watch[rNew] = watchPlan{after: 10 * time.Second, progress: newProgress}
		signalAt(env, time.Second, workflows.SignalPause, nil)
		signalAt(env, 70*time.Second, workflows.SignalResume, nil)
		promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

		if err := env.GetWorkflowError(); err != nil {
			t.Fatalf("workflow failed: %v", err)
		}
		if !only[activities.ApplyInput](rec, "ApplyRelease").Paused {
			t.Error("the apply after a pause did not create the Deployments paused")
		}
		var paused []bool
		for _, in := range inputs[activities.PauseInput](rec, "SetPaused") {
			paused = append(paused, in.Paused)
		}
		wantEqual(t, "SetPaused calls", paused, []bool{false})
	})
}

// update sends an update and returns its result or the refusal.
func update(env *testsuite.TestWorkflowEnvironment, name string, at time.Duration, got *string, refused *error) {
	updateAs(env, name, "bob", at, got, refused)
}

// updateAs sends the update as `by`.
func updateAs(env *testsuite.TestWorkflowEnvironment, name, by string, at time.Duration, got *string, refused *error) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(name, name+at.String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { *refused = err },
			OnComplete: func(v any, err error) {
				if err != nil {
					*refused = err
					return
				}
				*got, _ = v.(string)
			},
		}, by)
	}, at)
}

// The CLI's controls are updates: each answers with the phase it led to,
// or is refused with the reason, and a refused one changes nothing.
func TestPromoteControlUpdates(t *testing.T) {
	env, rec := newEnv(t)
	f := slowApply()
	f.applyAfter = map[string]time.Duration{rOld: 5 * time.Second}
	var pause, pauseAgain, resumeRunning, rollback string
	var pauseErr, pauseAgainErr, resumeRunningErr, resumeErr, rollbackErr, late error
	var resume string
	update(env, workflows.SignalResume, 2*time.Second, &resumeRunning, &resumeRunningErr)
	update(env, workflows.SignalPause, 3*time.Second, &pause, &pauseErr)
	update(env, workflows.SignalPause, 4*time.Second, &pauseAgain, &pauseAgainErr)
	update(env, workflows.SignalResume, 5*time.Second, &resume, &resumeErr)
	update(env, workflows.SignalRollback, 6*time.Second, &rollback, &rollbackErr)
	var lateResult string
	update(env, workflows.SignalRollback, 7*time.Second, &lateResult, &late)
	start := promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	if resumeRunningErr == nil || resumeRunningErr.Error() != "the promotion is not paused" {
		t.Errorf("resume while running: %v, want refused: not paused", resumeRunningErr)
	}
	if pauseErr != nil || pause != model.PhasePaused {
		t.Errorf("pause: %q, %v; want %q", pause, pauseErr, model.PhasePaused)
	}
	if pauseAgainErr == nil || pauseAgain != "" {
		t.Errorf("second pause: %q, %v; want refused", pauseAgain, pauseAgainErr)
	}
	if resumeErr != nil || resume != model.PhaseRollingOut {
		t.Errorf("resume: %q, %v; want %q", resume, resumeErr, model.PhaseRollingOut)
	}
	if rollbackErr != nil {
		t.Errorf("rollback refused: %v", rollbackErr)
	}
	if late == nil {
		t.Error("a second rollback was accepted while the first one runs")
	}
	var paused []bool
	for _, in := range inputs[activities.PauseInput](rec, "SetPaused") {
		paused = append(paused, in.Paused)
	}
	wantEqual(t, "SetPaused calls (the refused ones made none)", paused, []bool{true, false})
	wantFailure(t, env, "RolledBack", "rollback: rollback requested by bob")
	if at := rec.callsOf("ApplyRelease")[1].At.Sub(start); at != 6*time.Second {
		t.Errorf("rollback began %s after the start, want at the update (6s)", at)
	}
}

// A control sent as a signal (the Temporal UI's way) cannot hear a refusal:
// the state query shows it instead.
func TestPromoteRefusedSignalIsShown(t *testing.T) {
	env, _ := newEnv(t)
	f := slowApply()
	f.applyAfter = nil
	f.watch[rNew] = watchPlan{after: 10 * time.Second, progress: newProgress}
	signalAt(env, 2*time.Second, workflows.SignalResume, nil)
	var st workflows.PromotionState
	queryAt(t, env, 3*time.Second, &st)
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if st.Notice != "the promotion is not paused" || st.Paused {
		t.Errorf("state after a refused resume: %+v", st)
	}
}

// A repair puts back the release before a promotion whose own run ended
// half way, on the promotion's record, with events numbered after its own.
func TestPromoteRepair(t *testing.T) {
	env, rec := newEnv(t)
	f := slowApply()
	f.inspect = activities.PromotionInfo{Release: rNew, From: rOld}
	why := "its workflow was terminated before it finished; rolled back"
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Repair: why})

	wantFailure(t, env, "RolledBack", "rollback: "+why)
	wantNames(t, rec, "InspectPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
	wantEqual(t, "InspectPromotion input", only[activities.InspectInput](rec, "InspectPromotion"),
		activities.InspectInput{App: app, Promotion: promoID})
	apply := only[activities.ApplyInput](rec, "ApplyRelease")
	if apply.Release != rOld || !apply.Prune || apply.Event != ev(101, model.AtomUpdating, model.AtomRollback) {
		t.Errorf("apply %+v, want %s pruned with event 101", apply, rOld)
	}
	wantEqual(t, "FinishPromotion input", only[activities.FinishInput](rec, "FinishPromotion"), activities.FinishInput{
		App: app, Promotion: promoID, Release: rOld, Services: oldServices, From: rOld,
		Result: model.ResultRolledBack, Reason: why, Progress: oldProgress,
		Event: ev(102, model.AtomRollback, model.AtomRunning),
	})
}

// A pause sent as an update while the release is being applied is answered
// only once the Deployments exist and are paused: OK means paused.
func TestPromotePauseUpdateAnsweredWhenInEffect(t *testing.T) {
	env, rec := newEnv(t)
	f := slowApply()
	f.watch[rNew] = watchPlan{after: 10 * time.Second, progress: newProgress}
	var answeredAt time.Duration
	start := env.Now()
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.SignalPause, "pause", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("pause refused: %v", err) },
			OnComplete: func(_ any, err error) {
				if err != nil {
					t.Errorf("pause failed: %v", err)
				}
				answeredAt = env.Now().Sub(start)
			},
		}, "bob")
	}, 5*time.Second)
	signalAt(env, 2*time.Minute, workflows.SignalResume, nil)
	if began := promote(t, env, f, workflows.PromoteInput{Promotion: promoID}); !began.Equal(start) {
		t.Fatalf("the test clock moved before the start: %s, %s", start, began)
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if answeredAt < time.Minute || answeredAt > 2*time.Minute {
		t.Errorf("pause answered %s after the start, before the apply ended (1m)", answeredAt)
	}
	if calls := rec.callsOf("SetPaused"); len(calls) == 0 || calls[0].At.Sub(start) > answeredAt {
		t.Errorf("pause answered at %s before the Deployments were paused", answeredAt)
	}
}
