package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
)

type AppInput struct {
	App string
	// Force deletes the app even while a build or promotion of it runs,
	// cancelling them first.
	Force bool
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

// AppRuns names the workflow IDs of an app's builds and promotion.
func AppRuns(app string) activities.AppRuns {
	return activities.AppRuns{Promote: PromoteWorkflowID(app), BuildPrefix: BuildWorkflowID(app, "")}
}

// stopWorkTimeout bounds cancelling an app's work: a cancelled promotion
// rolls back, which is watched for at most compensationTimeout.
const stopWorkTimeout = compensationTimeout + time.Minute

// DeleteApp refuses while a build or promotion of the app runs (Force
// cancels them and waits until they end), marks the app deleting, then
// deletes its namespace (and so everything in it) and waits until it is
// gone. Each step refuses a namespace that is not slipway's.
func DeleteApp(ctx workflow.Context, in AppInput) (AppResult, error) {
	ain := activities.AppInput{App: in.App, Force: in.Force, Runs: AppRuns(in.App)}
	// Runs started before the guard existed go straight to the mark.
	if v := workflow.GetVersion(ctx, "delete-stops-work", workflow.DefaultVersion, 1); v == 1 {
		if err := workflow.ExecuteActivity(waitOptions(ctx, stopWorkTimeout), a.StopAppWork, ain).Get(ctx, nil); err != nil {
			return AppResult{}, err
		}
	}
	if err := workflow.ExecuteActivity(recordOptions(ctx), a.MarkAppDeleting, ain).Get(ctx, nil); err != nil {
		return AppResult{}, err
	}
	err := workflow.ExecuteActivity(waitOptions(ctx, 10*time.Minute), a.DeleteNamespace, ain).Get(ctx, nil)
	return AppResult{}, err
}

type ProtectInput struct {
	App string
	// Protected is what to set: true makes the app's promotions wait for
	// another person's approval.
	Protected bool
}

type ProtectResult struct{}

// ProtectApp sets whether the app's promotions wait for approval. A
// promotion already running keeps what it read when it began.
func ProtectApp(ctx workflow.Context, in ProtectInput) (ProtectResult, error) {
	err := workflow.ExecuteActivity(recordOptions(ctx), a.ProtectApp, activities.ProtectInput{
		App: in.App, Protected: in.Protected,
	}).Get(ctx, nil)
	return ProtectResult{}, err
}
