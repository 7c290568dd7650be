package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// foreignNamespace makes a namespace that is not slipway's, with a
// ConfigMap in it, as someone else's team would.
func foreignNamespace(t *testing.T, s *testsuite.Stack, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{"team": "victim"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Kube.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "precious"}, Data: map[string]string{"keep": "me"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// untouched checks that a foreign namespace and its ConfigMap are still
// there, unlabelled by slipway, with no RoleBinding of slipway's in it.
func untouched(t *testing.T, s *testsuite.Stack, name string) {
	t.Helper()
	ctx := context.Background()
	n, err := s.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	if n.DeletionTimestamp != nil {
		t.Fatalf("namespace %s is being deleted", name)
	}
	for _, l := range []string{records.LabelRack, records.LabelApp} {
		if _, ok := n.Labels[l]; ok {
			t.Errorf("namespace %s got slipway's label %s: %v", name, l, n.Labels)
		}
	}
	if cm, err := s.Kube.CoreV1().ConfigMaps(name).Get(ctx, "precious", metav1.GetOptions{}); err != nil || cm.Data["keep"] != "me" {
		t.Errorf("ConfigMap precious in %s: %v %v", name, cm, err)
	}
	if _, err := s.Kube.RbacV1().RoleBindings(name).Get(ctx, rbac.AppBindingName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("slipway bound its worker in %s: %v", name, err)
	}
}

// refused checks a CLI run failed with exactly one line on stderr.
func refused(t *testing.T, r testsuite.Result, want string) {
	t.Helper()
	if r.Code != 1 || r.Stderr != "ERROR: "+want+"\n" || r.Stdout != "" {
		t.Fatalf("exit %d\nstdout: %q\nstderr: %q\nwant exit 1 and stderr %q", r.Code, r.Stdout, r.Stderr, "ERROR: "+want+"\n")
	}
}

// runWorkflow starts a workflow straight on Temporal, past the CLI's own
// checks, and returns the message it fails with.
func runWorkflow(t *testing.T, s *testsuite.Stack, id string, wf any, in workflows.AppInput) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: config.TaskQueue}, wf, in)
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	if err == nil {
		t.Fatalf("workflow %s succeeded, want it refused", id)
	}
	return cmdutil.WorkflowError(err).Error()
}

func noWorkflow(t *testing.T, s *testsuite.Stack, id string) {
	t.Helper()
	_, err := s.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("workflow %s was started (%v): a refusal in the CLI must start none", id, err)
	}
}

// `apps create` never adopts a namespace that is not slipway's, whether
// the CLI or the workflow is asked.
func TestCreateRefusesANamespaceItDoesNotOwn(t *testing.T) {
	s := testsuite.Get(t)
	ns := s.Store.Namespace("victim")
	foreignNamespace(t, s, ns)
	want := "namespace " + ns + " exists and is not slipway's: pick another app name"
	refused(t, s.CLI(t, "apps", "create", "victim"), want)
	noWorkflow(t, s, workflows.AppWorkflowID("create", "victim"))
	if got := runWorkflow(t, s, "test/create/victim", workflows.CreateApp, workflows.AppInput{App: "victim"}); got != want {
		t.Errorf("CreateApp workflow failed with %q, want %q", got, want)
	}
	untouched(t, s, ns)
	if _, err := s.Store.GetApp(context.Background(), "victim"); !records.IsNotFound(err) {
		t.Errorf("an app record was written: %v", err)
	}
	refused(t, s.CLI(t, "apps", "delete", "victim"), "no such app: victim (create it with `slipway apps create victim`, or pass -a APP)")
	untouched(t, s, ns)
}

// An app record in a namespace that is not slipway's (as the adoption bug
// left behind) never gets that namespace deleted.
func TestDeleteRefusesANamespaceItDoesNotOwn(t *testing.T) {
	s := testsuite.Get(t)
	ns := s.Store.Namespace("adopted")
	foreignNamespace(t, s, ns)
	if _, err := s.Store.CreateApp(context.Background(), &records.App{
		ObjectMeta: metav1.ObjectMeta{Name: "adopted", Labels: map[string]string{records.LabelRack: s.Settings.Rack, records.LabelApp: "adopted"}},
		Status:     records.AppStatus{Status: model.AppRunning},
	}); err != nil {
		t.Fatal(err)
	}
	want := "namespace " + ns + " is not slipway's (it lacks slipway's labels): slipway will not delete it; delete it with kubectl if you mean to"
	refused(t, s.CLI(t, "apps", "delete", "adopted"), want)
	refused(t, s.CLI(t, "apps", "delete", "adopted", "--force"), want)
	noWorkflow(t, s, workflows.AppWorkflowID("delete", "adopted"))
	if got := runWorkflow(t, s, "test/delete/adopted", workflows.DeleteApp, workflows.AppInput{App: "adopted", Force: true}); got != want {
		t.Errorf("DeleteApp workflow failed with %q, want %q", got, want)
	}
	untouched(t, s, ns)
	if a, err := s.Store.GetApp(context.Background(), "adopted"); err != nil || a.Status.Status != model.AppRunning {
		t.Errorf("app record %+v, %v: a refused delete must not mark it", a, err)
	}
}

