// Package system is `slipway system`: setting up a real cluster.
package system

import (
	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

func NewCmdSystem(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "system", Short: "Set up slipway on a cluster"}
	var print bool
	install := &cobra.Command{
		Use:   "install",
		Short: "Install slipway's custom resources (App, Build, Release) on the cluster",
		Example: `  slipway system install --kubeconfig ~/.kube/prod
  slipway system install --print | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if print {
				b, err := records.CRDManifests()
				if err != nil {
					return err
				}
				_, err = f.IO.Out.Write(b)
				return err
			}
			s, err := f.Settings()
			if err != nil {
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
			return cmdutil.Step(f.IO.Out, "Installing custom resources", func() (string, error) {
				if err := records.InstallCRDs(cmd.Context(), dyn); err != nil {
					return "", cmdutil.KubeError(err)
				}
				return "", nil
			})
		},
	}
	install.Flags().BoolVar(&print, "print", false, "print the CustomResourceDefinitions instead of applying them")
	cmd.AddCommand(install)
	return cmd
}
