// Package webhook holds what slipway's webhooks are, with no I/O: the
// events, a webhook's settings, the payload, its signature, and the checks
// on what a person types. The records package keeps them; the activities
// deliver them.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Events a webhook can subscribe to.
const (
	PromoteStarted    = "promote:started"
	PromoteCompleted  = "promote:completed"
	PromoteRolledBack = "promote:rolledback"
	PromoteError      = "promote:error"
	BuildCompleted    = "build:completed"
	BuildFailed       = "build:failed"
)

// Events are all the events, in the order a person reads them.
var Events = []string{PromoteStarted, PromoteCompleted, PromoteRolledBack, PromoteError, BuildCompleted, BuildFailed}

// Headers of a delivery.
const (
	HeaderEvent     = "Slipway-Event"
	HeaderDelivery  = "Slipway-Delivery"
	HeaderSignature = "Slipway-Signature"
)

// Hook is one webhook of an app.
type Hook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Events it is sent; empty means all of them.
	Events []string `json:"events,omitempty"`
}

// Wants reports whether the hook is sent event.
func (h Hook) Wants(event string) bool {
	return len(h.Events) == 0 || slices.Contains(h.Events, event)
}

// Config is an app's webhooks and the secret their deliveries are signed
// with.
type Config struct {
	Secret string
	Hooks  []Hook
}

// Subscribed lists the events at least one hook is sent, in Events' order;
// nil when there are none, so that a promotion of an app without webhooks
// starts nothing.
func (c Config) Subscribed() []string {
	var out []string
	for _, e := range Events {
		for _, h := range c.Hooks {
			if h.Wants(e) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// For lists the IDs of the hooks sent event.
func (c Config) For(event string) []string {
	var out []string
	for _, h := range c.Hooks {
		if h.Wants(event) {
			out = append(out, h.ID)
		}
	}
	return out
}

// Find is the hook whose ID or URL is key.
func (c Config) Find(key string) (Hook, bool) {
	for _, h := range c.Hooks {
		if h.ID == key || h.URL == key {
			return h, true
		}
	}
	return Hook{}, false
}

// Payload is the JSON body of a delivery. Time is when the event
// happened (the workflow's clock), not when it was sent.
type Payload struct {
	Event     string    `json:"event"`
	App       string    `json:"app"`
	Actor     string    `json:"actor"`
	Release   string    `json:"release"`
	From      string    `json:"from"`
	Promotion string    `json:"promotion,omitempty"`
	Build     string    `json:"build,omitempty"`
	Reason    string    `json:"reason"`
	Time      time.Time `json:"time"`
}

// Failure is a delivery that failed for good: its last error, kept for
// `slipway webhooks failures`.
type Failure struct {
	Webhook  string    `json:"webhook"`
	Event    string    `json:"event"`
	Delivery string    `json:"delivery"`
	Error    string    `json:"error"`
	Time     time.Time `json:"time"`
}

// Sign is the Slipway-Signature of body: "sha256=" and the hex HMAC-SHA256
// of the body with the app's secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature is body's, in constant time: what a
// receiver does with the header.
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// NewSecret is a fresh signing secret: 32 random bytes, in hex.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// NewID is a fresh webhook ID, W and 10 random letters or digits.
func NewID() (string, error) {
	b := make([]byte, 7)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "W" + base32.StdEncoding.EncodeToString(b)[:10], nil
}

// CheckURL refuses what cannot be a webhook's URL.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook URL %q is not an http(s) URL: give one like https://example.com/hooks/slipway", Redact(raw))
	}
	if u.User != nil {
		return fmt.Errorf("webhook URL %s carries a user and password: put the credentials in the path or query, or verify the signature instead", Redact(raw))
	}
	return nil
}

// ParseEvents reads a --events value: a comma-separated list of events;
// empty means all of them.
func ParseEvents(s string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !slices.Contains(Events, e) {
			return nil, fmt.Errorf("unknown event %q: use one or more of %s, separated by commas", e, strings.Join(Events, ","))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Redact is a URL fit to print: its scheme and host, with the path and
// query (where services such as Slack put their tokens) elided.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/..."
	}
	return out
}
