package activities

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/records"
)

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, UID: "uid-1", ResourceVersion: "7"}}
}

func ownLabels(app string) map[string]string {
	return map[string]string{records.LabelRack: testRack, records.LabelApp: app}
}

func appRecord(status string) *records.App {
	return &records.App{
		TypeMeta:   metav1.TypeMeta{APIVersion: records.Group + "/" + records.Version, Kind: "App"},
		ObjectMeta: metav1.ObjectMeta{Name: testApp, Namespace: testNS, Labels: ownLabels(testApp)},
		Status:     records.AppStatus{Status: status},
	}
}

// wantPermanent checks err is a non-retryable error of kind whose message
// contains msg and is one line.
func wantPermanent(t *testing.T, err error, kind, msg string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != kind {
		t.Fatalf("error %v, want a permanent %s error", err, kind)
	}
	if !strings.Contains(appErr.Message(), msg) || strings.Contains(appErr.Message(), "\n") {
		t.Fatalf("error %q, want one line with %q", appErr.Message(), msg)
	}
}

func TestCreateAppRefusesANamespaceThatIsNotSlipways(t *testing.T) {
	for name, labels := range map[string]map[string]string{
		"unlabelled":     nil,
		"other app":      ownLabels("other"),
		"other rack":     {records.LabelRack: "elsewhere", records.LabelApp: testApp},
		"app label only": {records.LabelApp: testApp},
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFakeStore(t, nil, namespace(testNS, labels))
			a := &Activities{Store: fs.Store}
			_, err := a.CreateApp(context.Background(), AppInput{App: testApp, CreatedBy: "wf/run"})
			wantPermanent(t, err, ErrConflict, "namespace "+testNS+" exists and is not slipway's: pick another app name")
			if w := fs.coreWrites(); len(w) != 0 {
				t.Errorf("wrote %q", w)
			}
			if n := len(fs.dyn.Actions()); n != 0 {
				t.Errorf("%d record actions, want none", n)
			}
		})
	}
}

func TestCreateAppRefusesReservedNames(t *testing.T) {
	fs := newFakeStore(t, nil)
	fs.Rack = "kube"
	a := &Activities{Store: fs.Store}
	_, err := a.CreateApp(context.Background(), AppInput{App: "system", CreatedBy: "wf/run"})
	wantPermanent(t, err, ErrInvalid, "namespace kube-system belongs to Kubernetes")
	if n := len(fs.core.Actions()) + len(fs.dyn.Actions()); n != 0 {
		t.Errorf("%d API calls for a reserved name, want none", n)
	}
}

