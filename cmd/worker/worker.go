// Package worker is `slipway worker`: runs workflows and activities.
package worker

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
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
	return opts.Run(ctx, s, logger)
}
