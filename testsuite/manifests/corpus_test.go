// Package manifests promotes real-world convox.yml files on the real stack
// that testsuite starts. It is a package of its own, with its own stack,
// so that it runs beside the e2e package instead of inside it; its name
// sorts after e2e's, so `go test ./...` starts the longer e2e run first.
package manifests

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/internal/convoxcorpus"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/testsuite"
)

func TestMain(m *testing.M) { testsuite.Main(m) }

// withSampleImages is a convox.yml with every service's build or image
// replaced by the local registry's sample image: the corpus's sources and
// public images are out of reach, everything else is as written.
func withSampleImages(t *testing.T, data []byte, image string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "services" {
			continue
		}
		services := root.Content[i+1]
		for j := 1; j < len(services.Content); j += 2 {
			svc := services.Content[j]
			if svc.Kind != yaml.MappingNode {
				*svc = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			}
			var kept []*yaml.Node
			for k := 0; k+1 < len(svc.Content); k += 2 {
				if key := svc.Content[k].Value; key != "build" && key != "image" {
					kept = append(kept, svc.Content[k], svc.Content[k+1])
				}
			}
			svc.Content = append(kept,
				&yaml.Node{Kind: yaml.ScalarNode, Value: "image"},
				&yaml.Node{Kind: yaml.ScalarNode, Value: image})
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every real-world convox.yml that slipway accepts is built (with the
// sample image for its services), given its env, and promoted on the local
// stack to active; and at least 90% of them are accepted.
func TestConvoxCorpusPromotes(t *testing.T) {
	s := testsuite.Get(t)
	files := convoxcorpus.Load(t)
	var accepted []convoxcorpus.File
	selectors := map[string]string{}
	for _, f := range files {
		m, err := model.ParseManifest(f.Data, f.Env)
		if err != nil {
			t.Logf("refused %s: %v", f.Name, err)
			continue
		}
		for _, k := range m.MissingEnv(f.Env) {
			f.Env[k] = convoxcorpus.Plausible(k)
		}
		accepted = append(accepted, f)
		for _, svc := range m.Services {
			maps.Copy(selectors, svc.NodeSelectorLabels)
		}
	}
	// Services that pick their nodes (GPU nodes, say) find one, as in the
	// clusters they were written for.
	nodes, err := s.Kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("nodes: %d, %v", len(nodes.Items), err)
	}
	node := nodes.Items[0]
	maps.Copy(node.Labels, selectors)
	if _, err := s.Kube.CoreV1().Nodes().Update(context.Background(), &node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(accepted)*10 < len(files)*9 {
		t.Errorf("%d of %d real manifests accepted, want at least 90%%", len(accepted), len(files))
	}
	// A few apps at a time: the promotions share one worker and two cores.
	slots := make(chan struct{}, 8)
	t.Run("promote", func(t *testing.T) {
		for i, f := range accepted {
			t.Run(f.Name, func(t *testing.T) {
				t.Parallel()
				slots <- struct{}{}
				defer func() { <-slots }()
				app := fmt.Sprintf("corpus-%02d", i)
				s.MustCLI(t, "apps", "create", app)
				// The env first, as a team moving an app sets it: a build
				// checks that every required key is set.
				if len(f.Env) > 0 {
					args := []string{"env", "set", "-a", app}
					for _, k := range slices.Sorted(maps.Keys(f.Env)) {
						args = append(args, k+"="+f.Env[k])
					}
					s.MustCLI(t, args...)
				}
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "convox.yml"), withSampleImages(t, f.Data, s.SampleImage()), 0o644); err != nil {
					t.Fatal(err)
				}
				rel := testsuite.ReleaseOf(t, s.MustCLI(t, "build", dir, "-a", app))
				if r := s.CLI(t, "releases", "promote", rel, "-a", app); r.Code != 0 {
					t.Fatalf("promote %s: exit %d\n%s%s", f.Name, r.Code, r.Stdout, r.Stderr)
				}
				a, err := s.Store.GetApp(context.Background(), app)
				if err != nil {
					t.Fatal(err)
				}
				if a.Status.Status != model.AppRunning || a.Status.Release != rel {
					t.Errorf("%s: app %s on %s, want running on %s", f.Name, a.Status.Status, a.Status.Release, rel)
				}
			})
		}
	})
}
