package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
)

type AppInput struct {
	App string
}

type AppResult struct {
	Namespace string
}

// CreateApp makes an app: its namespace and its record.
func CreateApp(ctx workflow.Context, in AppInput) (AppResult, error) {
	info := workflow.GetInfo(ctx)
	var res activities.AppResult
	err := workflow.ExecuteActivity(recordOptions(ctx), a.CreateApp, activities.AppInput{
		App: in.App, CreatedBy: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID,
	}).Get(ctx, &res)
	return AppResult{Namespace: res.Namespace}, err
}

// DeleteApp marks the app deleting, then deletes its namespace (and so
// everything in it) and waits until it is gone.
func DeleteApp(ctx workflow.Context, in AppInput) (AppResult, error) {
	ain := activities.AppInput{App: in.App}
	if err := workflow.ExecuteActivity(recordOptions(ctx), a.MarkAppDeleting, ain).Get(ctx, nil); err != nil {
		return AppResult{}, err
	}
	err := workflow.ExecuteActivity(waitOptions(ctx, 10*time.Minute), a.DeleteNamespace, ain).Get(ctx, nil)
	return AppResult{}, err
}
