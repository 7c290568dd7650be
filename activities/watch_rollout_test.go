package activities

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// watchRun is WatchRollout running in the SDK's activity test environment.
type watchRun struct {
	fs      *fakeStore
	started chan struct{} // closed on the first heartbeat: the watch is set up
	done    chan struct{}
	res     WatchResult
	err     error

	mu    sync.Mutex
	waits []string // every "service: waiting" the heartbeats carried
}

// progressBeats records the waiting notes of the progress WatchRollout
// heartbeats.
type progressBeats struct {
	interceptor.WorkerInterceptorBase
	w *watchRun
}

func (b *progressBeats) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &progressInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, w: b.w}
}

type progressInbound struct {
	interceptor.ActivityInboundInterceptorBase
	w *watchRun
}

func (b *progressInbound) Init(out interceptor.ActivityOutboundInterceptor) error {
	return b.Next.Init(&progressOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: out}, w: b.w})
}

type progressOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	w *watchRun
}

func (b *progressOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	for _, d := range details {
		if progress, ok := d.([]records.ServiceProgress); ok {
			b.w.mu.Lock()
			for _, p := range progress {
				if p.Waiting != "" {
					b.w.waits = append(b.w.waits, p.Name+": "+p.Waiting)
				}
			}
			b.w.mu.Unlock()
		}
	}
	b.Next.RecordHeartbeat(ctx, details...)
}

// waited reports whether a heartbeat said what.
func (w *watchRun) waited(what string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Contains(w.waits, what)
}

// startWatch runs WatchRollout in the background over fake clients seeded
// with objs.
func startWatch(t *testing.T, in WatchInput, objs ...runtime.Object) *watchRun {
	t.Helper()
	return startWatchOn(newFakeStore(t, watchRecords(), objs...), in)
}

func startWatchOn(fs *fakeStore, in WatchInput) *watchRun {
	w := &watchRun{fs: fs, started: make(chan struct{}), done: make(chan struct{})}
	var s testsuite.WorkflowTestSuite
	// The expected failures would each log an ERROR line.
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	acts := &Activities{Store: w.fs.Store}
	env.RegisterActivity(acts)
	var once sync.Once
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) {
		once.Do(func() { close(w.started) })
	})
	// Heartbeats as the activity records them: the SDK sends the server
	// only some of them.
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&progressBeats{w: w}}})
	go func() {
		defer close(w.done)
		val, err := env.ExecuteActivity(acts.WatchRollout, in)
		if err != nil {
			w.err = err
			return
		}
		w.err = val.Get(&w.res)
	}()
	return w
}

func (w *watchRun) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-w.started:
	case <-w.done:
		t.Fatalf("WatchRollout returned before watching: %+v, %v", w.res, w.err)
	case <-time.After(20 * time.Second):
		t.Fatal("WatchRollout did not heartbeat within 20s")
	}
}

func (w *watchRun) wait(t *testing.T) (WatchResult, error) {
	t.Helper()
	select {
	case <-w.done:
		return w.res, w.err
	case <-time.After(20 * time.Second):
		t.Fatal("WatchRollout did not return within 20s")
		return WatchResult{}, nil
	}
}

func TestWatchRolloutDone(t *testing.T) {
	ctx := context.Background()
	// The new release is applied: a new generation the controller has not
	// seen, one new pod starting next to an old one.
	d := withStatus(rolledOut("web", newRelease, 2), func(d *appsv1.Deployment) {
		d.Generation = 3
		d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = 0, 2, 2
	})
	starting := pod("web-new", "web", newRelease)
	starting.Status.ContainerStatuses[0].Ready = false
	w := startWatch(t, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}},
		d, pod("web-old", "web", oldRelease), starting)
	w.waitStarted(t)

	select {
	case <-w.done:
		t.Fatalf("WatchRollout returned before the rollout finished: %+v, %v", w.res, w.err)
	default:
	}

	deps := w.fs.core.AppsV1().Deployments(testNS)
	cur, err := deps.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Status.ObservedGeneration = 3
	cur.Status.Replicas, cur.Status.UpdatedReplicas, cur.Status.ReadyReplicas, cur.Status.AvailableReplicas = 2, 2, 2, 2
	errc := make(chan error, 1)
	go func() {
		// From another goroutine, as the controllers would: the old pod
		// goes, the new one is ready, the Deployment says so.
		pods := w.fs.core.CoreV1().Pods(testNS)
		if err := pods.Delete(ctx, "web-old", metav1.DeleteOptions{}); err != nil {
			errc <- err
			return
		}
		if _, err := pods.UpdateStatus(ctx, pod("web-new", "web", newRelease), metav1.UpdateOptions{}); err != nil {
			errc <- err
			return
		}
		_, err := deps.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}

	res, err := w.wait(t)
	if err != nil {
		t.Fatalf("WatchRollout: %v", err)
	}
	want := []records.ServiceProgress{{Name: "web", Desired: 2, Updated: 2, Ready: 2, Available: 2, Done: true}}
	if len(res.Services) != 1 || res.Services[0] != want[0] {
		t.Errorf("result = %+v, want %+v", res.Services, want)
	}
}

