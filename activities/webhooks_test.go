package activities

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/webhook"
)

// receiver is an httptest server that records what it is sent and answers
// failFirst requests with 503 before answering 204.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	failFirst int
	got       []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		if len(r.got) <= r.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// withHooks is a store whose app has one webhook, W1, posting to url.
func withHooks(t *testing.T, url string) *fakeStore {
	fs := newFakeStore(t, nil)
	if _, err := fs.ChangeWebhooks(context.Background(), testApp, func(c *webhook.Config) error {
		c.Secret = "test-signing-secret"
		c.Hooks = []webhook.Hook{{ID: "W1", URL: url + "/hook/T0KEN"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fs
}

var testPayload = webhook.Payload{
	Event: webhook.PromoteCompleted, App: testApp, Actor: "alice", Release: "RNEW", From: "ROLD",
	Promotion: "PPROMO", Time: time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC),
}

// A delivery carries the headers and a signature the receiver can verify
// with the app's secret, over exactly the body it got.
func TestDeliverWebhookSigned(t *testing.T) {
	r := newReceiver(t, 0)
	a := &Activities{Store: withHooks(t, r.URL).Store}
	res, err := a.DeliverWebhook(context.Background(), DeliverInput{App: testApp, Webhook: "W1", Delivery: "notify/x/W1", Payload: testPayload})
	if err != nil || res.Status != http.StatusNoContent {
		t.Fatalf("DeliverWebhook = %+v, %v", res, err)
	}
	got := r.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	h, body := got[0].header, got[0].body
	if h.Get("Slipway-Event") != webhook.PromoteCompleted || h.Get("Slipway-Delivery") != "notify/x/W1" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
	if !webhook.Verify("test-signing-secret", body, h.Get("Slipway-Signature")) {
		t.Errorf("signature %q does not verify over %s", h.Get("Slipway-Signature"), body)
	}
	if webhook.Verify("another-secret", body, h.Get("Slipway-Signature")) {
		t.Error("signature verifies with another secret")
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p != testPayload {
		t.Errorf("body %s decodes to %+v, %v; want %+v", body, p, err, testPayload)
	}
	for _, k := range []string{`"event"`, `"app"`, `"actor"`, `"release"`, `"from"`, `"promotion"`, `"reason"`, `"time":"2026-11-27T06:00:00Z"`} {
		if !strings.Contains(string(body), k) {
			t.Errorf("body %s lacks %s", body, k)
		}
	}
}

// A receiver's refusal is an error (for the workflow to retry) that does
// not name the URL, whose path may be a token; a refused connection too.
func TestDeliverWebhookFails(t *testing.T) {
	r := newReceiver(t, 1)
	a := &Activities{Store: withHooks(t, r.URL).Store}
	in := DeliverInput{App: testApp, Webhook: "W1", Delivery: "d", Payload: testPayload}
	_, err := a.DeliverWebhook(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "webhook W1 answered 503") || strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("first attempt: %v, want a 503 error without the URL", err)
	}
	if _, err := a.DeliverWebhook(context.Background(), in); err != nil {
		t.Errorf("second attempt: %v", err)
	}
	r.Close()
	_, err = a.DeliverWebhook(context.Background(), in)
	if err == nil || strings.Contains(err.Error(), "T0KEN") || strings.Contains(err.Error(), "/hook/") {
		t.Errorf("receiver gone: %v, want an error without the URL", err)
	}
}

// A webhook removed before its event is sent is sent nothing.
func TestDeliverWebhookRemoved(t *testing.T) {
	r := newReceiver(t, 0)
	a := &Activities{Store: withHooks(t, r.URL).Store}
	res, err := a.DeliverWebhook(context.Background(), DeliverInput{App: testApp, Webhook: "WGONE", Delivery: "d", Payload: testPayload})
	if err != nil || res.Status != 0 || len(r.requests()) != 0 {
		t.Errorf("removed webhook: %+v, %v, %d requests", res, err, len(r.requests()))
	}
}

// BeginPromotion's and StartBuild's results say which events the app's
// webhooks want; WebhooksFor which webhooks want one.
func TestWebhooksFor(t *testing.T) {
	fs := withHooks(t, "http://127.0.0.1:9")
	if _, err := fs.ChangeWebhooks(context.Background(), testApp, func(c *webhook.Config) error {
		c.Hooks = append(c.Hooks, webhook.Hook{ID: "W2", URL: "http://127.0.0.1:9/b", Events: []string{webhook.BuildFailed}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a := &Activities{Store: fs.Store}
	ids, err := a.WebhooksFor(context.Background(), WebhooksForInput{App: testApp, Event: webhook.BuildFailed})
	if err != nil || strings.Join(ids.Webhooks, ",") != "W1,W2" {
		t.Errorf("build:failed goes to %v, %v; want W1,W2", ids, err)
	}
	ids, _ = a.WebhooksFor(context.Background(), WebhooksForInput{App: testApp, Event: webhook.PromoteStarted})
	if strings.Join(ids.Webhooks, ",") != "W1" {
		t.Errorf("promote:started goes to %v, want W1", ids)
	}
	none, err := a.subscribed(context.Background(), "noapp")
	if err != nil || none != nil {
		t.Errorf("an app without webhooks subscribes to %v, %v", none, err)
	}
}
