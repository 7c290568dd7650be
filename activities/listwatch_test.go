package activities

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"
	"gocloud.dev/blob/memblob"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/model"
)

// waitWatching waits until the fake client has been asked for n watches of
// resource: the fake's watches start from now, whatever resourceVersion
// they are given, so a test changes objects only once one is open.
func waitWatching(t *testing.T, fs *fakeStore, resource string, n int, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for countActions(fs, "watch", resource) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no watch of %s within 20s", resource)
		}
		select {
		case err := <-done:
			t.Fatalf("returned before watching %s: %v", resource, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func result(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("did not return within %s", within)
		return nil
	}
}

func terminating(ns *corev1.Namespace) *corev1.Namespace {
	now := metav1.Now()
	ns.DeletionTimestamp = &now
	ns.Finalizers = []string{"kubernetes"}
	return ns
}

// A namespace that is already going is not deleted again, and the
// activity returns only once it is gone.
func TestDeleteNamespaceWaitsUntilGone(t *testing.T) {
	fs := newFakeStore(t, nil, terminating(namespace(testNS, ownLabels(testApp))))
	a := &Activities{Store: fs.Store}
	done := make(chan error, 1)
	go func() { done <- a.DeleteNamespace(context.Background(), AppInput{App: testApp}) }()
	waitWatching(t, fs, "namespaces", 1, done)
	select {
	case err := <-done:
		t.Fatalf("DeleteNamespace returned while the namespace still exists: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if w := fs.coreWrites(); len(w) != 0 {
		t.Fatalf("wrote %q to a namespace that is already being deleted", w)
	}
	// The namespace controller finishes: the object goes.
	if err := fs.core.CoreV1().Namespaces().Delete(context.Background(), testNS, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := result(t, done, 10*time.Second); err != nil {
		t.Fatalf("DeleteNamespace: %v", err)
	}
}

// A namespace changed between the check and the conditional delete is
// checked again, then deleted.
func TestDeleteNamespaceChecksAgainAfterAConflict(t *testing.T) {
	fs := newFakeStore(t, nil, namespace(testNS, ownLabels(testApp)))
	conflicts := 1
	fs.core.PrependReactor("delete", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "namespaces"}, testNS, errors.New("the object has been modified"))
	})
	a := &Activities{Store: fs.Store}
	if err := a.DeleteNamespace(context.Background(), AppInput{App: testApp}); err != nil {
		t.Fatal(err)
	}
	if n := countActions(fs, "get", "namespaces"); n != 2 {
		t.Errorf("namespace read %d times, want once more after the conflict", n)
	}
	if n := countActions(fs, "delete", "namespaces"); n != 2 {
		t.Errorf("%d deletes, want 2", n)
	}
	if _, err := fs.core.CoreV1().Namespaces().Get(context.Background(), testNS, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace still there: %v", err)
	}
}

func TestDeleteNamespaceStopsWhenCancelled(t *testing.T) {
	fs := newFakeStore(t, nil, terminating(namespace(testNS, ownLabels(testApp))))
	a := &Activities{Store: fs.Store}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.DeleteNamespace(ctx, AppInput{App: testApp}) }()
	waitWatching(t, fs, "namespaces", 1, done)
	cancel()
	if err := result(t, done, 2*time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteNamespace = %v, want context.Canceled", err)
	}
}

func buildJob(name string) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS}}
}

func TestWaitJobEndsWithTheJob(t *testing.T) {
	fs := newFakeStore(t, nil, buildJob("build-a"), buildJob("build-b"))
	a := &Activities{Store: fs.Store}
	done := make(chan error, 1)
	var end jobEnd
	go func() {
		var err error
		end, err = a.waitJob(context.Background(), &bytes.Buffer{}, testNS, "build-a")
		done <- err
	}()
	waitWatching(t, fs, "jobs", 1, done)
	jobs := fs.core.BatchV1().Jobs(testNS)
	// Another Job's end is not this one's.
	other := buildJob("build-b")
	other.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	if _, err := jobs.UpdateStatus(context.Background(), other, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("waitJob returned when another Job ended: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	j := buildJob("build-a")
	j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}
	if _, err := jobs.UpdateStatus(context.Background(), j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := result(t, done, 10*time.Second); err != nil {
		t.Fatalf("waitJob: %v", err)
	}
	if want := (jobEnd{why: "BackoffLimitExceeded: Job has reached the specified backoff limit"}); end != want {
		t.Errorf("end = %+v, want %+v", end, want)
	}
}

func TestWaitJobFailsWhenTheJobGoes(t *testing.T) {
	t.Run("before the wait", func(t *testing.T) {
		a := &Activities{Store: newFakeStore(t, nil).Store}
		_, err := a.waitJob(context.Background(), &bytes.Buffer{}, testNS, "build-a")
		if err == nil || err.Error() != "build Job build-a disappeared" {
			t.Fatalf("waitJob = %v, want the Job disappeared", err)
		}
	})
	t.Run("while it waits", func(t *testing.T) {
		fs := newFakeStore(t, nil, buildJob("build-a"))
		a := &Activities{Store: fs.Store}
		done := make(chan error, 1)
		go func() {
			_, err := a.waitJob(context.Background(), &bytes.Buffer{}, testNS, "build-a")
			done <- err
		}()
		waitWatching(t, fs, "jobs", 1, done)
		if err := fs.core.BatchV1().Jobs(testNS).Delete(context.Background(), "build-a", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := result(t, done, 10*time.Second); err == nil || err.Error() != "build Job build-a disappeared" {
			t.Fatalf("waitJob = %v, want the Job disappeared", err)
		}
	})
}

// A list the API server refuses ends the wait with its error, for the
// activity's retry policy to judge, rather than being retried unseen.
func TestWaitJobReturnsARefusedList(t *testing.T) {
	fs := newFakeStore(t, nil, buildJob("build-a"))
	fs.core.PrependReactor("list", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "jobs"}, "", errors.New("no list"))
	})
	a := &Activities{Store: fs.Store}
	done := make(chan error, 1)
	go func() {
		_, err := a.waitJob(context.Background(), &bytes.Buffer{}, testNS, "build-a")
		done <- err
	}()
	if err := result(t, done, 5*time.Second); !apierrors.IsForbidden(err) {
		t.Fatalf("waitJob = %v, want the API server's Forbidden", err)
	}
}

