package dev

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/devstack"
)

type ResetOptions struct {
	*cmdutil.Factory
}

func NewCmdReset(f *cmdutil.Factory, runF func(context.Context, *ResetOptions) error) *cobra.Command {
	opts := &ResetOptions{Factory: f}
	return &cobra.Command{
		Use:     "reset",
		Short:   "Stop the local stack and delete all of its state",
		Example: "  slipway dev reset && slipway dev up",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, resetRun)
		},
	}
}

func resetRun(ctx context.Context, opts *ResetOptions) error {
	o, err := stackOptions(opts.IO.Out, 0, 0)
	if err != nil {
		return err
	}
	s := devstack.New(o)
	if err := s.Reset(ctx); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Deleted %s.\n", s.Dir())
	return nil
}
