package composefile

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/slipway-dev/slipway/cmd/codecserver"
	"github.com/slipway-dev/slipway/config"
)

// testEnv is the only environment the file is loaded with: what an operator
// must set (the codec key) and an image name, to see it interpolated.
var testEnv = map[string]string{
	"SLIPWAY_CODEC_KEY": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	"SLIPWAY_IMAGE":     "registry.test:5000/slipway/slipway:test",
}

func load(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), root, env)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("docker-compose.yml has no %s service: %v", name, err)
	}
	return s
}

// slipwayServices are the services that run slipway's image.
func slipwayServices(t *testing.T, p *types.Project) []types.ServiceConfig {
	t.Helper()
	var out []types.ServiceConfig
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range p.Services {
			if !yield(n) {
				return
			}
		}
	}) {
		if s := p.Services[name]; s.Image == testEnv["SLIPWAY_IMAGE"] {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no service runs $SLIPWAY_IMAGE (%s)", testEnv["SLIPWAY_IMAGE"])
	}
	return out
}

// temporalEnv is every variable the Temporal SDK's envconfig reads, as it
// reads them: recorded by a lookup that answers nothing.
func temporalEnv(t *testing.T) map[string]bool {
	t.Helper()
	rec := recorder{}
	if _, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{EnvLookup: rec}); err != nil {
		t.Fatal(err)
	}
	if !rec["TEMPORAL_ADDRESS"] || !rec["TEMPORAL_NAMESPACE"] {
		t.Fatalf("envconfig read neither TEMPORAL_ADDRESS nor TEMPORAL_NAMESPACE; it read %v", rec)
	}
	return rec
}

type recorder map[string]bool

func (r recorder) Environ() []string { return nil }
func (r recorder) LookupEnv(k string) (string, bool) {
	r[k] = true
	return "", false
}

// Every variable set on slipway's services is one slipway reads: a renamed
// or misspelt one would be silently ignored by the worker.
func TestSlipwayServicesSetOnlyWhatSlipwayReads(t *testing.T) {
	p := load(t, testEnv)
	known := temporalEnv(t)
	for _, k := range config.Env {
		known[k] = true
	}
	known[codecserver.EnvToken] = true
	for _, s := range slipwayServices(t, p) {
		for k := range s.Environment {
			if !known[k] {
				t.Errorf("service %s sets %s, which slipway does not read (it reads %v and the Temporal SDK's TEMPORAL_*)", s.Name, k, config.Env)
			}
		}
		env := Env(s)
		// Without the key the worker would hand Temporal env values in
		// the clear, and the codec server would not start.
		if env["SLIPWAY_CODEC_KEY"] != testEnv["SLIPWAY_CODEC_KEY"] {
			t.Errorf("service %s: SLIPWAY_CODEC_KEY = %q, want the operator's key", s.Name, env["SLIPWAY_CODEC_KEY"])
		}
		if env["TEMPORAL_NAMESPACE"] == "" {
			t.Errorf("service %s sets no TEMPORAL_NAMESPACE", s.Name)
		}
	}
}

// The workers reach Temporal, the cluster, the registry and the blob store
// by the names and ports the compose file gives them.
func TestWorkerFindsTheRack(t *testing.T) {
	p := load(t, testEnv)
	w := service(t, p, "worker")
	env := Env(w)
	if !slices.Equal(w.Command, []string{"worker"}) {
		t.Errorf("worker command = %q, want [worker]", w.Command)
	}
	if w.Deploy == nil || w.Deploy.Replicas == nil || *w.Deploy.Replicas < 2 {
		t.Error("worker deploy.replicas is below 2: want at least 2, so one worker's death stops nothing")
	}
	for _, v := range []string{"TEMPORAL_ADDRESS", "KUBECONFIG", "SLIPWAY_REGISTRY", "SLIPWAY_BLOB_URL", "SLIPWAY_INSECURE_REGISTRIES", "SLIPWAY_CODEC_KEY"} {
		if env[v] == "" {
			t.Errorf("worker sets no %s", v)
		}
	}

	host, port := HostPort(env["TEMPORAL_ADDRESS"])
	temporal := service(t, p, host)
	if !listens(temporal, port) {
		t.Errorf("worker TEMPORAL_ADDRESS=%s: service %s does not expose port %s (ports %v)", env["TEMPORAL_ADDRESS"], host, port, temporal.Ports)
	}

	mounted := false
	for _, v := range w.Volumes {
		mounted = mounted || v.Target == env["KUBECONFIG"]
	}
	if !mounted {
		t.Errorf("worker KUBECONFIG=%s is not a mounted path (volumes %v)", env["KUBECONFIG"], w.Volumes)
	}

	regHost, regPort := HostPort(env["SLIPWAY_REGISTRY"])
	if !listens(service(t, p, regHost), regPort) {
		t.Errorf("worker SLIPWAY_REGISTRY=%s does not name the registry service's port", env["SLIPWAY_REGISTRY"])
	}
	if !slices.Contains(strings.Split(env["SLIPWAY_INSECURE_REGISTRIES"], ","), env["SLIPWAY_REGISTRY"]) {
		t.Errorf("the registry serves plain HTTP but SLIPWAY_INSECURE_REGISTRIES=%s leaves out %s", env["SLIPWAY_INSECURE_REGISTRIES"], env["SLIPWAY_REGISTRY"])
	}
	if want := "oci://" + env["SLIPWAY_REGISTRY"] + "/slipway/blobs"; env["SLIPWAY_BLOB_URL"] != want {
		t.Errorf("worker SLIPWAY_BLOB_URL = %s, want %s: sources and logs go to the registry", env["SLIPWAY_BLOB_URL"], want)
	}
}

