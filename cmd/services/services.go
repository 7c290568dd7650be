// Package services is `slipway services`: where each service of an app's
// active release is reached.
package services

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/render"
)

type ListOptions struct {
	*cmdutil.Factory
	App    string
	Output string
}

// NewCmdServices is `slipway services`.
func NewCmdServices(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "services",
		Short:   "List the services of an app and where each is reached",
		Example: "  slipway services -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	if a.Status.Release == "" {
		return fmt.Errorf("app %s has no active release: promote one with `slipway releases promote`", a.Name)
	}
	r, err := s.GetRelease(ctx, a.Name, a.Status.Release)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	env, err := s.GetReleaseEnv(ctx, r)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	m, err := model.ParseManifest([]byte(r.Spec.Manifest), env)
	if err != nil {
		return fmt.Errorf("release %s: %w", r.Spec.ID, model.InManifestFile("convox.yml", err))
	}
	es := render.Endpoints(m, s.Namespace(a.Name))
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, JSON(es))
	}
	return Table(es).Print(opts.IO.Out)
}

// ServiceJSON is one service in `services -o json`.
type ServiceJSON struct {
	Service string   `json:"service"`
	Domain  string   `json:"domain"`
	Ports   []string `json:"ports"`
}

// JSON is `services -o json`: never null, a service without ports has [].
func JSON(es []render.Endpoint) []ServiceJSON {
	out := make([]ServiceJSON, 0, len(es))
	for _, e := range es {
		out = append(out, ServiceJSON{Service: e.Service, Domain: e.Domain, Ports: append([]string{}, e.Ports...)})
	}
	return out
}

// Table is Convox's services table.
func Table(es []render.Endpoint) *cmdutil.Table {
	t := cmdutil.NewTable("SERVICE", "DOMAIN", "PORTS")
	for _, e := range es {
		t.Add(e.Service, e.Domain, strings.Join(e.Ports, " "))
	}
	return t
}
