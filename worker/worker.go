// Package worker wires the clients that activities need and registers every
// workflow and activity on slipway's task queue.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/source"
	"github.com/slipway-dev/slipway/workflows"
)

// Register puts every workflow and activity on a worker (or a test
// environment, which has the same registry methods).
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflow(workflows.CreateApp)
	r.RegisterWorkflow(workflows.DeleteApp)
	r.RegisterWorkflow(workflows.ProtectApp)
	r.RegisterWorkflow(workflows.CreateRelease)
	r.RegisterWorkflow(workflows.Build)
	r.RegisterWorkflow(workflows.Promote)
	r.RegisterWorkflow(workflows.Scale)
	r.RegisterWorkflow(workflows.Notify)
	r.RegisterWorkflow(workflows.PreviousWindow)
	r.RegisterActivity(acts)
}

// RunOptions are how a worker runs, beside its settings.
type RunOptions struct {
	// Listen, when set, is the address /metrics and /healthz are served
	// on (several local workers share a host, so none by default).
	Listen string
	// StopTimeout is how long a stopping worker lets running activities
	// finish before it cancels them. They heartbeat, so Temporal then
	// retries them on another worker after their heartbeat timeout.
	StopTimeout time.Duration
	// Profile serves Go's runtime profiles at /debug/pprof/ on Listen.
	Profile bool
}

// Run polls slipway's task queue until ctx ends, then stops polling and
// lets running activities finish for up to o.StopTimeout.
func Run(ctx context.Context, s *config.Settings, logger *slog.Logger, o RunOptions) error {
	opts := s.Temporal
	opts.Logger = sdklog.NewStructuredLogger(logger)
	health := NewHealth()
	if o.Listen != "" {
		metrics := NewMetrics(logger)
		defer func() { _ = metrics.Close() }() // only stops tally's reporting loop
		opts.MetricsHandler = metrics.Handler
		stop, err := serve(o.Listen, NewMux(metrics, health, o.Profile), logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w (run `slipway dev up`, or set TEMPORAL_ADDRESS)", opts.HostPort, err)
	}
	defer c.Close()
	acts, err := NewActivities(ctx, s)
	if err != nil {
		return err
	}
	acts.Temporal = c
	fatal := make(chan error, 1) // the SDK reports one fatal error at most
	w := sdkworker.New(c, config.TaskQueue, sdkworker.Options{
		// A killed worker's cached runs move to another worker after this
		// (the default is 5 s): part of how fast a promotion resumes.
		StickyScheduleToStartTimeout: 2 * time.Second,
		WorkerStopTimeout:            o.StopTimeout,
		OnFatalError:                 func(err error) { fatal <- err },
	})
	Register(w, acts)
	if err := w.Start(); err != nil {
		return err
	}
	health.Up(TemporalCheck(c))
	logger.Info("worker started", "temporal", opts.HostPort, "namespace", opts.Namespace, "taskQueue", config.TaskQueue)
	go (&Reconciler{Store: acts.Store, Temporal: c, Logger: logger}).Run(ctx)
	select {
	case <-ctx.Done():
		// Not ready from now on: a Deployment sends this pod nothing new.
		health.Down("stopping")
		logger.Info("worker stopping: running activities have until the stop timeout", "stopTimeout", o.StopTimeout)
		w.Stop()
		logger.Info("worker stopped")
		return nil
	case err := <-fatal:
		health.Down("stopped: " + err.Error())
		w.Stop()
		return fmt.Errorf("the worker stopped: %w", err)
	}
}

// NewActivities connects the activities' clients.
func NewActivities(ctx context.Context, s *config.Settings) (*activities.Activities, error) {
	rc, err := s.RESTConfig()
	if err != nil {
		return nil, err
	}
	// No client-side rate limit: one worker runs every app's promotions,
	// and a limit shared by all of them queued each promotion's requests
	// behind the others' until they failed at their deadlines (50 apps at
	// once ended in failed rollbacks at 50 requests a second). The API
	// server's priority and fairness queues what it cannot take at once,
	// and client-go retries its 429s.
	rc.QPS = -1
	store, err := records.NewStore(rc, s.Rack)
	if err != nil {
		return nil, err
	}
	bucket, err := blobs.Open(ctx, s.BlobURL, s.InsecureRegistries)
	if err != nil {
		return nil, err
	}
	limits, err := source.LimitsFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return &activities.Activities{
		Store:    store,
		Blobs:    bucket,
		Registry: s.Registry,
		JobImage: s.JobImage, FetchImage: s.FetchImage,
		SourceLimits:       limits,
		InsecureRegistries: s.InsecureRegistries, RegistryAllow: s.RegistryAllow,
		Ingress: render.IngressClasses{Public: s.IngressClass, Internal: s.InternalIngressClass},
	}, nil
}
