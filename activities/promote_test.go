package activities

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

const (
	testDigest    = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testRelease   = "RBCDEFGHIJK"
	testBuild     = "BABCDEFGHIJ"
	testPromotion = "PCDEFGHIJKL"
)

const testManifest = `services:
  web:
    build: .
    command: bin/web
    port: 5000
    environment:
      - DATABASE_URL
  worker:
    image: busybox:1.36
    command: sleep 3600
`

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: records.Group + "/" + records.Version, Kind: kind}
}

// promoteRecords are an app with a release of testManifest whose build
// pushed web by digest, and the promotion that applies it.
func promoteRecords() []any {
	return []any{
		&records.App{
			TypeMeta:   typeMeta("App"),
			ObjectMeta: metav1.ObjectMeta{Name: testApp, Namespace: testNS, UID: "app-uid"},
			Status:     records.AppStatus{Status: "updating", Latest: testRelease, Sequence: 2, Release: oldRelease},
		},
		&records.Build{
			TypeMeta:   typeMeta("Build"),
			ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName(testBuild), Namespace: testNS},
			Spec:       records.BuildSpec{ID: testBuild, App: testApp},
			Status: records.BuildStatus{Status: "complete", Images: []records.Image{
				{Service: "web", Ref: "reg:5000/myapp:web." + testBuild, Digest: testDigest},
				{Service: "worker", Ref: "index.docker.io/library/busybox:1.36"},
			}},
		},
		&records.Release{
			TypeMeta:   typeMeta("Release"),
			ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName(testRelease), Namespace: testNS},
			Spec: records.ReleaseSpec{
				ID: testRelease, App: testApp, Build: testBuild, Manifest: testManifest, Sequence: 2,
				Env: records.EnvSecretName(testRelease),
			},
		},
		&records.Promotion{
			TypeMeta:   typeMeta("Promotion"),
			ObjectMeta: metav1.ObjectMeta{Name: records.PromotionName(testPromotion), Namespace: testNS},
			Spec:       records.PromotionSpec{ID: testPromotion, App: testApp, Release: testRelease, From: oldRelease},
			Status:     records.PromotionStatus{Phase: model.PhasePending},
		},
	}
}

func releaseEnvSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: records.EnvSecretName(testRelease), Namespace: testNS, Labels: map[string]string{records.LabelApp: testApp}},
		Data:       map[string][]byte{"DATABASE_URL": []byte("postgres://db")},
	}
}

func applyInput() ApplyInput {
	return ApplyInput{
		App: testApp, Release: testRelease, Promotion: testPromotion,
		Phase: model.PhaseRollingOut, Step: "applying " + testRelease, ProgressDeadline: 90,
		Event: Transition{Seq: 2, From: model.AtomPending, To: model.AtomUpdating},
	}
}

