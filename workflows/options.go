// Package workflows holds slipway's Temporal workflows. Everything here is
// deterministic: side effects happen in activities, time comes from
// workflow.Now, randomness from workflow.SideEffect.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/config"
)

// a is the nil receiver workflows call activities through; the worker
// registers the real value.
var a *activities.Activities

// Search attribute keys set on every run (registered by `slipway dev up`).
var (
	SearchApp     = temporal.NewSearchAttributeKeyKeyword(config.SearchApp)
	SearchRelease = temporal.NewSearchAttributeKeyKeyword(config.SearchRelease)
	SearchBuild   = temporal.NewSearchAttributeKeyKeyword(config.SearchBuild)
)

// recordOptions suit the short Kubernetes writes of records: a killed
// worker's attempt is retried after seconds, not minutes; bad input is not
// retried at all.
func recordOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: []string{activities.ErrNotFound, activities.ErrInvalid, activities.ErrConflict, activities.ErrApplyFailed},
		},
	})
}

// waitOptions suit activities that wait on the cluster: they heartbeat, so a
// dead worker is noticed within the heartbeat timeout.
func waitOptions(ctx workflow.Context, limit time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: limit,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			MaximumInterval:        10 * time.Second,
			NonRetryableErrorTypes: []string{activities.ErrNotFound, activities.ErrInvalid, activities.ErrConflict},
		},
	})
}

// Workflow IDs a person can read in the Temporal UI.
func AppWorkflowID(verb, app string) string    { return "apps/" + verb + "/" + app }
func BuildWorkflowID(app, build string) string { return "build/" + app + "/" + build }
func ReleaseWorkflowID(app, rel string) string { return "release/" + app + "/" + rel }

// applyOptions give server-side apply of every service room to finish.
func applyOptions(ctx workflow.Context) workflow.Context {
	ctx = recordOptions(ctx)
	return workflow.WithStartToCloseTimeout(ctx, time.Minute)
}

// watchOptions suit a rollout watch: it may last as long as the rollout
// (pauses included), and heartbeats every second, so a dead worker or a
// cancellation is noticed within seconds.
func watchOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    5 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: []string{activities.ErrNotFound, activities.ErrInvalid, activities.ErrRolloutFailed},
		},
	})
}

// buildOptions suit building images: long, heartbeating, never retried for
// bad input (a Dockerfile error stays an error).
func buildOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			MaximumInterval:        10 * time.Second,
			NonRetryableErrorTypes: []string{activities.ErrNotFound, activities.ErrInvalid, activities.ErrConflict},
		},
	})
}
