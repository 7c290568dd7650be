// Package dev is `slipway dev`: the local stack on loopback.
package dev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/records"
)

func NewCmdDev(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run slipway's local stack: Temporal, Kubernetes with kwok nodes, a registry and a worker",
	}
	var nodes, podsPerNode int
	up := &cobra.Command{
		Use:     "up",
		Short:   "Start whatever part of the local stack is not running, and wait until all of it answers",
		Example: "  slipway dev up\n  slipway dev up --nodes 4 --pods-per-node 500",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := stack(f, size{nodes: nodes, podsPerNode: podsPerNode,
				nodesSet: cmd.Flags().Changed("nodes"), podsSet: cmd.Flags().Changed("pods-per-node")})
			if err != nil {
				return err
			}
			start := time.Now()
			if err := s.Up(cmd.Context()); err != nil {
				return err
			}
			st := s.Settings()
			fmt.Fprintf(f.IO.Out, "Local stack up in %.1fs.\n", time.Since(start).Seconds())
			fmt.Fprintf(f.IO.Out, "Temporal UI: %s\n", st.TemporalUI)
			fmt.Fprintf(f.IO.Out, "kubectl:     export KUBECONFIG=%s\n", st.Kubeconfig)
			fmt.Fprintln(f.IO.Out, "Stop it with `slipway dev down`; its state stays for the next `slipway dev up`.")
			return nil
		},
	}
	up.Flags().IntVar(&nodes, "nodes", devstack.DefaultNodes, "kwok nodes to run (env SLIPWAY_DEV_NODES)")
	up.Flags().IntVar(&podsPerNode, "pods-per-node", devstack.DefaultPodsPerNode, "pods each kwok node takes (env SLIPWAY_DEV_PODS_PER_NODE)")
	cmd.AddCommand(
		up,
		&cobra.Command{
			Use:     "down",
			Short:   "Stop the local stack; its state stays on disk",
			Example: "  slipway dev down",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				s, err := stack(f, size{})
				if err != nil {
					return err
				}
				return s.Down(cmd.Context())
			},
		},
		&cobra.Command{
			Use:     "status",
			Short:   "Report each part of the local stack",
			Example: "  slipway dev status",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				s, err := stack(f, size{})
				if err != nil {
					return err
				}
				t := cmdutil.NewTable("COMPONENT", "STATUS", "DETAIL")
				down := 0
				for _, c := range s.Status(cmd.Context()) {
					status := "running"
					if !c.Running {
						status, down = "stopped", down+1
					}
					t.Add(c.Name, status, c.Detail)
				}
				if err := t.Print(f.IO.Out); err != nil {
					return err
				}
				if down > 0 {
					return errors.New("the local stack is not fully up: run `slipway dev up`")
				}
				return nil
			},
		},
		&cobra.Command{
			Use:     "reset",
			Short:   "Stop the local stack and delete all of its state",
			Example: "  slipway dev reset && slipway dev up",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				s, err := stack(f, size{})
				if err != nil {
					return err
				}
				if err := s.Reset(cmd.Context()); err != nil {
					return err
				}
				fmt.Fprintf(f.IO.Out, "Deleted %s.\n", s.Dir())
				return nil
			},
		},
	)
	return cmd
}

// size is the kwok cluster's: flags of `dev up` win over the environment,
// which wins over devstack's defaults.
type size struct {
	nodes, podsPerNode int
	nodesSet, podsSet  bool
}

func stack(f *cmdutil.Factory, sz size) (*devstack.Stack, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tools, err := toolsDir(exe)
	if err != nil {
		return nil, err
	}
	o := devstack.Options{
		Home:            config.Home(),
		Tools:           tools,
		Slipway:         exe,
		AfterKubernetes: records.InstallCRDsFromKubeconfig,
		Out:             f.IO.Out,
	}
	// Other ports, for a second stack beside the usual one (0: default).
	for env, port := range map[string]*int{
		"SLIPWAY_TEMPORAL_PORT": &o.TemporalPort, "SLIPWAY_UI_PORT": &o.UIPort, "SLIPWAY_REGISTRY_PORT": &o.RegistryPort,
	} {
		if v := os.Getenv(env); v != "" {
			if *port, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("%s=%q is not a port number", env, v)
			}
		}
	}
	for _, c := range []struct {
		env, flag string
		set       bool
		flagValue int
		dst       *int
	}{
		{"SLIPWAY_DEV_NODES", "--nodes", sz.nodesSet, sz.nodes, &o.Nodes},
		{"SLIPWAY_DEV_PODS_PER_NODE", "--pods-per-node", sz.podsSet, sz.podsPerNode, &o.PodsPerNode},
	} {
		if c.set {
			if c.flagValue < 1 {
				return nil, fmt.Errorf("%s %d: give a whole number of at least 1", c.flag, c.flagValue)
			}
			*c.dst = c.flagValue
			continue
		}
		if v := os.Getenv(c.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s=%q: give a whole number of at least 1", c.env, v)
			}
			*c.dst = n
		}
	}
	return devstack.New(o), nil
}

// toolsDir finds the binaries `make tools` built: $SLIPWAY_TOOLS, else
// .tools/bin beside the bin/ folder that holds this slipway.
func toolsDir(exe string) (string, error) {
	if d := os.Getenv("SLIPWAY_TOOLS"); d != "" {
		return d, nil
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	d := filepath.Join(filepath.Dir(exe), "..", ".tools", "bin")
	if _, err := os.Stat(d); err != nil {
		return "", fmt.Errorf("the local stack's tools are not in %s: run `make tools` in slipway's checkout, or set SLIPWAY_TOOLS", filepath.Clean(d))
	}
	return filepath.Clean(d), nil
}
