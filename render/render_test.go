package render

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/slipway/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// twoServices is the manifest of most tests: a built web service with
// every field set, and a worker that runs a public image without a port.
const twoServices = `environment:
  - GLOBAL=top
  - OVERRIDDEN=top
  - DATABASE_URL
services:
  web:
    build: .
    command: bin/web --port 5000
    port: 5000
    health:
      path: /check
      interval: 10
      timeout: 3
      grace: 20
    scale:
      count: 3
      cpu: 500
      memory: 1024
    environment:
      - LOG_LEVEL=debug
      - OVERRIDDEN=service
      - APP=from-manifest
      - PORT=1
    deployment:
      minimum: 25
      maximum: 150
    termination:
      grace: 45
    annotations:
      - example.com/owner=team-a
    labels:
      tier: frontend
  worker:
    image: busybox:1.36
    command: sh -c 'sleep 3600; echo "done here"'
    deployment:
      minimum: 0
      maximum: 100
    termination:
      grace: 0
`

// releaseEnv is the release env of twoServices: it sets the required key,
// overrides one default and tries to override slipway's variables.
var releaseEnv = model.Env{
	"DATABASE_URL": "postgres://db/app",
	"LOG_LEVEL":    "info",
	"EXTRA":        "undeclared",
	"RELEASE":      "from-env",
	"BUILD":        "from-env",
	"SERVICE":      "from-env",
}

func parse(t *testing.T, yml string, env model.Env) *model.Manifest {
	t.Helper()
	m, err := model.ParseManifest([]byte(yml), env)
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	return m
}

func testInput(t *testing.T) Input {
	t.Helper()
	return Input{
		App:       "myapp",
		Namespace: "dev-myapp",
		Release:   "RBCDEFGHIJK",
		Build:     "BABCDEFGHIJ",
		Manifest:  parse(t, twoServices, releaseEnv),
		Env:       releaseEnv,
		Images:    map[string]string{"web": "reg:5000/myapp@sha256:0123"},
	}
}

// applied is a rendered Service as the API server reads its apply
// configurations: typed objects, which the tests below inspect.
type applied struct {
	Secret     *corev1.Secret
	Deployment *appsv1.Deployment
	Service    *corev1.Service
}

func mustRender(t *testing.T, in Input) map[string]applied {
	t.Helper()
	out, err := Release(in)
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	byName := map[string]applied{}
	for _, s := range out {
		a := applied{Secret: &corev1.Secret{}, Deployment: &appsv1.Deployment{}}
		decode(t, s.Secret, a.Secret)
		decode(t, s.Deployment, a.Deployment)
		if s.Service != nil {
			a.Service = &corev1.Service{}
			decode(t, s.Service, a.Service)
		}
		byName[s.Name] = a
	}
	return byName
}

// decode reads an apply configuration into the typed object it configures,
// through the JSON the client sends.
func decode(t *testing.T, ac, into any) {
	t.Helper()
	b, err := json.Marshal(ac)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("%T does not read as %T: %v", ac, into, err)
	}
}

func secretEnv(s *corev1.Secret) map[string]string {
	env := map[string]string{}
	for k, v := range s.Data {
		env[k] = string(v)
	}
	return env
}

func TestSecretName(t *testing.T) {
	if got, want := SecretName("web", "RBCDEFGHIJK"), "web-env-rbcdefghijk"; got != want {
		t.Errorf("SecretName = %q, want %q", got, want)
	}
	if SecretName("web", "RBCDEFGHIJK") == SecretName("web", "RCDEFGHIJKL") {
		t.Error("two releases share a Secret name")
	}
	if SecretName("web", "RBCDEFGHIJK") == SecretName("worker", "RBCDEFGHIJK") {
		t.Error("two services share a Secret name")
	}
}

