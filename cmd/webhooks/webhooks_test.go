package webhooks

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/webhook"
)

const slack = "https://hooks.slack.example/services/T000/B000/XXXXSECRETTOKEN"

func newEnv(t *testing.T) *cmdutiltest.Env {
	return cmdutiltest.New(t, recordstest.App("myapp"))
}

// The first add makes the app's secret and prints it once; the second
// keeps it and prints none; listing never shows a secret or a URL's path.
func TestAddListRemove(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.Run(NewCmdAdd(e.Factory, nil), slack, "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	c, err := e.Store.GetWebhooks(ctx, "myapp")
	if err != nil || len(c.Hooks) != 1 || len(c.Secret) != 64 {
		t.Fatalf("after add: %+v, %v; want one webhook and a 64-hex secret", c, err)
	}
	first := c.Hooks[0]
	if first.URL != slack || first.Events != nil || !regexp.MustCompile(`^W[A-Z2-7]{10}$`).MatchString(first.ID) {
		t.Errorf("webhook %+v", first)
	}
	if !strings.Contains(e.Out.String(), c.Secret) || !strings.Contains(e.Out.String(), "Added webhook "+first.ID) {
		t.Errorf("add printed %q: want the ID and the new secret", e.Out)
	}

	e.Out.Reset()
	if err := e.Run(NewCmdAdd(e.Factory, nil), "http://127.0.0.1:9/x?token=abc", "--events", "promote:completed, build:failed", "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.Out.String(), c.Secret) || strings.Contains(e.Out.String(), "Signing secret") {
		t.Errorf("second add printed the secret again: %q", e.Out)
	}
	c2, _ := e.Store.GetWebhooks(ctx, "myapp")
	if c2.Secret != c.Secret || len(c2.Hooks) != 2 || !slices.Equal(c2.Hooks[1].Events, []string{webhook.PromoteCompleted, webhook.BuildFailed}) {
		t.Errorf("after the second add: %+v", c2)
	}
	second := c2.Hooks[1].ID

	if err := e.Store.RecordWebhookFailure(ctx, "myapp", webhook.Failure{
		Webhook: second, Event: webhook.BuildFailed, Delivery: "notify/myapp/B1/build:failed/" + second,
		Error: "webhook " + second + " answered 503 Service Unavailable", Time: cmdutiltest.Now.Add(-time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	e.Out.Reset()
	if err := e.Run(NewCmdWebhooks(e.Factory), "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	out := e.Out.String()
	if strings.Contains(out, "XXXXSECRETTOKEN") || strings.Contains(out, "token=abc") || strings.Contains(out, c.Secret) {
		t.Errorf("list shows a secret:\n%s", out)
	}
	lines := cmdutiltest.Lines(e.Out)
	want := []string{
		"ID           URL                                EVENTS                        FAILED",
		first.ID + "  https://hooks.slack.example/...    all                           0",
		second + "  http://127.0.0.1:9/...             promote:completed,build:failed  1",
	}
	if len(lines) != 3 || !strings.HasPrefix(lines[1], first.ID) || !strings.HasSuffix(lines[1], "0") ||
		!strings.Contains(lines[2], "promote:completed,build:failed") || !strings.HasSuffix(lines[2], "1") {
		t.Errorf("list:\n%s\nwant rows like:\n%s", out, strings.Join(want, "\n"))
	}

	e.Out.Reset()
	if err := e.Run(NewCmdFailures(e.Factory, nil), "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.Out.String(), "answered 503") || !strings.Contains(e.Out.String(), "build:failed") {
		t.Errorf("failures:\n%s", e.Out)
	}

	// Remove by URL, then by ID.
	if err := e.Run(NewCmdRemove(e.Factory, nil), slack, "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if err := e.Run(NewCmdRemove(e.Factory, nil), second, "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	c3, _ := e.Store.GetWebhooks(ctx, "myapp")
	if len(c3.Hooks) != 0 || c3.Secret != c.Secret {
		t.Errorf("after removing both: %+v; want none, and the secret kept", c3)
	}
}

// --secret sets the app's secret, and is not printed.
func TestAddWithSecret(t *testing.T) {
	e := newEnv(t)
	s := "0123456789abcdef-given"
	if err := e.Run(NewCmdAdd(e.Factory, nil), "https://example.com/h", "--secret", s, "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	c, _ := e.Store.GetWebhooks(context.Background(), "myapp")
	if c.Secret != s {
		t.Errorf("secret %q, want %q", c.Secret, s)
	}
	if strings.Contains(e.Out.String(), s) {
		t.Errorf("add printed the given secret: %q", e.Out)
	}
}

// Bad input is one line that says what to do, and writes nothing.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"scheme", []string{"ftp://example.com/x"}, "not an http(s) URL"},
		{"no host", []string{"https:///x"}, "not an http(s) URL"},
		{"garbage", []string{"not a url"}, "not an http(s) URL"},
		{"event", []string{"https://example.com/x", "--events", "promote:done"}, `unknown event "promote:done": use one or more of`},
		{"short secret", []string{"https://example.com/x", "--secret", "abc"}, "give at least 16"},
		{"no app", []string{"https://example.com/x", "-a", "nosuch"}, "no such app: nosuch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			args := tc.args
			if !slices.Contains(args, "-a") {
				args = append(args, "-a", "myapp")
			}
			err := e.Run(NewCmdAdd(e.Factory, nil), args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line with %q", err, tc.want)
			}
			if w := e.Store.Writes(); len(w) != 0 {
				t.Errorf("writes %q, want none", w)
			}
		})
	}
	e := newEnv(t)
	if err := e.Run(NewCmdAdd(e.Factory, nil), "https://example.com/x", "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	n := len(e.Store.Writes())
	err := e.Run(NewCmdAdd(e.Factory, nil), "https://example.com/x", "--events", "build:failed", "-a", "myapp")
	if err == nil || !strings.Contains(err.Error(), "remove it first") {
		t.Errorf("adding a URL twice: %v, want an error saying to remove it first", err)
	}
	err = e.Run(NewCmdRemove(e.Factory, nil), "WNOSUCHHOOK", "-a", "myapp")
	if err == nil || !strings.Contains(err.Error(), "has no webhook WNOSUCHHOOK: see `slipway webhooks -a myapp`") {
		t.Errorf("removing an unknown webhook: %v", err)
	}
	if w := e.Store.Writes(); len(w) != n {
		t.Errorf("writes %q after refusals, want still %d", w, n)
	}
}
