package testsuite

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/slipway-dev/slipway/workflows"
)

// WatchResumed says whether the app's promotion runs a retry of its
// rollout watch that has heartbeat since since: after a worker is killed,
// that is the watch resumed on another. Temporal offers no watch on
// pending activities, so callers poll it; the string is what it saw.
func (s *Stack) WatchResumed(ctx context.Context, app string, since time.Time) (bool, string) {
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.PromoteWorkflowID(app), "")
	if err != nil {
		return false, "describe: " + err.Error()
	}
	for _, a := range d.GetPendingActivities() {
		if a.GetActivityType().GetName() == "WatchRollout" && a.GetAttempt() > 1 &&
			a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && a.GetLastHeartbeatTime().AsTime().After(since) {
			return true, ""
		}
	}
	return false, fmt.Sprintf("pending activities %v", d.GetPendingActivities())
}
