package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/slipway-dev/slipway/webhook"
)

// webhookClient posts deliveries. It follows no redirect (a receiver that
// moved answers 3xx, which counts as a failure the person reads in
// `slipway webhooks failures`), and bounds an attempt, so that a receiver
// that hangs costs one attempt, not the delivery.
var webhookClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type WebhooksForInput struct {
	App, Event string
}

type WebhooksForResult struct {
	Webhooks []string // IDs
}

// WebhooksFor lists the IDs of the app's webhooks sent event, as they are
// when the event is sent.
func (a *Activities) WebhooksFor(ctx context.Context, in WebhooksForInput) (WebhooksForResult, error) {
	c, err := a.Store.GetWebhooks(ctx, in.App)
	if err != nil {
		return WebhooksForResult{}, classify(err)
	}
	return WebhooksForResult{Webhooks: c.For(in.Event)}, nil
}

// subscribed lists the events the app's webhooks are sent, for the
// results of BeginPromotion and StartBuild: a workflow starts no
// notification for an event nobody is sent.
func (a *Activities) subscribed(ctx context.Context, app string) ([]string, error) {
	c, err := a.Store.GetWebhooks(ctx, app)
	if err != nil {
		return nil, classify(err)
	}
	return c.Subscribed(), nil
}

type DeliverInput struct {
	App     string
	Webhook string // its ID
	// Delivery is the same for every attempt at one event and webhook:
	// receivers drop a second delivery of it.
	Delivery string
	Payload  webhook.Payload
}

type DeliverResult struct {
	// Status is the receiver's answer; 0 when the webhook was removed
	// before the event was sent.
	Status int
}

// DeliverWebhook POSTs one event to one webhook, signed with the app's
// secret. The body is the same bytes on every attempt. It reads the URL
// and secret when it runs, so that neither is ever in a workflow's history,
// and a webhook removed meanwhile is sent nothing. Any answer but 2xx is an
// error, retried by the workflow's policy; no error names the URL, which
// may carry a token.
func (a *Activities) DeliverWebhook(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	c, err := a.Store.GetWebhooks(ctx, in.App)
	if err != nil {
		return DeliverResult{}, classify(err)
	}
	hook, ok := c.Find(in.Webhook)
	if !ok {
		return DeliverResult{}, nil
	}
	body, err := json.Marshal(in.Payload)
	if err != nil {
		return DeliverResult{}, permanent(ErrInvalid, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return DeliverResult{}, permanent(ErrInvalid, fmt.Errorf("webhook %s has an unusable URL: remove it and add it again", hook.ID))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "slipway-webhooks")
	req.Header.Set(webhook.HeaderEvent, in.Payload.Event)
	req.Header.Set(webhook.HeaderDelivery, in.Delivery)
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(c.Secret, body))
	resp, err := webhookClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL
		}
		return DeliverResult{}, fmt.Errorf("webhook %s: %v", hook.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return DeliverResult{Status: resp.StatusCode}, fmt.Errorf("webhook %s answered %s", hook.ID, resp.Status)
	}
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info("webhook delivered", "webhook", hook.ID, "delivery", in.Delivery, "status", resp.StatusCode)
	}
	return DeliverResult{Status: resp.StatusCode}, nil
}

type WebhookFailureInput struct {
	App     string
	Failure webhook.Failure
}

// RecordWebhookFailure keeps a delivery that failed for good, for
// `slipway webhooks failures`; writing it again changes nothing.
func (a *Activities) RecordWebhookFailure(ctx context.Context, in WebhookFailureInput) error {
	return classify(a.Store.RecordWebhookFailure(ctx, in.App, in.Failure))
}
