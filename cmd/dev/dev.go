// Package dev is `slipway dev`: the local stack on loopback.
package dev

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/records"
)

// NewCmdDev is `slipway dev` and its subcommands.
func NewCmdDev(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run slipway's local stack: Temporal, Kubernetes with kwok nodes, a registry and a worker",
	}
	cmd.AddCommand(
		NewCmdUp(f, nil),
		NewCmdDown(f, nil),
		NewCmdStatus(f, nil),
		NewCmdReset(f, nil),
	)
	return cmd
}

// stackOptions places the local stack from the environment: its home
// (SLIPWAY_HOME), its tools, its ports, and the kwok cluster's size.
// nodes and podsPerNode are `dev up`'s flags (0: not given), which win
// over the environment, which wins over devstack's defaults.
func stackOptions(out io.Writer, nodes, podsPerNode int) (devstack.Options, error) {
	exe, err := os.Executable()
	if err != nil {
		return devstack.Options{}, err
	}
	tools, err := toolsDir(exe)
	if err != nil {
		return devstack.Options{}, err
	}
	o := devstack.Options{
		Home:            config.Home(),
		Tools:           tools,
		Slipway:         exe,
		AfterKubernetes: records.InstallCRDsFromKubeconfig,
		Out:             out,
		Nodes:           nodes,
		PodsPerNode:     podsPerNode,
	}
	// Other ports, for a second stack beside the usual one (0: default).
	for _, p := range []struct {
		env string
		dst *int
	}{{"SLIPWAY_TEMPORAL_PORT", &o.TemporalPort}, {"SLIPWAY_UI_PORT", &o.UIPort}, {"SLIPWAY_REGISTRY_PORT", &o.RegistryPort}} {
		if v := os.Getenv(p.env); v != "" {
			if *p.dst, err = strconv.Atoi(v); err != nil {
				return devstack.Options{}, fmt.Errorf("%s=%q is not a port number", p.env, v)
			}
		}
	}
	if err := o.SizeFromEnv(os.Getenv); err != nil {
		return devstack.Options{}, err
	}
	return o, nil
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
