package render

import (
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/slipway/internal/convoxcorpus"
	"github.com/slipway-dev/slipway/model"
)

// Every real-world convox.yml that parses renders, and its objects are
// kept as golden files: a change to what a real manifest becomes shows in
// review.
func TestRenderCorpusGolden(t *testing.T) {
	rendered := 0
	for _, f := range convoxcorpus.Load(t) {
		m, err := model.ParseManifest(f.Data, f.Env)
		if err != nil {
			continue // the parser's corpus test counts and names these
		}
		for _, k := range m.MissingEnv(f.Env) {
			f.Env[k] = convoxcorpus.Plausible(k)
		}
		t.Run(f.Name, func(t *testing.T) {
			in := Input{
				App: "corpus", Namespace: "slipway-corpus", Release: "RBCDEFGHIJK", Build: "BABCDEFGHIJ",
				Manifest: m, Env: model.Env(f.Env), Images: map[string]string{},
			}
			for _, svc := range m.Services {
				if svc.Build != nil {
					in.Images[svc.Name] = "registry.example.org/corpus/" + svc.Name + "@sha256:0123"
				}
			}
			services, err := Release(in)
			if err != nil {
				t.Fatalf("Release: %v", err)
			}
			resources, err := Resources(in)
			if err != nil {
				t.Fatalf("Resources: %v", err)
			}
			var objs []any
			for _, r := range resources {
				objs = append(objs, r.Service, r.StatefulSet)
			}
			for _, s := range services {
				objs = append(objs, s.Objects()...)
			}
			var docs []string
			for _, o := range objs {
				b, err := yaml.Marshal(o)
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, string(b))
			}
			golden(t, filepath.Join("testdata", "corpus", f.Name+".yaml"), []byte(strings.Join(docs, "---\n")))
			rendered++
		})
	}
	if rendered == 0 {
		t.Error("no manifest of the corpus rendered")
	}
}
