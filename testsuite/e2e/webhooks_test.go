package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/webhook"
)

// hookReceiver is a webhook receiver in the test process, which the
// stack's worker posts to over loopback. It answers 503 while failing is
// set, else 200, and keeps every request it was sent.
type hookReceiver struct {
	*httptest.Server
	failing atomic.Bool
	// hold is how long the receiver takes to answer, once it has handled
	// a request.
	hold atomic.Int64
	mu   sync.Mutex
	got  []hookRequest
}

type hookRequest struct {
	Event, Delivery, Signature string
	Body                       []byte
	Payload                    webhook.Payload
	Status                     int // what the receiver answered
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		h := hookRequest{
			Event: req.Header.Get(webhook.HeaderEvent), Delivery: req.Header.Get(webhook.HeaderDelivery),
			Signature: req.Header.Get(webhook.HeaderSignature), Body: body, Status: http.StatusOK,
		}
		if err := json.Unmarshal(body, &h.Payload); err != nil {
			h.Status = http.StatusBadRequest
		} else if r.failing.Load() {
			h.Status = http.StatusServiceUnavailable
		}
		r.mu.Lock()
		r.got = append(r.got, h)
		r.mu.Unlock()
		select { // a dead sender's request ends the wait
		case <-time.After(time.Duration(r.hold.Load())):
		case <-req.Context().Done():
		}
		w.WriteHeader(h.Status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// delivered lists, per event (and promotion or build), the distinct
// deliveries answered 200.
func (r *hookReceiver) delivered() map[string][]string {
	out := map[string][]string{}
	for _, h := range r.requests() {
		key := h.Event + " " + h.Payload.Promotion + h.Payload.Build
		if h.Status == http.StatusOK && !slices.Contains(out[key], h.Delivery) {
			out[key] = append(out[key], h.Delivery)
		}
	}
	return out
}

// addHook adds the receiver as a webhook of app and returns the signing
// secret `webhooks add` printed.
func addHook(t *testing.T, s *testsuite.Stack, app, url string) string {
	t.Helper()
	out := s.MustCLI(t, "webhooks", "add", url+"/hooks/T0KEN", "-a", app)
	m := regexp.MustCompile(`(?m)^([0-9a-f]{64})$`).FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(out, "Added webhook W") {
		t.Fatalf("webhooks add printed %q: want the webhook's ID and a secret", out)
	}
	list := s.MustCLI(t, "webhooks", "-a", app)
	if strings.Contains(list, "T0KEN") || strings.Contains(list, m[1]) || !strings.Contains(list, "  all  ") {
		t.Fatalf("webhooks lists a secret, or not all events:\n%s", list)
	}
	return m[1]
}

// checkSigned fails the test for a request whose signature does not
// verify with secret, or whose headers and body disagree.
func checkSigned(t *testing.T, secret string, reqs []hookRequest) {
	t.Helper()
	for _, h := range reqs {
		if !webhook.Verify(secret, h.Body, h.Signature) {
			t.Errorf("%s delivery %s: signature %q does not verify", h.Event, h.Delivery, h.Signature)
		}
		if h.Event != h.Payload.Event || h.Delivery == "" || h.Payload.Time.IsZero() || h.Payload.Actor == "" {
			t.Errorf("delivery %s: header event %s, body %s", h.Delivery, h.Event, h.Body)
		}
	}
}

// awaitEvents waits until every key of want (event and promotion or build)
// has been delivered, and fails unless each has exactly one distinct
// delivery and nothing else was delivered.
func awaitEvents(t *testing.T, r *hookReceiver, within time.Duration, want ...string) {
	t.Helper()
	eventually(t, "webhook deliveries of "+strings.Join(want, ", "), within, 200*time.Millisecond, func(context.Context) (bool, string) {
		got := r.delivered()
		for _, k := range want {
			if len(got[k]) == 0 {
				return false, fmt.Sprintf("delivered %v; %d requests", got, len(r.requests()))
			}
		}
		return true, ""
	})
	got := r.delivered()
	for k, ds := range got {
		if !slices.Contains(want, k) {
			t.Errorf("delivered %s, which was not expected (want %v)", k, want)
		}
		if len(ds) != 1 {
			t.Errorf("%s delivered as %d distinct deliveries %v, want one", k, len(ds), ds)
		}
	}
}

func findPayload(t *testing.T, r *hookReceiver, event, id string) webhook.Payload {
	t.Helper()
	for _, h := range r.requests() {
		if h.Event == event && h.Payload.Promotion+h.Payload.Build == id {
			return h.Payload
		}
	}
	t.Fatalf("no %s of %s", event, id)
	return webhook.Payload{}
}

// A build, a promotion that succeeds and one that rolls back send the
// events they should, once each, signed with the secret `webhooks add`
// printed.
func TestWebhookPromotions(t *testing.T) {
	s := testsuite.Get(t)
	r := newHookReceiver(t)
	newApp(t, s, "hooky")
	secret := addHook(t, s, "hooky", r.URL)

	good := releaseOf(t, s.MustCLI(t, "build", example(t, s), "-a", "hooky", "-d", "good"))
	s.MustCLI(t, "releases", "promote", good, "-a", "hooky")
	app, err := s.Store.GetApp(context.Background(), "hooky")
	if err != nil {
		t.Fatal(err)
	}
	build := latestBuild(t, s, "hooky")
	p1 := newestPromotion(t, s, "hooky")
	awaitEvents(t, r, time.Minute,
		webhook.BuildCompleted+" "+build, webhook.PromoteStarted+" "+p1, webhook.PromoteCompleted+" "+p1)
	if p := findPayload(t, r, webhook.PromoteCompleted, p1); p.App != "hooky" || p.Release != good || p.From != "" || app.Status.Release != good {
		t.Errorf("promote:completed payload %+v", p)
	}
	if p := findPayload(t, r, webhook.BuildCompleted, build); p.Release != good || p.Reason != "" {
		t.Errorf("build:completed payload %+v", p)
	}

	bad := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=crashloop", "-a", "hooky"))
	if res := s.CLI(t, "releases", "promote", bad, "-a", "hooky"); res.Code != 1 {
		t.Fatalf("promoting a crash-looping release: exit %d\n%s", res.Code, res.Stderr)
	}
	p2 := newestPromotion(t, s, "hooky")
	awaitEvents(t, r, time.Minute,
		webhook.BuildCompleted+" "+build, webhook.PromoteStarted+" "+p1, webhook.PromoteCompleted+" "+p1,
		webhook.PromoteStarted+" "+p2, webhook.PromoteRolledBack+" "+p2)
	if p := findPayload(t, r, webhook.PromoteRolledBack, p2); p.Release != bad || p.From != good || !strings.Contains(p.Reason, "CrashLoopBackOff") {
		t.Errorf("promote:rolledback payload %+v", p)
	}
	checkSigned(t, secret, r.requests())
	if out := s.MustCLI(t, "webhooks", "failures", "-a", "hooky"); strings.Count(out, "\n") != 1 {
		t.Errorf("failures listed after every delivery succeeded:\n%s", out)
	}
	id := strings.Fields(strings.Split(s.MustCLI(t, "webhooks", "-a", "hooky"), "\n")[1])[0]
	if out := s.MustCLI(t, "webhooks", "remove", id, "-a", "hooky"); out != "Removed webhook "+id+" from hooky\n" {
		t.Errorf("webhooks remove printed %q", out)
	}
	if out := s.MustCLI(t, "webhooks", "-a", "hooky"); strings.Count(out, "\n") != 1 {
		t.Errorf("webhooks after removing the only one:\n%s", out)
	}
}

// A receiver that fails for a while, and a worker SIGKILLed and restarted
// while the deliveries wait for their next attempt: every event is still
// delivered, as one distinct delivery each.
func TestWebhookWorkerKilled(t *testing.T) {
	s := testsuite.Get(t)
	r := newHookReceiver(t)
	r.failing.Store(true)
	newApp(t, s, "hookk")
	secret := addHook(t, s, "hookk", r.URL)
	t.Cleanup(func() { s.StartWorker(t) })

	good := releaseOf(t, s.MustCLI(t, "build", example(t, s), "-a", "hookk", "-d", "good"))
	s.MustCLI(t, "releases", "promote", good, "-a", "hookk")
	build, p := latestBuild(t, s, "hookk"), newestPromotion(t, s, "hookk")
	want := []string{webhook.BuildCompleted + " " + build, webhook.PromoteStarted + " " + p, webhook.PromoteCompleted + " " + p}
	eventually(t, "every event tried and refused", time.Minute, 200*time.Millisecond, func(context.Context) (bool, string) {
		seen := map[string]bool{}
		for _, h := range r.requests() {
			seen[h.Event+" "+h.Payload.Promotion+h.Payload.Build] = true
		}
		return len(seen) == len(want), fmt.Sprintf("tried %v", seen)
	})
	s.KillWorker(t)
	time.Sleep(3 * time.Second) // attempts fall due with no worker
	s.StartWorker(t)
	time.Sleep(2 * time.Second)
	r.failing.Store(false)
	// The backoff after a few failures is tens of seconds.
	awaitEvents(t, r, 3*time.Minute, want...)
	checkSigned(t, secret, r.requests())
	failed := 0
	for _, h := range r.requests() {
		if h.Status != http.StatusOK {
			failed++
		}
	}
	if failed < len(want) {
		t.Errorf("%d refused attempts, want at least one per event", failed)
	}
	if n := len(r.delivered()); n != len(want) {
		t.Errorf("%d events delivered, want %d", n, len(want))
	}
}

func latestBuild(t *testing.T, s *testsuite.Stack, app string) string {
	t.Helper()
	bs, err := s.Store.ListBuilds(context.Background(), app)
	if err != nil || len(bs) == 0 {
		t.Fatalf("builds of %s: %d, %v", app, len(bs), err)
	}
	newest := bs[0]
	for _, b := range bs {
		if b.CreationTimestamp.After(newest.CreationTimestamp.Time) {
			newest = b
		}
	}
	return newest.Spec.ID
}

func newestPromotion(t *testing.T, s *testsuite.Stack, app string) string {
	t.Helper()
	ps, err := s.Store.ListPromotions(context.Background(), app)
	if err != nil || len(ps) == 0 {
		t.Fatalf("promotions of %s: %d, %v", app, len(ps), err)
	}
	return ps[0].Spec.ID
}

// At least once, with a dedup key: a worker that dies after the receiver
// handled a delivery but before it could record the answer makes another
// attempt, with the same Slipway-Delivery, which is what receivers drop.
func TestWebhookDuplicateAfterWorkerDies(t *testing.T) {
	s := testsuite.Get(t)
	r := newHookReceiver(t)
	r.hold.Store(int64(time.Minute))
	newApp(t, s, "hookd")
	out := s.MustCLI(t, "webhooks", "add", r.URL+"/in", "--events", webhook.BuildCompleted, "-a", "hookd")
	if !strings.Contains(out, "(events: build:completed)") {
		t.Fatalf("webhooks add printed %q", out)
	}
	t.Cleanup(func() { s.StartWorker(t) })
	s.MustCLI(t, "build", example(t, s), "-a", "hookd", "-d", "dup")
	eventually(t, "the first attempt handled", time.Minute, 100*time.Millisecond, func(context.Context) (bool, string) {
		return len(r.requests()) == 1, fmt.Sprintf("%d requests", len(r.requests()))
	})
	s.KillWorker(t) // while the receiver holds its answer
	r.hold.Store(0)
	s.StartWorker(t)
	// The lost attempt times out (30 s start-to-close) and is retried.
	eventually(t, "a second attempt", 2*time.Minute, 200*time.Millisecond, func(context.Context) (bool, string) {
		return len(r.requests()) >= 2, fmt.Sprintf("%d requests", len(r.requests()))
	})
	reqs := r.requests()
	if reqs[0].Delivery != reqs[1].Delivery || reqs[0].Event != webhook.BuildCompleted || !slices.Equal(reqs[0].Body, reqs[1].Body) {
		t.Errorf("attempts %+v and %+v: want the same delivery and body", reqs[0], reqs[1])
	}
	if d := r.delivered(); len(d) != 1 {
		t.Errorf("delivered %v, want one event as one delivery", d)
	}
}

// A person bound to the slipway-user role in the app's namespace can add,
// list and remove webhooks, and may update no other Secret.
func TestWebhookAsUser(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	s.MustCLI(t, "system", "install", "--replicas", "0")
	newApp(t, s, "hooku")
	ns := s.Store.Namespace("hooku")
	if _, err := s.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "dev"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "dev-user"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: rbac.UserRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "dev", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc := s.TokenKubeconfig(t, ns, "dev")
	if testsuite.CanI(t, testsuite.KubeFor(t, kc), "update", "", "secrets", ns) {
		t.Error("the user may update any Secret of the app, want only its webhooks Secret")
	}
	as := func(args ...string) string { return s.MustCLI(t, append(args, "-a", "hooku", "--kubeconfig", kc)...) }
	if out := as("webhooks", "add", "https://example.com/a"); !strings.Contains(out, "Signing secret") {
		t.Fatalf("first add printed %q", out)
	}
	as("webhooks", "add", "https://example.com/b", "--events", webhook.BuildFailed)
	if out := as("webhooks"); strings.Count(out, "\n") != 3 || !strings.Contains(out, "  build:failed  ") {
		t.Fatalf("webhooks:\n%s", out)
	}
	as("webhooks", "remove", "https://example.com/a")
	as("webhooks", "failures")
	c, err := s.Store.GetWebhooks(ctx, "hooku")
	if err != nil || len(c.Hooks) != 1 || c.Hooks[0].URL != "https://example.com/b" {
		t.Fatalf("webhooks %+v, %v; want only https://example.com/b", c.Hooks, err)
	}
}