func TestWatchRolloutCrashLoop(t *testing.T) {
	ctx := context.Background()
	d := withStatus(rolledOut("web", newRelease, 1), func(d *appsv1.Deployment) {
		d.Status.Replicas = 2
		d.Status.ReadyReplicas, d.Status.AvailableReplicas = 1, 1
	})
	starting := pod("web-new", "web", newRelease)
	starting.Status.ContainerStatuses[0].Ready = false
	w := startWatch(t, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}},
		d, pod("web-old", "web", oldRelease), starting)
	w.waitStarted(t)

	pods := w.fs.core.CoreV1().Pods(testNS)
	p, err := pods.Get(ctx, "web-new", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p = waiting(p, "CrashLoopBackOff")
	p.Status.ContainerStatuses[0].RestartCount = 1
	errc := make(chan error, 1)
	go func() {
		_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}

	_, err = w.wait(t)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("WatchRollout error = %v (%T), want an application error", err, err)
	}
	if appErr.Type() != ErrRolloutFailed {
		t.Errorf("error type = %q, want %q", appErr.Type(), ErrRolloutFailed)
	}
	if !appErr.NonRetryable() {
		t.Error("a failed rollout is retryable: a retry would only watch it fail again")
	}
	if want := "web: container main is in CrashLoopBackOff (pod web-new)"; appErr.Message() != want {
		t.Errorf("message = %q, want %q", appErr.Message(), want)
	}
}

// A pod that already crash-loops when the watch starts fails it at once:
// the state comes from the cluster, not from the events seen.
func TestWatchRolloutFailsFromListedState(t *testing.T) {
	d := rolledOut("web", newRelease, 1)
	w := startWatch(t, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}},
		d, waiting(pod("web-new", "web", newRelease), "ImagePullBackOff"))
	_, err := w.wait(t)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrRolloutFailed {
		t.Fatalf("WatchRollout error = %v, want a %s application error", err, ErrRolloutFailed)
	}
	if want := "web: container main is in ImagePullBackOff (pod web-new)"; appErr.Message() != want {
		t.Errorf("message = %q, want %q", appErr.Message(), want)
	}
}

// A Deployment that still runs the previous release is not done, however
// healthy; applying the new release and rolling it out is.
func TestWatchRolloutWaitsForTheRelease(t *testing.T) {
	ctx := context.Background()
	w := startWatch(t, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}},
		rolledOut("web", oldRelease, 1), pod("web-old", "web", oldRelease))
	w.waitStarted(t)
	select {
	case <-w.done:
		t.Fatalf("WatchRollout returned while the old release runs: %+v, %v", w.res, w.err)
	case <-time.After(300 * time.Millisecond):
	}
	// The rollout as the controllers make it: the new pod, the old one
	// gone, then the Deployment's status.
	pods := w.fs.core.CoreV1().Pods(testNS)
	if _, err := pods.Create(ctx, pod("web-new", "web", newRelease), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "web-old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	next := rolledOut("web", newRelease, 1)
	next.Generation, next.Status.ObservedGeneration = 3, 3
	if _, err := w.fs.core.AppsV1().Deployments(testNS).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := w.wait(t)
	if err != nil {
		t.Fatalf("WatchRollout: %v", err)
	}
	if len(res.Services) != 1 || !res.Services[0].Done {
		t.Errorf("result = %+v, want web done", res.Services)
	}
}

