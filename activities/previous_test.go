package activities

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

const keepingPromotion = "PKEEPINGPRO"

var windowEnd = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// keptDeployment is a kept Deployment as KeepPrevious leaves it, rolled
// out (ready) or not.
func keptDeployment(service, promotion, release string, ready bool) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: render.PreviousName(service), Namespace: testNS, UID: types.UID("uid-" + promotion + "-" + service), Generation: 1,
			Labels: map[string]string{
				render.LabelApp: testApp, render.LabelRelease: release, render.LabelTrack: render.TrackPrevious, render.LabelKept: service,
			},
			Annotations: map[string]string{render.AnnotationKeptBy: promotion, render.AnnotationKeptUntil: windowEnd.Format(time.RFC3339)},
		},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2, ReadyReplicas: 2,
		},
	}
	if !ready {
		d.Status.AvailableReplicas, d.Status.ReadyReplicas = 0, 0
	}
	return d
}

// serviceObj is a Service of the app selecting sel.
func serviceObj(name string, sel map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{render.LabelApp: testApp}},
		Spec:       corev1.ServiceSpec{Selector: sel},
	}
}

func selectorOf(t *testing.T, fs *fakeStore, name string) map[string]string {
	t.Helper()
	s, err := fs.core.CoreV1().Services(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.Selector
}

func steps(t *testing.T, fs *fakeStore) []string {
	t.Helper()
	p, err := fs.GetPromotion(context.Background(), testApp, testPromotion)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range p.Status.Steps {
		out = append(out, s.Message)
	}
	return out
}

// KeepPrevious keeps the release's services that take traffic (web, not
// the portless worker) in kept Deployments whose pods the Service does
// not select, and says so on the promotion; a retry changes nothing.
func TestKeepPrevious(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	in := KeepInput{App: testApp, Promotion: testPromotion, Release: testRelease, Services: []string{"web", "worker"}, Until: windowEnd}
	for range 2 {
		res, err := a.KeepPrevious(ctx, in)
		if err != nil {
			t.Fatalf("KeepPrevious: %v", err)
		}
		if !slices.Equal(res.Services, []string{"web"}) {
			t.Fatalf("kept %v, want web alone", res.Services)
		}
	}
	deps, err := fs.core.AppsV1().Deployments(testNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps.Items) != 1 || deps.Items[0].Name != "web-previous" {
		t.Fatalf("Deployments %v, want web-previous alone", deps.Items)
	}
	d := deps.Items[0]
	if d.Annotations[render.AnnotationKeptBy] != testPromotion || d.Spec.Template.Labels[render.LabelRelease] != testRelease {
		t.Errorf("kept Deployment %v %v", d.Annotations, d.Spec.Template.Labels)
	}
	if _, ok := d.Spec.Template.Labels[render.LabelService]; ok {
		t.Errorf("kept pods carry the service label: %v", d.Spec.Template.Labels)
	}
	if _, err := fs.core.CoreV1().Secrets(testNS).Get(ctx, render.SecretName("web", testRelease), metav1.GetOptions{}); err != nil {
		t.Errorf("the kept pods' env Secret: %v", err)
	}
	want := []string{"keeping " + testRelease + " until 2026-11-27T10:00:00Z (web)"}
	if got := steps(t, fs); !slices.Equal(got, want) {
		t.Errorf("steps %q, want %q", got, want)
	}

	// The window is what the next promotion's Begin finds.
	w, err := a.openWindow(ctx, testApp)
	if err != nil {
		t.Fatal(err)
	}
	if w == nil || w.Promotion != testPromotion || w.Release != testRelease || !w.Until.Equal(windowEnd) || !slices.Equal(w.Services, []string{"web"}) || w.Ready {
		t.Errorf("open window %+v, want %s's, of web, not ready (no pod has started)", w, testPromotion)
	}
}

func TestOpenWindow(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, promoteRecords())
	a := &Activities{Store: fs.Store}
	if w, err := a.openWindow(ctx, testApp); err != nil || w != nil {
		t.Fatalf("no kept Deployment: window %+v, %v; want none", w, err)
	}
	fs = newFakeStore(t, promoteRecords(),
		keptDeployment("web", keepingPromotion, oldRelease, true), keptDeployment("api", keepingPromotion, oldRelease, true))
	a = &Activities{Store: fs.Store}
	w, err := a.openWindow(ctx, testApp)
	if err != nil {
		t.Fatal(err)
	}
	want := &KeptWindow{Promotion: keepingPromotion, Release: oldRelease, Until: windowEnd, Services: []string{"api", "web"}, Ready: true}
	if w == nil || w.Promotion != want.Promotion || w.Release != want.Release || !slices.Equal(w.Services, want.Services) || !w.Ready {
		t.Errorf("window %+v, want %+v", w, want)
	}
}

