package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

// protectedApp is a protected app's promotion by alice, whose rollout
// takes 3 s once applied.
func protectedApp() *fake {
	f := rollingFake()
	f.protected = true
	return f
}

// A protected app's promotion applies nothing until someone other than
// who started it continues it; who started it is refused, and so are
// pause and resume, which have nothing to act on yet. The wait does not
// count against the promotion's timeout.
func TestPromoteProtectedWaitsForAnotherPersonsApproval(t *testing.T) {
	env, rec := newEnv(t)
	var own, pause, approved string
	var ownErr, pauseErr, approvedErr error
	var waiting workflows.PromotionState
	queryAt(t, env, 30*time.Minute, &waiting)
	updateAs(env, workflows.SignalContinue, "alice", time.Hour, &own, &ownErr)
	update(env, workflows.SignalPause, 2*time.Hour, &pause, &pauseErr)
	updateAs(env, workflows.SignalContinue, "bob", 3*time.Hour, &approved, &approvedErr)
	start := promote(t, env, protectedApp(), workflows.PromoteInput{Promotion: promoID, Actor: "alice", Timeout: 10 * time.Minute})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if ownErr == nil || !strings.Contains(ownErr.Error(), "alice started this promotion of a protected app: someone else must approve it") {
		t.Errorf("continue by who started it: %q, %v; want refused", own, ownErr)
	}
	if pauseErr == nil || !strings.Contains(pauseErr.Error(), "waiting for approval") {
		t.Errorf("pause at the gate: %q, %v; want refused", pause, pauseErr)
	}
	if approvedErr != nil {
		t.Errorf("continue by bob refused: %v", approvedErr)
	}
	wantEqual(t, "state while waiting", []any{waiting.Phase, waiting.Gate, waiting.GateUntil.Sub(start)},
		[]any{model.PhaseAwaitingApproval, workflows.GateApproval, 24 * time.Hour})
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
	if at := rec.callsOf("ApplyRelease")[0].At.Sub(start); at != 3*time.Hour {
		t.Errorf("applied %s after the start, want at bob's approval (3h)", at)
	}
	wantEqual(t, "apply step", only[activities.ApplyInput](rec, "ApplyRelease").Step, "applying "+rNew+" (approved by bob)")
	st := query(t, env)
	wantEqual(t, "final state", []any{st.Result, st.ContinuedBy, st.Gate}, []any{model.ResultActive, "bob", ""})
}

// Nobody approves: the promotion ends rejected after a day, nothing
// applied, and the deploy lock is free again.
func TestPromoteNotApprovedIsRejected(t *testing.T) {
	env, rec := newEnv(t)
	start := promote(t, env, protectedApp(), workflows.PromoteInput{Promotion: promoID, Actor: "alice"})

	wantFailure(t, env, "Rejected", "not approved within 24 hours: promote it again, and ask someone else to run `slipway promotions continue -a shop`")
	wantNames(t, rec, "BeginPromotion", "FinishPromotion")
	fin := only[activities.FinishInput](rec, "FinishPromotion")
	wantEqual(t, "finish", []any{fin.Release, fin.Result, fin.KeepObjects}, []any{rOld, model.ResultRolledBack, true})
	if at := rec.callsOf("FinishPromotion")[0].At.Sub(start); at != 24*time.Hour {
		t.Errorf("rejected %s after the start, want 24h", at)
	}
}

// A rollback (or cancel) at the gate ends the promotion with nothing
// applied.
func TestPromoteRollbackAtTheGate(t *testing.T) {
	env, rec := newEnv(t)
	var got string
	var refused error
	update(env, workflows.SignalRollback, time.Hour, &got, &refused)
	promote(t, env, protectedApp(), workflows.PromoteInput{Promotion: promoID, Actor: "alice"})

	if refused != nil {
		t.Errorf("rollback at the gate refused: %v", refused)
	}
	wantFailure(t, env, "Rejected", "rollback requested by bob")
	wantNames(t, rec, "BeginPromotion", "FinishPromotion")
}

// The Temporal UI sends continue as a signal, whose input names the
// approver: an empty one, or who started it, is refused in the state's
// notice, and the promotion keeps waiting.
func TestPromoteApprovedBySignal(t *testing.T) {
	env, rec := newEnv(t)
	signalAt(env, time.Minute, workflows.SignalContinue, "")
	var afterEmpty workflows.PromotionState
	queryAt(t, env, 2*time.Minute, &afterEmpty)
	signalAt(env, 3*time.Minute, workflows.SignalContinue, "alice")
	var afterOwn workflows.PromotionState
	queryAt(t, env, 4*time.Minute, &afterOwn)
	signalAt(env, 5*time.Minute, workflows.SignalContinue, "carol")
	start := promote(t, env, protectedApp(), workflows.PromoteInput{Promotion: promoID, Actor: "alice"})

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if !strings.Contains(afterEmpty.Notice, "must say who gives it") || afterEmpty.Gate != workflows.GateApproval {
		t.Errorf("after an empty continue signal: %+v", afterEmpty)
	}
	if !strings.Contains(afterOwn.Notice, "someone else must approve it") || afterOwn.Gate != workflows.GateApproval {
		t.Errorf("after alice's own continue signal: %+v", afterOwn)
	}
	if at := rec.callsOf("ApplyRelease")[0].At.Sub(start); at != 5*time.Minute {
		t.Errorf("applied %s after the start, want at carol's signal (5m)", at)
	}
	wantEqual(t, "approved by", query(t, env).ContinuedBy, "carol")
}

// A rollback command returns to a release approved before: it never
// waits, even on a protected app. Neither does an unprotected app's
// promotion, nor does `continue` do anything there.
func TestPromoteRollbackCommandSkipsApproval(t *testing.T) {
	env, rec := newEnv(t)
	promote(t, env, protectedApp(), workflows.PromoteInput{Promotion: promoID, Actor: "alice", RollbackTo: rTarget})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if n := len(rec.callsOf("ApplyRelease")); n != 1 {
		t.Errorf("rollback command applied %d times, want once; activities %v", n, rec.names())
	}

	env, rec = newEnv(t)
	f := protectedApp()
	f.protected = false
	var got string
	var refused error
	updateAs(env, workflows.SignalContinue, "bob", time.Second, &got, &refused)
	promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Actor: "alice"})
	if refused == nil || refused.Error() != "the promotion is not waiting to be continued" {
		t.Errorf("continue of an unprotected app's promotion: %q, %v; want refused", got, refused)
	}
	wantNames(t, rec, "BeginPromotion", "ApplyRelease", "WatchRollout", "FinishPromotion")
}
