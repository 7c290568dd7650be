package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
)

// ScaleWorkflowID is the ID of a scale by hand: the app's promotion ID,
// so that a scale holds the app's deploy lock. Temporal refuses to start
// it while a promotion runs, and a promotion while it runs; their applies
// never race.
func ScaleWorkflowID(app string) string { return PromoteWorkflowID(app) }

// ScaleInput is a scale set by hand for one service; a nil field is left
// as it is.
type ScaleInput struct {
	App, Service       string
	Count, CPU, Memory *int32
}

// ScaleResult names the release the scale was applied to.
type ScaleResult struct {
	Release string
}

// Scale records a scale by hand on the app and applies it to the running
// Deployment at once. One activity: it is idempotent, so a retry after a
// crash only writes the same scale again.
func Scale(ctx workflow.Context, in ScaleInput) (ScaleResult, error) {
	var res activities.ScaleResult
	err := workflow.ExecuteActivity(recordOptions(ctx), a.ScaleApp, activities.ScaleInput{
		App: in.App, Service: in.Service, Count: in.Count, CPU: in.CPU, Memory: in.Memory,
	}).Get(ctx, &res)
	return ScaleResult{Release: res.Release}, err
}
