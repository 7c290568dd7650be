// Package worker is `slipway worker`: runs workflows and activities.
package worker

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/worker"
)

func NewCmdWorker(f *cmdutil.Factory) *cobra.Command {
	var level slog.Level
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: executes slipway's workflows and activities",
		Example: `  # the local stack runs one for you; run another against it:
  slipway worker --log-level debug`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.Settings()
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			return worker.Run(cmd.Context(), s, logger)
		},
	}
	cmd.Flags().TextVar(&level, "log-level", slog.LevelInfo, "debug, info, warn or error")
	return cmd
}
