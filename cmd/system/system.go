// Package system is `slipway system`: setting up a real cluster.
package system

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/records"
)

func NewCmdSystem(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "system", Short: "Set up slipway on a cluster"}
	var print bool
	install := &cobra.Command{
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
			s, err := f.Settings()
			if err != nil {
				return err
			}
			if print {
				b, err := records.CRDManifests()
				if err != nil {
					return err
				}
				r, err := rbac.Manifests(s.Rack)
				if err != nil {
					return err
				}
				_, err = f.IO.Out.Write(append(b, r...))
				return err
			}
			rc, err := s.RESTConfig()
			if err != nil {
				return err
			}
			dyn, err := dynamic.NewForConfig(rc)
			if err != nil {
				return err
			}
			err = cmdutil.Step(f.IO.Out, "Installing custom resources", func() (string, error) {
				return "", cmdutil.KubeError(records.InstallCRDs(cmd.Context(), dyn))
			})
			if err != nil {
				return err
			}
			sa := model.SystemNamespace(s.Rack) + "/" + rbac.ServiceAccount
			return cmdutil.Step(f.IO.Out, "Installing roles for ServiceAccount "+sa, func() (string, error) {
				done, err := rbac.Install(cmd.Context(), dyn, s.Rack)
				if err != nil {
					return "", cmdutil.KubeError(err)
				}
				if !done.Policies {
					return fmt.Sprintf("bound in %d app namespaces; no admission policies (this cluster serves no ValidatingAdmissionPolicy: Kubernetes 1.30+)", len(done.Bound)), nil
				}
				return fmt.Sprintf("bound in %d app namespaces", len(done.Bound)), nil
			})
		},
	}
	install.Flags().BoolVar(&print, "print", false, "print the CustomResourceDefinitions and RBAC objects instead of applying them")
	cmd.AddCommand(install)
	return cmd
}
