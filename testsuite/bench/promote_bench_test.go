// Package bench measures a slipway promotion against the floor and its
// peers on the same local stack, in the same run. The floor applies the
// same objects with client-go and watches the Deployments roll out: the
// time the cluster itself needs. The peers are `kubectl apply` + `kubectl
// rollout status`, and `helm upgrade --wait`.
//
//	make bench         (the small matrix: 1 and 10 services of 2 replicas)
//	make bench-scale   (1, 10 and 50 services of 2 and 10 replicas)
package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

var (
	matrix = flag.String("matrix", "small", "the promotion matrix: small (1 and 10 services × 2 replicas) or full (1, 10, 50 × 2, 10)")
	report = flag.String("json", "", "write what the benchmarks measured to this file as JSON, for hack/benchreadme")
)

// TestMain starts the stack only when benchmarks run: `make test` builds
// and runs this package too, and must not pay for a second stack.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	testsuite.Main(m)
}

// BenchmarkPromote runs the matrix of services × replicas; at each point
// every iteration rolls each tool once, and the point reports the medians
// and the ratios to the floor. It prints the whole matrix as one table at
// the end (and writes it as JSON with -json FILE).
func BenchmarkPromote(b *testing.B) {
	services, replicas := []int{1, 10}, []int{2}
	switch *matrix {
	case "small":
	case "full":
		services, replicas = []int{1, 10, 50}, []int{2, 10}
	default:
		b.Fatalf("-matrix=%s: give small or full", *matrix)
	}
	var points []Point
	for _, r := range replicas {
		for _, n := range services {
			var last Point
			b.Run(fmt.Sprintf("services=%d/replicas=%d", n, r), func(b *testing.B) {
				last = promotePoint(b, n, r)
			})
			if last.Runs > 0 { // not left out by -bench
				points = append(points, last)
			}
		}
	}
	printTable(points)
}