func TestApplyRelease(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	a := &Activities{Store: fs.Store}

	res, err := a.ApplyRelease(ctx, applyInput())
	if err != nil {
		t.Fatalf("ApplyRelease: %v", err)
	}
	if want := []string{"web", "worker"}; !slices.Equal(res.Services, want) {
		t.Errorf("services = %v, want %v", res.Services, want)
	}

	// Every object by server-side apply, under slipway's field manager,
	// forced; services side by side, each with its Secret first so no pod
	// starts without its env.
	want := map[string][]string{
		"web":    {"secrets web-env-rbcdefghijk", "services web", "deployments web"},
		"worker": {"secrets worker-env-rbcdefghijk", "deployments worker"},
	}
	got := map[string][]string{}
	for _, p := range fs.patches() {
		svc := strings.SplitN(p.GetName(), "-", 2)[0]
		got[svc] = append(got[svc], p.GetResource().Resource+" "+p.GetName())
		if p.GetPatchType() != types.ApplyPatchType {
			t.Errorf("%s %s: patch type %s, want apply", p.GetResource().Resource, p.GetName(), p.GetPatchType())
		}
		if p.PatchOptions.FieldManager != records.FieldManager || p.PatchOptions.Force == nil || !*p.PatchOptions.Force {
			t.Errorf("%s %s: options %+v, want field manager %q, forced", p.GetResource().Resource, p.GetName(), p.PatchOptions, records.FieldManager)
		}
		if p.GetNamespace() != testNS {
			t.Errorf("%s %s in namespace %q", p.GetResource().Resource, p.GetName(), p.GetNamespace())
		}
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("patches by service =\n%q\nwant\n%q", got, want)
	}

	// What was applied is the release, rendered.
	web, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := web.Spec.Template.Spec.Containers[0]
	if c.Image != "reg:5000/myapp@"+testDigest {
		t.Errorf("web image = %q, want the build's digest", c.Image)
	}
	if web.Spec.Template.Labels[render.LabelRelease] != testRelease || web.Labels[render.LabelBuild] != testBuild {
		t.Errorf("web labels = %v, template %v", web.Labels, web.Spec.Template.Labels)
	}
	if *web.Spec.ProgressDeadlineSeconds != 90 {
		t.Errorf("progressDeadlineSeconds = %d, want 90", *web.Spec.ProgressDeadlineSeconds)
	}
	worker, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := worker.Spec.Template.Spec.Containers[0].Image; img != "index.docker.io/library/busybox:1.36" {
		t.Errorf("worker image = %q, want the build's resolved ref", img)
	}
	sec, err := fs.core.CoreV1().Secrets(testNS).Get(ctx, render.SecretName("web", testRelease), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["DATABASE_URL"]) != "postgres://db" || string(sec.Data["RELEASE"]) != testRelease {
		t.Errorf("web Secret data = %q", sec.Data)
	}
	if _, err := fs.core.CoreV1().Services(testNS).Get(ctx, "worker", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("worker without a port has a Service (err %v)", err)
	}

	// The promotion's record and the app's event.
	p, err := fs.GetPromotion(ctx, testApp, testPromotion)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != model.PhaseRollingOut || len(p.Status.Steps) != 1 || p.Status.Steps[0].Message != "applying "+testRelease {
		t.Errorf("promotion status = %+v", p.Status)
	}
	ev, err := fs.core.CoreV1().Events(testNS).Get(ctx, testApp+".pcdefghijkl.2", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("event: %v", err)
	}
	if ev.Reason != "Status" || ev.Message != "Pending => Updating" || ev.InvolvedObject.Name != testApp {
		t.Errorf("event = %s %q on %s", ev.Reason, ev.Message, ev.InvolvedObject.Name)
	}

	// Applying again (a retried activity) changes nothing and adds no step.
	fs.core.ClearActions()
	if _, err := a.ApplyRelease(ctx, applyInput()); err != nil {
		t.Fatalf("ApplyRelease again: %v", err)
	}
	again, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Spec, web.Spec) {
		t.Errorf("the second apply changed the Deployment's spec:\n%+v\n%+v", again.Spec, web.Spec)
	}
	for _, w := range fs.coreWrites() {
		if !strings.HasPrefix(w, "patch ") && w != "create events "+testApp+".pcdefghijkl.2" {
			t.Errorf("the second apply wrote %s", w)
		}
	}
	if p, _ := fs.GetPromotion(ctx, testApp, testPromotion); len(p.Status.Steps) != 1 {
		t.Errorf("steps after a retry = %+v, want one", p.Status.Steps)
	}
}

// A paused Deployment (a promotion paused by hand, then rolled back or
// promoted again) is resumed by the apply, with a merge patch that touches
// nothing but spec.paused; its current replicas are kept.
func TestApplyReleaseResumesPaused(t *testing.T) {
	ctx := context.Background()
	paused := rolledOut("web", oldRelease, 5)
	paused.Spec.Paused = true
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret(), paused)
	a := &Activities{Store: fs.Store}
	if _, err := a.ApplyRelease(ctx, applyInput()); err != nil {
		t.Fatalf("ApplyRelease: %v", err)
	}

	var merges []k8stesting.PatchActionImpl
	for _, p := range fs.patches() {
		if p.GetPatchType() == types.MergePatchType {
			merges = append(merges, p)
		}
	}
	if len(merges) != 1 {
		t.Fatalf("merge patches = %d (%v), want one for web", len(merges), fs.coreWrites())
	}
	m := merges[0]
	if m.GetResource().Resource != "deployments" || m.GetName() != "web" || string(m.GetPatch()) != `{"spec":{"paused":false}}` {
		t.Errorf("merge patch %s %s %s", m.GetResource().Resource, m.GetName(), m.GetPatch())
	}
	if m.PatchOptions.FieldManager != records.FieldManager+"-pause" {
		t.Errorf("merge patch field manager %q", m.PatchOptions.FieldManager)
	}
	// The merge patch comes after the apply of the Deployment.
	writes := fs.coreWrites()
	if i := slices.Index(writes, "patch deployments web"); i < 0 || slices.Index(writes[i+1:], "patch deployments web") < 0 {
		t.Errorf("writes = %q, want the apply of web then its merge patch", writes)
	}

	web, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if web.Spec.Paused {
		t.Error("web is still paused")
	}
	if *web.Spec.Replicas != 5 {
		t.Errorf("web replicas = %d, want the 5 it ran", *web.Spec.Replicas)
	}
	if web.Spec.Template.Labels[render.LabelRelease] != testRelease {
		t.Errorf("web template runs %s", web.Spec.Template.Labels[render.LabelRelease])
	}
}