// The browser calls the codec endpoint, so it must name the port the codec
// server is published on, and the codec server must answer the UI's origin.
func TestUICodecEndpointIsTheCodecServer(t *testing.T) {
	p := load(t, testEnv)
	ui, codec := service(t, p, "temporal-ui"), service(t, p, "codec")
	u, err := url.Parse(Env(ui)["TEMPORAL_CODEC_ENDPOINT"])
	if err != nil || u.Port() == "" {
		t.Fatalf("temporal-ui TEMPORAL_CODEC_ENDPOINT = %q: want a URL with a port", Env(ui)["TEMPORAL_CODEC_ENDPOINT"])
	}
	listen := flag(codec.Command, "--listen")
	_, listenPort := HostPort(listen)
	found := false
	for _, pt := range codec.Ports {
		if pt.Published == u.Port() {
			found = true
			if strconv.Itoa(int(pt.Target)) != listenPort {
				t.Errorf("codec publishes %s on container port %d but listens on %q", pt.Published, pt.Target, listen)
			}
		}
	}
	if !found {
		t.Errorf("TEMPORAL_CODEC_ENDPOINT %s: the codec service publishes no port %s (ports %v)", u, u.Port(), codec.Ports)
	}
	if h, _ := HostPort(listen); h != "0.0.0.0" && h != "" {
		t.Errorf("codec --listen %s: inside a container it must listen on every interface", listen)
	}
	if len(ui.Ports) == 0 {
		t.Fatal("temporal-ui publishes no port")
	}
	if want, got := "http://localhost:"+ui.Ports[0].Published, flag(codec.Command, "--cors-origin"); got != want {
		t.Errorf("codec --cors-origin = %q, want the UI's address %s", got, want)
	}
	if !slices.Equal(codec.Command[:1], []string{"codec-server"}) {
		t.Errorf("codec command = %q, want codec-server first", codec.Command)
	}
}

// The Temporal server and its admin tools are the version slipway's tests
// run natively (hack/temporal/go.mod).
func TestTemporalVersionIsThePinnedOne(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "hack", "temporal", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*go\.temporal\.io/server v(\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("hack/temporal/go.mod does not require go.temporal.io/server")
	}
	version := string(m[1])
	p := load(t, testEnv)
	if got, want := service(t, p, "temporal").Image, "temporalio/server:"+version; got != want {
		t.Errorf("temporal image = %s, want %s (hack/temporal/go.mod)", got, want)
	}
	for _, name := range []string{"temporal-schema", "temporal-namespace"} {
		if img := service(t, p, name).Image; !strings.HasPrefix(img, "temporalio/admin-tools:"+version+"-") && img != "temporalio/admin-tools:"+version {
			t.Errorf("%s image = %s, want temporalio/admin-tools at %s", name, img, version)
		}
	}
	schema := strings.Join(service(t, p, "temporal-schema").Command, " ")
	for _, want := range []string{"--plugin postgres12", "create-database", "setup-schema", "update-schema", "--db temporal ", "--db temporal_visibility "} {
		if !strings.Contains(schema, want) {
			t.Errorf("temporal-schema does not run %q", want)
		}
	}
}

