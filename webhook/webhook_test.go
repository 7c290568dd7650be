package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// The signature is what the README tells receivers to compute.
func TestSign(t *testing.T) {
	body := []byte(`{"event":"promote:completed"}`)
	m := hmac.New(sha256.New, []byte("k"))
	m.Write(body)
	if got, want := Sign("k", body), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if !Verify("k", body, Sign("k", body)) || Verify("k", append(body, ' '), Sign("k", body)) || Verify("other", body, Sign("k", body)) {
		t.Error("Verify accepts a changed body or secret, or refuses the right one")
	}
}

func TestParseEvents(t *testing.T) {
	got, err := ParseEvents(" promote:started,build:failed,,promote:started ")
	if err != nil || !slices.Equal(got, []string{PromoteStarted, BuildFailed}) {
		t.Errorf("ParseEvents = %v, %v", got, err)
	}
	if got, err := ParseEvents(""); err != nil || got != nil {
		t.Errorf("no events = %v, %v; want nil (all)", got, err)
	}
	if _, err := ParseEvents("promote:started,deploy"); err == nil || !strings.Contains(err.Error(), `unknown event "deploy": use one or more of promote:started,`) {
		t.Errorf("unknown event: %v", err)
	}
}

func TestCheckURLAndRedact(t *testing.T) {
	for _, ok := range []string{"https://example.com/h", "http://127.0.0.1:8080"} {
		if err := CheckURL(ok); err != nil {
			t.Errorf("CheckURL(%s) = %v", ok, err)
		}
	}
	for _, bad := range []string{"ftp://example.com", "example.com/h", "https://", "https://u:p@example.com/h", "::"} {
		if err := CheckURL(bad); err == nil {
			t.Errorf("CheckURL(%s) accepted it", bad)
		} else if strings.Contains(err.Error(), "p@") {
			t.Errorf("CheckURL(%s) error shows the password: %v", bad, err)
		}
	}
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T/B/TOKEN": "https://hooks.slack.com/...",
		"https://example.com/?token=x":               "https://example.com/...",
		"https://example.com/":                       "https://example.com",
		"nonsense":                                   "(unparsable URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestSubscribedAndFor(t *testing.T) {
	c := Config{Hooks: []Hook{{ID: "W1", Events: []string{BuildFailed}}, {ID: "W2", Events: []string{PromoteError, BuildFailed}}}}
	if got := c.Subscribed(); !slices.Equal(got, []string{PromoteError, BuildFailed}) {
		t.Errorf("Subscribed = %v", got)
	}
	if got := c.For(BuildFailed); !slices.Equal(got, []string{"W1", "W2"}) {
		t.Errorf("For = %v", got)
	}
	if (Config{}).Subscribed() != nil {
		t.Error("no hooks subscribe to something")
	}
}