// App names whose namespace is Kubernetes' or the rack's own are refused
// before anything starts; with SLIPWAY_RACK=kube, `system` would be
// kube-system.
func TestReservedAppNames(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	before, err := s.Kube.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asKube := func(args ...string) testsuite.Result {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		r, err := s.Run(cctx, testsuite.Invocation{Args: args, Env: []string{"SLIPWAY_RACK=kube"}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	kube := `app name "system" is reserved: namespace kube-system belongs to Kubernetes; pick another app name (or another SLIPWAY_RACK)`
	refused(t, asKube("apps", "create", "system"), kube)
	refused(t, asKube("apps", "delete", "system"), kube)
	refused(t, asKube("apps", "delete", "system", "--force"), kube)
	refused(t, asKube("apps", "create", "public"), `app name "public" is reserved: namespace kube-public belongs to Kubernetes; pick another app name (or another SLIPWAY_RACK)`)
	own := `app name "system" is reserved: namespace slipway-system is the rack's own; pick another app name`
	refused(t, s.CLI(t, "apps", "create", "system"), own)
	refused(t, s.CLI(t, "apps", "create", "Not_A_Label"), `invalid app name "Not_A_Label": use lower-case letters, digits and dashes, starting with a letter, at most 40 characters`)
	noWorkflow(t, s, workflows.AppWorkflowID("create", "system"))
	noWorkflow(t, s, workflows.AppWorkflowID("delete", "system"))
	// The worker refuses too, when the CLI is bypassed.
	if got := runWorkflow(t, s, "test/create/system", workflows.CreateApp, workflows.AppInput{App: "system"}); got != own {
		t.Errorf("CreateApp workflow failed with %q, want %q", got, own)
	}
	after, err := s.Kube.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion || after.DeletionTimestamp != nil {
		t.Errorf("kube-system changed: resourceVersion %s -> %s", before.ResourceVersion, after.ResourceVersion)
	}
}

// `apps delete` is refused while a promotion is in flight and changes
// nothing; --force rolls the promotion back and then deletes the app.
func TestDeleteWhileUpdating(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	deployGood(t, s, "inflight")
	stuck := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=unready", "-a", "inflight"))
	rolling := watchPhase(t, s, "inflight", stuck, model.PhaseRollingOut)
	done := s.Background("releases", "promote", stuck, "-a", "inflight", "--timeout", "60s")
	await(t, rolling)
	// Compare from the moment everything is applied and only the watch runs.
	eventually(t, "web on release "+stuck, 30*time.Second, 50*time.Millisecond, func(context.Context) (bool, string) {
		rel, _ := deployed(t, s, "inflight", "web") // not yet available: stuck never becomes ready
		return rel == stuck, "web runs " + rel
	})
	time.Sleep(500 * time.Millisecond)
	before := snapshot(t, s, "inflight")

	refused(t, s.CLI(t, "apps", "delete", "inflight"), "app inflight is currently updating: wait for it or use --force")
	noWorkflow(t, s, workflows.AppWorkflowID("delete", "inflight"))
	// The worker refuses too, when the CLI is bypassed.
	if got := runWorkflow(t, s, "test/delete/inflight", workflows.DeleteApp, workflows.AppInput{App: "inflight"}); got != "app inflight is currently updating: wait for it or use --force" {
		t.Errorf("DeleteApp workflow failed with %q", got)
	}
	if after := snapshot(t, s, "inflight"); after != before {
		t.Fatalf("a refused delete changed the app:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if a, err := s.Store.GetApp(ctx, "inflight"); err != nil || a.Status.Status != model.AppUpdating {
		t.Fatalf("app %+v, %v: want it still updating", a, err)
	}

	start := time.Now()
	if out := s.MustCLI(t, "apps", "delete", "inflight", "--force"); out != "Deleting inflight... OK\n" {
		t.Fatalf("apps delete --force printed %q", out)
	}
	t.Logf("apps delete --force took %s", time.Since(start).Round(time.Millisecond))
	if _, err := s.Kube.CoreV1().Namespaces().Get(ctx, s.Store.Namespace("inflight"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace of inflight after apps delete --force: %v", err)
	}
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.PromoteWorkflowID("inflight"), "")
	if err != nil {
		t.Fatal(err)
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus().String(); st == "Running" {
		t.Errorf("the promotion still runs after apps delete --force")
	}
	select {
	case o, ok := <-done:
		if !ok || o.Err != nil {
			t.Fatalf("the cancelled promote: %v", o.Err)
		}
		if o.Code == 0 {
			t.Errorf("the cancelled promote exited 0:\n%s", o.Stdout)
		}
		t.Logf("the promotion ended %s after apps delete --force started: %s", o.Ended.Sub(start).Round(time.Millisecond), strings.TrimSpace(o.Stderr))
	case <-time.After(time.Minute):
		t.Fatal("the cancelled promote did not return within a minute of apps delete --force")
	}
}

// The worker runs with a token bound to exactly its roles: it builds,
// changes env, promotes and deletes an app, and may not write a Secret in
// a namespace that is not an app's.
func TestScopedWorker(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	out := s.MustCLI(t, "system", "install")
	if !strings.Contains(out, "Installing roles for ServiceAccount slipway-system/slipway-worker... OK") {
		t.Fatalf("system install printed:\n%s", out)
	}
	kc := s.WorkerKubeconfig(t)
	wc := testsuite.KubeFor(t, kc)
	for _, c := range []struct {
		verb, group, resource, ns string
		want                      bool
	}{
		{"create", "", "namespaces", "", true},
		{"create", records.Group, "releases", "", true},
		{"create", "", "secrets", "kube-system", false},
		{"get", "", "secrets", "default", false},
		{"create", "", "configmaps", "default", false},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", false},
		{"update", "", "namespaces", "", false},
		{"create", "", "secrets", s.Store.Namespace("scoped"), false}, // not an app yet
	} {
		if got := testsuite.CanI(t, wc, c.verb, c.group, c.resource, c.ns); got != c.want {
			t.Errorf("can the worker %s %s/%s in %q: %v, want %v", c.verb, c.group, c.resource, c.ns, got, c.want)
		}
	}

	// Only the scoped worker polls while this test runs.
	t.Cleanup(func() { s.StartWorker(t) })
	s.KillWorker(t)
	s.StartExtraWorker(t, "KUBECONFIG="+kc)

	newApp(t, s, "scoped")
	if !testsuite.CanI(t, wc, "create", "", "secrets", s.Store.Namespace("scoped")) {
		t.Fatal("the worker cannot write Secrets in the app namespace it made")
	}
	rel := releaseOf(t, s.MustCLI(t, "build", example(t, s), "-a", "scoped", "-d", "scoped"))
	s.MustCLI(t, "releases", "promote", rel, "-a", "scoped")
	if got, ok := deployed(t, s, "scoped", "web"); got != rel || !ok {
		t.Fatalf("web runs %s (available %v), want %s", got, ok, rel)
	}
	next := releaseOf(t, s.MustCLI(t, "env", "set", "GREETING=hi", "--promote", "-a", "scoped"))
	if got := activeRelease(t, s, "scoped"); got != next {
		t.Fatalf("active release %s, want %s", got, next)
	}

	foreign := s.Store.Namespace("foreign")
	foreignNamespace(t, s, foreign)
	_, err := wc.CoreV1().Secrets(foreign).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "planted"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("the worker's token wrote a Secret in %s: %v, want Forbidden", foreign, err)
	}
	// RBAC lets the worker delete namespaces and create RoleBindings
	// anywhere; the admission policies do not.
	err = wc.CoreV1().Namespaces().Delete(ctx, foreign, metav1.DeleteOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "slipway's worker creates and deletes only namespaces labelled slipway.dev/rack=slipway") {
		t.Errorf("the worker's token deleting %s: %v, want Forbidden by the admission policy", foreign, err)
	}
	_, err = wc.RbacV1().RoleBindings(foreign).Create(ctx, rbac.AppBinding(s.Settings.Rack, "foreign"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("the worker's token bound its role in %s: %v, want Forbidden", foreign, err)
	}
	_, err = wc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled-by-worker"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("the worker's token made an unlabelled namespace: %v, want Forbidden", err)
	}
	untouched(t, s, foreign)

	if out := s.MustCLI(t, "apps", "delete", "scoped"); out != "Deleting scoped... OK\n" {
		t.Fatalf("apps delete printed %q", out)
	}
}