func TestReleaseOrder(t *testing.T) {
	out, err := Release(testInput(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range out {
		names = append(names, s.Name)
	}
	if want := []string{"web", "worker"}; !slices.Equal(names, want) {
		t.Errorf("services = %v, want %v (the manifest's order)", names, want)
	}
}

func TestReleaseSecret(t *testing.T) {
	svcs := mustRender(t, testInput(t))
	tests := []struct {
		service string
		want    map[string]string
	}{
		{"web", map[string]string{
			// slipway's variables win over the manifest and the env
			"APP": "myapp", "RELEASE": "RBCDEFGHIJK", "BUILD": "BABCDEFGHIJ", "SERVICE": "web", "PORT": "5000",
			"GLOBAL":       "top",               // top-level default
			"OVERRIDDEN":   "service",           // the service's default wins over the top level
			"LOG_LEVEL":    "info",              // the release env wins over defaults
			"DATABASE_URL": "postgres://db/app", // required, from the release env
			"EXTRA":        "undeclared",        // every release key is passed
		}},
		{"worker", map[string]string{
			"APP": "myapp", "RELEASE": "RBCDEFGHIJK", "BUILD": "BABCDEFGHIJ", "SERVICE": "worker",
			"GLOBAL": "top", "OVERRIDDEN": "top", "LOG_LEVEL": "info",
			"DATABASE_URL": "postgres://db/app", "EXTRA": "undeclared",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s := svcs[tt.service].Secret
			if s == nil {
				t.Fatal("no Secret")
			}
			if s.Name != SecretName(tt.service, "RBCDEFGHIJK") || s.Namespace != "dev-myapp" {
				t.Errorf("Secret %s/%s, want dev-myapp/%s", s.Namespace, s.Name, SecretName(tt.service, "RBCDEFGHIJK"))
			}
			if s.Type != corev1.SecretTypeOpaque {
				t.Errorf("type = %q", s.Type)
			}
			if got := secretEnv(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("env =\n%v\nwant\n%v", got, tt.want)
			}
			if !reflect.DeepEqual(s.Labels, wantLabels(tt.service)) {
				t.Errorf("labels = %v", s.Labels)
			}
			if got := Env(testInput(t), mustService(t, tt.service)); !reflect.DeepEqual(map[string]string(got), tt.want) {
				t.Errorf("Env() = %v, want the Secret's %v", got, tt.want)
			}
		})
	}
}

func mustService(t *testing.T, name string) model.Service {
	t.Helper()
	s, ok := parse(t, twoServices, releaseEnv).Service(name)
	if !ok {
		t.Fatalf("no service %s", name)
	}
	return s
}

func wantLabels(service string) map[string]string {
	return map[string]string{
		LabelApp: "myapp", LabelService: service, LabelRelease: "RBCDEFGHIJK", LabelBuild: "BABCDEFGHIJ",
		LabelManagedBy: "slipway",
	}
}

func TestReleaseDeployment(t *testing.T) {
	svcs := mustRender(t, testInput(t))
	web, worker := svcs["web"].Deployment, svcs["worker"].Deployment

	t.Run("metadata", func(t *testing.T) {
		if web.Name != "web" || web.Namespace != "dev-myapp" {
			t.Errorf("Deployment %s/%s", web.Namespace, web.Name)
		}
		if web.APIVersion != "apps/v1" || web.Kind != "Deployment" {
			t.Errorf("type meta = %v", web.TypeMeta)
		}
		if !reflect.DeepEqual(web.Labels, wantLabels("web")) {
			t.Errorf("labels = %v", web.Labels)
		}
	})
	t.Run("selector is app and service only", func(t *testing.T) {
		want := map[string]string{LabelApp: "myapp", LabelService: "web"}
		if !reflect.DeepEqual(web.Spec.Selector.MatchLabels, want) || len(web.Spec.Selector.MatchExpressions) != 0 {
			t.Errorf("selector = %+v, want %v", web.Spec.Selector, want)
		}
		for k, v := range web.Spec.Selector.MatchLabels {
			if web.Spec.Template.Labels[k] != v {
				t.Errorf("the selector's %s=%s does not select the pod template", k, v)
			}
		}
	})
	t.Run("pod template labels and annotations", func(t *testing.T) {
		want := wantLabels("web")
		want["tier"] = "frontend"
		if !reflect.DeepEqual(web.Spec.Template.Labels, want) {
			t.Errorf("template labels = %v, want %v", web.Spec.Template.Labels, want)
		}
		if want := map[string]string{"example.com/owner": "team-a"}; !reflect.DeepEqual(web.Spec.Template.Annotations, want) {
			t.Errorf("template annotations = %v, want %v", web.Spec.Template.Annotations, want)
		}
		if !reflect.DeepEqual(worker.Spec.Template.Labels, wantLabels("worker")) {
			t.Errorf("worker template labels = %v", worker.Spec.Template.Labels)
		}
		if len(worker.Spec.Template.Annotations) != 0 {
			t.Errorf("worker template annotations = %v", worker.Spec.Template.Annotations)
		}
	})
	t.Run("rolling update", func(t *testing.T) {
		for _, tt := range []struct {
			d                        *appsv1.Deployment
			maxUnavailable, maxSurge string
		}{
			{web, "75%", "50%"},    // minimum 25, maximum 150
			{worker, "100%", "0%"}, // minimum 0, maximum 100
		} {
			s := tt.d.Spec.Strategy
			if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil {
				t.Fatalf("%s: strategy = %+v", tt.d.Name, s)
			}
			if got := s.RollingUpdate.MaxUnavailable; got == nil || *got != intstr.FromString(tt.maxUnavailable) {
				t.Errorf("%s: maxUnavailable = %v, want %s", tt.d.Name, got, tt.maxUnavailable)
			}
			if got := s.RollingUpdate.MaxSurge; got == nil || *got != intstr.FromString(tt.maxSurge) {
				t.Errorf("%s: maxSurge = %v, want %s", tt.d.Name, got, tt.maxSurge)
			}
		}
	})
	t.Run("defaults", func(t *testing.T) {
		in := testInput(t)
		in.Manifest = parse(t, "services:\n  web:\n    build: .\n    port: 3000\n", nil)
		in.Env = nil
		d := mustRender(t, in)["web"].Deployment
		ru := d.Spec.Strategy.RollingUpdate
		if *ru.MaxUnavailable != intstr.FromString("50%") || *ru.MaxSurge != intstr.FromString("100%") {
			t.Errorf("default rolling update = %v/%v, want 50%%/100%%", ru.MaxUnavailable, ru.MaxSurge)
		}
		if *d.Spec.Replicas != 1 {
			t.Errorf("default replicas = %d", *d.Spec.Replicas)
		}
		if *d.Spec.Template.Spec.TerminationGracePeriodSeconds != 30 {
			t.Errorf("default termination grace = %d", *d.Spec.Template.Spec.TerminationGracePeriodSeconds)
		}
		p := d.Spec.Template.Spec.Containers[0].ReadinessProbe
		if p == nil || p.HTTPGet.Path != "/" || p.PeriodSeconds != 5 || p.TimeoutSeconds != 4 || p.InitialDelaySeconds != 5 {
			t.Errorf("default probe = %+v", p)
		}
	})
	t.Run("termination grace", func(t *testing.T) {
		if g := web.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != 45 {
			t.Errorf("web terminationGracePeriodSeconds = %v, want 45", g)
		}
		// 0 is a valid grace (kill at once) and must not become the default.
		if g := worker.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != 0 {
			t.Errorf("worker terminationGracePeriodSeconds = %v, want 0", g)
		}
	})
}

func TestReleaseContainer(t *testing.T) {
	svcs := mustRender(t, testInput(t))
	web := svcs["web"].Deployment.Spec.Template.Spec.Containers
	worker := svcs["worker"].Deployment.Spec.Template.Spec.Containers
	if len(web) != 1 || len(worker) != 1 {
		t.Fatalf("containers: web %d, worker %d, want 1 each", len(web), len(worker))
	}
	w, k := web[0], worker[0]
	if w.Name != Container || k.Name != Container {
		t.Errorf("container names %q, %q, want %q", w.Name, k.Name, Container)
	}

	t.Run("image", func(t *testing.T) {
		if w.Image != "reg:5000/myapp@sha256:0123" {
			t.Errorf("web image = %q, want the one in Input.Images", w.Image)
		}
		if k.Image != "busybox:1.36" {
			t.Errorf("worker image = %q, want the manifest's", k.Image)
		}
		in := testInput(t)
		in.Images["worker"] = "reg:5000/busybox@sha256:4567"
		if got := mustRender(t, in)["worker"].Deployment.Spec.Template.Spec.Containers[0].Image; got != "reg:5000/busybox@sha256:4567" {
			t.Errorf("worker image with an entry in Input.Images = %q", got)
		}
	})
	t.Run("args", func(t *testing.T) {
		if want := []string{"bin/web", "--port", "5000"}; !slices.Equal(w.Args, want) {
			t.Errorf("web args = %q, want %q", w.Args, want)
		}
		if len(w.Command) != 0 {
			t.Errorf("web command = %q, want the image's entrypoint kept", w.Command)
		}
		// Quoted words are one argument each, as a shell (and Convox's
		// shellsplit) reads them.
		if want := []string{"sh", "-c", `sleep 3600; echo "done here"`}; !slices.Equal(k.Args, want) {
			t.Errorf("worker args = %q, want %q", k.Args, want)
		}
		in := testInput(t)
		in.Manifest = parse(t, "services:\n  web:\n    image: x\n", nil)
		in.Env = nil
		if args := mustRender(t, in)["web"].Deployment.Spec.Template.Spec.Containers[0].Args; len(args) != 0 {
			t.Errorf("args without a command = %q, want none (the image's CMD)", args)
		}
	})
	t.Run("envFrom", func(t *testing.T) {
		want := []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: svcs["web"].Secret.Name},
		}}}
		if !reflect.DeepEqual(w.EnvFrom, want) {
			t.Errorf("envFrom = %+v, want the service's Secret %s", w.EnvFrom, svcs["web"].Secret.Name)
		}
		if len(w.Env) != 0 {
			t.Errorf("env = %v: values belong in the Secret", w.Env)
		}
	})
	t.Run("resources", func(t *testing.T) {
		want := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("500m"),
			corev1.ResourceMemory: resource.MustParse("1Gi"),
		}
		for name, q := range want {
			got := w.Resources.Requests[name]
			if got.Cmp(q) != 0 {
				t.Errorf("web request %s = %s, want %s", name, got.String(), q.String())
			}
		}
		got := k.Resources.Requests[corev1.ResourceMemory]
		if got.Cmp(resource.MustParse("512Mi")) != 0 {
			t.Errorf("worker memory request = %s, want the default 512Mi", got.String())
		}
		cpu := k.Resources.Requests[corev1.ResourceCPU]
		if cpu.Cmp(resource.MustParse("250m")) != 0 {
			t.Errorf("worker cpu request = %s, want the default 250m", cpu.String())
		}
	})
	t.Run("port and readiness probe", func(t *testing.T) {
		wantPorts := []corev1.ContainerPort{{Name: "main", ContainerPort: 5000, Protocol: corev1.ProtocolTCP}}
		if !reflect.DeepEqual(w.Ports, wantPorts) {
			t.Errorf("web ports = %+v", w.Ports)
		}
		p := w.ReadinessProbe
		if p == nil || p.HTTPGet == nil {
			t.Fatalf("web readiness probe = %+v, want an HTTP check", p)
		}
		if p.HTTPGet.Path != "/check" || p.HTTPGet.Port != intstr.FromInt32(5000) {
			t.Errorf("probe GET %v %s, want 5000 /check", p.HTTPGet.Port, p.HTTPGet.Path)
		}
		if p.PeriodSeconds != 10 || p.TimeoutSeconds != 3 || p.InitialDelaySeconds != 20 {
			t.Errorf("probe period %d timeout %d initialDelay %d, want 10 3 20", p.PeriodSeconds, p.TimeoutSeconds, p.InitialDelaySeconds)
		}
		if k.ReadinessProbe != nil || len(k.Ports) != 0 {
			t.Errorf("worker without a port has probe %+v and ports %v", k.ReadinessProbe, k.Ports)
		}
	})
}

