package records

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/model"
)

// jsonUnstructured is the JSON round trip the converter replaced: records
// written before must read the same, and what is written must not change.
func jsonUnstructured(t *testing.T, obj any) *unstructured.Unstructured {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return u
}

// convertCases are every record type, filled in and empty (a record always
// has its kind: the JSON round trip refused one without).
func convertCases() map[string]struct {
	obj  any
	back func(*testing.T, *unstructured.Unstructured) (got, want any)
} {
	micro := metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC))
	later := metav1.NewMicroTime(micro.Add(1500 * time.Microsecond))
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	meta := metav1.ObjectMeta{
		Name: "x", Namespace: "dev-myapp", UID: "uid-1", ResourceVersion: "42", CreationTimestamp: created,
		Labels: map[string]string{LabelApp: "myapp"}, Annotations: map[string]string{AnnotationCreatedBy: "wf"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: Group + "/" + Version, Kind: "Release", Name: "r", UID: "uid-0"}},
	}
	type tc = struct {
		obj  any
		back func(*testing.T, *unstructured.Unstructured) (got, want any)
	}
	app := readBack[App]
	build := readBack[Build]
	release := readBack[Release]
	promotion := readBack[Promotion]
	return map[string]tc{
		"app": {&App{TypeMeta: typeMeta("App"), ObjectMeta: meta,
			Status: AppStatus{Status: "running", Release: "RA", Latest: "RB", Sequence: 7, Reason: "why"}}, app},
		"app empty": {&App{TypeMeta: typeMeta("App")}, app},
		"build": {&Build{TypeMeta: typeMeta("Build"), ObjectMeta: meta,
			Spec: BuildSpec{ID: "BA", App: "myapp", Description: "d", Source: "s", ManifestPath: "convox.yml", Actor: "me"},
			Status: BuildStatus{Status: "complete", Reason: "r", Release: "RA", Started: &micro, Ended: &later, Manifest: "m",
				Images: []Image{{Service: "web", Ref: "reg/web:BA", Digest: "sha256:00"}}, Logs: "l", Builder: "local"}}, build},
		"build empty": {&Build{TypeMeta: typeMeta("Build")}, build},
		"release": {&Release{TypeMeta: typeMeta("Release"), ObjectMeta: meta,
			Spec: ReleaseSpec{ID: "RA", App: "myapp", Build: "BA", Description: "d", Manifest: "m", Parent: "RZ", Sequence: 3, Env: "env-ra", Actor: "me"}}, release},
		"release empty": {&Release{TypeMeta: typeMeta("Release")}, release},
		"promotion": {&Promotion{TypeMeta: typeMeta("Promotion"), ObjectMeta: meta,
			Spec: PromotionSpec{ID: "PA", App: "myapp", Release: "RA", From: "RZ", WorkflowID: "w", RunID: "r", Actor: "me", Started: micro},
			Status: PromotionStatus{Phase: model.PhaseDone, Result: model.ResultActive, Reason: "ok", Ended: &later,
				Services: []ServiceProgress{{Name: "web", Desired: 3, Updated: 3, Ready: 2, Available: 1, Done: true}},
				Steps:    []Step{{Time: created, Message: "rolled out"}}}}, promotion},
		"promotion empty": {&Promotion{TypeMeta: typeMeta("Promotion")}, promotion},
	}
}

// readBack reads u with fromUnstructured and with json.Unmarshal.
func readBack[T any](t *testing.T, u *unstructured.Unstructured) (got, want any) {
	t.Helper()
	g, err := fromUnstructured[T](u)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var w T
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return g, &w
}

func TestConverterMatchesJSONRoundTrip(t *testing.T) {
	for name, c := range convertCases() {
		t.Run(name, func(t *testing.T) {
			want := jsonUnstructured(t, c.obj)
			got, err := toUnstructured(c.obj)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Object, want.Object) {
				t.Fatalf("toUnstructured differs from the JSON round trip:\n got %#v\nwant %#v", got.Object, want.Object)
			}
			// Reading back gives what json.Unmarshal gave, to the
			// microsecond for MicroTime fields.
			if back, jsonBack := c.back(t, want); !reflect.DeepEqual(back, jsonBack) {
				t.Fatalf("fromUnstructured differs from json.Unmarshal:\n got %#v\nwant %#v", back, jsonBack)
			}
		})
	}
}

func TestMicroTimeKeepsMicroseconds(t *testing.T) {
	started := metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC))
	u, err := toUnstructured(&Build{Status: BuildStatus{Started: &started}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(u.Object, "status", "started"); got != "2026-01-02T03:04:05.123456Z" {
		t.Errorf("status.started = %q, want 2026-01-02T03:04:05.123456Z", got)
	}
	b, err := fromUnstructured[Build](u)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Status.Started.Time.Equal(started.Time) {
		t.Errorf("started read back as %s, want %s", b.Status.Started.Time, started.Time)
	}
}

func conflict() error {
	return apierrors.NewConflict(schema.GroupResource{Group: Group, Resource: "apps"}, "myapp",
		errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}

// A conflicting write is retried on the newest version, with change applied
// to it again: a concurrent writer's update survives.
func TestMutateRetriesOnNewestVersion(t *testing.T) {
	fs := newFakeStore(t, []any{testApp("myapp", r1, 1)})
	updates := 0
	fs.dyn.PrependReactor("update", "apps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		if updates > 1 {
			return false, nil, nil
		}
		// A concurrent writer moves Latest first.
		u, err := toUnstructured(testApp("myapp", r2, 2))
		if err != nil {
			return true, nil, err
		}
		if err := fs.dyn.Tracker().Update(AppResource, u, "dev-myapp"); err != nil {
			return true, nil, err
		}
		return true, nil, conflict()
	})
	var saw []string
	got, err := fs.MutateApp(context.Background(), "myapp", func(a *App) {
		saw = append(saw, a.Status.Latest)
		a.Status.Status = "updating"
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(saw, []string{r1, r2}) {
		t.Errorf("change saw Latest %q, want [%s %s]: a retry must read the newest version", saw, r1, r2)
	}
	if got.Status.Status != "updating" || got.Status.Latest != r2 || got.Status.Sequence != 2 {
		t.Errorf("app status %+v: want updating on top of the concurrent write (Latest %s, Sequence 2)", got.Status, r2)
	}
	if a := mustApp(t, fs.Store, "myapp"); a.Status.Status != "updating" || a.Status.Latest != r2 {
		t.Errorf("stored app status %+v, want updating with Latest %s", a.Status, r2)
	}
}

// mutate gives up after conflictBackoff.Steps conflicts and says it was a
// conflict, rather than spinning for ever.
func TestMutateStopsAfterBackoff(t *testing.T) {
	fs := newFakeStore(t, []any{testApp("myapp", r1, 1)})
	updates := 0
	fs.dyn.PrependReactor("update", "apps", func(k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		return true, nil, conflict()
	})
	_, err := fs.MutateApp(context.Background(), "myapp", func(a *App) { a.Status.Status = "updating" })
	if !apierrors.IsConflict(err) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	if updates != conflictBackoff.Steps {
		t.Errorf("%d updates, want %d", updates, conflictBackoff.Steps)
	}
}
