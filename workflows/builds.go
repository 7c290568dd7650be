package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/webhook"
)

type BuildResult struct {
	BuildID   string
	ReleaseID string
}

// Build turns an uploaded source into a Build (created -> running ->
// complete | failed) and then a Release of it. A failed build never leaves
// a release behind: the release is made only after every image is ready.
func Build(ctx workflow.Context, in activities.BuildInput) (BuildResult, error) {
	rctx := recordOptions(ctx)
	res := BuildResult{BuildID: in.BuildID}
	var started activities.StartBuildResult
	if err := workflow.ExecuteActivity(rctx, a.StartBuild, in).Get(ctx, &started); err != nil {
		return res, err
	}
	hooks := webhooksOn(ctx, started.Webhooks)
	err := build(ctx, in, &res)
	// FinishBuild also deletes the staged build args: the same activity as
	// before, so recorded histories replay unchanged.
	finish := activities.FinishBuildInput{App: in.App, BuildID: in.BuildID, Release: res.ReleaseID, BuildArgsSecret: in.BuildArgsSecret}
	if err != nil {
		finish.Failure = reason(err)
	}
	// Record the outcome even if this run was cancelled.
	dctx, _ := workflow.NewDisconnectedContext(rctx)
	if ferr := workflow.ExecuteActivity(dctx, a.FinishBuild, finish).Get(dctx, nil); ferr != nil && err == nil {
		err = ferr
	}
	ended := webhook.Payload{Event: webhook.BuildCompleted, App: in.App, Actor: in.Actor, Release: res.ReleaseID, Build: in.BuildID}
	if err != nil {
		ended.Event, ended.Reason = webhook.BuildFailed, reason(err)
	}
	notify(ctx, hooks, in.BuildID, ended)
	return res, err
}

func build(ctx workflow.Context, in activities.BuildInput, res *BuildResult) error {
	var prep activities.PrepareBuildResult
	if err := workflow.ExecuteActivity(buildOptions(ctx), a.PrepareBuild, in).Get(ctx, &prep); err != nil {
		return err
	}
	var rid string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return model.NewReleaseID() }).Get(&rid); err != nil {
		return err
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: ReleaseWorkflowID(in.App, rid),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchApp.ValueSet(in.App), SearchRelease.ValueSet(rid), SearchBuild.ValueSet(in.BuildID)),
		StaticSummary: "release " + rid + " of " + in.App + " for build " + in.BuildID,
	})
	var rel activities.CreateReleaseResult
	err := workflow.ExecuteChildWorkflow(cctx, CreateRelease, activities.CreateReleaseInput{
		App: in.App, ReleaseID: rid,
		Change: activities.ReleaseChange{Build: in.BuildID, Description: in.Description, Actor: in.Actor},
	}).Get(ctx, &rel)
	res.ReleaseID = rel.ReleaseID
	return err
}

// reason is the message of the innermost application error: what a person
// needs to read, without Temporal's wrapping.
func reason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

// isType reports whether err carries an application error of type kind.
func isType(err error, kind string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == kind
}
