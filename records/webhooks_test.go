package records

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/webhook"
)

// A change that errs writes nothing; one that does not creates the Secret
// the first time and updates it after.
func TestChangeWebhooks(t *testing.T) {
	fs := newFakeStore(t, nil)
	ctx := context.Background()
	no := errors.New("refused")
	if _, err := fs.Store.ChangeWebhooks(ctx, "shop", func(*webhook.Config) error { return no }); !errors.Is(err, no) {
		t.Fatalf("err %v, want the change's", err)
	}
	if w := fs.writes(); len(w) != 0 {
		t.Fatalf("writes %q after a refused change", w)
	}
	for _, id := range []string{"W1", "W2"} {
		if _, err := fs.Store.ChangeWebhooks(ctx, "shop", func(c *webhook.Config) error {
			c.Secret = "s3cret"
			c.Hooks = append(c.Hooks, webhook.Hook{ID: id, URL: "https://example.com/" + id})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := fs.Store.GetWebhooks(ctx, "shop")
	if err != nil || c.Secret != "s3cret" || len(c.Hooks) != 2 || c.Hooks[1].ID != "W2" {
		t.Fatalf("GetWebhooks = %+v, %v", c, err)
	}
	if got, want := c.Subscribed(), webhook.Events; len(got) != len(want) {
		t.Errorf("Subscribed = %v, want every event", got)
	}
	if empty, err := fs.Store.GetWebhooks(ctx, "other"); err != nil || len(empty.Hooks) != 0 || empty.Subscribed() != nil {
		t.Errorf("an app without webhooks: %+v, %v", empty, err)
	}
}

// Recording the same delivery twice keeps one; the list is bounded.
func TestRecordWebhookFailure(t *testing.T) {
	fs := newFakeStore(t, nil)
	ctx := context.Background()
	f := webhook.Failure{Webhook: "W1", Event: webhook.PromoteError, Delivery: "d1", Error: "answered 500", Time: time.Unix(1, 0).UTC()}
	for range 2 {
		if err := fs.Store.RecordWebhookFailure(ctx, "shop", f); err != nil {
			t.Fatal(err)
		}
	}
	for i := range maxWebhookFailures + 5 {
		g := f
		g.Delivery = "other" + string(rune('A'+i))
		if err := fs.Store.RecordWebhookFailure(ctx, "shop", g); err != nil {
			t.Fatal(err)
		}
	}
	list, err := fs.Store.WebhookFailures(ctx, "shop")
	if err != nil || len(list) != maxWebhookFailures {
		t.Fatalf("%d failures, %v; want %d", len(list), err, maxWebhookFailures)
	}
	if list[len(list)-1].Delivery != "other"+string(rune('A'+maxWebhookFailures+4)) {
		t.Errorf("newest is %+v", list[len(list)-1])
	}
}
