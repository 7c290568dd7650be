package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/testsuite"
)

// BenchmarkRecovery measures how fast a promotion recovers from what can
// go wrong around it, as two medians:
//   - worker-resumed: a worker SIGKILLed mid-rollout, from the moment a new
//     worker polls until the rollout's watch heartbeats on it (target 3 s;
//     the 2 s heartbeat timeout, counted from the last heartbeat before
//     the kill, is most of it);
//   - crashloop-to-rollback: a release whose pods crash loop, from the
//     promotion's start to its record saying it is rolling back.
func BenchmarkRecovery(b *testing.B) {
	s := testsuite.Get(b)
	app := exampleApp(b, s, fmt.Sprintf("recovery%d", b.N)) // -bench runs this once per b.N tried
	b.Cleanup(func() {
		if s.WorkerPID() == 0 {
			s.StartWorker(b)
		}
	})

	var resumed, rollback []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		next := testsuite.ReleaseOf(b, s.MustCLI(b, "env", "set", "SIMULATE=slow:60s", fmt.Sprintf("REV=%d", i), "-a", app))
		done := s.Background("releases", "promote", next, "-a", app)
		untilPhase(b, s, app, next, model.PhaseRollingOut)
		time.Sleep(500 * time.Millisecond) // the watch is running
		s.KillWorker(b)
		s.StartWorker(b)
		b.StartTimer()
		start := time.Now()
		untilWatchResumed(b, s, app, start)
		resumed = append(resumed, time.Since(start))
		b.StopTimer()
		s.MustCLI(b, "apps", "cancel", "-a", app)
		if r := testsuite.Wait(b, done); r.Code != 1 {
			b.Fatalf("cancelled promote: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}

		crashing := testsuite.ReleaseOf(b, s.MustCLI(b, "env", "set", "SIMULATE=crashloop", fmt.Sprintf("REV=%d", i), "-a", app))
		b.StartTimer()
		start = time.Now()
		done = s.Background("releases", "promote", crashing, "-a", app)
		untilPhase(b, s, app, crashing, model.PhaseRollingBack)
		rollback = append(rollback, time.Since(start))
		b.StopTimer()
		if r := testsuite.Wait(b, done); r.Code != 1 {
			b.Fatalf("crash-looping promote: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		s.MustCLI(b, "env", "unset", "SIMULATE", "-a", app)
	}
	r, c := median(resumed), median(rollback)
	b.ReportMetric(float64(r.Milliseconds()), "worker-resumed-ms")
	b.ReportMetric(float64(c.Milliseconds()), "crashloop-to-rollback-ms")
	record(b, func(rep *Report) { rep.Recovery = &Recovery{Runs: b.N, WorkerResumed: r, CrashLoopToRollingBack: c} })
	b.Logf("median of %d: watch resumed %s after a new worker polls; crash loop to rolling back %s", b.N, r, c)
}

// untilWatchResumed polls (see Stack.WatchResumed) until the app's
// rollout watch has resumed on a worker started at since.
func untilWatchResumed(b *testing.B, s *testsuite.Stack, app string, since time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		ok, state := s.WatchResumed(ctx, app, since)
		if ok {
			return
		}
		if ctx.Err() != nil {
			b.Fatalf("the watch of %s did not resume within a minute: %s", app, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