func TestCreateAppLabelsAndBinds(t *testing.T) {
	fs := newFakeStore(t, nil)
	a := &Activities{Store: fs.Store}
	if _, err := a.CreateApp(context.Background(), AppInput{App: testApp, CreatedBy: "wf/run"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"create namespaces " + testNS, "create rolebindings " + rbac.AppBindingName}
	if w := fs.coreWrites(); !slices.Equal(w, want) {
		t.Errorf("writes %q, want %q", w, want)
	}
	n, err := fs.core.CoreV1().Namespaces().Get(context.Background(), testNS, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !model.Owned(n.Labels, testRack, testApp) {
		t.Errorf("namespace labels %v", n.Labels)
	}
	b, err := fs.core.RbacV1().RoleBindings(testNS).Get(context.Background(), rbac.AppBindingName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.RoleRef.Name != rbac.AppRole || b.Subjects[0].Namespace != model.SystemNamespace(testRack) {
		t.Errorf("binding %+v", b)
	}
	// A retry (same workflow) adopts its own namespace.
	if _, err := a.CreateApp(context.Background(), AppInput{App: testApp, CreatedBy: "wf/run"}); err != nil {
		t.Errorf("retry: %v", err)
	}
}

func TestDeleteNamespaceRefusesANamespaceThatIsNotSlipways(t *testing.T) {
	fs := newFakeStore(t, nil, namespace(testNS, map[string]string{"team": "victim"}))
	a := &Activities{Store: fs.Store}
	err := a.DeleteNamespace(context.Background(), AppInput{App: testApp})
	wantPermanent(t, err, ErrConflict, "namespace "+testNS+" is not slipway's")
	if w := fs.coreWrites(); len(w) != 0 {
		t.Errorf("wrote %q", w)
	}
}

func TestDeleteNamespaceIsConditional(t *testing.T) {
	fs := newFakeStore(t, nil, namespace(testNS, ownLabels(testApp)))
	a := &Activities{Store: fs.Store}
	if err := a.DeleteNamespace(context.Background(), AppInput{App: testApp}); err != nil {
		t.Fatal(err)
	}
	var del []k8stesting.DeleteActionImpl
	for _, act := range fs.core.Actions() {
		if d, ok := act.(k8stesting.DeleteActionImpl); ok {
			del = append(del, d)
		}
	}
	if len(del) != 1 {
		t.Fatalf("%d deletes, want 1", len(del))
	}
	p := del[0].DeleteOptions.Preconditions
	if p == nil || p.UID == nil || *p.UID != "uid-1" || p.ResourceVersion == nil || *p.ResourceVersion != "7" {
		t.Errorf("delete preconditions %+v, want the UID and resourceVersion that were checked", p)
	}
}

func TestDeleteRefusesReservedNames(t *testing.T) {
	fs := newFakeStore(t, nil)
	fs.Rack = "kube"
	a := &Activities{Store: fs.Store}
	for name, call := range map[string]func() error{
		"StopAppWork":     func() error { return a.StopAppWork(context.Background(), AppInput{App: "system", Force: true}) },
		"MarkAppDeleting": func() error { return a.MarkAppDeleting(context.Background(), AppInput{App: "system", Force: true}) },
	} {
		wantPermanent(t, call(), ErrInvalid, "is reserved")
		if n := len(fs.core.Actions()) + len(fs.dyn.Actions()); n != 0 {
			t.Errorf("%s: %d API calls for a reserved name, want none", name, n)
		}
	}
}

func TestDeleteRefusesWhileUpdating(t *testing.T) {
	fs := newFakeStore(t, []any{appRecord(model.AppUpdating)}, namespace(testNS, ownLabels(testApp)))
	a := &Activities{Store: fs.Store}
	in := AppInput{App: testApp}
	wantPermanent(t, a.StopAppWork(context.Background(), in), ErrConflict, "app "+testApp+" is currently updating: wait for it or use --force")
	wantPermanent(t, a.MarkAppDeleting(context.Background(), in), ErrConflict, "is currently updating")
	app, err := fs.GetApp(context.Background(), testApp)
	if err != nil || app.Status.Status != model.AppUpdating {
		t.Errorf("app %+v, %v: a refused delete must not mark it", app, err)
	}
	// Forced, the mark goes through (StopAppWork has cancelled the runs).
	in.Force = true
	if err := a.MarkAppDeleting(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if app, _ := fs.GetApp(context.Background(), testApp); app.Status.Status != model.AppDeleting {
		t.Errorf("status %q after a forced mark, want deleting", app.Status.Status)
	}
}

// ProtectApp sets the app's protection, which the next promotion's begin
// reads; setting what is there already succeeds.
func TestProtectAppIsReadByTheNextPromotion(t *testing.T) {
	ctx := context.Background()
	fs := newFakeStore(t, []any{appRecord(model.AppRunning)})
	a := &Activities{Store: fs.Store}
	for range 2 {
		if err := a.ProtectApp(ctx, ProtectInput{App: testApp, Protected: true}); err != nil {
			t.Fatal(err)
		}
	}
	app, err := fs.Store.GetApp(ctx, testApp)
	if err != nil {
		t.Fatal(err)
	}
	if !app.Spec.Protected {
		t.Error("app not protected after ProtectApp")
	}
	if err := a.ProtectApp(ctx, ProtectInput{App: "nope", Protected: true}); err == nil {
		t.Error("protecting a missing app: no error")
	}
}
