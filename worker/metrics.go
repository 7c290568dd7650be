package worker

import (
	"io"
	"log/slog"
	"net/http"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Metrics is what a worker measures: the Temporal SDK's metrics (polls,
// requests, task latencies, workflow and activity outcomes) and slipway's
// own (workflows.Metric*), in a Prometheus registry of its own.
type Metrics struct {
	// Handler goes on the worker's Temporal client: the SDK and, through
	// workflow.GetMetricsHandler, the workflows record into it.
	Handler client.MetricsHandler
	// HTTP serves the registry in Prometheus's text format.
	HTTP   http.Handler
	closer io.Closer
}

// metricsInterval is how often tally hands what it counted to the
// registry: a scrape sees a count at most this late.
const metricsInterval = time.Second

// durationBuckets are every timer's histogram buckets, in seconds: from an
// SDK request's milliseconds to a promotion's minutes.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

// sanitize keeps names and label keys to what Prometheus accepts and
// leaves label values alone (Prometheus takes any text there), so a
// result reads "rolled back" as slipway names it everywhere else.
var sanitize = tally.SanitizeOptions{
	NameCharacters:       tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: []rune{'_'}},
	KeyCharacters:        tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: []rune{'_'}},
	ValueCharacters:      tally.ValidCharacters{Ranges: []tally.SanitizeRange{{0, unicode.MaxRune}}},
	ReplacementCharacter: tally.DefaultReplacementCharacter,
}

// NewMetrics makes a worker's metrics. Counters are exported with the
// suffix _total and timers as histograms with _seconds, as Prometheus
// names them. A metric the registry refuses (the same name with other
// label keys) is logged and left out, never a crash. Close it when the
// worker stops.
func NewMetrics(logger *slog.Logger) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: durationBuckets,
		OnRegisterError: func(err error) {
			logger.Warn("a metric is left out of /metrics", "err", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sanitize,
	}, metricsInterval)
	return &Metrics{
		Handler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		HTTP:    promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}),
		closer:  closer,
	}
}

// Close reports what is counted one last time and stops reporting.
func (m *Metrics) Close() error { return m.closer.Close() }
