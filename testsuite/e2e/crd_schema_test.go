package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/testsuite"
)

// object is a record as a client that does not use slipway's types would
// send it.
func object(kind, ns, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": records.Group + "/" + records.Version, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     spec,
	}}
}

// The API server checks every field of a record against its schema: a
// wrong type, a missing required field or a status outside its closed set
// is refused with the field's path, and nothing is written; a field the
// schema does not know is dropped.
func TestCRDSchemaRefusesBadRecords(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	newApp(t, s, "schemas")
	ns := s.Store.Namespace("schemas")
	releases := s.Dynamic.Resource(records.ReleaseResource).Namespace(ns)

	good := func() map[string]any {
		return map[string]any{"id": "RSCHEMASCHE", "app": "schemas", "sequence": int64(1), "env": "env-rschemasche"}
	}
	for _, c := range []struct {
		name, field string
		spec        func(map[string]any)
	}{
		{"string for an integer", "spec.sequence", func(m map[string]any) { m["sequence"] = "three" }},
		{"integer for a string", "spec.build", func(m map[string]any) { m["build"] = int64(7) }},
		{"missing required field", "spec.env", func(m map[string]any) { delete(m, "env") }},
	} {
		spec := good()
		c.spec(spec)
		_, err := releases.Create(ctx, object("Release", ns, "rschemasche", spec), metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: create returned %v, want Invalid naming %s", c.name, err, c.field)
		}
	}
	if _, err := releases.Get(ctx, "rschemasche", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused release was written: %v", err)
	}

	spec := good()
	spec["flavour"] = "unknown to the schema"
	made, err := releases.Create(ctx, object("Release", ns, "rschemasche", spec), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a release with an unknown field: %v, want it written without the field", err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(made.Object, "spec", "flavour"); found {
		t.Errorf("the unknown field spec.flavour was kept: the schema must prune it")
	}

	// A status outside the closed set is refused through the status
	// endpoint, and the stored status stays as it was.
	app, err := s.Store.GetApp(ctx, "schemas")
	if err != nil {
		t.Fatal(err)
	}
	if app.Status.Status != model.AppRunning {
		t.Fatalf("new app has status %q, want %s: the create's status write went nowhere", app.Status.Status, model.AppRunning)
	}
	app.Status.Status = "sleeping"
	if _, err := s.Store.UpdateApp(ctx, app); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status.status") {
		t.Errorf("status sleeping: %v, want Invalid naming status.status", err)
	}
	if got, err := s.Store.GetApp(ctx, "schemas"); err != nil || got.Status.Status != model.AppRunning {
		t.Errorf("after a refused status write the app is %+v (%v), want %s", got, err, model.AppRunning)
	}
}