func TestReleaseReplicas(t *testing.T) {
	tests := []struct {
		name     string
		replicas map[string]int32
		web      int32
		worker   int32
	}{
		{"scale.count without current replicas", nil, 3, 1},
		{"current replicas kept", map[string]int32{"web": 7}, 7, 1},
		{"scaled to zero by hand stays at zero", map[string]int32{"web": 0, "worker": 0}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t)
			in.Replicas = tt.replicas
			svcs := mustRender(t, in)
			if got := *svcs["web"].Deployment.Spec.Replicas; got != tt.web {
				t.Errorf("web replicas = %d, want %d", got, tt.web)
			}
			if got := *svcs["worker"].Deployment.Spec.Replicas; got != tt.worker {
				t.Errorf("worker replicas = %d, want %d", got, tt.worker)
			}
		})
	}
}

func TestReleaseProgressDeadline(t *testing.T) {
	for _, tt := range []struct{ in, want int32 }{{0, 30}, {10, 30}, {30, 30}, {31, 31}, {600, 600}} {
		in := testInput(t)
		in.ProgressDeadline = tt.in
		for name, s := range mustRender(t, in) {
			if got := s.Deployment.Spec.ProgressDeadlineSeconds; got == nil || *got != tt.want {
				t.Errorf("ProgressDeadline %d: %s progressDeadlineSeconds = %v, want %d", tt.in, name, got, tt.want)
			}
		}
	}
}

