package activities

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// Errors a retry cannot fix end the step at once; the others are retried
// by the activity's (bounded) retry policy.
func TestClassify(t *testing.T) {
	deploy := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, tc := range []struct {
		name      string
		err       error
		permanent string // error type, "" for transient
	}{
		{"record not found", &records.NotFoundError{Kind: "release", Name: "R1"}, ErrNotFound},
		{"object not found", apierrors.NewNotFound(deploy, "web"), ErrNotFound},
		{"forbidden by RBAC or an admission policy", apierrors.NewForbidden(deploy, "web", errors.New("denied request")), ErrApplyFailed},
		{"over quota", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web", errors.New("exceeded quota: q, requested: pods=1")), ErrApplyFailed},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil), ErrApplyFailed},
		{"bad request", apierrors.NewBadRequest("no"), ErrApplyFailed},
		{"too large", apierrors.NewRequestEntityTooLargeError("limit is 3145728"), ErrApplyFailed},
		{"unauthorized", apierrors.NewUnauthorized("token expired"), ErrApplyFailed},
		{"conflict", apierrors.NewConflict(deploy, "web", errors.New("modified")), ""},
		{"server error", apierrors.NewInternalError(errors.New("etcd")), ""},
		{"unavailable", apierrors.NewServiceUnavailable("starting"), ""},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), ""},
		{"timeout", apierrors.NewTimeoutError("took too long", 1), ""},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ""},
		{"deadline", context.DeadlineExceeded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			var appErr *temporal.ApplicationError
			isApp := errors.As(got, &appErr)
			switch {
			case tc.permanent == "" && isApp:
				t.Errorf("classify(%v) = permanent %s, want the error as it was (transient)", tc.err, appErr.Type())
			case tc.permanent == "" && got != tc.err:
				t.Errorf("classify(%v) = %v, want the error as it was", tc.err, got)
			case tc.permanent != "" && (!isApp || !appErr.NonRetryable() || appErr.Type() != tc.permanent):
				t.Errorf("classify(%v) = %v, want a non-retryable %s", tc.err, got, tc.permanent)
			case tc.permanent != "" && appErr.Message() != tc.err.Error():
				t.Errorf("message %q, want the original %q", appErr.Message(), tc.err.Error())
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

// A release whose env Secret was deleted cannot render: a permanent error
// that says what to do, with nothing written.
func TestApplyReleaseLostEnvSecret(t *testing.T) {
	fs := newFakeStore(t, promoteRecords()) // no env Secret
	a := &Activities{Store: fs.Store}
	_, err := a.ApplyRelease(context.Background(), applyInput())
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrInvalid || !appErr.NonRetryable() {
		t.Fatalf("error %v, want a permanent %s", err, ErrInvalid)
	}
	want := "release " + testRelease + " has lost its env Secret " + records.EnvSecretName(testRelease) + ": promote another release, or make a new one with `slipway env set`"
	if appErr.Message() != want {
		t.Errorf("message %q, want %q", appErr.Message(), want)
	}
	if w := fs.coreWrites(); len(w) != 0 {
		t.Errorf("wrote %q", w)
	}
}

// An API server that refuses a write (an admission policy, RBAC, a quota)
// fails the apply of a new release at once, naming the service; a
// transient error is left for the retry policy. A rollback retries a
// refusal too (type Refused): the same objects were accepted before, and
// giving up would leave the app half way.
func TestApplyReleaseRefused(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "web-env", errors.New("denied by policy"))
	for _, tc := range []struct {
		name      string
		err       error
		phase     string
		permanent bool
		kind      string
	}{
		{"forbidden", forbidden, model.PhaseRollingOut, true, ErrApplyFailed},
		{"forbidden while rolling back", forbidden, model.PhaseRollingBack, false, ErrRefused},
		{"unavailable", apierrors.NewServiceUnavailable("apiserver restarting"), model.PhaseRollingOut, false, ""},
		{"unavailable while rolling back", apierrors.NewServiceUnavailable("apiserver restarting"), model.PhaseRollingBack, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
			// Both services are refused: the error names the first in the
			// manifest's order, whichever was answered first.
			fs.core.PrependReactor("patch", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			a := &Activities{Store: fs.Store}
			in := applyInput()
			in.Phase = tc.phase
			_, err := a.ApplyRelease(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), "web: apply: ") {
				t.Fatalf("error %v, want one naming the service web", err)
			}
			var appErr *temporal.ApplicationError
			isApp := errors.As(err, &appErr)
			if got := isApp && appErr.NonRetryable(); got != tc.permanent {
				t.Errorf("permanent = %v, want %v (error %v)", got, tc.permanent, err)
			}
			if tc.kind != "" && (!isApp || appErr.Type() != tc.kind) {
				t.Errorf("error %v, want type %s", err, tc.kind)
			}
		})
	}
}