// promotePoint measures b.N promotions of each tool of an app of n
// services of r replicas.
func promotePoint(b *testing.B, n, r int) Point {
	s := testsuite.Get(b)
	ctx := context.Background()
	// -bench runs this once per b.N tried: a new app each time.
	app := fmt.Sprintf("p%dx%dn%d", n, r, b.N)
	dir, manifest := appDir(b, s, manifestOf(b, n, r))
	s.MustCLI(b, "apps", "create", app)
	rel := testsuite.ReleaseOf(b, s.MustCLI(b, "build", dir, "-a", app, "-d", "bench"))
	s.MustCLI(b, "releases", "promote", rel, "-a", app)
	ns := [tools]string{toolSlipway: s.Store.Namespace(app)}
	for _, t := range []int{toolKubectl, toolHelm, toolFloor} {
		ns[t] = app + "-" + toolNames[t]
		if _, err := s.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns[t]}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		// Free the nodes for the next point.
		s.MustCLI(b, "apps", "delete", app)
		for _, t := range []int{toolKubectl, toolHelm, toolFloor} {
			_ = s.Kube.CoreV1().Namespaces().Delete(ctx, ns[t], metav1.DeleteOptions{})
		}
	})
	kubeconfig := s.Settings.Kubeconfig
	helm := filepath.Join(s.Tools, "helm")
	chart := filepath.Join(b.TempDir(), "chart")
	if err := os.MkdirAll(filepath.Join(chart, "templates"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(chart, "Chart.yaml"), []byte("apiVersion: v2\nname: bench\nversion: 0.1.0\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	m := meter{kube: s.Kube, worker: s.WorkerPID()}
	kube := floorClient(b, s)
	var times [tools][]time.Duration
	var costs [tools][]Cost

	// measure times one run of tool and what it cost.
	measure := func(tool int, run func()) {
		before, err := m.read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		run()
		took := time.Since(start)
		b.StopTimer()
		after, err := m.read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c := before.until(after)
		if tool == toolSlipway {
			if c.HistoryEvents, c.HistoryBytes, err = history(ctx, s.Temporal, app); err != nil {
				b.Fatal(err)
			}
		}
		times[tool] = append(times[tool], took)
		costs[tool] = append(costs[tool], c)
	}

	// Each tool's roll of release rev, on its own namespace.
	roll := [tools]func(rev string){
		toolSlipway: func(rev string) {
			next := testsuite.ReleaseOf(b, s.MustCLI(b, "env", "set", "REV="+rev, "-a", app))
			measure(toolSlipway, func() { s.MustCLI(b, "releases", "promote", next, "-a", app) })
		},
		toolKubectl: func(rev string) {
			file := filepath.Join(dir, "objects.yaml")
			if err := os.WriteFile(file, asYAML(b, rendered(b, manifest, ns[toolKubectl], rev)), 0o644); err != nil {
				b.Fatal(err)
			}
			measure(toolKubectl, func() {
				run(b, kubeconfig, filepath.Join(s.Tools, "kubectl"), "apply", "--server-side", "-n", ns[toolKubectl], "-f", file)
				for svc := range n {
					run(b, kubeconfig, filepath.Join(s.Tools, "kubectl"), "rollout", "status", "-n", ns[toolKubectl], "deployment/"+serviceName(svc), "--timeout", "5m")
				}
			})
		},
		toolHelm: func(rev string) {
			if err := os.WriteFile(filepath.Join(chart, "templates", "objects.yaml"), asYAML(b, rendered(b, manifest, ns[toolHelm], rev)), 0o644); err != nil {
				b.Fatal(err)
			}
			measure(toolHelm, func() {
				run(b, kubeconfig, helm, "upgrade", "--install", "bench", chart, "-n", ns[toolHelm], "--wait", "--timeout", "5m")
			})
		},
		toolFloor: func(rev string) {
			objs := rendered(b, manifest, ns[toolFloor], rev)
			measure(toolFloor, func() {
				if err := floor(ctx, kube, ns[toolFloor], objs); err != nil {
					b.Fatal(err)
				}
			})
		},
	}
	// Every timed roll replaces a running release, as slipway's does
	// (its app was promoted above): the others create their objects
	// first, untimed. A first roll that creates is cheaper than an update.
	for _, t := range []int{toolKubectl, toolHelm, toolFloor} {
		roll[t]("0")
	}
	times, costs = [tools][]time.Duration{}, [tools][]Cost{}

	b.StopTimer()
	b.ResetTimer()
	for i := range b.N {
		for t := range tools {
			roll[t](fmt.Sprint(i + 1))
		}
	}
	p := summarize(n, r, times, costs)
	for t := range tools {
		b.ReportMetric(float64(p.Median[t].Milliseconds()), toolNames[t]+"-ms")
	}
	for _, t := range []int{toolSlipway, toolKubectl, toolHelm} {
		b.ReportMetric(p.VsFloor[t], toolNames[t]+"/floor")
	}
	record(b, func(rep *Report) {
		rep.Promote = replace(rep.Promote, p, func(q Point) bool { return q.Services == n && q.Replicas == r })
	})
	return p
}

// rendered is what slipway applies for the app in namespace ns at
// revision rev: the same Secrets, Deployments and Services for every tool.
func rendered(b *testing.B, manifest []byte, ns, rev string) []render.Service {
	env := model.Env{"REV": rev}
	m, err := model.ParseManifest(manifest, env)
	if err != nil {
		b.Fatal(err)
	}
	svcs, err := render.Release(render.Input{
		App: "bench", Namespace: ns, Release: "R" + strings.Repeat("0", 10-len(rev)) + rev, Build: "BBENCH",
		Manifest: m, Env: env, ProgressDeadline: 600,
	})
	if err != nil {
		b.Fatal(err)
	}
	return svcs
}

// asYAML is the services' objects as one stream, for kubectl and helm.
func asYAML(b *testing.B, svcs []render.Service) []byte {
	var out bytes.Buffer
	for _, s := range svcs {
		objs := []any{s.Secret, s.Deployment}
		if s.Service != nil {
			objs = append(objs, s.Service)
		}
		for _, o := range objs {
			y, err := yaml.Marshal(o)
			if err != nil {
				b.Fatal(err)
			}
			out.WriteString("---\n")
			out.Write(y)
		}
	}
	return out.Bytes()
}

// serviceName is the name of the benchmark app's i-th service.
func serviceName(i int) string { return fmt.Sprintf("svc%02d", i) }

// manifestOf is a convox.yml of n services of r replicas, each with a
// port (so each has a Service too), all running the sample image.
func manifestOf(b *testing.B, n, r int) string {
	var m strings.Builder
	m.WriteString("environment:\n  - REV=0\nservices:\n")
	for i := range n {
		fmt.Fprintf(&m, "  %s:\n    image: 127.0.0.1:5000/slipway/sample:1\n    port: 5000\n    scale:\n      count: %d\n", serviceName(i), r)
	}
	path := filepath.Join(b.TempDir(), "convox.yml")
	if err := os.WriteFile(path, []byte(m.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// appDir is a directory holding the manifest at path as the app's
// convox.yml, and that manifest, with the local stack's registry replaced
// by the harness's.
func appDir(b *testing.B, s *testsuite.Stack, path string) (string, []byte) {
	manifest, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	manifest = bytes.ReplaceAll(manifest, []byte("127.0.0.1:5000/"), []byte(s.Settings.Registry+"/"))
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "convox.yml"), manifest, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir, manifest
}

func run(b *testing.B, kubeconfig, name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func median[T int64 | float64 | time.Duration](d []T) T {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
