package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

// floorClient is the floor's client: like the worker's, it has no
// client-side rate limit, so that many floors at once go at the cluster's
// pace rather than client-go's.
func floorClient(b *testing.B, s *testsuite.Stack) kubernetes.Interface {
	rc, err := s.Settings.RESTConfig()
	if err != nil {
		b.Fatal(err)
	}
	rc.QPS = -1
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		b.Fatal(err)
	}
	return kube
}

// floorManager owns what the floor applies, apart from slipway's objects.
const floorManager = "slipway-bench-floor"

// floor is the time the cluster itself needs for a rollout: the same
// objects slipway applies, applied at once with client-go's server-side
// apply, and one watch on the namespace's Deployments until each is
// rolled out. No CLI, no workflow, no records.
func floor(ctx context.Context, kube kubernetes.Interface, ns string, svcs []render.Service) error {
	opts := metav1.ApplyOptions{FieldManager: floorManager, Force: true}
	var g errgroup.Group
	for _, s := range svcs {
		g.Go(func() error {
			if _, err := kube.CoreV1().Secrets(ns).Apply(ctx, s.Secret, opts); err != nil {
				return err
			}
			if s.Service != nil {
				if _, err := kube.CoreV1().Services(ns).Apply(ctx, s.Service, opts); err != nil {
					return err
				}
			}
			_, err := kube.AppsV1().Deployments(ns).Apply(ctx, s.Deployment, opts)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("floor: apply: %w", err)
	}
	return rolledOut(ctx, kube, ns, len(svcs))
}

// rolledOut watches the namespace's Deployments until n of them are
// rolled out, as slipway's WatchRollout judges a Deployment.
func rolledOut(ctx context.Context, kube kubernetes.Interface, ns string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	deployments := kube.AppsV1().Deployments(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return deployments.List(ctx, o)
		},
		WatchFuncWithContext: deployments.Watch,
	}
	var seen cache.Store
	all := func() bool {
		done := 0
		for _, o := range seen.List() {
			// slipway's own test, so both sides wait for the same thing.
			if ok, _ := activities.DeploymentDone(o.(*appsv1.Deployment)); ok {
				done++
			}
		}
		return done >= n
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &appsv1.Deployment{},
		func(store cache.Store) (bool, error) { seen = store; return all(), nil },
		func(watch.Event) (bool, error) { return all(), nil })
	if err != nil {
		return fmt.Errorf("floor: %d Deployments of %s not rolled out: %w", n, ns, err)
	}
	return nil
}