// A cancelled apply starts no more services, and writes nothing once it
// has returned: a rollback that follows it never races its writes.
func TestApplyReleaseStopsWhenCancelled(t *testing.T) {
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	ctx, cancel := context.WithCancel(context.Background())
	var returned atomic.Bool
	var late atomic.Int32
	fs.core.PrependReactor("patch", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		if returned.Load() {
			late.Add(1)
		}
		return false, nil, nil
	})
	fs.core.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		cancel() // cancelled at the first Deployment
		time.Sleep(10 * time.Millisecond)
		return false, nil, nil
	})
	_, err := a.ApplyRelease(ctx, applyInput())
	returned.Store(true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := late.Load(); n != 0 {
		t.Errorf("%d writes after ApplyRelease returned", n)
	}
}

// A promotion refused before it applied anything leaves the app's active
// release alone, and may have no record to close.
func TestFinishPromotionKeepObjects(t *testing.T) {
	recs := promoteRecords()[:3] // no Promotion record: Begin failed first
	fs := newFakeStore(t, recs, releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	err := a.FinishPromotion(context.Background(), FinishInput{
		App: testApp, Promotion: testPromotion, Result: model.ResultRolledBack,
		Reason: "no such release: R9", KeepObjects: true,
		Event: Transition{Seq: 2, From: model.AtomPending, To: model.AtomRunning},
	})
	if err != nil {
		t.Fatalf("FinishPromotion: %v", err)
	}
	app, err := fs.GetApp(context.Background(), testApp)
	if err != nil {
		t.Fatal(err)
	}
	if app.Status.Release != oldRelease || app.Status.Status != "running" || app.Status.Reason != "no such release: R9" {
		t.Errorf("app status %+v, want running on %s with the reason", app.Status, oldRelease)
	}
	if w := fs.coreWrites(); len(w) != 1 || !strings.HasPrefix(w[0], "create events ") {
		t.Errorf("core writes %q, want only the status event", w)
	}
}

func TestInspectPromotion(t *testing.T) {
	fs := newFakeStore(t, promoteRecords())
	a := &Activities{Store: fs.Store}
	got, err := a.InspectPromotion(context.Background(), InspectInput{App: testApp, Promotion: testPromotion})
	if err != nil || !reflect.DeepEqual(got, PromotionInfo{Release: testRelease, From: oldRelease}) {
		t.Errorf("InspectPromotion = %+v, %v", got, err)
	}
	_, err = a.InspectPromotion(context.Background(), InspectInput{App: testApp, Promotion: "PNOSUCHPROMO"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrNotFound {
		t.Errorf("unknown promotion: %v, want a permanent %s", err, ErrNotFound)
	}
}

// A promotion paused before its Deployments existed applies them paused,
// and nothing un-pauses them.
func TestApplyReleasePaused(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	in := applyInput()
	in.Paused = true
	if _, err := a.ApplyRelease(ctx, in); err != nil {
		t.Fatalf("ApplyRelease: %v", err)
	}
	for _, svc := range []string{"web", "worker"} {
		d, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Spec.Paused {
			t.Errorf("%s is not paused", svc)
		}
	}
}

// A promotion that starts while its app is being deleted is refused before
// it writes anything.
func TestBeginPromotionRefusesADeletingApp(t *testing.T) {
	recs := promoteRecords()
	recs[0].(*records.App).Status.Status = "deleting"
	fs := newFakeStore(t, recs, releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	_, err := a.BeginPromotion(context.Background(), BeginInput{App: testApp, Release: testRelease, Promotion: "PNEWPROMOTI"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrInvalid || appErr.Message() != "app "+testApp+" is being deleted" {
		t.Fatalf("error %v, want a permanent %s saying the app is being deleted", err, ErrInvalid)
	}
	for _, act := range fs.dyn.Actions() {
		if v := act.GetVerb(); v != "get" && v != "list" {
			t.Errorf("%s %s while the app is being deleted", v, act.GetResource().Resource)
		}
	}
}

// Closing a promotion's records retries what the API server refuses (type
// Refused): giving up would end the promotion with its records saying it
// still runs.
func TestFinishPromotionRefusedIsRetried(t *testing.T) {
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	fs.dyn.PrependReactor("update", "apps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "slipway.dev", Resource: "apps"}, testApp, errors.New("writes denied"))
	})
	a := &Activities{Store: fs.Store}
	err := a.FinishPromotion(context.Background(), FinishInput{
		App: testApp, Promotion: testPromotion, Release: oldRelease, Result: model.ResultRolledBack,
		Reason: "web crashed", KeepObjects: true,
		Event: Transition{Seq: 3, From: model.AtomRollback, To: model.AtomRunning},
	})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.NonRetryable() || appErr.Type() != ErrRefused {
		t.Fatalf("error %v, want a retryable %s", err, ErrRefused)
	}
}
