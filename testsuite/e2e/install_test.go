package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/slipway-dev/slipway/incluster"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/testsuite"
)

// documents splits a YAML stream into objects, as kubectl reads it.
func documents(t *testing.T, stream string) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "---" {
			continue
		}
		j, err := utilyaml.ToJSON(doc)
		if err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("not an object: %v\n%s", err, doc)
		}
		out = append(out, u)
	}
}

// `system install --print` is YAML the API server accepts as it is: every
// document applies server-side in a dry run, under slipway's field
// manager, and the dry run writes nothing. It runs for a rack of its own,
// whose system namespace is made first (a dry run creates no namespace
// for the objects after it).
func TestInstallPrintAppliesCleanly(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	const rack = "e2edry"
	ns := model.SystemNamespace(rack)
	image := s.Settings.Registry + "/slipway/slipway:e2e"
	r, err := s.Run(ctx, testsuite.Invocation{Args: []string{"system", "install", "--print", "--image", image}, Env: []string{"SLIPWAY_RACK=" + rack}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 0 {
		t.Fatalf("install --print: exit %d\n%s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "WARNING: the Secret "+ns+"/slipway-worker printed holds credentials") {
		t.Errorf("install --print did not warn that its Secret holds credentials:\n%s", r.Stderr)
	}
	docs := documents(t, r.Stdout)
	var kinds []string
	for _, u := range docs {
		kinds = append(kinds, u.GetKind())
	}
	for _, want := range []string{"CustomResourceDefinition", "ClusterRole", "ServiceAccount", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "Secret", "Deployment", "Service", "PodDisruptionBudget"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s in the printed manifests: %v", want, kinds)
		}
	}

	if _, err := s.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{model.LabelRack: rack},
	}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	rc, err := s.Settings.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	for _, u := range docs {
		m, err := mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
		if err != nil {
			t.Errorf("%s %s: the API server serves no such kind: %v", u.GetKind(), u.GetName(), err)
			continue
		}
		res := s.Dynamic.Resource(m.Resource)
		where := u.GetNamespace()
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			where = ""
		}
		if _, err := res.Namespace(where).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: records.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("server-side dry run of %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	// A dry run writes nothing.
	if _, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, incluster.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run left a Deployment (%v)", err)
	}
	if _, err := s.Kube.RbacV1().ClusterRoleBindings().Get(ctx, rack+"-worker", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run left a ClusterRoleBinding (%v)", err)
	}

	// kubectl reads the same stream, as an operator's `--print | kubectl
	// apply` does; it is built by `make tools`, not by `make test`'s
	// stack-tools.
	kubectl := filepath.Join(s.Tools, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Logf("%s is not built (`make tools` builds it): dry-ran the manifests through the API alone", kubectl)
		return
	}
	cmd := exec.Command(kubectl, "apply", "--server-side", "--dry-run=server", "--field-manager", records.FieldManager, "--force-conflicts", "-f", "-", "--kubeconfig", s.Settings.Kubeconfig)
	cmd.Stdin = strings.NewReader(r.Stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("kubectl apply --server-side --dry-run=server: %v\n%s", err, out)
	} else if n := strings.Count(string(out), "(server dry run)"); n != len(docs) {
		t.Errorf("kubectl dry-ran %d objects of %d:\n%s", n, len(docs), out)
	}
}

// grant is one permission as RBAC rules list it.
type grant struct{ group, resource, verb, name string }

func (g grant) String() string {
	s := g.group + "/" + g.resource + " " + g.verb
	if g.name != "" {
		s += " " + g.name
	}
	return s
}

// grants expands the resource rules the API server reports for a
// namespace into single permissions.
func grants(rules []authzv1.ResourceRule) map[grant]bool {
	out := map[grant]bool{}
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					for _, n := range names {
						out[grant{g, res, v, n}] = true
					}
				}
			}
		}
	}
	return out
}

// rulesOf asks the API server, as the identity of the ServiceAccount
// namespace/name (a token of its own), what it may do in namespace ns.
func rulesOf(t *testing.T, s *testsuite.Stack, namespace, name, ns string) map[grant]bool {
	t.Helper()
	ctx := context.Background()
	ttl := int64(time.Hour / time.Second)
	tr, err := s.Kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &ttl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Settings.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	as := rest.AnonymousClientConfig(rc)
	as.BearerToken = tr.Status.Token
	c, err := kubernetes.NewForConfig(as)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := c.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authzv1.SelfSubjectRulesReview{
		Spec: authzv1.SelfSubjectRulesReviewSpec{Namespace: ns},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Status.Incomplete {
		t.Fatalf("the rules of %s/%s in %s are incomplete: %s", namespace, name, ns, rr.Status.EvaluationError)
	}
	return grants(rr.Status.ResourceRules)
}

// expand is permissions written as "group/resource verb,verb [name]".
func expand(lines ...string) map[grant]bool {
	out := map[grant]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		gr, verbs := f[0], f[1]
		group, res, _ := strings.Cut(gr, "/")
		name := ""
		if len(f) > 2 {
			name = f[2]
		}
		for _, v := range strings.Split(verbs, ",") {
			out[grant{group, res, v, name}] = true
		}
	}
	return out
}

