package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// ErrCheckFailed is the error type of a check step that got an answer it
// did not expect, or none.
const ErrCheckFailed = "CheckFailed"

type CheckInput struct {
	App, Promotion, Service string
	// Port and Scheme of the service's Service, as StagedService has them.
	Port   int
	Scheme string
	Check  model.Check
	// Step is written on the promotion's record.
	Step string
	// Interval between two GETs; zero means a second.
	Interval time.Duration
}

// CheckService GETs the check's path of the service through the API
// server's service proxy (so the worker needs no route into the cluster),
// at once and then every Interval until Check.For has passed: every answer
// must have the status Check.Expect. The first other answer, or a GET that
// gets none, fails the step for good. The Service sends each GET to one of
// its ready pods, old and canary alike, as it sends the service's traffic.
func (a *Activities) CheckService(ctx context.Context, in CheckInput) error {
	defer heartbeatEvery(ctx, heartbeatInterval)()
	if _, err := a.Store.UpdatePromotion(ctx, in.App, in.Promotion, func(p *records.Promotion) {
		p.Status.Steps = addStep(p.Status.Steps, in.Step)
	}); err != nil {
		return classify(err)
	}
	get := func(ctx context.Context) (int, string, error) {
		return proxyGet(ctx, a.Store.Core, a.Store.Namespace(in.App), in.Service, in.Scheme, in.Port, in.Check.HTTP)
	}
	return runCheck(ctx, in, get)
}

// runCheck is CheckService's loop over get.
func runCheck(ctx context.Context, in CheckInput, get func(context.Context) (int, string, error)) error {
	interval := in.Interval
	if interval <= 0 {
		interval = time.Second
	}
	what := fmt.Sprintf("%s: check GET %s", in.Service, in.Check.HTTP)
	end := time.Now().Add(in.Check.For)
	for n := 1; ; n++ {
		code, body, err := get(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return permanent(ErrCheckFailed, fmt.Errorf("%s got no answer (GET %d): %v", what, n, err))
		}
		if code != in.Check.Expect {
			msg := fmt.Sprintf("%s answered %d, want %d (GET %d)", what, code, in.Check.Expect, n)
			if body != "" {
				msg += ": " + body
			}
			return permanent(ErrCheckFailed, fmt.Errorf("%s", msg))
		}
		heartbeat(ctx, n)
		if !time.Now().Before(end) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(interval, time.Until(end))):
		}
	}
}

// proxyGet GETs path of a Service through the API server's proxy, and
// returns the status and the start of the body: whatever answered (the
// service, or the API server when it could not reach one).
func proxyGet(ctx context.Context, c kubernetes.Interface, ns, service, scheme string, port int, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, model.DefaultCheckTimeout)
	defer cancel()
	res := c.CoreV1().RESTClient().Get().
		Namespace(ns).Resource("services").Name(scheme + ":" + service + ":" + strconv.Itoa(port)).
		SubResource("proxy").Suffix(path).Do(ctx)
	var code int
	res.StatusCode(&code)
	body, err := res.Raw()
	if code == 0 {
		// An answer that is not 2xx and not in a type the client decodes
		// (an app's text or HTML) comes back as an error with its status,
		// and its text as the cause.
		st, ok := err.(apierrors.APIStatus)
		if !ok || st.Status().Code == 0 {
			return 0, "", err
		}
		code, body = int(st.Status().Code), nil
		if d := st.Status().Details; d != nil && len(d.Causes) > 0 {
			body = []byte(d.Causes[0].Message)
		}
	}
	// The API server says why it could not reach the service in a Status.
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		body = []byte(st.Message)
	}
	return code, excerpt(string(body)), nil
}

// excerpt is the first line of an answer, at most 200 bytes.
func excerpt(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
