package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
)

// CreateRelease makes a new release from the app's newest one (or the one
// the change names) with the change applied. Its ID is chosen by the caller,
// so the workflow ID says which release it makes.
func CreateRelease(ctx workflow.Context, in activities.CreateReleaseInput) (activities.CreateReleaseResult, error) {
	var res activities.CreateReleaseResult
	err := workflow.ExecuteActivity(recordOptions(ctx), a.CreateRelease, in).Get(ctx, &res)
	return res, err
}