// Objects that slipway applied before it sent apply configurations (each
// typed object marshalled whole, with an empty status, under the same field
// manager) are taken over by the next apply with nothing lost: the fields
// no longer sent were empty, so dropping their ownership removes nothing.
func TestApplyReleaseOverTypedApply(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	r, err := a.renderRelease(ctx, testApp, testRelease, applyInput().ProgressDeadline)
	if err != nil {
		t.Fatal(err)
	}
	// The earlier form: a typed object, as json.Marshal wrote it.
	typedApply := func(ac, typed any, resource string, patch func([]byte) error) {
		t.Helper()
		b, err := json.Marshal(ac)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, typed); err != nil {
			t.Fatal(err)
		}
		if b, err = json.Marshal(typed); err != nil {
			t.Fatal(err)
		}
		if resource != "secret" && !strings.Contains(string(b), `"status":{`) {
			t.Fatalf("the typed %s has no empty status to drop: %s", resource, b)
		}
		if err := patch(b); err != nil {
			t.Fatalf("typed apply of %s: %v", resource, err)
		}
	}
	opts := metav1.PatchOptions{FieldManager: records.FieldManager, Force: ptr.To(true)}
	for _, svc := range r.services {
		typedApply(svc.Secret, &corev1.Secret{}, "secret", func(b []byte) error {
			_, err := fs.core.CoreV1().Secrets(testNS).Patch(ctx, *svc.Secret.Name, types.ApplyPatchType, b, opts)
			return err
		})
		if svc.Service != nil {
			typedApply(svc.Service, &corev1.Service{}, "service", func(b []byte) error {
				_, err := fs.core.CoreV1().Services(testNS).Patch(ctx, *svc.Service.Name, types.ApplyPatchType, b, opts)
				return err
			})
		}
		typedApply(svc.Deployment, &appsv1.Deployment{}, "deployment", func(b []byte) error {
			_, err := fs.core.AppsV1().Deployments(testNS).Patch(ctx, *svc.Deployment.Name, types.ApplyPatchType, b, opts)
			return err
		})
	}
	before := snapshot(ctx, t, fs)
	if _, err := a.ApplyRelease(ctx, applyInput()); err != nil {
		t.Fatalf("ApplyRelease over the typed apply: %v", err)
	}
	after := snapshot(ctx, t, fs)
	for k, want := range before {
		if got := after[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s changed:\n%s\nwant\n%s", k, got, want)
		}
	}
	if len(after) != len(before) || len(before) != 5 {
		t.Errorf("objects before %d, after %d, want 5", len(before), len(after))
	}
}

