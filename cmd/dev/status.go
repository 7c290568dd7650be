package dev

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/devstack"
)

type StatusOptions struct {
	*cmdutil.Factory
}

func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Factory: f}
	return &cobra.Command{
		Use:     "status",
		Short:   "Report each part of the local stack",
		Example: "  slipway dev status",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, statusRun)
		},
	}
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	o, err := stackOptions(opts.IO.Out, 0, 0)
	if err != nil {
		return err
	}
	st := devstack.New(o).Status(ctx)
	if err := StatusTable(st).Print(opts.IO.Out); err != nil {
		return err
	}
	for _, c := range st {
		if !c.Running {
			return errors.New("the local stack is not fully up: run `slipway dev up`")
		}
	}
	return nil
}

// StatusTable is one row per part of the stack.
func StatusTable(st []devstack.Status) *cmdutil.Table {
	t := cmdutil.NewTable("COMPONENT", "STATUS", "DETAIL")
	for _, c := range st {
		status := "running"
		if !c.Running {
			status = "stopped"
		}
		t.Add(c.Name, status, c.Detail)
	}
	return t
}
