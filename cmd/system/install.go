package system

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/incluster"
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
	// Image and Replicas are the in-cluster worker's; no replicas, no
	// in-cluster worker.
	Image    string
	Replicas int32
	// DockerConfig is a Docker config.json file with the registries'
	// credentials for the in-cluster workers.
	DockerConfig string
}

func NewCmdInstall(f *cmdutil.Factory, runF func(context.Context, *InstallOptions) error) *cobra.Command {
	opts := &InstallOptions{Factory: f, Retention: temporalsetup.DefaultRetention, Replicas: incluster.DefaultReplicas}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install slipway's custom resources, the RBAC of its worker and users, and its worker",
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

Last, it runs the worker on the cluster, in <rack>-system as slipway-worker:
a Secret slipway-worker with the worker's settings as this command resolved
them (SLIPWAY_RACK, SLIPWAY_REGISTRY, SLIPWAY_BLOB_URL, the insecure and
allowed registries, the codec key, and those of SLIPWAY_BUILDER*,
SLIPWAY_FETCH_IMAGE, SLIPWAY_*INGRESS_CLASS and SLIPWAY_SOURCE_MAX_* this
environment sets), its Temporal profile (address, namespace, TLS
certificates and key, API key) as a file and, with --docker-config, the
registries' credentials; a Deployment of --replicas workers
(default 2) of --image (default REGISTRY/slipway/slipway:latest, or this
release's tag), probed on /healthz; a Service slipway-worker-metrics for
/metrics; and with 2 or more replicas a PodDisruptionBudget. --replicas 0
installs no worker (and leaves one already there alone): for workers that
run elsewhere.

It is safe to run again, e.g. after an upgrade: it changes only what is
missing, and also binds the worker in the rack's existing app namespaces.
Changed settings replace the workers' pods.

--print prints only the Kubernetes manifests: Temporal's part is not YAML.
The Secret in them holds credentials: keep them out of version control in
the clear.
Register it with this command without --print, or have a Temporal admin
run:
  temporal operator namespace create --namespace NAMESPACE --retention 720h
  ` + temporalsetup.CreateCommand("NAMESPACE", temporalsetup.Names()),
		Example: `  slipway system install --kubeconfig ~/.kube/prod
  slipway system install --image registry.example.com/slipway/slipway:v1.2.3 --replicas 3
  slipway system install --replicas 0        # CRDs, RBAC and Temporal only
  slipway system install --print | kubectl apply --server-side -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, installRun)
		},
	}
	cmd.Flags().BoolVar(&opts.Print, "print", false, "print the CustomResourceDefinitions, RBAC and worker objects instead of applying them (Temporal's setup is not printed)")
	cmd.Flags().StringVar(&opts.Image, "image", "", "slipway's image for the in-cluster workers (default REGISTRY/slipway/slipway:latest, REGISTRY from SLIPWAY_REGISTRY)")
	cmd.Flags().Int32Var(&opts.Replicas, "replicas", opts.Replicas, "in-cluster workers to run; 0 for none (workers that run elsewhere)")
	cmd.Flags().StringVar(&opts.DockerConfig, "docker-config", "", "a Docker config.json with the registries' credentials (under \"auths\") for the in-cluster workers")
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
	// The worker's objects are built before anything is applied, so bad
	// input changes nothing.
	worker, err := workerOptions(settings, opts.Image, opts.Replicas)
	if err != nil {
		return err
	}
	if opts.DockerConfig != "" && worker.Replicas > 0 {
		if worker.DockerConfig, err = os.ReadFile(opts.DockerConfig); err != nil {
			return fmt.Errorf("--docker-config: %w: give the config.json with the registries' credentials (`docker login` writes ~/.docker/config.json)", err)
		}
		if err := worker.Validate(); err != nil {
			return err
		}
	}
	for _, w := range incluster.Warnings(worker) {
		fmt.Fprintln(opts.IO.ErrOut, "WARNING:", w)
	}
	if opts.Print {
		b, err := Manifests(settings.Rack, worker)
		if err != nil {
			return err
		}
		if worker.Replicas > 0 {
			fmt.Fprintf(opts.IO.ErrOut, "WARNING: the Secret %s/%s printed holds credentials (the codec key, Temporal's TLS key or API key): keep it out of version control in the clear\n", model.SystemNamespace(settings.Rack), incluster.Name)
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
	if err := setUpTemporal(ctx, opts, cmp.Or(settings.Temporal.Namespace, client.DefaultNamespace)); err != nil {
		return err
	}
	if worker.Replicas == 0 {
		return nil
	}
	// Last: a worker refuses to start until Temporal has slipway's search
	// attributes.
	return cmdutil.Step(opts.IO.Out, "Installing worker "+model.SystemNamespace(settings.Rack)+"/"+incluster.Name, func() (string, error) {
		if err := incluster.Install(ctx, s.Dynamic, worker); err != nil {
			return "", cmdutil.KubeError(err)
		}
		if worker.Replicas == 1 {
			return "1 replica of " + worker.Image, nil
		}
		return fmt.Sprintf("%d replicas of %s", worker.Replicas, worker.Image), nil
	})
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

// Manifests are the CRDs, the rack's RBAC objects and the in-cluster
// worker's objects as one YAML stream, for `kubectl apply -f -`.
func Manifests(rack string, worker incluster.Options) ([]byte, error) {
	b, err := records.CRDManifests()
	if err != nil {
		return nil, err
	}
	r, err := rbac.Manifests(rack)
	if err != nil {
		return nil, err
	}
	w, err := incluster.Manifests(worker)
	if err != nil {
		return nil, err
	}
	return append(append(b, r...), w...), nil
}

// installed is the result line of the RBAC step.
func installed(done rbac.Installed) string {
	if !done.Policies {
		return fmt.Sprintf("bound in %d app namespaces; no admission policies (this cluster serves no ValidatingAdmissionPolicy: Kubernetes 1.30+)", len(done.Bound))
	}
	return fmt.Sprintf("bound in %d app namespaces", len(done.Bound))
}
