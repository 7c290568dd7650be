package cmdutil

import (
	"context"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/slipway-dev/slipway/config"
)

// RunOptions describe a workflow run a command starts.
type RunOptions struct {
	ID      string
	Summary string // static summary shown in the Temporal UI
	App     string
	Release string
	Build   string
}

// Start starts a workflow on slipway's task queue with a readable ID, the
// app/release/build search attributes and a summary for the Temporal UI.
// Starting an ID that is already running is an error, never a silent join.
func (f *Factory) Start(ctx context.Context, o RunOptions, workflow any, input any) (client.WorkflowRun, error) {
	c, err := f.Temporal()
	if err != nil {
		return nil, err
	}
	var attrs []temporal.SearchAttributeUpdate
	for key, v := range map[string]string{config.SearchApp: o.App, config.SearchRelease: o.Release, config.SearchBuild: o.Build} {
		if v != "" {
			attrs = append(attrs, temporal.NewSearchAttributeKeyKeyword(key).ValueSet(v))
		}
	}
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       o.ID,
		TaskQueue:                                config.TaskQueue,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
		StaticSummary:                            o.Summary,
		Memo:                                     map[string]any{"actor": f.Actor(ctx)},
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflow, input)
}

// RunWorkflow starts a workflow and waits for its result. The wait survives
// worker restarts; only ctx (Ctrl-C) stops the waiting, never the workflow.
func (f *Factory) RunWorkflow(ctx context.Context, o RunOptions, workflow any, input any, result any) error {
	run, err := f.Start(ctx, o, workflow, input)
	if err != nil {
		return err
	}
	return WorkflowError(run.Get(ctx, result))
}
