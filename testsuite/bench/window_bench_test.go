package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/klog/v2"

	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

// BenchmarkRollbackWindow measures a rollback inside the window against a
// normal rollback, in one run, interleaved: from the moment `slipway
// releases rollback` starts until every endpoint of the web Service is a
// pod of the release rolled back to (none is left of the release rolled
// back from, and both replicas are endpoints). Inside the window that is
// the switch of the Service to the kept pods; otherwise it is a rolling
// update of web back to the release before. On kwok a pod is ready as
// soon as it is scheduled: on a real cluster, where pods pull images and
// pass readiness probes, a normal rollback takes longer still, and one
// inside the window does not.
func BenchmarkRollbackWindow(b *testing.B) {
	s := testsuite.Get(b)
	app := exampleApp(b, s, fmt.Sprintf("window%d", b.N)) // -bench runs this once per b.N tried
	ns := s.Store.Namespace(app)
	var inside, normal []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// Inside the window: the active release is kept while the next
		// one is promoted, then rolled back to.
		before := activeRelease(b, s, app)
		next := testsuite.ReleaseOf(b, s.MustCLI(b, "env", "set", fmt.Sprintf("REV=%d-window", i), "-a", app))
		s.MustCLI(b, "releases", "promote", next, "-a", app, "--keep-previous", "10m")
		untilKeptReady(b, s, ns)
		inside = append(inside, timeRollback(b, s, app, before, next))

		// A normal rollback: the same, without the window.
		before = activeRelease(b, s, app)
		next = testsuite.ReleaseOf(b, s.MustCLI(b, "env", "set", fmt.Sprintf("REV=%d-normal", i), "-a", app))
		s.MustCLI(b, "releases", "promote", next, "-a", app)
		normal = append(normal, timeRollback(b, s, app, before, next))
	}
	in, no := median(inside), median(normal)
	b.ReportMetric(float64(in.Milliseconds()), "inside-window-ms")
	b.ReportMetric(float64(no.Milliseconds()), "normal-ms")
	b.Logf("median of %d, until every endpoint of web is a pod of the release rolled back to: inside the window %s, normal rollback %s (%.2f×)",
		b.N, seconds(in), seconds(no), float64(in)/float64(no))
}

func activeRelease(b *testing.B, s *testsuite.Stack, app string) string {
	a, err := s.Store.GetApp(context.Background(), app)
	if err != nil {
		b.Fatal(err)
	}
	return a.Status.Release
}

// untilKeptReady waits until web's kept Deployment has rolled out.
func untilKeptReady(b *testing.B, s *testsuite.Stack, ns string) {
	deadline := time.Now().Add(time.Minute)
	for {
		d, err := s.Kube.AppsV1().Deployments(ns).Get(context.Background(), render.PreviousName("web"), metav1.GetOptions{})
		if err == nil && d.Spec.Replicas != nil && d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.ObservedGeneration >= d.Generation {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("web's kept Deployment not ready within a minute: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// timeRollback runs `releases rollback to` and returns the time from its
// start until every endpoint of web is a pod of to's (no pod of from's
// among them, and as many as web's replicas), as a watch of web's
// EndpointSlices sees it; it waits for the rollback to end.
func timeRollback(b *testing.B, s *testsuite.Stack, app, to, from string) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The watch ends by this cancel once it has seen what it waits for:
	// nothing to log.
	ctx = klog.NewContext(ctx, logr.Discard())
	ns := s.Store.Namespace(app)
	pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: render.LabelRelease + "=" + from})
	if err != nil {
		b.Fatal(err)
	}
	var old []string
	for _, p := range pods.Items {
		old = append(old, p.Name)
	}
	eps := s.Kube.DiscoveryV1().EndpointSlices(ns)
	sel := discoveryv1.LabelServiceName + "=web"
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return eps.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return eps.Watch(ctx, o)
		},
	}
	synced := make(chan struct{})
	seen := make(chan time.Time, 1)
	go func() {
		defer close(seen)
		_, err := watchtools.UntilWithSync(ctx, lw, &discoveryv1.EndpointSlice{},
			func(cache.Store) (bool, error) { close(synced); return false, nil },
			func(ev watch.Event) (bool, error) {
				es, ok := ev.Object.(*discoveryv1.EndpointSlice)
				if !ok {
					return false, nil
				}
				ready := 0
				for _, e := range es.Endpoints {
					if e.TargetRef == nil || (e.Conditions.Ready != nil && !*e.Conditions.Ready) {
						continue
					}
					if slices.Contains(old, e.TargetRef.Name) {
						return false, nil
					}
					ready++
				}
				if ready >= 2 {
					seen <- time.Now()
					return true, nil
				}
				return false, nil
			})
		if err != nil {
			b.Errorf("web's endpoints never left %s: %v", from, err)
		}
	}()
	<-synced
	b.StartTimer()
	start := time.Now()
	done := s.Background("releases", "rollback", to, "-a", app)
	at, ok := <-seen
	b.StopTimer()
	if r := testsuite.Wait(b, done); r.Code != 0 {
		b.Fatalf("rollback to %s: exit %d\n%s%s", to, r.Code, r.Stdout, r.Stderr)
	}
	if !ok {
		b.FailNow()
	}
	return at.Sub(start)
}
