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
	r.RegisterWorkflow(workflows.CreateRelease)
	r.RegisterWorkflow(workflows.Build)
	r.RegisterWorkflow(workflows.Promote)
	r.RegisterWorkflow(workflows.Scale)
	r.RegisterActivity(acts)
}

// Run polls slipway's task queue until ctx ends.
func Run(ctx context.Context, s *config.Settings, logger *slog.Logger) error {
	opts := s.Temporal
	opts.Logger = sdklog.NewStructuredLogger(logger)
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
	w := sdkworker.New(c, config.TaskQueue, sdkworker.Options{
		// A killed worker's cached runs move to another worker after this
		// (the default is 5 s): part of how fast a promotion resumes.
		StickyScheduleToStartTimeout: 2 * time.Second,
	})
	Register(w, acts)
	logger.Info("worker started", "temporal", opts.HostPort, "namespace", opts.Namespace, "taskQueue", config.TaskQueue)
	go (&Reconciler{Store: acts.Store, Temporal: c, Logger: logger}).Run(ctx)
	stop := make(chan any)
	go func() { <-ctx.Done(); close(stop) }()
	return w.Run(stop)
}

// NewActivities connects the activities' clients.
func NewActivities(ctx context.Context, s *config.Settings) (*activities.Activities, error) {
	rc, err := s.RESTConfig()
	if err != nil {
		return nil, err
	}
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