// A label that the model would reject still cannot replace slipway's: the
// selector and the watch depend on them.
func TestReleaseSlipwayLabelsWin(t *testing.T) {
	in := testInput(t)
	in.Manifest.Services[0].Labels = map[string]string{LabelRelease: "RFAKE", LabelApp: "other", "tier": "frontend"}
	d := mustRender(t, in)["web"].Deployment
	want := wantLabels("web")
	want["tier"] = "frontend"
	if !reflect.DeepEqual(d.Spec.Template.Labels, want) {
		t.Errorf("template labels = %v, want %v", d.Spec.Template.Labels, want)
	}
	if in.Manifest.Services[0].Labels[LabelRelease] != "RFAKE" {
		t.Error("rendering changed the manifest's labels")
	}
}

func TestReleaseService(t *testing.T) {
	svcs := mustRender(t, testInput(t))
	if s := svcs["worker"].Service; s != nil {
		t.Errorf("worker without a port has a Service: %+v", s)
	}
	s := svcs["web"].Service
	if s == nil {
		t.Fatal("web with a port has no Service")
	}
	if s.Name != "web" || s.Namespace != "dev-myapp" || s.APIVersion != "v1" || s.Kind != "Service" {
		t.Errorf("Service %s %s %s/%s", s.APIVersion, s.Kind, s.Namespace, s.Name)
	}
	if !reflect.DeepEqual(s.Labels, wantLabels("web")) {
		t.Errorf("labels = %v", s.Labels)
	}
	if want := map[string]string{LabelApp: "myapp", LabelService: "web"}; !reflect.DeepEqual(s.Spec.Selector, want) {
		t.Errorf("selector = %v, want %v (no release: traffic moves with the rollout)", s.Spec.Selector, want)
	}
	if len(s.Spec.Ports) != 1 {
		t.Fatalf("ports = %+v", s.Spec.Ports)
	}
	p := s.Spec.Ports[0]
	if p.Port != 5000 || p.Protocol != corev1.ProtocolTCP || p.TargetPort != intstr.FromString("main") {
		t.Errorf("port = %+v, want 5000 -> the named port main", p)
	}
	c := svcs["web"].Deployment.Spec.Template.Spec.Containers[0]
	if len(c.Ports) != 1 || c.Ports[0].Name != p.TargetPort.StrVal {
		t.Errorf("the Service targets port %q, which the container %v does not name", p.TargetPort.StrVal, c.Ports)
	}
}

