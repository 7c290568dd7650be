package worker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func wantAnswer(t *testing.T, h http.Handler, path string, code int, body string) {
	t.Helper()
	if gotCode, gotBody := get(t, h, path); gotCode != code || gotBody != body {
		t.Errorf("GET %s: %d %q, want %d %q", path, gotCode, gotBody, code, body)
	}
}

// /healthz: 503 until the worker polls, 200 while Temporal answers, 503
// with why when it does not (or too slowly) and once the worker stops.
func TestHealthz(t *testing.T) {
	h := NewHealth()
	m := NewMetrics(slog.New(slog.DiscardHandler))
	defer func() { _ = m.Close() }()
	mux := NewMux(m, h, false)
	wantAnswer(t, mux, "/healthz", http.StatusServiceUnavailable, "worker starting\n")

	var answer error
	h.Up(func(context.Context) error { return answer })
	wantAnswer(t, mux, "/healthz", http.StatusOK, "ok\n")

	answer = errors.New("rpc error: code = Unavailable\ndesc = connection refused")
	wantAnswer(t, mux, "/healthz", http.StatusServiceUnavailable, "Temporal does not answer: rpc error: code = Unavailable desc = connection refused\n")

	// A Temporal that hangs: answered within the probe's second anyway.
	h.Up(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	start := time.Now()
	wantAnswer(t, mux, "/healthz", http.StatusServiceUnavailable, "Temporal does not answer: context deadline exceeded\n")
	if took := time.Since(start); took > time.Second {
		t.Errorf("/healthz took %s with a hanging Temporal, want under a probe's default 1s", took)
	}

	h.Down("stopping")
	wantAnswer(t, mux, "/healthz", http.StatusServiceUnavailable, "worker stopping\n")

	for _, path := range []string{"/", "/debug/pprof/"} {
		if code, _ := get(t, mux, path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

// With profiles asked for, `go tool pprof` finds them where it looks.
func TestProfiles(t *testing.T) {
	m := NewMetrics(slog.New(slog.DiscardHandler))
	defer func() { _ = m.Close() }()
	mux := NewMux(m, NewHealth(), true)
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/goroutine?debug=1": "goroutine profile: total",
		"/debug/pprof/heap?debug=1":      "heap profile:",
		"/debug/pprof/cmdline":           "",
	} {
		code, body := get(t, mux, path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %.80q, want 200 with %q", path, code, body, want)
		}
	}
}

// The check against a real client: one that reaches no Temporal is
// unhealthy, with the client's reason.
func TestHealthzUnreachableTemporal(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := NewHealth()
	h.Up(TemporalCheck(c))
	code, body := get(t, h, "/healthz")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "Temporal does not answer: ") || strings.Count(body, "\n") != 1 {
		t.Errorf("GET /healthz with no Temporal: %d %q, want 503 and why on one line", code, body)
	}
}

// /metrics is Prometheus text: what the SDK and the workflows record
// through Handler, with Prometheus's suffixes, label values as given, and
// the Go runtime's metrics.
func TestMetrics(t *testing.T) {
	var log bytes.Buffer
	m := NewMetrics(slog.New(slog.NewTextHandler(&log, nil)))
	m.Handler.Counter("slipway_promotions_started").Inc(1)
	ended := m.Handler.WithTags(map[string]string{"result": "rolled back"})
	ended.Counter("slipway_promotions_ended").Inc(2)
	ended.Timer("slipway_promotion_duration").Record(90 * time.Second)
	// The same name with other label keys: left out and logged, not a crash.
	m.Handler.WithTags(map[string]string{"other": "x"}).Counter("slipway_promotions_started").Inc(1)
	if err := m.Close(); err != nil { // reports what is counted
		t.Fatal(err)
	}
	code, body := get(t, NewMux(m, NewHealth(), false), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, want := range []string{
		"# TYPE slipway_promotions_started_total counter\nslipway_promotions_started_total 1\n",
		`slipway_promotions_ended_total{result="rolled back"} 2` + "\n",
		"# TYPE slipway_promotion_duration_seconds histogram\n",
		`slipway_promotion_duration_seconds_bucket{result="rolled back",le="60"} 0` + "\n",
		`slipway_promotion_duration_seconds_bucket{result="rolled back",le="120"} 1` + "\n",
		`slipway_promotion_duration_seconds_sum{result="rolled back"} 90` + "\n",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(log.String(), "a metric is left out of /metrics") {
		t.Errorf("worker log %q: want the refused metric named", log.String())
	}
}

// serve answers on the address it was given until stopped; an address it
// cannot listen on is an error that says what to do.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	stop, err := serve(free, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") }), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + free + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(b) != "hi" {
		t.Errorf("GET from the server: %q, %v", b, err)
	}
	stop()
	if _, err := http.Get("http://" + free + "/"); err == nil {
		t.Error("the server still answers after stop")
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, err = serve(addr, http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.HasPrefix(err.Error(), "cannot listen on "+addr+": ") || !strings.HasSuffix(err.Error(), "(pick another with --listen)") {
		t.Errorf("serve on a taken address: %v", err)
	}
}