// When the API server ends a watch, WatchRollout lists again and watches
// on from there rather than returning or hanging.
func TestWatchRolloutRelistsWhenTheWatchEnds(t *testing.T) {
	ctx := context.Background()
	d := withStatus(rolledOut("web", newRelease, 1), func(d *appsv1.Deployment) {
		d.Generation = 3
	})
	fs := newFakeStore(t, watchRecords(), d)
	ended := false
	fs.core.PrependWatchReactor("deployments", func(k8stesting.Action) (bool, watch.Interface, error) {
		if ended {
			return false, nil, nil // the tracker's watch from now on
		}
		ended = true
		fw := watch.NewFake()
		fw.Stop() // its result channel is closed, as when the server ends a watch
		return true, fw, nil
	})
	w := startWatchOn(fs, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}})

	// Wait for the second watch of Deployments: the first one ended.
	deadline := time.Now().Add(20 * time.Second)
	for countActions(fs, "watch", "deployments") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("WatchRollout did not watch again after its watch ended")
		}
		select {
		case <-w.done:
			t.Fatalf("WatchRollout returned when its watch ended: %+v, %v", w.res, w.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cur, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Status.ObservedGeneration = 3
	if _, err := fs.core.AppsV1().Deployments(testNS).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := w.wait(t)
	if err != nil || len(res.Services) != 1 || !res.Services[0].Done {
		t.Errorf("WatchRollout = %+v, %v; want web done", res, err)
	}
	if n := countActions(fs, "list", "deployments"); n < 2 {
		t.Errorf("Deployments listed %d times, want a list again after the watch ended", n)
	}
}

func countActions(fs *fakeStore, verb, resource string) int {
	n := 0
	for _, a := range fs.core.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

// wantRolloutFailed checks err is the permanent rollout failure why.
func wantRolloutFailed(t *testing.T, err error, why string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrRolloutFailed || !appErr.NonRetryable() {
		t.Fatalf("WatchRollout error = %v, want a permanent %s error", err, ErrRolloutFailed)
	}
	if appErr.Message() != why {
		t.Errorf("message = %q, want %q", appErr.Message(), why)
	}
}

// A rolled-out Deployment whose pod runs another digest than the release
// pins fails the rollout once the grace has passed, naming pod and digests;
// meanwhile the heartbeat says what it waits for.
func TestWatchRolloutFailsOnAnotherDigest(t *testing.T) {
	bad := withImageID(pod("web-new", "web", newRelease), "reg:5000/myapp@"+otherDigest)
	start := time.Now()
	w := startWatch(t, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}, ConvergeGrace: 700 * time.Millisecond},
		rolledOut("web", newRelease, 1), bad)
	_, err := w.wait(t)
	what := "pod web-new runs " + otherDigest + " but release " + newRelease + " pins " + digestOf(newRelease)
	wantRolloutFailed(t, err, "web: "+what)
	if took := time.Since(start); took < 700*time.Millisecond {
		t.Errorf("failed after %s, before the %s grace", took, 700*time.Millisecond)
	}
	if !w.waited("web: " + what) {
		t.Errorf("no heartbeat said web waits on %q: %q", what, w.waits)
	}
}

// A pod of another release left beside a rolled-out Deployment is waited
// for: when it goes, the rollout is done.
func TestWatchRolloutWaitsForALeftoverPod(t *testing.T) {
	ctx := context.Background()
	w := startWatch(t, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}, ConvergeGrace: time.Minute},
		rolledOut("web", newRelease, 1), pod("web-new", "web", newRelease), pod("web-old", "web", oldRelease))
	w.waitStarted(t)
	what := "web: pod web-old of release " + oldRelease + " remains beside release " + newRelease
	deadline := time.Now().Add(5 * time.Second)
	for !w.waited(what) {
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat said %q: %q", what, w.waits)
		}
		select {
		case <-w.done:
			t.Fatalf("WatchRollout returned while a pod of another release remains: %+v, %v", w.res, w.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := w.fs.core.CoreV1().Pods(testNS).Delete(ctx, "web-old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := w.wait(t)
	if err != nil {
		t.Fatalf("WatchRollout: %v", err)
	}
	if len(res.Services) != 1 || !res.Services[0].Done || res.Services[0].Waiting != "" {
		t.Errorf("result = %+v, want web done", res.Services)
	}
}

// One that stays fails the rollout after the grace.
func TestWatchRolloutFailsOnALeftoverPod(t *testing.T) {
	w := startWatch(t, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}, ConvergeGrace: 500 * time.Millisecond},
		rolledOut("web", newRelease, 1), pod("web-new", "web", newRelease), pod("web-old", "web", oldRelease))
	_, err := w.wait(t)
	wantRolloutFailed(t, err, "web: pod web-old of release "+oldRelease+" remains beside release "+newRelease)
}

// When every pod already runs the release the watch returns at once,
// whatever the grace, and it reads the release's pins with two requests,
// none per pod.
func TestWatchRolloutConvergedAddsNoWait(t *testing.T) {
	oneOff := pod("web-run-a", "web", oldRelease)
	delete(oneOff.Labels, render.LabelService)
	oneOff.Labels[render.LabelRun] = "web"
	start := time.Now()
	w := startWatch(t, WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}, ConvergeGrace: time.Hour},
		rolledOut("web", newRelease, 3), pod("web-a", "web", newRelease), pod("web-b", "web", newRelease), pod("web-c", "web", newRelease), oneOff)
	res, err := w.wait(t)
	if err != nil || len(res.Services) != 1 || !res.Services[0].Done {
		t.Fatalf("WatchRollout = %+v, %v; want web done", res, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s for a rollout already converged", took)
	}
	var reads []string
	for _, a := range append(w.fs.dyn.Actions(), w.fs.core.Actions()...) {
		reads = append(reads, a.GetVerb()+" "+a.GetResource().Resource)
	}
	slices.Sort(reads)
	want := []string{"get builds", "get releases", "list daemonsets", "list deployments", "list pods", "watch daemonsets", "watch deployments", "watch pods"}
	if !slices.Equal(reads, want) {
		t.Errorf("requests %q, want %q", reads, want)
	}
}

// A release without its record cannot be judged: the watch says so.
func TestWatchRolloutNeedsTheReleaseRecord(t *testing.T) {
	w := startWatchOn(newFakeStore(t, nil, rolledOut("web", newRelease, 1), pod("web-new", "web", newRelease)),
		WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}})
	_, err := w.wait(t)
	wantPermanent(t, err, ErrNotFound, "no such release: "+newRelease)
}
