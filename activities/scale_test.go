package activities

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// scaleRecords are promoteRecords with testRelease active and no
// promotion in flight.
func scaleRecords(status string) []any {
	recs := promoteRecords()
	app := recs[0].(*records.App)
	app.Status.Status, app.Status.Release = status, testRelease
	return recs
}

func TestScaleApp(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, scaleRecords(model.AppRunning), releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	// The release is running; the scale keeps its progress deadline.
	if _, err := a.ApplyRelease(ctx, applyInput()); err != nil {
		t.Fatal(err)
	}
	fs.core.ClearActions()

	in := ScaleInput{App: testApp, Service: "web", Count: ptr.To[int32](3), CPU: ptr.To[int32](500)}
	res, err := a.ScaleApp(ctx, in)
	if err != nil || res.Release != testRelease {
		t.Fatalf("ScaleApp: %+v, %v; want applied to %s", res, err, testRelease)
	}
	web := deployment(t, fs, "web")
	if *web.Spec.Replicas != 3 || web.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().MilliValue() != 500 {
		t.Errorf("web replicas %d, requests %v: want 3 and 500m", *web.Spec.Replicas, web.Spec.Template.Spec.Containers[0].Resources.Requests)
	}
	if *web.Spec.ProgressDeadlineSeconds != 90 {
		t.Errorf("progressDeadlineSeconds %d, want the promotion's 90 kept", *web.Spec.ProgressDeadlineSeconds)
	}
	for _, w := range fs.coreWrites() {
		if w == "patch deployments worker" {
			t.Error("a scale of web applied worker")
		}
	}
	app, err := fs.GetApp(ctx, testApp)
	if err != nil {
		t.Fatal(err)
	}
	if sc := app.ScaleOf("web"); sc == nil || *sc.Count != 3 || *sc.CPU != 500 || sc.Memory != nil {
		t.Errorf("recorded scale %+v, want count 3, cpu 500", sc)
	}

	// A later promotion of the release renders with the scale by hand.
	if _, err := a.ApplyRelease(ctx, applyInput()); err != nil {
		t.Fatal(err)
	}
	if web := deployment(t, fs, "web"); *web.Spec.Replicas != 3 || web.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().MilliValue() != 500 {
		t.Errorf("after a promotion web has %d replicas, requests %v: the scale by hand is lost", *web.Spec.Replicas, web.Spec.Template.Spec.Containers[0].Resources.Requests)
	}
}

func deployment(t *testing.T, fs *fakeStore, name string) *appsv1.Deployment {
	t.Helper()
	d, err := fs.core.AppsV1().Deployments(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Each refusal is permanent, says what to do and writes nothing.
func TestScaleAppRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, status, release, service string
		kind, want                     string
	}{
		{"updating", model.AppUpdating, testRelease, "web", ErrConflict, "app myapp is currently updating: wait for it to end (`slipway promotions info -a myapp`), then scale"},
		{"no release", model.AppRunning, "", "web", ErrInvalid, "app myapp has no active release to scale: promote one first (`slipway releases promote -a myapp`)"},
		{"no service", model.AppRunning, testRelease, "db", ErrInvalid, "release " + testRelease + " has no service db: its services are web, worker"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recs := scaleRecords(tt.status)
			recs[0].(*records.App).Status.Release = tt.release
			fs := newFakeStore(t, recs, releaseEnvSecret())
			a := &Activities{Store: fs.Store}
			_, err := a.ScaleApp(context.Background(), ScaleInput{App: testApp, Service: tt.service, Count: ptr.To[int32](2)})
			wantPermanent(t, err, tt.kind, tt.want)
			if w := fs.coreWrites(); len(w) != 0 {
				t.Errorf("writes %q, want none", w)
			}
			if app, _ := fs.GetApp(context.Background(), testApp); len(app.Spec.Scale) != 0 {
				t.Errorf("scale recorded: %+v", app.Spec.Scale)
			}
		})
	}
	fs := newFakeStore(t, scaleRecords(model.AppRunning), releaseEnvSecret())
	_, err := (&Activities{Store: fs.Store}).ScaleApp(context.Background(), ScaleInput{App: testApp, Service: "web"})
	wantPermanent(t, err, ErrInvalid, "nothing to scale: pass --count, --cpu or --memory")
}