// snapshot is every Secret, Service and Deployment in the app's namespace:
// labels, data and spec, as JSON.
func snapshot(ctx context.Context, t *testing.T, fs *fakeStore) map[string]string {
	t.Helper()
	out := map[string]string{}
	put := func(key string, v ...any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[key] = string(b)
	}
	secrets, err := fs.core.CoreV1().Secrets(testNS).List(ctx, metav1.ListOptions{LabelSelector: render.LabelManagedBy + "=slipway"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		put("secret "+s.Name, s.Labels, s.Type, s.Data)
	}
	svcs, err := fs.core.CoreV1().Services(testNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs.Items {
		put("service "+s.Name, s.Labels, s.Spec)
	}
	deps, err := fs.core.AppsV1().Deployments(testNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		put("deployment "+d.Name, d.Labels, d.Spec)
	}
	return out
}

// A build record whose digest is damaged fails the apply for good, before
// anything is written.
func TestApplyReleaseBadDigest(t *testing.T) {
	ctx := context.Background()
	recs := promoteRecords()
	b := recs[1].(*records.Build)
	b.Status.Images[0].Digest = "sha256:abc"
	fs := newFakeStore(t, recs, releaseEnvSecret())
	a := &Activities{Store: fs.Store}
	_, err := a.ApplyRelease(ctx, applyInput())
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrInvalid || !appErr.NonRetryable() {
		t.Fatalf("error = %v, want a permanent %s", err, ErrInvalid)
	}
	if msg := appErr.Message(); !strings.Contains(msg, "services.web") || !strings.HasSuffix(msg, "build again") {
		t.Errorf("error %q does not name the service and what to do", msg)
	}
	if w := fs.coreWrites(); len(w) != 0 {
		t.Errorf("wrote %q for a release whose digest is damaged", w)
	}
}

func TestApplyReleaseMissingEnv(t *testing.T) {
	ctx := context.Background()
	env := releaseEnvSecret()
	env.Data = nil
	fs := newFakeStore(t, promoteRecords(), env)
	a := &Activities{Store: fs.Store}
	_, err := a.ApplyRelease(ctx, applyInput())
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error = %v, want an application error", err)
	}
	if appErr.Message() != "required env: DATABASE_URL" || appErr.Type() != ErrInvalid || !appErr.NonRetryable() {
		t.Errorf("error = %q of type %q (non-retryable %v), want a permanent %s \"required env: DATABASE_URL\"",
			appErr.Message(), appErr.Type(), appErr.NonRetryable(), ErrInvalid)
	}
	if w := fs.coreWrites(); len(w) != 0 {
		t.Errorf("wrote %q for a release that cannot render", w)
	}
	for _, act := range fs.dyn.Actions() {
		if v := act.GetVerb(); v != "get" && v != "list" {
			t.Errorf("%s %s for a release that cannot render", v, act.GetResource().Resource)
		}
	}
}

// pruneObjects are what two releases of the app (web+old, then web) and
// another app left in the cluster.
func pruneObjects() []runtime.Object {
	lbl := func(app, svc, release string) map[string]string {
		return map[string]string{
			render.LabelApp: app, render.LabelService: svc, render.LabelRelease: release, render.LabelManagedBy: "slipway",
		}
	}
	dep := func(ns, name string, labels map[string]string) runtime.Object {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}}
	}
	svc := func(ns, name string, labels map[string]string) runtime.Object {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}}
	}
	sec := func(ns, name string, labels map[string]string) runtime.Object {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}}
	}
	res := map[string]string{render.LabelApp: testApp, render.LabelResource: "db", render.LabelManagedBy: "slipway"}
	return []runtime.Object{
		dep(testNS, "web", lbl(testApp, "web", "R2")),
		dep(testNS, "old", lbl(testApp, "old", "R1")),
		// R2 runs agent as a DaemonSet, autoscales web and balances it;
		// R1's route and timer for web are gone from R2.
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: testNS, Labels: lbl(testApp, "agent", "R2")}},
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testNS, Labels: lbl(testApp, "web", "R2")}},
		svc(testNS, "balancer-tcp", lbl(testApp, "web", "R2")),
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testNS, Labels: lbl(testApp, "web", "R1")}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "timer-report", Namespace: testNS, Labels: lbl(testApp, "web", "R1")}},
		// A resource outlives every release.
		sec(testNS, "resource-db", res),
		svc(testNS, "resource-db", res),
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "resource-db", Namespace: testNS, Labels: res}},
		svc(testNS, "web", lbl(testApp, "web", "R2")),
		svc(testNS, "old", lbl(testApp, "old", "R1")),
		sec(testNS, "web-env-r0", lbl(testApp, "web", "R0")),
		sec(testNS, "web-env-r1", lbl(testApp, "web", "R1")),
		sec(testNS, "web-env-r2", lbl(testApp, "web", "R2")),
		sec(testNS, "old-env-r1", lbl(testApp, "old", "R1")),
		// Not slipway's rendering: the records' env Secret and an object
		// someone else put in the namespace.
		sec(testNS, "env-r1", map[string]string{records.LabelApp: testApp}),
		dep(testNS, "sidecar", map[string]string{render.LabelApp: testApp}),
		// Another app's objects of a service with the same name.
		dep(testRack+"-other", "old", lbl("other", "old", "R9")),
		sec(testRack+"-other", "old-env-r9", lbl("other", "old", "R9")),
	}
}

