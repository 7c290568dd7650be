// Package worker is `slipway worker`: runs workflows and activities.
package worker

import (
	"cmp"
	"context"
	"errors"
	"log/slog"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/temporalsetup"
	"github.com/slipway-dev/slipway/worker"
)

type WorkerOptions struct {
	*cmdutil.Factory
	Level slog.Level
	// Run runs the worker until ctx ends (worker.Run); tests pass a fake.
	Run func(context.Context, *config.Settings, *slog.Logger) error
}

func NewCmdWorker(f *cmdutil.Factory, runF func(context.Context, *WorkerOptions) error) *cobra.Command {
	opts := &WorkerOptions{Factory: f, Run: worker.Run}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: executes slipway's workflows and activities",
		Example: `  # the local stack runs one for you; run another against it:
  slipway worker --log-level debug`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, workerRun)
		},
	}
	cmd.Flags().TextVar(&opts.Level, "log-level", slog.LevelInfo, "debug, info, warn or error")
	return cmd
}

func workerRun(ctx context.Context, opts *WorkerOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: opts.Level}))
	if err := checkTemporal(ctx, opts, cmp.Or(s.Temporal.Namespace, client.DefaultNamespace), logger); err != nil {
		return err
	}
	return opts.Run(ctx, s, logger)
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