// The switch: the Service and the balancer of web point at its kept pods,
// one patch each, and nothing else is touched; a second call writes
// nothing. A window whose pods are not all ready switches nothing.
func TestSwitchTraffic(t *testing.T) {
	ctx := context.Background()
	main := render.MainSelector(testApp, "web")
	fs := newFakeStore(t, promoteRecords(),
		keptDeployment("web", keepingPromotion, oldRelease, true),
		serviceObj("web", main), serviceObj("balancer-edge", main),
		serviceObj("api", render.MainSelector(testApp, "api")),
		serviceObj("theirs", map[string]string{"run": "web"}))
	a := &Activities{Store: fs.Store}
	in := SwitchInput{App: testApp, Promotion: testPromotion, Window: keepingPromotion, Release: oldRelease}
	res, err := a.SwitchTraffic(ctx, in)
	if err != nil {
		t.Fatalf("SwitchTraffic: %v", err)
	}
	if !slices.Equal(res.Services, []string{"web"}) || res.At.IsZero() {
		t.Fatalf("switched %+v, want web with a time", res)
	}
	kept := render.PreviousSelector(testApp, "web")
	for name, want := range map[string]map[string]string{
		"web": kept, "balancer-edge": kept, "api": render.MainSelector(testApp, "api"), "theirs": {"run": "web"},
	} {
		if got := selectorOf(t, fs, name); !maps.Equal(got, want) {
			t.Errorf("Service %s selects %v, want %v", name, got, want)
		}
	}
	if n := len(fs.patches()); n != 2 {
		t.Errorf("%d patches, want one per switched Service (2)", n)
	}
	for _, p := range fs.patches() {
		if p.PatchOptions.FieldManager != switchManager {
			t.Errorf("patched by %q, want %q", p.PatchOptions.FieldManager, switchManager)
		}
	}
	if got := steps(t, fs); !slices.Equal(got, []string{"traffic switched to " + oldRelease + " (kept pods)"}) {
		t.Errorf("steps %q", got)
	}
	evs, err := fs.core.CoreV1().Events(testNS).List(ctx, metav1.ListOptions{})
	if err != nil || len(evs.Items) != 1 || evs.Items[0].Message != "traffic switched to "+oldRelease+" (kept pods)" {
		t.Errorf("events %+v, %v; want the switch", evs, err)
	}

	before := len(fs.patches())
	if _, err := a.SwitchTraffic(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := len(fs.patches()) - before; n != 0 {
		t.Errorf("a retried switch patched %d Services, want none", n)
	}

	fs = newFakeStore(t, promoteRecords(), keptDeployment("web", keepingPromotion, oldRelease, false), serviceObj("web", main))
	a = &Activities{Store: fs.Store}
	if res, err := a.SwitchTraffic(ctx, in); err != nil || len(res.Services) != 0 {
		t.Errorf("kept pods not ready: switched %+v, %v; want nothing", res, err)
	}
	if got := selectorOf(t, fs, "web"); !maps.Equal(got, main) {
		t.Errorf("kept pods not ready: web selects %v", got)
	}
}

// Closing a window deletes its own kept Deployments only, never a later
// window's; while a promotion of the app runs (here a rollback that has
// switched web to the kept pods) the window is left alone unless forced,
// and forcing switches the Services back before the delete.
func TestCloseWindow(t *testing.T) {
	ctx := context.Background()
	main, kept := render.MainSelector(testApp, "web"), render.PreviousSelector(testApp, "web")
	newer := keptDeployment("web", "PNEWERPROMO", oldRelease, true)
	fs := newFakeStore(t, promoteRecords(), newer, serviceObj("web", main))
	a := &Activities{Store: fs.Store}
	res, err := a.CloseWindow(ctx, CloseInput{App: testApp, Window: keepingPromotion})
	if err != nil || len(res.Closed) != 0 || res.InUse {
		t.Fatalf("closing a window that is gone: %+v, %v", res, err)
	}
	if _, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, newer.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("the newer window's Deployment: %v", err)
	}

	fs = newFakeStore(t, promoteRecords(), keptDeployment("web", keepingPromotion, oldRelease, true), serviceObj("web", kept))
	a = &Activities{Store: fs.Store}
	res, err = a.CloseWindow(ctx, CloseInput{App: testApp, Window: keepingPromotion})
	if err != nil || !res.InUse || len(fs.coreWrites()) != 0 {
		t.Fatalf("closing a window in use: %+v, %v, writes %v; want in use, nothing written", res, err, fs.coreWrites())
	}
	res, err = a.CloseWindow(ctx, CloseInput{App: testApp, Window: keepingPromotion, Promotion: testPromotion, Force: true})
	if err != nil || res.InUse || !slices.Equal(res.Closed, []string{"web-previous"}) {
		t.Fatalf("forced close: %+v, %v", res, err)
	}
	if got := selectorOf(t, fs, "web"); !maps.Equal(got, main) {
		t.Errorf("after the forced close web selects %v, want its own pods %v", got, main)
	}
	want := []string{"patch services web", "delete deployments web-previous"}
	if got := fs.coreWrites(); !slices.Equal(got[:min(2, len(got))], want) {
		t.Errorf("writes %v, want the selector restored before the delete: %v", got, want)
	}
	if got := steps(t, fs); !slices.Equal(got, []string{"closed the rollback window of " + oldRelease}) {
		t.Errorf("steps %q", got)
	}
	if _, err := a.CloseWindow(ctx, CloseInput{App: testApp, Window: keepingPromotion, Force: true}); err != nil {
		t.Errorf("closing again: %v", err)
	}
}

