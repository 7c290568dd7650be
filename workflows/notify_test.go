package workflows_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/webhook"
	"github.com/slipway-dev/slipway/workflows"
)

// notified records the Notify children a workflow starts: their IDs and
// payloads, in order. Each child finds no webhook, so it ends at once.
type notified struct {
	mu       sync.Mutex
	ids      []string
	payloads []webhook.Payload
}

func watchNotify(t *testing.T, env *testsuite.TestWorkflowEnvironment) *notified {
	n := &notified{}
	env.RegisterWorkflow(workflows.Notify)
	env.OnActivity(acts.WebhooksFor, mock.Anything, mock.Anything).Return(activities.WebhooksForResult{}, nil).Maybe()
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		if info.WorkflowType.Name != "Notify" {
			return
		}
		var in workflows.NotifyInput
		if err := args.Get(&in); err != nil {
			t.Errorf("decode Notify input: %v", err)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		n.ids = append(n.ids, info.WorkflowExecution.ID)
		n.payloads = append(n.payloads, in.Payload)
	})
	return n
}

func (n *notified) events() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, p := range n.payloads {
		out = append(out, p.Event)
	}
	return out
}

func TestPromoteWebhookEvents(t *testing.T) {
	applyMsg := `web: apply: Deployment.apps "web" is invalid`
	for _, tc := range []struct {
		name   string
		watch  map[string]watchPlan
		apply  map[string]error
		hooks  []string
		want   []string
		reason string // of the last event
	}{
		{
			name:  "active",
			watch: map[string]watchPlan{rNew: {progress: newProgress}},
			hooks: webhook.Events,
			want:  []string{webhook.PromoteStarted, webhook.PromoteCompleted},
		},
		{
			name:   "rolled back",
			watch:  map[string]watchPlan{rNew: {err: permanent(crashLoop, activities.ErrRolloutFailed)}, rOld: {progress: oldProgress}},
			hooks:  webhook.Events,
			want:   []string{webhook.PromoteStarted, webhook.PromoteRolledBack},
			reason: crashLoop,
		},
		{
			name:   "rollback failed",
			watch:  map[string]watchPlan{rNew: {err: permanent(crashLoop, activities.ErrRolloutFailed)}},
			apply:  map[string]error{rOld: permanent(applyMsg, activities.ErrApplyFailed)},
			hooks:  webhook.Events,
			want:   []string{webhook.PromoteStarted, webhook.PromoteError},
			reason: "rollback failed: " + applyMsg,
		},
		{
			name:  "only the subscribed events",
			watch: map[string]watchPlan{rNew: {err: permanent(crashLoop, activities.ErrRolloutFailed)}, rOld: {progress: oldProgress}},
			hooks: []string{webhook.PromoteRolledBack, webhook.BuildFailed},
			want:  []string{webhook.PromoteRolledBack},
		},
		{
			name:  "no webhooks",
			watch: map[string]watchPlan{rNew: {progress: newProgress}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := newEnv(t)
			n := watchNotify(t, env)
			f := &fake{
				from: rOld, services: map[string][]string{rNew: newServices, rOld: oldServices},
				watch: tc.watch, applyErr: tc.apply, webhooks: tc.hooks,
			}
			promote(t, env, f, workflows.PromoteInput{Promotion: promoID, Actor: "alice"})
			if got := n.events(); !slices.Equal(got, tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			for i, p := range n.payloads {
				if id := workflows.NotifyWorkflowID(app, promoID, p.Event); n.ids[i] != id {
					t.Errorf("child ID %s, want %s", n.ids[i], id)
				}
				if p.App != app || p.Actor != "alice" || p.Release != rNew || p.From != rOld || p.Promotion != promoID || p.Time.IsZero() {
					t.Errorf("payload %+v", p)
				}
			}
			if tc.reason != "" {
				if last := n.payloads[len(n.payloads)-1]; !strings.HasPrefix(last.Reason, tc.reason) {
					t.Errorf("reason %q, want it to begin %q", last.Reason, tc.reason)
				}
			}
		})
	}
}

func TestBuildWebhookEvents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     buildFake
		want  []string
		fails bool
	}{
		{"completed", buildFake{webhooks: webhook.Events}, []string{webhook.BuildCompleted}, false},
		{"failed", buildFake{webhooks: webhook.Events, prepareErr: permanent("web: Dockerfile: no FROM", activities.ErrInvalid)}, []string{webhook.BuildFailed}, true},
		{"not subscribed", buildFake{webhooks: []string{webhook.PromoteStarted}}, nil, false},
		{"no webhooks", buildFake{}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := newEnv(t)
			n := watchNotify(t, env)
			tc.f.install(env)
			env.ExecuteWorkflow(workflows.Build, buildIn)
			if err := env.GetWorkflowError(); (err != nil) != tc.fails {
				t.Fatalf("workflow error %v", err)
			}
			if got := n.events(); !slices.Equal(got, tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			for i, p := range n.payloads {
				if n.ids[i] != workflows.NotifyWorkflowID(app, buildIn.BuildID, p.Event) || p.Build != buildIn.BuildID || p.App != app {
					t.Errorf("child %s, payload %+v", n.ids[i], p)
				}
				if tc.fails != (p.Reason != "") || (!tc.fails && p.Release == "") {
					t.Errorf("payload %+v: a failure has a reason, a success a release", p)
				}
			}
		})
	}
}

