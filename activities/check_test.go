package activities

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/slipway-dev/slipway/model"
)

// checkServer is an API server's service proxy for one service: it
// answers GETs of /health with the statuses in answers, in turn, and
// counts them.
func checkServer(t *testing.T, answers ...int) (kubernetes.Interface, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/namespaces/"+testNS+"/services/http:web:5000/proxy/health" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
			return
		}
		i := int(n.Add(1)) - 1
		code := answers[min(i, len(answers)-1)]
		w.WriteHeader(code)
		_, _ = w.Write([]byte("answer " + http.StatusText(code) + "\nsecond line"))
	}))
	t.Cleanup(srv.Close)
	c, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

func checkGet(c kubernetes.Interface) func(context.Context) (int, string, error) {
	return func(ctx context.Context) (int, string, error) {
		return proxyGet(ctx, c, testNS, "web", "http", 5000, "/health")
	}
}

// The check goes through the real client's service proxy request: every
// GET for the whole duration must answer the expected status.
func TestCheckPassesWhenEveryAnswerIsExpected(t *testing.T) {
	c, n := checkServer(t, 200)
	in := CheckInput{Service: "web", Check: model.Check{HTTP: "/health", Expect: 200, For: 300 * time.Millisecond}, Interval: 50 * time.Millisecond}
	start := time.Now()
	if err := runCheck(context.Background(), in, checkGet(c)); err != nil {
		t.Fatalf("check failed: %v", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("check passed after %s, before its duration", took)
	}
	if got := n.Load(); got < 4 {
		t.Errorf("%d GETs in 300ms at 50ms apart, want at least 4", got)
	}
}

func TestCheckFailsOnAnotherStatus(t *testing.T) {
	c, n := checkServer(t, 200, 200, 503)
	in := CheckInput{Service: "web", Check: model.Check{HTTP: "/health", Expect: 200, For: time.Minute}, Interval: 10 * time.Millisecond}
	err := runCheck(context.Background(), in, checkGet(c))
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrCheckFailed || !appErr.NonRetryable() {
		t.Fatalf("error %v, want a permanent %s", err, ErrCheckFailed)
	}
	if want := "web: check GET /health answered 503, want 200 (GET 3): answer Service Unavailable"; appErr.Message() != want {
		t.Errorf("reason %q, want %q", appErr.Message(), want)
	}
	if n.Load() != 3 {
		t.Errorf("%d GETs, want the check to stop at the first bad answer (3)", n.Load())
	}
}

func TestCheckExpectsAnyStatus(t *testing.T) {
	c, _ := checkServer(t, 404)
	in := CheckInput{Service: "web", Check: model.Check{HTTP: "/health", Expect: 404}}
	if err := runCheck(context.Background(), in, checkGet(c)); err != nil {
		t.Fatalf("a check expecting 404 got 404 and failed: %v", err)
	}
}

func TestCheckFailsWithoutAnswer(t *testing.T) {
	c, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	in := CheckInput{Service: "web", Check: model.Check{HTTP: "/health", Expect: 200}}
	err = runCheck(context.Background(), in, checkGet(c))
	if err == nil || !strings.Contains(err.Error(), "web: check GET /health got no answer (GET 1): ") {
		t.Fatalf("error %v, want no answer", err)
	}
}
