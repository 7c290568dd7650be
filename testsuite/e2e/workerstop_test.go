package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// A worker told to stop (SIGTERM, as Kubernetes stops a pod) lets the
// activity it runs finish within --stop-timeout and exits cleanly: the
// rollout's watch completes on that worker, at its first attempt, rather
// than being cancelled and retried elsewhere.
func TestWorkerStopLetsActivitiesFinish(t *testing.T) {
	s := testsuite.Get(t)
	// Only the extra worker runs tasks until it stops; the stack's comes
	// back to finish the promotion.
	t.Cleanup(func() { s.StartWorker(t) })
	s.KillWorker(t)
	w := s.StartExtraWorkerArgs(t, []string{"--stop-timeout", "30s"})
	deployGood(t, s, "stoppy")
	// web's new pods become ready 5 s after they start.
	slow := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=slow", "-a", "stoppy"))
	done := startPromote(t, s, "stoppy", slow)
	id := workflows.PromoteWorkflowID("stoppy")
	eventually(t, "the extra worker runs the watch", 30*time.Second, 50*time.Millisecond, func(ctx context.Context) (bool, string) {
		d, err := s.Temporal.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return false, err.Error()
		}
		for _, a := range d.GetPendingActivities() {
			if a.GetActivityType().GetName() == "WatchRollout" && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return true, ""
			}
		}
		return false, fmt.Sprintf("pending activities %v", d.GetPendingActivities())
	})

	stopping := time.Now()
	if err := w.Terminate(time.Minute); err != nil {
		t.Fatalf("the worker's exit after SIGTERM: %v", err)
	}
	t.Logf("the worker exited %s after SIGTERM", time.Since(stopping).Round(10*time.Millisecond))
	s.StartWorker(t)
	if r := testsuite.Wait(t, done); r.Code != 0 {
		t.Fatalf("promote: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	checkOnePromotion(t, s, "stoppy", slow)

	// Who ran the watch, and which attempt completed, per the history.
	it := s.Temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	watch := map[int64]bool{} // scheduled event IDs of WatchRollout
	var started []string
	completed := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "WatchRollout":
			watch[e.GetEventId()] = true
		case watch[e.GetActivityTaskStartedEventAttributes().GetScheduledEventId()]:
			a := e.GetActivityTaskStartedEventAttributes()
			started = append(started, fmt.Sprintf("attempt %d by %s", a.GetAttempt(), a.GetIdentity()))
		case watch[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]:
			completed++
		}
	}
	if len(watch) != 1 || completed != 1 || len(started) != 1 || !strings.HasPrefix(started[0], "attempt 1 by "+w.Identity) {
		t.Errorf("the watch: scheduled %d, completed %d, started %v; want one, completed at attempt 1 by the stopping worker (%s...)",
			len(watch), completed, started, w.Identity)
	}
}