// slipway's workflows carry its search attributes; a production server
// refuses a workflow whose attributes are not registered.
func TestNamespaceSetupRegistersSearchAttributes(t *testing.T) {
	p := load(t, testEnv)
	cmd := strings.Join(service(t, p, "temporal-namespace").Command, " ")
	for _, a := range config.SearchAttributes {
		if !regexp.MustCompile(`\b` + a + `\b`).MatchString(cmd) {
			t.Errorf("temporal-namespace does not register the search attribute %s", a)
		}
	}
}

// `docker compose up` starts each service after what it needs: a one-shot
// must have finished, a service with a health check be healthy.
func TestDependsOnConditions(t *testing.T) {
	p := load(t, testEnv)
	edges := 0
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			edges++
			target, ok := p.Services[dep]
			if !ok {
				t.Errorf("%s depends on %s, which is not a service", name, dep)
				continue
			}
			want := types.ServiceConditionStarted
			switch {
			case oneShot(target):
				want = types.ServiceConditionCompletedSuccessfully
			case target.HealthCheck != nil && !target.HealthCheck.Disable:
				want = types.ServiceConditionHealthy
			}
			if d.Condition != want {
				t.Errorf("%s depends on %s with condition %s, want %s", name, dep, d.Condition, want)
			}
		}
	}
	// The chain that makes up come up in order.
	for _, e := range [][2]string{{"temporal-schema", "postgresql"}, {"temporal", "temporal-schema"}, {"temporal-namespace", "temporal"}, {"install", "temporal-namespace"}, {"worker", "install"}, {"worker", "registry"}, {"temporal-ui", "codec"}} {
		if _, ok := service(t, p, e[0]).DependsOn[e[1]]; !ok {
			t.Errorf("%s does not wait for %s", e[0], e[1])
		}
	}
	for _, name := range []string{"postgresql", "temporal", "registry"} {
		if hc := service(t, p, name).HealthCheck; hc == nil || len(hc.Test) == 0 {
			t.Errorf("%s has no health check", name)
		}
	}
	if edges == 0 {
		t.Fatal("no depends_on at all")
	}
}

// Every named volume a service mounts is declared, and the stateful ones
// keep their data on one.
func TestVolumesDeclared(t *testing.T) {
	p := load(t, testEnv)
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeVolume {
				continue
			}
			if _, ok := p.Volumes[v.Source]; !ok {
				t.Errorf("%s mounts volume %s, which is not declared", name, v.Source)
			}
		}
	}
	for svc, path := range map[string]string{"postgresql": "/var/lib/postgresql/data", "registry": "/var/lib/registry"} {
		named := false
		for _, v := range service(t, p, svc).Volumes {
			named = named || (v.Type == types.VolumeTypeVolume && v.Target == path)
		}
		if !named {
			t.Errorf("%s keeps %s on no named volume", svc, path)
		}
	}
}

// Every image is pinned: no latest, no bare name (slipway's own comes from
// $SLIPWAY_IMAGE).
func TestImagesPinned(t *testing.T) {
	p := load(t, testEnv)
	for name, s := range p.Services {
		i := strings.LastIndex(s.Image, ":")
		if i < 0 || strings.Contains(s.Image[i:], "/") || s.Image[i+1:] == "latest" {
			t.Errorf("%s image %q is not pinned to a version", name, s.Image)
		}
	}
	for _, s := range slipwayServices(t, p) {
		if s.Image != testEnv["SLIPWAY_IMAGE"] {
			t.Errorf("%s does not run $SLIPWAY_IMAGE", s.Name)
		}
	}
}

// Without the codec key the file refuses to load, saying what to set.
func TestCodecKeyRequired(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(context.Background(), root, map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "SLIPWAY_CODEC_KEY") {
		t.Fatalf("loading without SLIPWAY_CODEC_KEY: err = %v, want one naming it", err)
	}
}

func oneShot(s types.ServiceConfig) bool { return s.Restart == "" || s.Restart == "no" }

func listens(s types.ServiceConfig, port string) bool {
	for _, p := range s.Ports {
		if strconv.Itoa(int(p.Target)) == port {
			return true
		}
	}
	for _, e := range s.Expose {
		if e == port {
			return true
		}
	}
	return false
}

// flag is the value after name in args ("--name value" or "--name=value").
func flag(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}
