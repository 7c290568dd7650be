package dev

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/devstack"
)

type DownOptions struct {
	*cmdutil.Factory
}

func NewCmdDown(f *cmdutil.Factory, runF func(context.Context, *DownOptions) error) *cobra.Command {
	opts := &DownOptions{Factory: f}
	return &cobra.Command{
		Use:     "down",
		Short:   "Stop the local stack; its state stays on disk",
		Example: "  slipway dev down",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, downRun)
		},
	}
}

func downRun(ctx context.Context, opts *DownOptions) error {
	o, err := stackOptions(opts.IO.Out, 0, 0)
	if err != nil {
		return err
	}
	return devstack.New(o).Down(ctx)
}
