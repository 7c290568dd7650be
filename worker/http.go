package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
)

// healthTimeout bounds the Temporal check behind /healthz: under a
// Kubernetes probe's default timeout (1 s), so a probe reads why the
// worker is unhealthy instead of timing out.
const healthTimeout = 800 * time.Millisecond

// Health is what /healthz answers: 200 ok while the worker polls and its
// Temporal connection answers, else 503 and why, on one line.
type Health struct {
	state atomic.Pointer[healthState]
}

type healthState struct {
	down  string                      // why the worker does not poll; "" while it does
	check func(context.Context) error // asks Temporal, while it polls
}

// NewHealth is the health of a worker that has not started yet.
func NewHealth() *Health {
	h := &Health{}
	h.Down("starting")
	return h
}

// Up says the worker polls; check asks its Temporal whether it answers.
func (h *Health) Up(check func(context.Context) error) {
	h.state.Store(&healthState{check: check})
}

// Down says the worker does not poll, and why.
func (h *Health) Down(why string) { h.state.Store(&healthState{down: why}) }

// TemporalCheck asks c's frontend for its gRPC health: one small request.
func TemporalCheck(c client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}

func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := h.state.Load()
	if st.down != "" {
		http.Error(w, "worker "+st.down, http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := st.check(ctx); err != nil {
		http.Error(w, "Temporal does not answer: "+oneLine(err.Error()), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// oneLine keeps a reason to one line, as a probe's log shows it.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// NewMux serves the worker's metrics at /metrics and its health at
// /healthz, and with profile Go's runtime profiles at /debug/pprof/ (for
// `go tool pprof`). Profiles are off unless asked for: they name every
// function the worker runs, and a CPU profile costs the worker while it
// is taken.
func NewMux(m *Metrics, h *Health, profile bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.HTTP)
	mux.Handle("GET /healthz", h)
	if profile {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// serve listens on addr and serves h until the returned stop is called.
// A refused address is an error at once, before the worker polls.
func serve(addr string, h http.Handler, logger *slog.Logger) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w (pick another with --listen)", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics and health server stopped", "err", err)
		}
	}()
	logger.Info("serving /metrics and /healthz", "listen", l.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // past 5 s, a scrape in flight is cut: the worker is gone anyway
		<-done
	}, nil
}
