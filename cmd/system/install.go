package system

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/records"
)

type InstallOptions struct {
	*cmdutil.Factory
	// Print writes the manifests to standard output instead of applying
	// them, so it needs no cluster.
	Print bool
}

func NewCmdInstall(f *cmdutil.Factory, runF func(context.Context, *InstallOptions) error) *cobra.Command {
	opts := &InstallOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install slipway's custom resources and the RBAC of its worker and users",
		Long: `Install slipway's custom resources (App, Build, Release, Promotion) and
its RBAC: the namespace <rack>-system with the ServiceAccount slipway-worker
that workers run as; the ClusterRoles slipway-worker (bound to it
cluster-wide), slipway-worker-app (bound to it in each app namespace, never
cluster-wide) and slipway-user (for people who run the CLI: bind it with a
RoleBinding per app namespace); and ValidatingAdmissionPolicies that refuse
the worker a namespace create or delete, or a RoleBinding, outside the
rack's labelled namespaces (what RBAC cannot express). It is safe to run
again, e.g. after an upgrade: it also binds the worker in the rack's
existing app namespaces.`,
		Example: `  slipway system install --kubeconfig ~/.kube/prod
  slipway system install --print | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, installRun)
		},
	}
	cmd.Flags().BoolVar(&opts.Print, "print", false, "print the CustomResourceDefinitions and RBAC objects instead of applying them")
	return cmd
}

func installRun(ctx context.Context, opts *InstallOptions) error {
	settings, err := opts.Settings()
	if err != nil {
		return err
	}
	if opts.Print {
		b, err := Manifests(settings.Rack)
		if err != nil {
			return err
		}
		_, err = opts.IO.Out.Write(b)
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	err = cmdutil.Step(opts.IO.Out, "Installing custom resources", func() (string, error) {
		return "", cmdutil.KubeError(records.InstallCRDs(ctx, s.Dynamic))
	})
	if err != nil {
		return err
	}
	sa := model.SystemNamespace(settings.Rack) + "/" + rbac.ServiceAccount
	return cmdutil.Step(opts.IO.Out, "Installing roles for ServiceAccount "+sa, func() (string, error) {
		done, err := rbac.Install(ctx, s.Dynamic, settings.Rack)
		if err != nil {
			return "", cmdutil.KubeError(err)
		}
		return installed(done), nil
	})
}

// Manifests are the CRDs and the rack's RBAC objects as one YAML stream,
// for `kubectl apply -f -`.
func Manifests(rack string) ([]byte, error) {
	b, err := records.CRDManifests()
	if err != nil {
		return nil, err
	}
	r, err := rbac.Manifests(rack)
	if err != nil {
		return nil, err
	}
	return append(b, r...), nil
}

// installed is the result line of the RBAC step.
func installed(done rbac.Installed) string {
	if !done.Policies {
		return fmt.Sprintf("bound in %d app namespaces; no admission policies (this cluster serves no ValidatingAdmissionPolicy: Kubernetes 1.30+)", len(done.Bound))
	}
	return fmt.Sprintf("bound in %d app namespaces", len(done.Bound))
}
