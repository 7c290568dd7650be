package system

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/temporalsetup"
)

type InstallOptions struct {
	*cmdutil.Factory
	// Print writes the manifests to standard output instead of applying
	// them, so it needs no cluster (and leaves Temporal alone).
	Print bool
	// Retention is how long Temporal keeps closed runs in a namespace
	// install registers; an existing namespace keeps its own.
	Retention time.Duration
}

func NewCmdInstall(f *cmdutil.Factory, runF func(context.Context, *InstallOptions) error) *cobra.Command {
	opts := &InstallOptions{Factory: f, Retention: temporalsetup.DefaultRetention}
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
rack's labelled namespaces (what RBAC cannot express).

In Temporal it registers the namespace (--namespace, TEMPORAL_NAMESPACE;
default "default") when it is missing, keeping closed runs for --retention,
and the search attributes every slipway run sets, of type Keyword:
` + strings.Join(temporalsetup.Names(), ", ") + ` (a worker refuses to start
without them). That needs Temporal's admin rights; without them install
names the refused call and what a Temporal admin should run.

It is safe to run again, e.g. after an upgrade: it changes only what is
missing, and also binds the worker in the rack's existing app namespaces.

--print prints only the Kubernetes manifests: Temporal's part is not YAML.
Register it with this command without --print, or have a Temporal admin
run:
  temporal operator namespace create --namespace NAMESPACE --retention 720h
  ` + temporalsetup.CreateCommand("NAMESPACE", temporalsetup.Names()),
		Example: `  slipway system install --kubeconfig ~/.kube/prod
  slipway system install --print | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, installRun)
		},
	}
	cmd.Flags().BoolVar(&opts.Print, "print", false, "print the CustomResourceDefinitions and RBAC objects instead of applying them (Temporal's setup is not printed)")
	cmd.Flags().DurationVar(&opts.Retention, "retention", opts.Retention, "how long Temporal keeps closed runs, for a namespace install registers (an existing one keeps its own)")
	return cmd
}

func installRun(ctx context.Context, opts *InstallOptions) error {
	if err := temporalsetup.CheckRetention(opts.Retention); err != nil {
		return err
	}
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
	err = cmdutil.Step(opts.IO.Out, "Installing roles for ServiceAccount "+sa, func() (string, error) {
		done, err := rbac.Install(ctx, s.Dynamic, settings.Rack)
		if err != nil {
			return "", cmdutil.KubeError(err)
		}
		return installed(done), nil
	})
	if err != nil {
		return err
	}
	return setUpTemporal(ctx, opts, cmp.Or(settings.Temporal.Namespace, client.DefaultNamespace))
}

// setUpTemporal registers the namespace and the search attributes
// slipway's runs need, which a production Temporal server has no flag for.
func setUpTemporal(ctx context.Context, opts *InstallOptions, ns string) error {
	c, err := opts.Temporal()
	if err != nil {
		return err
	}
	err = cmdutil.Step(opts.IO.Out, "Registering Temporal namespace "+ns, func() (string, error) {
		got, err := temporalsetup.EnsureNamespace(ctx, c.WorkflowService(), ns, opts.Retention)
		return got.String(), err
	})
	if err != nil {
		return err
	}
	return cmdutil.Step(opts.IO.Out, "Registering search attributes "+strings.Join(temporalsetup.Names(), ", "), func() (string, error) {
		added, err := temporalsetup.EnsureSearchAttributes(ctx, c.OperatorService(), ns)
		if len(added) == 0 {
			return "all present", err
		}
		return "added " + strings.Join(added, ", "), err
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