func TestReleaseRequiredEnv(t *testing.T) {
	yml := "environment:\n  - B_KEY\nservices:\n  web:\n    build: .\n    environment:\n      - A_KEY\n      - C_KEY=default\n"
	in := testInput(t)
	in.Manifest = parse(t, yml, nil)
	for _, tt := range []struct {
		env  model.Env
		want string
	}{
		{nil, "required env: A_KEY, B_KEY"},
		{model.Env{"A_KEY": "x"}, "required env: B_KEY"},
	} {
		in.Env = tt.env
		out, err := Release(in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("env %v: error = %v, want %q", tt.env, err, tt.want)
		}
		if out != nil {
			t.Errorf("env %v: rendered %d services along with the error", tt.env, len(out))
		}
	}
	in.Env = model.Env{"A_KEY": "", "B_KEY": "b"} // "" counts as set
	if _, err := Release(in); err != nil {
		t.Errorf("with every required key set: %v", err)
	}
}

func TestReleaseBuildWithoutImage(t *testing.T) {
	in := testInput(t)
	in.Images = map[string]string{"other": "reg/other:1"}
	out, err := Release(in)
	if err == nil {
		t.Fatal("no error for a build service without an image")
	}
	if !strings.Contains(err.Error(), "services.web:") {
		t.Errorf("error %q does not name the service", err)
	}
	if out != nil {
		t.Errorf("rendered %d services along with the error", len(out))
	}
	in.Images = nil
	if _, err := Release(in); err == nil || !strings.HasPrefix(err.Error(), "services.web:") {
		t.Errorf("nil Images: error = %v", err)
	}
}

