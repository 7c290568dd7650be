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

// heartbeatTimeout is how long an activity that heartbeats may go silent
// before Temporal gives its task to another worker. Two seconds: a SIGKILLed
// worker's watch resumes on a new worker within about that, and a
// cancellation reaches a running activity within 0.8 of it (the SDK sends
// heartbeats at most that often). Shorter would make a loaded machine's
// slow heartbeats look like dead workers; a retry costs little, because
// every heartbeating activity resumes from the cluster's state.
const heartbeatTimeout = 2 * time.Second

// recordOptions suit the short Kubernetes writes of records: a killed
// worker's attempt is retried after seconds, not minutes; bad input is not
// retried at all, and nothing is retried for more than a minute, so that a
// cluster that refuses writes ends the promotion instead of holding it.
func recordOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: permanentErrors,
		},
	})
}

// phaseOptions suit a phase that may last up to the promotion's timeout
// (a release command, a canary becoming ready): bounded by it (its timer
// also cancels the phase), heartbeating so that a rollback stops it within
// seconds, and waited for when cancelled, so that nothing of it is written
// or left running once the rollback has begun. What fails with one of the
// final error types, or a permanent one, is not tried again.
func phaseOptions(ctx workflow.Context, timeout time.Duration, final ...string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    timeout + time.Minute,
		ScheduleToCloseTimeout: timeout + 2*time.Minute,
		HeartbeatTimeout:       heartbeatTimeout,
		WaitForCancellation:    true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: append(final, permanentErrors...),
		},
	})
}

// localOptions suit a few quick writes made while the workflow waits for
// them, such as pausing the Deployments: retried briefly, never for bad
// input.
func localOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        100 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        2 * time.Second,
			NonRetryableErrorTypes: permanentErrors,
		},
	})
}

// permanentErrors are the error types no retry can fix.
var permanentErrors = []string{
	activities.ErrNotFound, activities.ErrInvalid, activities.ErrConflict,
	activities.ErrApplyFailed, activities.ErrRolloutFailed,
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

// applyOptions suit applying a release: it heartbeats per object, so that a
// cancellation (a rollback) stops it between two objects, and the workflow
// waits for it to stop, so that no write of the release lands after its
// rollback began. Transient API errors are retried for two minutes at most.
func applyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:       heartbeatTimeout,
		WaitForCancellation:    true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: permanentErrors,
		},
	})
}

// watchOptions suit a rollout watch: it may last as long as the rollout
// (pauses included; the promotion's own deadline ends it), and heartbeats,
// so a dead worker is replaced and a cancellation seen within seconds.
func watchOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: permanentErrors,
		},
	})
}

// compensationWatchOptions bound watching the previous release come back:
// one that cannot in a few attempts will not, and the app shows "error"
// instead of a promotion that never ends.
func compensationWatchOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    compensationTimeout,
		ScheduleToCloseTimeout: compensationTimeout + time.Minute,
		HeartbeatTimeout:       heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, MaximumInterval: 5 * time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: permanentErrors,
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
