package records

import (
	"context"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/model"
)

// The fake's status subresource (statusSubresource) is what these tests
// stand on: check that it drops and keeps what the API server does, or a
// store writing to the wrong endpoint would pass here.
func TestFakeModelsTheStatusSubresource(t *testing.T) {
	fs := newFakeStore(t, nil)
	ctx := context.Background()
	ri := fs.dyn.Resource(BuildResource).Namespace("dev-myapp")
	u, err := toUnstructured(testBuild("BABCDEFGHIJ", "running"))
	if err != nil {
		t.Fatal(err)
	}
	made, err := ri.Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := made.Object["status"]; ok {
		t.Fatalf("create kept the status %v", made.Object["status"])
	}
	withStatus := made.DeepCopy()
	withStatus.Object["status"] = map[string]any{"status": "running"}
	if got, err := ri.Update(ctx, withStatus, metav1.UpdateOptions{}); err != nil || got.Object["status"] != nil {
		t.Fatalf("main update: status %v, err %v; want no status", got.Object["status"], err)
	}
	withStatus.Object["spec"].(map[string]any)["description"] = "changed by a status write"
	got, err := ri.UpdateStatus(ctx, withStatus, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := unstructured.NestedString(got.Object, "status", "status"); st != "running" {
		t.Errorf("status write left status %q, want running", st)
	}
	if d, _, _ := unstructured.NestedString(got.Object, "spec", "description"); d != "" {
		t.Errorf("status write changed the spec's description to %q", d)
	}
}

func testBuild(id, status string) *Build {
	started := metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
	return &Build{
		ObjectMeta: metav1.ObjectMeta{Name: ObjectName(id), Namespace: "dev-myapp", Labels: map[string]string{LabelApp: "myapp"}},
		Spec:       BuildSpec{ID: id, App: "myapp", Source: "src/" + id + ".tgz", ManifestPath: "convox.yml"},
		Status:     BuildStatus{Status: status, Started: &started},
	}
}

// A record made with a status is created, then its status is written
// through the status endpoint: the create alone would lose it.
func TestCreateWritesStatusThroughItsEndpoint(t *testing.T) {
	fs := newFakeStore(t, nil)
	ctx := context.Background()
	b, err := fs.CreateBuild(ctx, testBuild("BABCDEFGHIJ", "running"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Status.Status != "running" || b.Status.Started == nil || b.Spec.Source != "src/BABCDEFGHIJ.tgz" {
		t.Errorf("CreateBuild returned %+v", b)
	}
	want := []string{"create builds babcdefghij", "update builds/status babcdefghij"}
	if w := fs.writes(); !slices.Equal(w, want) {
		t.Errorf("writes %q, want %q", w, want)
	}
	stored, err := fs.GetBuild(ctx, "myapp", "BABCDEFGHIJ")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status.Status != "running" || !stored.Status.Started.Equal(b.Status.Started) {
		t.Errorf("stored status %+v, want running since %v", stored.Status, b.Status.Started)
	}

	// A release has no status: one write.
	fs.clearActions()
	if _, err := create(ctx, fs.Store, ReleaseResource, "dev-myapp", testRelease("myapp", r1, "", 1)); err != nil {
		t.Fatal(err)
	}
	if w := fs.writes(); !slices.Equal(w, []string{"create releases " + ObjectName(r1)}) {
		t.Errorf("release writes %q, want the create alone", w)
	}
}

// An attempt that died between the create and the status write left a
// record without a status: the retry finishes it, once.
func TestCreateRetryFinishesAHalfMadeRecord(t *testing.T) {
	fs := newFakeStore(t, nil)
	ctx := context.Background()
	p := &Promotion{Spec: PromotionSpec{ID: "PABCDEFGHIJ", App: "myapp", Release: r1, WorkflowID: "promote/myapp", RunID: "run-1",
		Started: metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}, Status: PromotionStatus{Phase: model.PhasePending}}
	died := *p
	died.TypeMeta, died.Name, died.Namespace, died.Labels = typeMeta("Promotion"), "pabcdefghij", "dev-myapp", map[string]string{LabelApp: "myapp"}
	u, err := toUnstructured(&died)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.dyn.Resource(PromotionResource).Namespace("dev-myapp").Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fs.clearActions()

	got, err := fs.CreatePromotion(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != model.PhasePending || got.Spec.RunID != "run-1" {
		t.Errorf("retry returned %+v", got)
	}
	want := []string{"create promotions pabcdefghij", "update promotions/status pabcdefghij"}
	if w := fs.writes(); !slices.Equal(w, want) {
		t.Errorf("retry wrote %q, want %q", w, want)
	}
	if stored, err := fs.GetPromotion(ctx, "myapp", "PABCDEFGHIJ"); err != nil || stored.Status.Phase != model.PhasePending {
		t.Fatalf("stored promotion %+v, %v; want phase pending", stored, err)
	}

	// Once finished, a retry writes no status: the record may have moved on.
	if _, err := fs.UpdatePromotion(ctx, "myapp", "PABCDEFGHIJ", func(p *Promotion) { p.Status.Phase = model.PhaseRollingOut }); err != nil {
		t.Fatal(err)
	}
	fs.clearActions()
	again, err := fs.CreatePromotion(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if again.Status.Phase != model.PhaseRollingOut {
		t.Errorf("second retry returned phase %q, want %q: it must not write its first status again", again.Status.Phase, model.PhaseRollingOut)
	}
	if w := fs.writes(); !slices.Equal(w, []string{"create promotions pabcdefghij"}) {
		t.Errorf("second retry wrote %q, want the refused create alone", w)
	}
	// A build's retry gets AlreadyExists, as it always did.
	if _, err := fs.CreateBuild(ctx, testBuild("BABCDEFGHIJ", "running")); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.CreateBuild(ctx, testBuild("BABCDEFGHIJ", "running")); !apierrors.IsAlreadyExists(err) {
		t.Errorf("CreateBuild of a finished build: %v, want AlreadyExists", err)
	}
}

// An app of that name made by someone else is theirs: its missing status
// is not written, and the caller hears AlreadyExists.
func TestCreateLeavesSomeoneElsesRecord(t *testing.T) {
	fs := newFakeStore(t, nil)
	ctx := context.Background()
	theirs := testApp("myapp", "", 0)
	theirs.Annotations = map[string]string{AnnotationCreatedBy: "apps/create/myapp/run-A"}
	u, err := toUnstructured(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.dyn.Resource(AppResource).Namespace("dev-myapp").Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fs.clearActions()
	mine := testApp("myapp", "", 0)
	mine.Annotations = map[string]string{AnnotationCreatedBy: "apps/create/myapp/run-B"}
	if _, err := fs.CreateApp(ctx, mine); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("CreateApp over another's record: %v, want AlreadyExists", err)
	}
	if w := fs.writes(); !slices.Equal(w, []string{"create apps myapp"}) {
		t.Errorf("wrote %q, want the refused create alone", w)
	}

	// The same creator's retry finishes it.
	mine.Annotations[AnnotationCreatedBy] = "apps/create/myapp/run-A"
	got, err := fs.CreateApp(ctx, mine)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Status != "running" || mustApp(t, fs.Store, "myapp").Status.Status != "running" {
		t.Errorf("app status %q, want running", got.Status.Status)
	}
}

// A status write that conflicts is read again; if a concurrent attempt
// wrote the status meanwhile, that status stands.
func TestCreateStatusConflictKeepsTheWinner(t *testing.T) {
	fs := newFakeStore(t, nil)
	ctx := context.Background()
	fs.dyn.PrependReactor("update", "builds", func(a k8stesting.Action) (bool, runtime.Object, error) {
		// A concurrent attempt finished the build first.
		won, err := toUnstructured(testBuild("BABCDEFGHIJ", "complete"))
		if err != nil {
			return true, nil, err
		}
		won.SetAPIVersion(Group + "/" + Version)
		won.SetKind("Build")
		if err := fs.dyn.Tracker().Update(BuildResource, won, "dev-myapp"); err != nil {
			return true, nil, err
		}
		return true, nil, conflict()
	})
	got, err := fs.CreateBuild(ctx, testBuild("BABCDEFGHIJ", "running"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Status != "complete" {
		t.Errorf("CreateBuild returned status %q, want the winner's complete", got.Status.Status)
	}
	want := []string{"create builds babcdefghij", "update builds/status babcdefghij"}
	if w := fs.writes(); !slices.Equal(w, want) {
		t.Errorf("writes %q, want %q (one status write, then a read)", w, want)
	}
}

// mutate sends status changes to the status endpoint and spec or metadata
// changes to the main one, and writes nothing when nothing changed.
func TestMutateWritesEachPartToItsEndpoint(t *testing.T) {
	b := testBuild("BABCDEFGHIJ", "running")
	b.TypeMeta = typeMeta("Build")
	fs := newFakeStore(t, []any{b})
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		change func(*Build)
		writes []string
		check  func(*Build) bool
	}{
		{"status only", func(b *Build) { b.Status.Status, b.Status.Release = "complete", r1 }, []string{"update builds/status babcdefghij"},
			func(b *Build) bool { return b.Status.Status == "complete" && b.Status.Release == r1 }},
		{"spec only", func(b *Build) { b.Spec.Description = "renamed" }, []string{"update builds babcdefghij"},
			func(b *Build) bool { return b.Spec.Description == "renamed" && b.Status.Status == "complete" }},
		{"metadata and status", func(b *Build) { b.Labels["extra"] = "1"; b.Status.Reason = "why" },
			[]string{"update builds babcdefghij", "update builds/status babcdefghij"},
			func(b *Build) bool {
				return b.Labels["extra"] == "1" && b.Status.Reason == "why" && b.Spec.Description == "renamed"
			}},
		{"nothing", func(*Build) {}, nil, func(b *Build) bool { return b.Status.Reason == "why" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs.clearActions()
			got, err := fs.MutateBuild(ctx, "myapp", "BABCDEFGHIJ", c.change)
			if err != nil {
				t.Fatal(err)
			}
			if w := fs.writes(); !slices.Equal(w, c.writes) {
				t.Errorf("writes %q, want %q", w, c.writes)
			}
			stored, err := fs.GetBuild(ctx, "myapp", "BABCDEFGHIJ")
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(got) || !c.check(stored) {
				t.Errorf("returned %+v\nstored %+v", got, stored)
			}
		})
	}
}

// UpdateApp writes the status endpoint, with the resourceVersion it read.
func TestUpdateAppWritesStatus(t *testing.T) {
	fs := newFakeStore(t, []any{testApp("myapp", r1, 1)})
	ctx := context.Background()
	a := mustApp(t, fs.Store, "myapp")
	a.Status.Status = "deleting"
	if _, err := fs.UpdateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	if w := fs.writes(); !slices.Equal(w, []string{"update apps/status myapp"}) {
		t.Errorf("writes %q, want the status endpoint", w)
	}
	if got := mustApp(t, fs.Store, "myapp"); got.Status.Status != "deleting" || got.Status.Latest != r1 {
		t.Errorf("stored status %+v", got.Status)
	}
}
