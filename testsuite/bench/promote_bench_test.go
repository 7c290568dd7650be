// Package bench measures a slipway promotion against its peers on the same
// local stack, in the same run: `kubectl apply` + `kubectl rollout status`,
// and `helm upgrade --wait`, applying the same objects.
//
//	make bench   (go test ./testsuite/bench -bench . -benchtime 10x)
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

// TestMain starts the stack only when benchmarks run: `make test` builds
// and runs this package too, and must not pay for a second stack.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	testsuite.Main(m)
}

// BenchmarkPromote runs one rollout of each tool per iteration, interleaved
// so that the machine's noise falls on all three alike, and reports the
// medians and the ratios to kubectl and helm.
func BenchmarkPromote(b *testing.B) {
	s := testsuite.Get(b)
	app := fmt.Sprintf("bench%d", b.N) // -bench runs this once per b.N tried
	dir, manifest := appDir(b, s, "testdata/convox.yml")
	s.MustCLI(b, "apps", "create", app)
	rel := releaseOf(b, s.MustCLI(b, "build", dir, "-a", app, "-d", "bench"))
	s.MustCLI(b, "releases", "promote", rel, "-a", app)
	kubectlNS, helmNS := app+"-kubectl", app+"-helm"
	for _, ns := range []string{kubectlNS, helmNS} {
		if _, err := s.Kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	kubeconfig := s.Settings.Kubeconfig
	tools := filepath.Join(s.Root, ".tools", "bin")
	chart := filepath.Join(b.TempDir(), "chart")
	if err := os.MkdirAll(filepath.Join(chart, "templates"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(chart, "Chart.yaml"), []byte("apiVersion: v2\nname: bench\nversion: 0.1.0\n"), 0o644); err != nil {
		b.Fatal(err)
	}

	var times [3][]time.Duration
	b.ResetTimer()
	for i := range b.N {
		rev := fmt.Sprint(i + 1)
		b.StopTimer()
		next := releaseOf(b, s.MustCLI(b, "env", "set", "REV="+rev, "-a", app))
		b.StartTimer()
		start := time.Now()
		s.MustCLI(b, "releases", "promote", next, "-a", app)
		times[0] = append(times[0], time.Since(start))

		b.StopTimer()
		objs := rendered(b, manifest, kubectlNS, rev)
		file := filepath.Join(dir, "objects.yaml")
		if err := os.WriteFile(file, objs, 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		run(b, kubeconfig, "kubectl", "apply", "--server-side", "-n", kubectlNS, "-f", file)
		for _, svc := range []string{"api", "web", "worker"} {
			run(b, kubeconfig, "kubectl", "rollout", "status", "-n", kubectlNS, "deployment/"+svc, "--timeout", "2m")
		}
		times[1] = append(times[1], time.Since(start))

		b.StopTimer()
		if err := os.WriteFile(filepath.Join(chart, "templates", "objects.yaml"), rendered(b, manifest, helmNS, rev), 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		run(b, kubeconfig, filepath.Join(tools, "helm"), "upgrade", "--install", "bench", chart, "-n", helmNS, "--wait", "--timeout", "2m")
		times[2] = append(times[2], time.Since(start))
	}
	b.StopTimer()
	med := [3]time.Duration{median(times[0]), median(times[1]), median(times[2])}
	b.ReportMetric(float64(med[0].Milliseconds()), "slipway-ms")
	b.ReportMetric(float64(med[1].Milliseconds()), "kubectl-ms")
	b.ReportMetric(float64(med[2].Milliseconds()), "helm-ms")
	b.ReportMetric(float64(med[0])/float64(med[1]), "slipway/kubectl")
	b.ReportMetric(float64(med[0])/float64(med[2]), "slipway/helm")
	b.Logf("median of %d: slipway %s, kubectl apply+rollout status %s, helm upgrade --wait %s; slipway/kubectl %.2f, slipway/helm %.2f",
		b.N, med[0], med[1], med[2], float64(med[0])/float64(med[1]), float64(med[0])/float64(med[2]))
}

// rendered is what slipway applies for the app, as YAML for kubectl and
// helm: the same Secrets, Deployments and Services.
func rendered(b *testing.B, manifest []byte, ns, rev string) []byte {
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

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func releaseOf(b *testing.B, out string) string {
	for _, l := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(l, "Release: "); ok {
			return id
		}
	}
	b.Fatalf("no Release: line in\n%s", out)
	return ""
}