func TestWatchRolloutReturnsARefusedList(t *testing.T) {
	fs := newFakeStore(t, watchRecords(), rolledOut("web", oldRelease, 1))
	fs.core.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no list"))
	})
	a := &Activities{Store: fs.Store}
	done := make(chan error, 1)
	go func() {
		_, err := a.WatchRollout(context.Background(), WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}})
		done <- err
	}()
	if err := result(t, done, 5*time.Second); !apierrors.IsForbidden(err) {
		t.Fatalf("WatchRollout = %v, want the API server's Forbidden", err)
	}
}

// Cancellation (a rollback) ends the watch at once.
func TestWatchRolloutStopsWhenCancelled(t *testing.T) {
	fs := newFakeStore(t, watchRecords(), rolledOut("web", oldRelease, 1))
	a := &Activities{Store: fs.Store}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.WatchRollout(ctx, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}})
		done <- err
	}()
	waitWatching(t, fs, "pods", 1, done)
	waitWatching(t, fs, "deployments", 1, done)
	cancel()
	if err := result(t, done, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("WatchRollout = %v, want context.Canceled", err)
	}
}

// A write that meets a newer record is read again and retried.
func TestMarkAppDeletingRetriesAConflict(t *testing.T) {
	fs := newFakeStore(t, []any{appRecord(model.AppRunning)}, namespace(testNS, ownLabels(testApp)))
	conflicts := 1
	fs.dyn.PrependReactor("update", "apps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "apps"}, testApp, errors.New("the object has been modified"))
	})
	a := &Activities{Store: fs.Store}
	if err := a.MarkAppDeleting(context.Background(), AppInput{App: testApp}); err != nil {
		t.Fatal(err)
	}
	if app, err := fs.GetApp(context.Background(), testApp); err != nil || app.Status.Status != model.AppDeleting {
		t.Errorf("app %+v, %v; want deleting", app, err)
	}
}

// The build log reaches the blob store while the build runs, and whole
// when it is closed.
func TestBuildLogFlushes(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	ctx := context.Background()
	l := newBuildLog(ctx, bucket, "log")
	_, _ = l.Write([]byte("one\n"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := bucket.ReadAll(ctx, "log")
		if string(b) == "one\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log %q after 10s, want the line written while the build runs", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, _ = l.Write([]byte("two\n"))
	l.Close()
	if b, err := bucket.ReadAll(ctx, "log"); err != nil || !strings.HasSuffix(string(b), "one\ntwo\n") {
		t.Errorf("log %q, %v after Close, want both lines", b, err)
	}
}

func describeRun(status enumspb.WorkflowExecutionStatus) *workflowservice.DescribeWorkflowExecutionResponse {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}
}

// stoppingPromotion is a Temporal client whose promotion of the app runs
// for `running` more looks after the one that finds it, then completes.
func stoppingPromotion(running int) *mocks.Client {
	tc := &mocks.Client{}
	tc.On("ListWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.ListWorkflowExecutionsResponse{}, nil)
	tc.On("CancelWorkflow", mock.Anything, "promote/"+testApp, "").Return(nil).Once()
	describe := tc.On("DescribeWorkflowExecution", mock.Anything, "promote/"+testApp, "")
	if running < 0 {
		describe.Return(describeRun(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), nil)
		return tc
	}
	describe.Return(describeRun(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), nil).Times(1 + running)
	tc.On("DescribeWorkflowExecution", mock.Anything, "promote/"+testApp, "").
		Return(describeRun(enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED), nil)
	return tc
}

var testRuns = AppRuns{Promote: "promote/" + testApp, BuildPrefix: "build/" + testApp + "/"}

// A forced delete cancels the app's promotion and returns once its run
// has ended, not before.
func TestStopAppWorkWaitsForTheRunsToEnd(t *testing.T) {
	fs := newFakeStore(t, []any{appRecord(model.AppUpdating)}, namespace(testNS, ownLabels(testApp)))
	tc := stoppingPromotion(2)
	a := &Activities{Store: fs.Store, Temporal: tc}
	if err := a.StopAppWork(context.Background(), AppInput{App: testApp, Force: true, Runs: testRuns}); err != nil {
		t.Fatal(err)
	}
	tc.AssertExpectations(t)
	// Found running, then seen running twice more, then ended.
	tc.AssertNumberOfCalls(t, "DescribeWorkflowExecution", 4)
}

func TestStopAppWorkStopsWhenCancelled(t *testing.T) {
	fs := newFakeStore(t, []any{appRecord(model.AppUpdating)}, namespace(testNS, ownLabels(testApp)))
	a := &Activities{Store: fs.Store, Temporal: stoppingPromotion(-1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.StopAppWork(ctx, AppInput{App: testApp, Force: true, Runs: testRuns}) }()
	select {
	case err := <-done:
		t.Fatalf("StopAppWork returned while the run goes on: %v", err)
	case <-time.After(600 * time.Millisecond):
	}
	cancel()
	if err := result(t, done, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("StopAppWork = %v, want context.Canceled", err)
	}
}
