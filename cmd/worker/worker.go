// Package worker is `slipway worker`: runs workflows and activities.
package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/temporalsetup"
	"github.com/slipway-dev/slipway/worker"
)

// DefaultStopTimeout is how long a stopping worker lets running activities
// finish: under the 40 s a Kubernetes pod of it is given to stop.
const DefaultStopTimeout = 30 * time.Second

type WorkerOptions struct {
	*cmdutil.Factory
	Level slog.Level
	// Listen and StopTimeout are worker.RunOptions's.
	Listen      string
	StopTimeout time.Duration
	Profile     bool
	// Run runs the worker until ctx ends (worker.Run); tests pass a fake.
	Run func(context.Context, *config.Settings, *slog.Logger, worker.RunOptions) error
}

func NewCmdWorker(f *cmdutil.Factory, runF func(context.Context, *WorkerOptions) error) *cobra.Command {
	opts := &WorkerOptions{Factory: f, Run: worker.Run}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: executes slipway's workflows and activities",
		Long: `Run a worker: it polls slipway's task queue until SIGTERM or SIGINT, then
stops polling and lets running activities finish for up to --stop-timeout
before it cancels them (Temporal retries them on another worker).

With --listen it serves GET /metrics (Prometheus: the Temporal SDK's
metrics and slipway's promotions) and GET /healthz (200 ok while it polls
and Temporal answers, else 503 and why); with --pprof as well, Go's
runtime profiles at /debug/pprof/ for go tool pprof. It logs JSON lines
unless its standard error is a terminal.`,
		Example: `  # the local stack runs one for you; run another against it:
  slipway worker --log-level debug

  # in a pod: probes on /healthz, Prometheus scrapes /metrics
  slipway worker --listen :8080 --stop-timeout 30s

  # where does its CPU go? 30 s of it, read by go tool pprof
  slipway worker --listen 127.0.0.1:9090 --pprof &
  go tool pprof -top http://127.0.0.1:9090/debug/pprof/profile?seconds=30`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, workerRun)
		},
	}
	cmd.Flags().TextVar(&opts.Level, "log-level", slog.LevelInfo, "debug, info, warn or error")
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "serve /metrics and /healthz on HOST:PORT or :PORT (default: none)")
	cmd.Flags().BoolVar(&opts.Profile, "pprof", false, "also serve Go's runtime profiles at /debug/pprof/ (needs --listen)")
	cmd.Flags().DurationVar(&opts.StopTimeout, "stop-timeout", DefaultStopTimeout, "on SIGTERM, how long running activities may take to finish before they are cancelled")
	return cmd
}

func (o *WorkerOptions) validate() error {
	if o.StopTimeout < 0 {
		return fmt.Errorf("--stop-timeout %s: must not be negative (0 cancels running activities at once)", o.StopTimeout)
	}
	if o.Profile && o.Listen == "" {
		return fmt.Errorf("--pprof serves on the --listen address: add --listen HOST:PORT, e.g. --listen 127.0.0.1:9090")
	}
	if o.Listen != "" {
		if _, port, err := net.SplitHostPort(o.Listen); err != nil || port == "" {
			return fmt.Errorf("--listen %s: want HOST:PORT or :PORT, e.g. :8080", o.Listen)
		}
	}
	return nil
}

func workerRun(ctx context.Context, opts *WorkerOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	logger := slog.New(logHandler(opts.IO.ErrOut, opts.Level))
	if err := checkTemporal(ctx, opts, cmp.Or(s.Temporal.Namespace, client.DefaultNamespace), logger); err != nil {
		return err
	}
	return opts.Run(ctx, s, logger, worker.RunOptions{Listen: opts.Listen, StopTimeout: opts.StopTimeout, Profile: opts.Profile})
}

// checkTemporal fails fast when the namespace lacks slipway's search
// attributes, which every run sets: otherwise a rack left unprepared is
// found out by its first workflow failing to start. A worker whose
// credentials may not list them (they need not be an admin's) starts
// anyway, with a warning.
func checkTemporal(ctx context.Context, opts *WorkerOptions, ns string, logger *slog.Logger) error {
	c, err := opts.Temporal()
	if err != nil {
		return err
	}
	err = temporalsetup.Check(ctx, c.OperatorService(), ns)
	if refused := (*temporalsetup.RefusedError)(nil); errors.As(err, &refused) {
		logger.Warn("cannot check slipway's search attributes; starting anyway", "err", err)
		return nil
	}
	return err
}