func diff(got, want map[grant]bool) (extra, missing []string) {
	for g := range got {
		if !want[g] {
			extra = append(extra, g.String())
		}
	}
	for g := range want {
		if !got[g] {
			missing = append(missing, g.String())
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	return extra, missing
}

// What README's "Least privilege" lists for the worker, written out here
// so that a change of the roles fails this test until the README says it.
var (
	workerREADME = []string{
		"/namespaces get,list,watch,create,delete",
		"slipway.dev/apps get,list,watch,create,update,patch,delete",
		"slipway.dev/builds get,list,watch,create,update,patch,delete",
		"slipway.dev/releases get,list,watch,create,update,patch,delete",
		"slipway.dev/promotions get,list,watch,create,update,patch,delete",
		"slipway.dev/apps/status update",
		"slipway.dev/builds/status update",
		"slipway.dev/promotions/status update",
		"rbac.authorization.k8s.io/rolebindings create",
		"rbac.authorization.k8s.io/clusterroles bind slipway-worker-app",
	}
	appREADME = []string{
		"/secrets get,list,create,patch,delete",
		"/services get,list,create,patch,delete",
		"apps/deployments get,list,watch,create,patch,delete",
		"apps/daemonsets get,list,watch,create,patch,delete",
		"apps/statefulsets get,list,create,patch,delete",
		"networking.k8s.io/ingresses get,list,create,patch,delete",
		"autoscaling/horizontalpodautoscalers get,list,create,patch,delete",
		"batch/cronjobs get,list,create,patch,delete",
		"batch/jobs get,list,watch,create,delete",
		"/persistentvolumeclaims get,create",
		"/pods get,list,watch,create,delete",
		"/pods/log get",
		"/services/proxy get",
		"/events get,list,watch,create",
	}
)

// The worker's ServiceAccount, as install makes it, may do what the README
// lists and nothing more: cluster-wide rights everywhere, and an app's
// rights in that app's namespace only. What every authenticated identity
// may do (asking about itself) is measured on the system namespace's
// default ServiceAccount, which nothing binds, and set aside.
func TestInstallWorkerPermissions(t *testing.T) {
	s := testsuite.Get(t)
	s.MustCLI(t, "system", "install", "--replicas", "0")
	newApp(t, s, "perms")
	sys := model.SystemNamespace(s.Settings.Rack)
	app := s.Store.Namespace("perms")
	// The namespace's default ServiceAccount is made by the controller
	// manager, shortly after the namespace.
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := s.Kube.CoreV1().ServiceAccounts(sys).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("no ServiceAccount %s/default: %v", sys, err)
	}
	for _, c := range []struct {
		ns   string
		want map[grant]bool
	}{
		{"kube-system", expand(workerREADME...)},
		{"default", expand(workerREADME...)},
		{sys, expand(workerREADME...)},
		{app, expand(append(slices.Clone(workerREADME), appREADME...)...)},
	} {
		base := rulesOf(t, s, sys, "default", c.ns)
		got := rulesOf(t, s, sys, rbac.ServiceAccount, c.ns)
		for g := range base {
			delete(got, g)
		}
		if extra, missing := diff(got, c.want); len(extra)+len(missing) > 0 {
			t.Errorf("in %s the worker may also %q and may not %q", c.ns, extra, missing)
		}
	}

	// The same through kubectl, impersonating the ServiceAccount, as an
	// operator checks it.
	kubectl := filepath.Join(s.Tools, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Logf("%s is not built (`make tools` builds it): checked through the API alone", kubectl)
		return
	}
	as := "system:serviceaccount:" + sys + ":" + rbac.ServiceAccount
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "secrets", "-n", "kube-system"}, "no"},
		{[]string{"create", "secrets", "-n", sys}, "no"},
		{[]string{"patch", "nodes"}, "no"},
		{[]string{"create", "clusterrolebindings"}, "no"},
		{[]string{"bind", "clusterroles/cluster-admin"}, "no"},
		{[]string{"create", "secrets", "-n", app}, "yes"},
		{[]string{"delete", "namespaces"}, "yes"},
	} {
		out, _ := exec.Command(kubectl, append(append([]string{"auth", "can-i"}, c.args...), "--as", as, "--kubeconfig", s.Settings.Kubeconfig)...).Output()
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("kubectl auth can-i %s as the worker: %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
}

// A real install runs the worker on the cluster: its Deployment's pod runs
// (on a kwok node, which never pulls the image) as the rack's
// ServiceAccount. Installing again changes nothing and says the same;
// a changed setting replaces the pod.
func TestInstallWorkerRuns(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	sys := model.SystemNamespace(s.Settings.Rack)
	image := s.Settings.Registry + "/slipway/slipway:e2e"
	t.Cleanup(func() {
		ctx := context.Background()
		_ = s.Kube.AppsV1().Deployments(sys).Delete(ctx, incluster.Name, metav1.DeleteOptions{})
		_ = s.Kube.CoreV1().Services(sys).Delete(ctx, incluster.MetricsService, metav1.DeleteOptions{})
		_ = s.Kube.CoreV1().Secrets(sys).Delete(ctx, incluster.Name, metav1.DeleteOptions{})
		_ = s.Kube.PolicyV1().PodDisruptionBudgets(sys).Delete(ctx, incluster.Name, metav1.DeleteOptions{})
	})
	// Two replicas first, then one: going down removes the budget.
	s.MustCLI(t, "system", "install", "--image", image)
	if _, err := s.Kube.PolicyV1().PodDisruptionBudgets(sys).Get(ctx, incluster.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("two replicas, no PodDisruptionBudget: %v", err)
	}
	install := []string{"system", "install", "--replicas", "1", "--image", image}
	first := s.MustCLI(t, install...)
	if want := "Installing worker " + sys + "/slipway-worker... OK, 1 replica of " + image + "\n"; !strings.HasSuffix(first, want) {
		t.Fatalf("install printed:\n%s\nwant it to end with %q", first, want)
	}
	if _, err := s.Kube.PolicyV1().PodDisruptionBudgets(sys).Get(ctx, incluster.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("one replica, yet the PodDisruptionBudget is still there (%v): it would block every drain", err)
	}

	running := func() corev1.Pod {
		t.Helper()
		var pod corev1.Pod
		var last string
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			d, err := s.Kube.AppsV1().Deployments(sys).Get(ctx, incluster.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			pods, err := s.Kube.CoreV1().Pods(sys).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
			if err != nil {
				return false, err
			}
			var live []corev1.Pod
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil {
					live = append(live, p)
				}
			}
			last = ""
			for _, p := range live {
				last += " " + p.Name + ":" + string(p.Status.Phase)
			}
			done := d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == 1 && d.Status.AvailableReplicas == 1 && d.Status.Replicas == 1
			if !done || len(live) != 1 || live[0].Status.Phase != corev1.PodRunning {
				return false, nil
			}
			pod = live[0]
			return true, nil
		})
		if err != nil {
			t.Fatalf("the worker's pod is not running alone: %v (pods:%s)", err, last)
		}
		return pod
	}
	pod := running()
	if pod.Spec.ServiceAccountName != rbac.ServiceAccount || pod.Spec.Containers[0].Image != image || pod.Spec.NodeName == "" {
		t.Errorf("pod %s runs %s as %s on node %q", pod.Name, pod.Spec.Containers[0].Image, pod.Spec.ServiceAccountName, pod.Spec.NodeName)
	}
	sec, err := s.Kube.CoreV1().Secrets(sys).Get(ctx, incluster.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(sec.Data["SLIPWAY_RACK"]); got != s.Settings.Rack {
		t.Errorf("the Secret tells the worker rack %q, want %q", got, s.Settings.Rack)
	}
	if !bytes.Contains(sec.Data[incluster.TemporalFile], []byte(s.Settings.Temporal.HostPort)) {
		t.Errorf("the Secret's Temporal profile does not name %s:\n%s", s.Settings.Temporal.HostPort, sec.Data[incluster.TemporalFile])
	}

	versions := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		d, err := s.Kube.AppsV1().Deployments(sys).Get(ctx, incluster.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sec, err := s.Kube.CoreV1().Secrets(sys).Get(ctx, incluster.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := s.Kube.CoreV1().Services(sys).Get(ctx, incluster.MetricsService, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out["Deployment generation"] = strconv.FormatInt(d.Generation, 10)
		out["Secret"], out["Service"] = sec.ResourceVersion, svc.ResourceVersion
		return out
	}
	before := versions()
	if again := s.MustCLI(t, install...); again != first {
		t.Errorf("install again printed:\n%s\nthe first time:\n%s", again, first)
	}
	if after := versions(); !maps.Equal(before, after) {
		t.Errorf("install again changed the worker's objects: %v -> %v", before, after)
	}
	if again := running(); again.UID != pod.UID {
		t.Errorf("install again replaced the pod %s with %s", pod.Name, again.Name)
	}

	// A changed setting reaches the worker: a new pod reads it.
	r, err := s.Run(ctx, testsuite.Invocation{Args: install, Env: []string{"SLIPWAY_BUILDER=kubernetes"}})
	if err != nil || r.Code != 0 {
		t.Fatalf("install with SLIPWAY_BUILDER=kubernetes: %v, exit %d\n%s", err, r.Code, r.Stderr)
	}
	if next := running(); next.UID == pod.UID {
		t.Error("a changed setting left the old pod running: it read its env when it started")
	}
	sec, err = s.Kube.CoreV1().Secrets(sys).Get(ctx, incluster.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(sec.Data["SLIPWAY_BUILDER"]); got != "kubernetes" {
		t.Errorf("SLIPWAY_BUILDER in the Secret: %q", got)
	}
}
