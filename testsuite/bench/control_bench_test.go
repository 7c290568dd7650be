package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/testsuite"
)

// BenchmarkControl measures how fast a person's hand reaches a rollout in
// flight: `promotions pause` from the command's start to its OK (the
// Deployments are paused by then: the e2e tests check that), and
// `apps cancel` from the command's start to the promotion's record saying
// it is rolling back. Both include the CLI's own start-up, as a user feels
// them.
func BenchmarkControl(b *testing.B) {
	s := testsuite.Get(b)
	app := exampleApp(b, s, fmt.Sprintf("control%d", b.N)) // -bench runs this once per b.N tried

	var pause, cancel []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// A rollout that would take a minute, so that both land in flight.
		next := testsuite.ReleaseOf(b, s.MustCLI(b, "env", "set", "SIMULATE=slow:60s", fmt.Sprintf("REV=%d", i), "-a", app))
		done := s.Background("releases", "promote", next, "-a", app)
		untilPhase(b, s, app, next, model.PhaseRollingOut)
		b.StartTimer()

		start := time.Now()
		s.MustCLI(b, "promotions", "pause", "-a", app)
		pause = append(pause, time.Since(start))

		start = time.Now()
		s.MustCLI(b, "apps", "cancel", "-a", app)
		untilPhase(b, s, app, next, model.PhaseRollingBack)
		cancel = append(cancel, time.Since(start))

		b.StopTimer()
		if r := testsuite.Wait(b, done); r.Code != 1 {
			b.Fatalf("cancelled promote: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		b.StartTimer()
	}
	b.StopTimer()
	p, c := median(pause), median(cancel)
	b.ReportMetric(float64(p.Milliseconds()), "pause-ms")
	b.ReportMetric(float64(c.Milliseconds()), "cancel-to-rollback-ms")
	record(b, func(r *Report) { r.Control = &Control{Runs: b.N, Pause: p, CancelToRollingBack: c} })
	b.Logf("median of %d: promotions pause %s; apps cancel to rolling back %s", b.N, p, c)
}

// exampleApp creates app, and builds and promotes the example app (two
// services) on it.
func exampleApp(b *testing.B, s *testsuite.Stack, app string) string {
	s.MustCLI(b, "apps", "create", app)
	dir, _ := appDir(b, s, filepath.Join(s.Root, "examples", "myapp", "convox.yml"))
	s.MustCLI(b, "releases", "promote", testsuite.ReleaseOf(b, s.MustCLI(b, "build", dir, "-a", app, "-d", app)), "-a", app)
	return app
}

// untilPhase waits, with a watch on the app's promotion records, until the
// promotion of release is in phase.
func untilPhase(b *testing.B, s *testsuite.Stack, app, release, phase string) {
	promotions := s.Dynamic.Resource(records.PromotionResource).Namespace(s.Store.Namespace(app))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return promotions.List(ctx, o)
		},
		WatchFuncWithContext: promotions.Watch,
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		var p records.Promotion
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
			return false, err
		}
		return p.Spec.Release == release && p.Status.Phase == phase, nil
	})
	if err != nil {
		b.Fatalf("promotion of %s in phase %q: %v", release, phase, err)
	}
}
