// Package prod runs slipway as a team runs it in production, natively and
// on loopback, for its end-to-end test: a Temporal server
// (go.temporal.io/server) on PostgreSQL that takes only mTLS clients, a
// Kubernetes control plane with kwok nodes and an OCI registry
// (devstack's, without its dev Temporal and worker), two `slipway worker`
// processes and a CLI, each with a home and a client certificate of its
// own: nothing reaches a worker except through the network.
package prod

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/slipway-dev/slipway/codec"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/testsuite"
)

// Namespace is the Temporal namespace the topology registers and every
// client and worker uses: not "default", so nothing works by accident.
const Namespace = "slipway"

// Topology is the running production shape and ready clients for it.
type Topology struct {
	Root    string // slipway's checkout
	Tools   string // .tools/bin
	Dir     string // everything of this run
	Slipway string // the slipway binary built for this run

	TemporalAddress string
	Registry        string // host:port
	CodecKey        string // SLIPWAY_CODEC_KEY of the CLI and the workers
	BlobURL         string // SLIPWAY_BLOB_URL of the CLI and the workers

	CLIHome  string // the CLI's SLIPWAY_HOME and HOME
	PKI      string // the run's CA and the harness's own client certificate
	StackDir string // devstack's folder (cluster, registry storage)
	Workers  []*Worker

	Temporal client.Client        // the harness's own client, in Namespace
	Kube     kubernetes.Interface // as the cluster's admin

	ca       *ca
	cliTLS   keyPair // the CLI's client certificate, in its home
	pg       *postgres
	server   *temporalServer
	dev      *devstack.Stack
	guardian *exec.Cmd
	mu       sync.Mutex // serialises the component lines
}

// Start brings the whole topology up, printing a line per component with
// the time it took, and tears it down when the test ends, failed or not.
func Start(t *testing.T, workers int) *Topology {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	tp := &Topology{}
	t.Cleanup(func() { tp.stop(t) })
	if err := tp.start(ctx, workers); err != nil {
		t.Fatal(err)
	}
	tp.line("topology", began, fmt.Sprintf("%d workers, namespace %s", len(tp.Workers), Namespace))
	return tp
}

