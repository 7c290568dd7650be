package workflows

import (
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/webhook"
)

// versionWebhooks marks runs that send webhooks; older runs replay as they
// ran, without.
const versionWebhooks = "webhooks"

// DefaultGiveUpAfter bounds the retries of one delivery.
const DefaultGiveUpAfter = time.Hour

// deliveryMaxInterval caps the backoff between two attempts.
const deliveryMaxInterval = 5 * time.Minute

// NotifyWorkflowID is the one workflow ID of an event of a promotion or a
// build (id): starting it again (a replay, a retried start) is refused, so
// an event is sent once.
func NotifyWorkflowID(app, id, event string) string { return "notify/" + app + "/" + id + "/" + event }

type NotifyInput struct {
	Payload webhook.Payload
	// GiveUpAfter bounds the retries of each delivery; zero means
	// DefaultGiveUpAfter.
	GiveUpAfter time.Duration
}

type NotifyResult struct {
	// Delivered and Failed are webhook IDs; a failed delivery is kept as a
	// webhook.Failure on the app.
	Delivered, Failed []string
}

// Notify sends one event to every webhook of the app that is sent it, at
// the same time, each retried with backoff until it is answered 2xx or
// GiveUpAfter has passed; a delivery that never is, is recorded as failed.
// Delivery is at least once: a worker that dies after the receiver's 2xx
// but before the attempt is recorded makes a second attempt, with the same
// Slipway-Delivery header, which receivers use to drop it.
func Notify(ctx workflow.Context, in NotifyInput) (NotifyResult, error) {
	p := in.Payload
	var res NotifyResult
	var hooks activities.WebhooksForResult
	err := workflow.ExecuteActivity(recordOptions(ctx), a.WebhooksFor, activities.WebhooksForInput{
		App: p.App, Event: p.Event,
	}).Get(ctx, &hooks)
	if err != nil {
		return res, err
	}
	ids := hooks.Webhooks
	giveUp := in.GiveUpAfter
	if giveUp <= 0 {
		giveUp = DefaultGiveUpAfter
	}
	dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: giveUp,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        deliveryMaxInterval,
			NonRetryableErrorTypes: []string{activities.ErrInvalid, activities.ErrNotFound},
		},
	})
	wid := workflow.GetInfo(ctx).WorkflowExecution.ID
	futures := make([]workflow.Future, len(ids))
	for i, id := range ids {
		futures[i] = workflow.ExecuteActivity(dctx, a.DeliverWebhook, activities.DeliverInput{
			App: p.App, Webhook: id, Delivery: wid + "/" + id, Payload: p,
		})
	}
	for i, id := range ids {
		err := futures[i].Get(ctx, nil)
		if err == nil {
			res.Delivered = append(res.Delivered, id)
			continue
		}
		res.Failed = append(res.Failed, id)
		ferr := workflow.ExecuteActivity(recordOptions(ctx), a.RecordWebhookFailure, activities.WebhookFailureInput{
			App: p.App,
			Failure: webhook.Failure{
				Webhook: id, Event: p.Event, Delivery: wid + "/" + id, Error: reason(err), Time: workflow.Now(ctx),
			},
		}).Get(ctx, nil)
		if ferr != nil {
			return res, ferr
		}
	}
	return res, nil
}

// webhooksOn is the events a run sends: those the app's webhooks are sent
// (from an activity's result), unless the run began before webhooks
// existed. An app with none costs no history at all.
func webhooksOn(ctx workflow.Context, events []string) []string {
	if len(events) == 0 || workflow.GetVersion(ctx, versionWebhooks, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return events
}

// notify starts Notify for p, when it is among events, as a child the run
// does not wait for: it waits only until the child has started, so that
// the start is not lost if the run ends next, and the child outlives it
// (ABANDON). id is the promotion or build the event is of.
func notify(ctx workflow.Context, events []string, id string, p webhook.Payload) {
	if !slices.Contains(events, p.Event) {
		return
	}
	// Disconnected: a cancelled run still says how it ended.
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	p.Time = workflow.Now(ctx)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            NotifyWorkflowID(p.App, id, p.Event),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(SearchApp.ValueSet(p.App)),
		StaticSummary:         p.Event + " of " + p.App + " (" + id + ")",
	})
	// An error means the child did not start: most likely it already had
	// (the same event sent before), which is what the ID is for.
	_ = workflow.ExecuteChildWorkflow(cctx, Notify, NotifyInput{Payload: p}).GetChildWorkflowExecution().Get(ctx, nil)
}

// notify sends event about the promotion, when the app's webhooks are
// sent it.
func (p *promotion) notify(ctx workflow.Context, event, why string) {
	notify(ctx, p.webhooks, p.in.Promotion, webhook.Payload{
		Event: event, App: p.in.App, Actor: p.in.Actor, Release: p.st.Release, From: p.st.From,
		Promotion: p.in.Promotion, Reason: why,
	})
}