func TestPrune(t *testing.T) {
	// What R1 alone had, and R2 no longer has.
	r1Only := []string{"delete deployments old", "delete services old", "delete ingresses web", "delete cronjobs timer-report"}
	tests := []struct {
		name         string
		keep         []string
		release      string
		keepReleases []string
		deleted      []string
	}{
		{"services and releases not kept", []string{"web", "agent"}, "R2", []string{"R2", "R1"}, append(slices.Clone(r1Only),
			"delete secrets old-env-r1", "delete secrets web-env-r0",
		)},
		{"services not kept, every release", []string{"web", "agent"}, "R2", nil, append(slices.Clone(r1Only),
			"delete secrets old-env-r1",
		)},
		{"only the active release", []string{"web", "agent"}, "R2", []string{"R2"}, append(slices.Clone(r1Only),
			"delete secrets old-env-r1", "delete secrets web-env-r0", "delete secrets web-env-r1",
		)},
		{"a service dropped", []string{"web"}, "R2", nil, append(slices.Clone(r1Only), "delete daemonsets agent", "delete secrets old-env-r1")},
		{"nothing kept", nil, "", nil, []string{
			"delete deployments old", "delete deployments web", "delete daemonsets agent", "delete horizontalpodautoscalers web",
			"delete services old", "delete services web", "delete services balancer-tcp", "delete ingresses web", "delete cronjobs timer-report",
			"delete secrets old-env-r1", "delete secrets web-env-r0", "delete secrets web-env-r1", "delete secrets web-env-r2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			fs := newFakeStore(t, nil, pruneObjects()...)
			a := &Activities{Store: fs.Store}
			if err := a.prune(ctx, testApp, tt.keep, tt.release, tt.keepReleases); err != nil {
				t.Fatalf("prune: %v", err)
			}
			got := fs.coreWrites()
			sort.Strings(got)
			want := slices.Clone(tt.deleted)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("writes =\n%q\nwant\n%q", got, want)
			}
			for _, act := range fs.core.Actions() {
				if d, ok := act.(k8stesting.DeleteActionImpl); ok {
					if d.GetNamespace() != testNS {
						t.Errorf("deleted %s in namespace %s", d.GetName(), d.GetNamespace())
					}
					if pp := d.DeleteOptions.PropagationPolicy; pp == nil || *pp != metav1.DeletePropagationBackground {
						t.Errorf("delete %s %s without background propagation", d.GetResource().Resource, d.GetName())
					}
				}
			}
			// What was not deleted is still there.
			if _, err := fs.core.CoreV1().Secrets(testNS).Get(ctx, "env-r1", metav1.GetOptions{}); err != nil {
				t.Errorf("the release's own env Secret: %v", err)
			}
			if _, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, "sidecar", metav1.GetOptions{}); err != nil {
				t.Errorf("a Deployment slipway does not manage: %v", err)
			}
			if _, err := fs.core.AppsV1().Deployments(testRack+"-other").Get(ctx, "old", metav1.GetOptions{}); err != nil {
				t.Errorf("another app's Deployment: %v", err)
			}
			// A resource's Secret and Service carry the app's labels and no
			// service: only the resource label keeps them from the prune.
			if _, err := fs.core.CoreV1().Secrets(testNS).Get(ctx, "resource-db", metav1.GetOptions{}); err != nil {
				t.Errorf("a resource's credentials: %v", err)
			}
			if _, err := fs.core.CoreV1().Services(testNS).Get(ctx, "resource-db", metav1.GetOptions{}); err != nil {
				t.Errorf("a resource's Service: %v", err)
			}
		})
	}
}

// A retried prune finds some objects gone already and does not fail.
func TestPruneAlreadyDeleted(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, nil, pruneObjects()...)
	fs.core.PrependReactor("delete", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(corev1.Resource("services"), "old")
	})
	a := &Activities{Store: fs.Store}
	if err := a.prune(ctx, testApp, []string{"web"}, "R2", nil); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if _, err := fs.core.CoreV1().Secrets(testNS).Get(ctx, "old-env-r1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("prune stopped at the missing Service: old-env-r1 is still there (%v)", err)
	}
}