// What is applied holds the fields slipway sets and no others: an empty
// status or a zero value sent by apply would be owned by slipway's field
// manager, and spec.paused belongs to the pause's own manager.
func TestReleaseAppliesOnlySlipwaysFields(t *testing.T) {
	out, err := Release(testInput(t))
	if err != nil {
		t.Fatal(err)
	}
	web := out[0]
	if web.Name != "web" || web.Service == nil {
		t.Fatalf("first service = %s (Service %v), want web with a port", web.Name, web.Service)
	}
	for _, tt := range []struct {
		what string
		obj  any
		path []string
		want []string
	}{
		{"Secret", web.Secret, nil, []string{"apiVersion", "data", "kind", "metadata", "type"}},
		{"Secret", web.Secret, []string{"metadata"}, []string{"labels", "name", "namespace"}},
		{"Deployment", web.Deployment, nil, []string{"apiVersion", "kind", "metadata", "spec"}},
		{"Deployment", web.Deployment, []string{"metadata"}, []string{"labels", "name", "namespace"}},
		{"Deployment", web.Deployment, []string{"spec"}, []string{
			"progressDeadlineSeconds", "replicas", "revisionHistoryLimit", "selector", "strategy", "template",
		}},
		{"Deployment", web.Deployment, []string{"spec", "template"}, []string{"metadata", "spec"}},
		{"Deployment", web.Deployment, []string{"spec", "template", "metadata"}, []string{"annotations", "labels"}},
		{"Deployment", web.Deployment, []string{"spec", "template", "spec"}, []string{"containers", "shareProcessNamespace", "terminationGracePeriodSeconds"}},
		{"worker Deployment", out[1].Deployment, []string{"spec", "template", "metadata"}, []string{"labels"}},
		{"Service", web.Service, nil, []string{"apiVersion", "kind", "metadata", "spec"}},
		{"Service", web.Service, []string{"spec"}, []string{"ports", "selector"}},
	} {
		b, err := json.Marshal(tt.obj)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range tt.path {
			m, _ = m[k].(map[string]any)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, tt.want) {
			t.Errorf("%s .%s has fields %q, want %q", tt.what, strings.Join(tt.path, "."), keys, tt.want)
		}
	}
}

// Golden files of every object of twoServices, as they would be applied.
func TestReleaseGolden(t *testing.T) {
	in := testInput(t)
	in.Replicas = map[string]int32{"worker": 2}
	in.ProgressDeadline = 120
	out, err := Release(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out {
		objs := []any{s.Secret, s.Deployment}
		if s.Service != nil {
			objs = append(objs, s.Service)
		}
		var docs []string
		for _, o := range objs {
			b, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, string(b))
		}
		got := []byte(strings.Join(docs, "---\n"))
		golden(t, filepath.Join("testdata", s.Name+".yaml"), got)
	}
	if len(out) != 2 {
		t.Errorf("rendered %d services, want 2", len(out))
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s does not exist: run go test ./render/ -update", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run with -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		cmd  string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"bin/web", []string{"bin/web"}},
		{"  bin/web  --port\t5000\n", []string{"bin/web", "--port", "5000"}},
		{`nginx -g 'daemon off;'`, []string{"nginx", "-g", "daemon off;"}},
		{`echo "a b" 'c d'`, []string{"echo", "a b", "c d"}},
		{`echo a"b c"d`, []string{"echo", "ab cd"}},
		{`echo '' ""`, []string{"echo", "", ""}},
		{`echo a\ b`, []string{"echo", "a b"}},
		{`echo 'a\b'`, []string{"echo", `a\b`}},                // no escapes in single quotes
		{`echo "a\"b\\c\d\$x"`, []string{"echo", `a"b\c\d$x`}}, // only \ " $ ` newline escape in double quotes
		{`echo "it's"`, []string{"echo", "it's"}},
		{`echo ${PORT} $HOME`, []string{"echo", "${PORT}", "$HOME"}}, // nothing is expanded
		{"a \\\nb", []string{"a", "b"}},
	}
	for _, tt := range tests {
		got, err := model.SplitCommand(tt.cmd)
		if err != nil {
			t.Errorf("model.SplitCommand(%q): %v", tt.cmd, err)
			continue
		}
		if !slices.Equal(got, tt.want) || (tt.want == nil) != (got == nil) {
			t.Errorf("model.SplitCommand(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
	for _, cmd := range []string{`echo 'a`, `echo "a`, `echo "a\"`, `echo a\`} {
		if got, err := model.SplitCommand(cmd); err == nil {
			t.Errorf("model.SplitCommand(%q) = %q, want an error", cmd, got)
		}
	}
}

func TestReleaseBadCommand(t *testing.T) {
	in := testInput(t)
	// ParseManifest refuses such a command; a Manifest built by hand
	// still fails here, without showing the command's text.
	in.Manifest = parse(t, "services:\n  web:\n    image: x\n", nil)
	in.Manifest.Services[0].Command = "sh -c 'echo canary-1f3a"
	in.Env = nil
	out, err := Release(in)
	if err == nil || err.Error() != "services.web.command: unterminated ' quote: close it" {
		t.Errorf("error = %v, want one that names services.web.command", err)
	}
	if out != nil {
		t.Errorf("rendered %d services along with the error", len(out))
	}
}