func (tp *Topology) start(ctx context.Context, workers int) error {
	var err error
	if tp.Root, err = testsuite.RepoRoot(); err != nil {
		return err
	}
	tp.Tools = os.Getenv("SLIPWAY_TOOLS")
	if tp.Tools == "" {
		tp.Tools = filepath.Join(tp.Root, ".tools", "bin")
	}
	if tp.Dir, err = os.MkdirTemp("", "slipway-prod-"); err != nil {
		return err
	}
	// Others may pass through (not list) it: PostgreSQL runs as nobody
	// when we are root, in a folder of its own in here.
	if err := os.Chmod(tp.Dir, 0o711); err != nil {
		return err
	}
	tp.CLIHome = filepath.Join(tp.Dir, "cli")
	for _, d := range []string{tp.CLIHome, filepath.Join(tp.Dir, "temporal"), filepath.Join(tp.Dir, "stack")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := tp.build(ctx); err != nil {
		return err
	}
	if err := tp.guard(); err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	tp.CodecKey = strings.TrimSpace(codec.NewKeyLine("prod", key))
	serverTLS, harnessTLS, err := tp.certificates()
	if err != nil {
		return err
	}

	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	low, err := lowPorts(8)
	if err != nil {
		return err
	}
	tports := temporalPorts{Postgres: ports[0], Frontend: low[0], FrontendMembership: low[1],
		History: low[2], HistoryMembership: low[3], Matching: low[4], MatchingMembership: low[5],
		Worker: low[6], WorkerMembership: low[7]}
	tp.TemporalAddress = tports.frontend()
	tp.Registry = fmt.Sprintf("127.0.0.1:%d", ports[1])
	// Sources and logs go through the registry too: the CLI and the
	// workers share no folder.
	tp.BlobURL = "oci://" + tp.Registry + "/slipway/blobs"

	// Temporal (PostgreSQL, schemas, server) and Kubernetes with the
	// registry come up side by side: neither needs the other.
	var wg sync.WaitGroup
	var temporalErr, kubeErr error
	wg.Go(func() { temporalErr = tp.startTemporal(ctx, tports, serverTLS, harnessTLS) })
	wg.Go(func() {
		tp.dev = devstack.New(devstack.Options{
			Home: filepath.Join(tp.Dir, "stack"), Tools: tp.Tools, Slipway: tp.Slipway,
			RegistryPort: ports[1], Headless: true, Ephemeral: true,
			TemporalAddress: tp.TemporalAddress, NoWorker: true,
			Out: prefixWriter{tp},
		})
		tp.StackDir = tp.dev.Dir()
		kubeErr = tp.dev.Up(ctx)
	})
	wg.Wait()
	if temporalErr != nil {
		return temporalErr
	}
	if kubeErr != nil {
		return kubeErr
	}
	if err := tp.connect(ctx, harnessTLS); err != nil {
		return err
	}
	if err := tp.install(ctx); err != nil {
		return err
	}
	for i := range workers {
		if err := tp.startWorker(ctx, fmt.Sprintf("worker-%d", i+1)); err != nil {
			return err
		}
	}
	return nil
}

// certificates makes the run's CA and issues the Temporal server's
// certificate (in its folder), the CLI's (in its home) and the harness's
// own client's; each worker's is issued as it starts.
func (tp *Topology) certificates() (server keyPair, harness *tls.Config, err error) {
	tp.PKI = filepath.Join(tp.Dir, "pki")
	if tp.ca, err = newCA(tp.PKI); err != nil {
		return server, nil, err
	}
	if server, err = tp.ca.server(filepath.Join(tp.Dir, "temporal", "tls"), "temporal"); err != nil {
		return server, nil, err
	}
	if tp.cliTLS, err = tp.ca.client(filepath.Join(tp.CLIHome, "tls"), "cli"); err != nil {
		return server, nil, err
	}
	kp, err := tp.ca.client(tp.PKI, "harness")
	if err != nil {
		return server, nil, err
	}
	harness, err = kp.tlsConfig()
	return server, harness, err
}

// build compiles the slipway binary that the CLI and the workers run.
func (tp *Topology) build(ctx context.Context) error {
	began := time.Now()
	tp.Slipway = filepath.Join(tp.Dir, "slipway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tp.Slipway, "./cmd/slipway")
	cmd.Dir = tp.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build slipway: %v\n%s", err, out)
	}
	tp.line("slipway", began, tp.Slipway)
	return nil
}

// startTemporal runs PostgreSQL, makes Temporal's schemas and starts the
// server on them with its certificate; harness is how the harness's
// client reaches it.
func (tp *Topology) startTemporal(ctx context.Context, ports temporalPorts, server keyPair, harness *tls.Config) error {
	began := time.Now()
	var err error
	if tp.pg, err = startPostgres(ctx, filepath.Join(tp.Dir, "postgres"), ports.Postgres); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	tp.line("postgres", began, tp.pg.detail())
	began = time.Now()
	if err := setupSchemas(ctx, tp.Tools, ports.Postgres); err != nil {
		return fmt.Errorf("schemas: %w", err)
	}
	tp.line("schemas", began, "databases temporal and temporal_visibility (postgres12)")
	began = time.Now()
	if tp.server, err = startTemporal(ctx, tp.Tools, filepath.Join(tp.Dir, "temporal"), ports, server, harness); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	tp.line("temporal", began, tp.server.detail())
	return nil
}

// connect makes the harness's own clients: Temporal in Namespace, with
// the harness's certificate, and Kubernetes as the admin.
func (tp *Topology) connect(ctx context.Context, harness *tls.Config) error {
	var err error
	tp.Temporal, err = client.DialContext(ctx, client.Options{HostPort: tp.TemporalAddress, Namespace: Namespace, Logger: quiet(),
		ConnectionOptions: client.ConnectionOptions{TLS: harness}})
	if err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", tp.adminKubeconfig())
	if err != nil {
		return err
	}
	tp.Kube, err = kubernetes.NewForConfig(rc)
	return err
}

// install sets the rack up as its operator does, with `slipway system
// install` from the CLI's home: slipway's custom resources and RBAC on
// the cluster, and in Temporal (which has neither by default) the
// namespace and slipway's search attributes. The CLI's kubeconfig is its
// own copy of the admin's.
func (tp *Topology) install(ctx context.Context) error {
	began := time.Now()
	if err := flatten(tp.adminKubeconfig(), filepath.Join(tp.CLIHome, "kubeconfig")); err != nil {
		return err
	}
	out, err := tp.runCLI(ctx, "system", "install")
	if err != nil {
		return err
	}
	if out.Code != 0 {
		return fmt.Errorf("slipway system install: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	attrs := strings.Join(config.SearchAttributes, ", ")
	for _, want := range []string{
		"Registering Temporal namespace " + Namespace + "... OK, registered, retention 30 days\n",
		"Registering search attributes " + attrs + "... OK, added " + attrs + "\n",
	} {
		if !strings.Contains(out.Stdout, want) {
			return fmt.Errorf("slipway system install did not say %q:\n%s", want, out.Stdout)
		}
	}
	tp.line("install", began, fmt.Sprintf("slipway system install: custom resources, RBAC, namespace %s, search attributes %s", Namespace, attrs))
	return nil
}

// startWorker runs a worker with a home of its own, a token of the rack's
// worker ServiceAccount (what `system install` made), so it holds exactly
// the worker's rights, and a client certificate of its own, which its
// Temporal profile names.
func (tp *Topology) startWorker(ctx context.Context, name string) error {
	began := time.Now()
	home := filepath.Join(tp.Dir, name)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	kubeconfig := filepath.Join(home, "kubeconfig")
	if err := tp.workerKubeconfig(ctx, kubeconfig); err != nil {
		return err
	}
	profile, err := tp.workerProfile(home, name)
	if err != nil {
		return err
	}
	w, err := startWorker(ctx, tp.Slipway, name, home,
		tp.env("KUBECONFIG="+kubeconfig, "TEMPORAL_CONFIG_FILE="+profile, "TEMPORAL_PROFILE="+Profile), tp.Temporal)
	if w != nil {
		tp.Workers = append(tp.Workers, w)
	}
	if err != nil {
		return err
	}
	tp.line(name, began, fmt.Sprintf("pid %d  home %s", w.proc.pid(), home))
	return nil
}

// Profile is the envconfig profile the workers' Temporal config file
// holds and TEMPORAL_PROFILE names.
const Profile = "prod"

// workerProfile issues a worker's client certificate into its home and
// writes the Temporal SDK's config file (envconfig's TOML) that tells the
// worker where Temporal is and how to reach it over mTLS.
func (tp *Topology) workerProfile(home, name string) (string, error) {
	kp, err := tp.ca.client(filepath.Join(home, "tls"), name)
	if err != nil {
		return "", err
	}
	path := filepath.Join(home, "temporal.toml")
	toml := fmt.Sprintf(`[profile.%s]
address = %q
namespace = %q

[profile.%s.tls]
client_cert_path = %q
client_key_path = %q
server_ca_cert_path = %q
server_name = %q
`, Profile, tp.TemporalAddress, Namespace, Profile, kp.Cert, kp.Key, kp.CA, ServerName)
	return path, os.WriteFile(path, []byte(toml), 0o644)
}

// env is what the CLI and the workers are told of the rack besides
// Temporal's connection (the CLI's in cliEnv, the workers' in their
// profile), and all they know of it.
func (tp *Topology) env(extra ...string) []string {
	return append([]string{
		"SLIPWAY_REGISTRY=" + tp.Registry,
		"SLIPWAY_INSECURE_REGISTRIES=" + tp.Registry,
		codec.EnvKey + "=" + tp.CodecKey,
		"SLIPWAY_BLOB_URL=" + tp.BlobURL,
	}, extra...)
}

func (tp *Topology) adminKubeconfig() string {
	return tp.dev.Settings().Kubeconfig
}

// workerKubeconfig writes a kubeconfig that authenticates with a token of
// the worker's ServiceAccount only (TokenRequest API).
func (tp *Topology) workerKubeconfig(ctx context.Context, path string) error {
	ttl := int64(time.Hour / time.Second)
	tr, err := tp.Kube.CoreV1().ServiceAccounts(model.SystemNamespace(config.DefaultRack)).CreateToken(ctx, rbac.ServiceAccount,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &ttl}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for the worker's ServiceAccount: %w", err)
	}
	admin, err := clientcmd.LoadFromFile(tp.adminKubeconfig())
	if err != nil {
		return err
	}
	if err := clientcmdapi.FlattenConfig(admin); err != nil {
		return err
	}
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["rack"] = cluster
	cfg.AuthInfos["worker"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["worker"] = &clientcmdapi.Context{Cluster: "rack", AuthInfo: "worker"}
	cfg.CurrentContext = "worker"
	return clientcmd.WriteToFile(*cfg, path)
}

// flatten copies a kubeconfig with its certificates inlined, so the copy
// names no file of the original's.
func flatten(from, to string) error {
	cfg, err := clientcmd.LoadFromFile(from)
	if err != nil {
		return err
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, to)
}

// guard starts a watchdog that tears the cluster down (kwokctl's processes
// outlive us) and deletes the folders if the test binary dies without its
// cleanups; everything else this topology runs dies with it.
func (tp *Topology) guard() error {
	script := fmt.Sprintf(`while kill -0 %d 2>/dev/null; do sleep 0.5; done; "$SLIPWAY" dev reset >/dev/null 2>&1; rm -rf "$PROD_DIR"`, os.Getpid())
	g := exec.Command("sh", "-c", script)
	g.Env = append(os.Environ(), "SLIPWAY="+tp.Slipway, "SLIPWAY_HOME="+filepath.Join(tp.Dir, "stack"), "SLIPWAY_TOOLS="+tp.Tools, "PROD_DIR="+tp.Dir)
	g.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := g.Start(); err != nil {
		return err
	}
	tp.guardian = g
	return nil
}

// stop tears everything down, last started first, and keeps the logs in
// the test's output when it failed.
func (tp *Topology) stop(t *testing.T) {
	if t.Failed() {
		for _, w := range tp.Workers {
			t.Logf("%s's log ends:\n%s", w.Name, tail(w.proc.log, 40))
		}
		// One that exited while starting has its log in the error already.
		if tp.server != nil && tp.server.proc.alive() == nil {
			t.Logf("temporal-server's log ends:\n%s", tail(tp.server.proc.log, 40))
		}
	}
	for _, w := range tp.Workers {
		w.stop()
	}
	if tp.Temporal != nil {
		tp.Temporal.Close()
	}
	tp.server.stop()
	if err := tp.pg.stop(); err != nil {
		t.Errorf("postgres: %v", err)
	}
	if tp.dev != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := tp.dev.Reset(ctx); err != nil {
			t.Errorf("stack reset: %v", err)
		}
	}
	if tp.guardian != nil {
		// It only waits for this process: a failed kill means it is gone.
		_ = tp.guardian.Process.Kill()
		_ = tp.guardian.Wait()
	}
	if tp.Dir != "" {
		if err := os.RemoveAll(tp.Dir); err != nil {
			t.Errorf("remove %s: %v", tp.Dir, err)
		}
	}
}

// line prints one component's start: its name, the time it took, where it is.
func (tp *Topology) line(name string, began time.Time, detail string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	fmt.Fprintf(os.Stderr, "prod: %-10s  up in %.1fs  %s\n", name, time.Since(began).Seconds(), detail)
}

// prefixWriter prints devstack's component lines as the topology's own.
type prefixWriter struct{ tp *Topology }

func (w prefixWriter) Write(p []byte) (int, error) {
	w.tp.mu.Lock()
	defer w.tp.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		fmt.Fprintf(os.Stderr, "prod: %s\n", l)
	}
	return len(p), nil
}
