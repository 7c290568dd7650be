package dev

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/devstack"
)

type UpOptions struct {
	*cmdutil.Factory
	// Nodes and PodsPerNode size the kwok cluster when given; 0 leaves it
	// to SLIPWAY_DEV_NODES / SLIPWAY_DEV_PODS_PER_NODE, else the defaults.
	Nodes, PodsPerNode int
	// Start starts whatever part of the stack is not running and returns
	// once all of it answers (StartStack); tests pass a fake.
	Start func(context.Context, devstack.Options) (*devstack.Stack, error)
}

func NewCmdUp(f *cmdutil.Factory, runF func(context.Context, *UpOptions) error) *cobra.Command {
	opts := &UpOptions{Factory: f, Start: StartStack}
	var nodes, podsPerNode int
	cmd := &cobra.Command{
		Use:     "up",
		Short:   "Start whatever part of the local stack is not running, and wait until all of it answers",
		Example: "  slipway dev up\n  slipway dev up --nodes 4 --pods-per-node 500",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, c := range []struct {
				flag  string
				value int
				dst   *int
			}{{"nodes", nodes, &opts.Nodes}, {"pods-per-node", podsPerNode, &opts.PodsPerNode}} {
				if !cmd.Flags().Changed(c.flag) {
					continue
				}
				if c.value < 1 {
					return fmt.Errorf("--%s %d: give a whole number of at least 1", c.flag, c.value)
				}
				*c.dst = c.value
			}
			return cmdutil.Run(cmd, opts, runF, upRun)
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", devstack.DefaultNodes, "kwok nodes to run (env SLIPWAY_DEV_NODES)")
	cmd.Flags().IntVar(&podsPerNode, "pods-per-node", devstack.DefaultPodsPerNode, "pods each kwok node takes (env SLIPWAY_DEV_PODS_PER_NODE)")
	return cmd
}

func upRun(ctx context.Context, opts *UpOptions) error {
	o, err := stackOptions(opts.IO.Out, opts.Nodes, opts.PodsPerNode)
	if err != nil {
		return err
	}
	start := opts.Now()
	s, err := opts.Start(ctx, o)
	if err != nil {
		return err
	}
	st := s.Settings()
	fmt.Fprintf(opts.IO.Out, "Local stack up in %.1fs.\n", opts.Now().Sub(start).Seconds())
	fmt.Fprintf(opts.IO.Out, "Temporal UI: %s\n", st.TemporalUI)
	fmt.Fprintf(opts.IO.Out, "kubectl:     export KUBECONFIG=%s\n", st.Kubeconfig)
	fmt.Fprintln(opts.IO.Out, "Stop it with `slipway dev down`; its state stays for the next `slipway dev up`.")
	return nil
}

// StartStack starts whatever part of the stack o places is not running,
// and waits until all of it answers.
func StartStack(ctx context.Context, o devstack.Options) (*devstack.Stack, error) {
	s := devstack.New(o)
	return s, s.Up(ctx)
}