// A window whose kept pods a Service still selects once no promotion runs
// (a rollback whose own rollback failed left it so) is closed at its end
// all the same: the Service is switched back first.
func TestCloseWindowNoRollbackRunning(t *testing.T) {
	ctx := context.Background()
	recs := promoteRecords()
	recs[0].(*records.App).Status.Status = model.AppError
	fs := newFakeStore(t, recs, keptDeployment("web", keepingPromotion, oldRelease, true),
		serviceObj("web", render.PreviousSelector(testApp, "web")))
	a := &Activities{Store: fs.Store}
	res, err := a.CloseWindow(ctx, CloseInput{App: testApp, Window: keepingPromotion})
	if err != nil || res.InUse || !slices.Equal(res.Closed, []string{"web-previous"}) {
		t.Fatalf("close: %+v, %v; want closed", res, err)
	}
	if got, want := selectorOf(t, fs, "web"), render.MainSelector(testApp, "web"); !maps.Equal(got, want) {
		t.Errorf("web selects %v, want %v", got, want)
	}
}

// A release applied while a rollback's traffic is on the kept pods leaves
// the switched Service pointing at them.
func TestApplyReleaseKeepsSwitchedSelector(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	in := applyInput()
	in.Switched = []string{"web"}
	if _, err := a.ApplyRelease(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got, want := selectorOf(t, fs, "web"), render.PreviousSelector(testApp, "web"); !maps.Equal(got, want) {
		t.Errorf("web selects %v while switched, want %v", got, want)
	}
	if _, err := a.ApplyRelease(ctx, applyInput()); err != nil {
		t.Fatal(err)
	}
	if got, want := selectorOf(t, fs, "web"), render.MainSelector(testApp, "web"); !maps.Equal(got, want) {
		t.Errorf("web selects %v once switched back, want %v", got, want)
	}
}