// A status written through the store survives writes of the spec, which
// go to the main endpoint; the status endpoint changes only the status;
// a create keeps no status.
func TestCRDStatusSubresource(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	newApp(t, s, "statussub")
	ns := s.Store.Namespace("statussub")
	builds := s.Dynamic.Resource(records.BuildResource).Namespace(ns)

	started := metav1.NowMicro()
	b, err := s.Store.CreateBuild(ctx, &records.Build{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{records.LabelApp: "statussub"}},
		Spec:       records.BuildSpec{ID: "BSTATUSSTAT", App: "statussub", Source: "src.tgz", ManifestPath: "convox.yml", Description: "first"},
		Status:     records.BuildStatus{Status: model.BuildRunning, Started: &started},
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.Status.Status != model.BuildRunning || b.Status.Started == nil {
		t.Fatalf("CreateBuild returned status %+v, want running with its start", b.Status)
	}

	// The main endpoint writes the spec and ignores the status it is sent.
	u, err := builds.Get(ctx, "bstatusstat", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(u.Object, "renamed", "spec", "description")
	_ = unstructured.SetNestedField(u.Object, model.BuildFailed, "status", "status")
	if _, err := builds.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Store.GetBuild(ctx, "statussub", "BSTATUSSTAT")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Description != "renamed" || got.Status.Status != model.BuildRunning || got.Status.Started == nil {
		t.Errorf("after a spec update: description %q, status %+v; want renamed, and the status running as the store wrote it",
			got.Spec.Description, got.Status)
	}

	// The store's status write keeps the spec; the status endpoint ignores
	// a spec it is sent.
	if _, err := s.Store.MutateBuild(ctx, "statussub", "BSTATUSSTAT", func(b *records.Build) {
		b.Status.Status, b.Status.Release = model.BuildComplete, "RSTATUSSTAT"
		b.Spec.Source = "changed-through-status.tgz"
	}); err != nil {
		t.Fatal(err)
	}
	if u, err = builds.Get(ctx, "bstatusstat", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(u.Object, "sneaked in", "spec", "description")
	if _, err := builds.UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Store.GetBuild(ctx, "statussub", "BSTATUSSTAT")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Status != model.BuildComplete || got.Status.Release != "RSTATUSSTAT" || got.Spec.Description != "renamed" {
		t.Errorf("after status writes: status %+v, description %q; want complete with RSTATUSSTAT, renamed", got.Status, got.Spec.Description)
	}
	// MutateBuild's spec change went to the main endpoint.
	if got.Spec.Source != "changed-through-status.tgz" {
		t.Errorf("source %q: MutateBuild lost its spec change", got.Spec.Source)
	}

	// A create through the main endpoint alone keeps no status: that is
	// why the store writes it after.
	raw := object("Build", ns, "brawrawrawr", map[string]any{"id": "BRAWRAWRAWR", "app": "statussub", "source": "s", "manifestPath": "convox.yml"})
	raw.Object["status"] = map[string]any{"status": model.BuildComplete}
	made, err := builds.Create(ctx, raw, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st, found, _ := unstructured.NestedMap(made.Object, "status"); found && len(st) > 0 {
		t.Errorf("a create kept the status %v: the status subresource is off", st)
	}
}

// `kubectl explain` prints the schema's descriptions. It reads them from
// the API server's OpenAPI v3 document, which is checked here; kubectl
// itself is built by `make tools` (not by `make test`), and when it is
// there it is run too.
func TestCRDFieldDescriptions(t *testing.T) {
	s := testsuite.Get(t)
	const want = "The blob key of the source tarball."
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Description string `json:"description"`
					Properties  map[string]struct {
						Description string `json:"description"`
					} `json:"properties"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	// The API server publishes a CRD's schema a little after it is
	// established.
	eventually(t, "Build spec.source's description in the OpenAPI v3 document", time.Minute, 500*time.Millisecond, func(context.Context) (bool, string) {
		paths, err := s.Kube.Discovery().OpenAPIV3().Paths()
		if err != nil {
			return false, err.Error()
		}
		gv, ok := paths["apis/"+records.Group+"/"+records.Version]
		if !ok {
			return false, "no document for " + records.Group + "/" + records.Version
		}
		b, err := gv.Schema("application/json")
		if err != nil {
			return false, err.Error()
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return false, err.Error()
		}
		got := doc.Components.Schemas["dev.slipway.v1.Build"].Properties["spec"].Properties["source"].Description
		return got == want, fmt.Sprintf("described as %q", got)
	})
	if d := doc.Components.Schemas["dev.slipway.v1.App"].Properties["status"].Properties["status"].Description; !strings.Contains(d, "running (idle)") {
		t.Errorf("App status.status described as %q", d)
	}

	kubectl := filepath.Join(s.Tools, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Logf("%s is not built (`make tools` builds it): checked the document it reads", kubectl)
		return
	}
	for _, c := range []struct{ field, want string }{
		{"builds.spec.source", want},
		{"apps.status", "What the app runs and is doing"},
		{"promotions.status.phase", "pending, release phase (the release commands run), rolling out, paused, rolling back, or done."},
	} {
		cmd := exec.Command(kubectl, "explain", c.field, "--api-version", records.Group+"/"+records.Version, "--kubeconfig", s.Settings.Kubeconfig)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("kubectl explain %s: %v\n%s", c.field, err, out)
			continue
		}
		// kubectl wraps descriptions to its width.
		if flat := strings.Join(strings.Fields(string(out)), " "); !strings.Contains(flat, c.want) {
			t.Errorf("kubectl explain %s printed:\n%s\nwant %q in it", c.field, out, c.want)
		}
	}
}

// The worker may write the status of the records it changes, and no more
// (the roles' unit tests hold the CLI user to reading).
func TestCRDStatusRights(t *testing.T) {
	s := testsuite.Get(t)
	s.MustCLI(t, "system", "install")
	wc := testsuite.KubeFor(t, s.WorkerKubeconfig(t))
	for _, c := range []struct {
		verb, resource string
		want           bool
	}{
		{"update", "apps", true}, {"update", "builds", true}, {"update", "promotions", true},
		{"update", "releases", false}, {"patch", "apps", false}, {"delete", "builds", false},
	} {
		r, err := wc.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(), &authzv1.SelfSubjectAccessReview{
			Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
				Verb: c.verb, Group: records.Group, Resource: c.resource, Subresource: "status", Namespace: s.Store.Namespace("any"),
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed != c.want {
			t.Errorf("may the worker %s %s/status: %v, want %v", c.verb, c.resource, r.Status.Allowed, c.want)
		}
	}
}