// Notify retries a failing delivery with backoff until GiveUpAfter, then
// records it as failed with its last error; other webhooks are delivered
// meanwhile.
func TestNotifyRetriesThenRecordsFailure(t *testing.T) {
	env, rec := newEnv(t)
	env.RegisterWorkflow(workflows.Notify)
	env.OnActivity(acts.WebhooksFor, mock.Anything, mock.Anything).Return(activities.WebhooksForResult{Webhooks: []string{"WGOOD", "WBAD"}}, nil)
	var bad atomic.Int32
	env.OnActivity(acts.DeliverWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			if in.Webhook == "WBAD" {
				bad.Add(1)
				return activities.DeliverResult{Status: 503}, errors.New("webhook WBAD answered 503 Service Unavailable")
			}
			return activities.DeliverResult{Status: 200}, nil
		})
	env.OnActivity(acts.RecordWebhookFailure, mock.Anything, mock.Anything).Return(nil)
	p := webhook.Payload{Event: webhook.PromoteError, App: app, Promotion: promoID, Time: time.Unix(100, 0).UTC()}
	env.SetStartWorkflowOptions(clientOptions(workflows.NotifyWorkflowID(app, promoID, p.Event)))
	env.ExecuteWorkflow(workflows.Notify, workflows.NotifyInput{Payload: p, GiveUpAfter: 10 * time.Minute})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.NotifyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Delivered, []string{"WGOOD"}) || !slices.Equal(res.Failed, []string{"WBAD"}) {
		t.Errorf("result %+v", res)
	}
	// 1+2+4+...+256 s of backoff, capped at 5 min, fit about 9 attempts in 10 min.
	if n := bad.Load(); n < 5 || n > 12 {
		t.Errorf("%d attempts at the failing webhook in 10 minutes, want about 9", n)
	}
	calls := rec.callsOf("DeliverWebhook")
	var gaps []time.Duration
	var last time.Time
	for _, c := range calls {
		var in activities.DeliverInput
		_ = c.args.Get(&in)
		if in.Webhook != "WBAD" {
			continue
		}
		if !last.IsZero() {
			gaps = append(gaps, c.At.Sub(last))
		}
		last = c.At
		if in.Delivery != workflows.NotifyWorkflowID(app, promoID, p.Event)+"/WBAD" || in.Payload != p {
			t.Errorf("attempt %d: delivery %q, payload %+v", c.Attempt, in.Delivery, in.Payload)
		}
	}
	for i := 1; i < len(gaps); i++ {
		if gaps[i] < gaps[i-1] {
			t.Errorf("backoff gaps %v do not grow", gaps)
			break
		}
	}
	f := only[activities.WebhookFailureInput](rec, "RecordWebhookFailure")
	if f.Failure.Webhook != "WBAD" || f.Failure.Event != webhook.PromoteError || !strings.Contains(f.Failure.Error, "503") ||
		f.Failure.Delivery != workflows.NotifyWorkflowID(app, promoID, p.Event)+"/WBAD" || f.Failure.Time.IsZero() {
		t.Errorf("failure %+v", f.Failure)
	}
}

// With the real activities, a receiver that fails for a while is delivered
// the event once it answers 2xx, signed, and nothing is recorded as failed.
func TestNotifyDeliversAfterFailures(t *testing.T) {
	var mu sync.Mutex
	var sigs, deliveries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		sigs = append(sigs, r.Header.Get(webhook.HeaderSignature))
		deliveries = append(deliveries, r.Header.Get(webhook.HeaderDelivery))
		if len(sigs) <= 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	fs := recordstest.NewStore(t)
	if _, err := fs.ChangeWebhooks(context.Background(), app, func(c *webhook.Config) error {
		c.Secret, c.Hooks = "s3cret-s3cret-s3cret", []webhook.Hook{{ID: "W1", URL: srv.URL + "/in"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	env, _ := newEnv(t)
	env.RegisterWorkflow(workflows.Notify)
	env.RegisterActivity(&activities.Activities{Store: fs.Store})
	p := webhook.Payload{Event: webhook.BuildCompleted, App: app, Build: "BBUILD", Time: time.Unix(100, 0).UTC()}
	env.SetStartWorkflowOptions(clientOptions("notify-test"))
	env.ExecuteWorkflow(workflows.Notify, workflows.NotifyInput{Payload: p})
	var res workflows.NotifyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(res.Delivered, []string{"W1"}) || len(sigs) != 4 {
		t.Fatalf("result %+v after %d requests, want W1 delivered at the 4th", res, len(sigs))
	}
	for i := range sigs {
		if sigs[i] != sigs[0] || deliveries[i] != "notify-test/W1" {
			t.Errorf("attempt %d: signature %s, delivery %s; want the same on every attempt", i, sigs[i], deliveries[i])
		}
	}
	if list, _ := fs.WebhookFailures(context.Background(), app); len(list) != 0 {
		t.Errorf("failures %+v", list)
	}
}

func clientOptions(id string) client.StartWorkflowOptions { return client.StartWorkflowOptions{ID: id} }
