package rbac

import (
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/slipway/records"
)

// allows reports whether rules grant verb on group/resource (named name,
// or any object when name is "").
func allows(rules []rbacv1.PolicyRule, verb, group, resource, name string) bool {
	for _, r := range rules {
		if slices.Contains(r.Verbs, verb) && slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) &&
			(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, name)) {
			return true
		}
	}
	return false
}

type grant struct{ verb, group, resource, name string }

func (g grant) String() string { return g.verb + " " + g.group + "/" + g.resource + " " + g.name }

// What the worker's code calls (activities/, records/): each must be
// granted, cluster-wide or in app namespaces.
var workerNeeds = map[string][]grant{
	"cluster": {
		{"create", "", "namespaces", ""}, {"get", "", "namespaces", ""}, {"delete", "", "namespaces", ""},
		{"list", "", "namespaces", ""}, {"watch", "", "namespaces", ""},
		{"create", records.Group, "apps", ""}, {"update", records.Group, "apps", ""}, {"list", records.Group, "apps", ""},
		{"create", records.Group, "builds", ""}, {"update", records.Group, "builds", ""},
		{"create", records.Group, "releases", ""}, {"delete", records.Group, "releases", ""},
		{"create", records.Group, "promotions", ""}, {"update", records.Group, "promotions", ""},
		{"update", records.Group, "apps/status", ""}, {"update", records.Group, "builds/status", ""},
		{"update", records.Group, "promotions/status", ""},
		{"create", rbacv1.GroupName, "rolebindings", ""}, {"bind", rbacv1.GroupName, "clusterroles", AppRole},
	},
	"app": {
		{"create", "", "secrets", ""}, {"patch", "", "secrets", ""}, {"get", "", "secrets", ""}, {"delete", "", "secrets", ""}, {"list", "", "secrets", ""},
		{"patch", "", "services", ""}, {"create", "", "services", ""}, {"delete", "", "services", ""}, {"list", "", "services", ""},
		{"patch", "apps", "deployments", ""}, {"create", "apps", "deployments", ""}, {"watch", "apps", "deployments", ""}, {"delete", "apps", "deployments", ""},
		{"list", "", "pods", ""}, {"watch", "", "pods", ""}, {"get", "", "pods/log", ""},
		{"create", "", "pods", ""}, {"delete", "", "pods", ""}, // release commands
		{"create", "", "events", ""}, {"list", "", "events", ""},
		{"create", "batch", "jobs", ""}, {"watch", "batch", "jobs", ""}, {"delete", "batch", "jobs", ""},
		{"patch", "apps", "daemonsets", ""}, {"watch", "apps", "daemonsets", ""}, {"delete", "apps", "daemonsets", ""},
		{"patch", "apps", "statefulsets", ""}, {"patch", "networking.k8s.io", "ingresses", ""}, {"delete", "networking.k8s.io", "ingresses", ""},
		{"patch", "autoscaling", "horizontalpodautoscalers", ""}, {"delete", "autoscaling", "horizontalpodautoscalers", ""},
		{"patch", "batch", "cronjobs", ""}, {"delete", "batch", "cronjobs", ""},
		{"create", "", "persistentvolumeclaims", ""}, {"get", "", "secrets", ""},
		{"get", "", "services/proxy", ""}, // check steps
	},
}

func TestWorkerRulesGrantWhatTheCodeDoes(t *testing.T) {
	for _, g := range workerNeeds["cluster"] {
		if !allows(WorkerRules(), g.verb, g.group, g.resource, g.name) {
			t.Errorf("WorkerRules do not grant %s", g)
		}
	}
	for _, g := range workerNeeds["app"] {
		if !allows(AppRules(), g.verb, g.group, g.resource, g.name) {
			t.Errorf("AppRules do not grant %s", g)
		}
	}
}

func TestWorkerRulesGrantNothingMore(t *testing.T) {
	for _, g := range []grant{
		// Object rights inside namespaces are never cluster-wide.
		{"create", "", "secrets", ""}, {"get", "", "secrets", ""}, {"patch", "apps", "deployments", ""}, {"create", "batch", "jobs", ""},
		// Namespaces are made and deleted, never relabelled.
		{"update", "", "namespaces", ""}, {"patch", "", "namespaces", ""},
		// No way to grant itself anything but AppRole.
		{"bind", rbacv1.GroupName, "clusterroles", "cluster-admin"}, {"escalate", rbacv1.GroupName, "clusterroles", ""},
		{"create", rbacv1.GroupName, "clusterroles", ""}, {"create", rbacv1.GroupName, "clusterrolebindings", ""},
		{"update", rbacv1.GroupName, "rolebindings", ""},
		{"create", "apiextensions.k8s.io", "customresourcedefinitions", ""},
		// A release is written once and has no status to write.
		{"update", records.Group, "releases/status", ""}, {"patch", records.Group, "apps/status", ""},
	} {
		if allows(WorkerRules(), g.verb, g.group, g.resource, g.name) {
			t.Errorf("WorkerRules grant %s", g)
		}
	}
	for _, g := range []grant{
		{"create", "", "configmaps", ""}, {"patch", "", "pods", ""}, {"update", "", "secrets", ""},
		{"create", "", "pods/exec", ""}, {"create", rbacv1.GroupName, "rolebindings", ""},
	} {
		if allows(AppRules(), g.verb, g.group, g.resource, g.name) {
			t.Errorf("AppRules grant %s", g)
		}
	}
	for _, rules := range [][]rbacv1.PolicyRule{WorkerRules(), AppRules(), UserRules()} {
		for _, r := range rules {
			for _, s := range slices.Concat(r.Verbs, r.Resources, r.APIGroups) {
				if s == "*" {
					t.Errorf("wildcard in rule %+v", r)
				}
			}
		}
	}
}

func TestUserRules(t *testing.T) {
	for _, g := range []grant{
		{"list", records.Group, "apps", ""}, {"get", records.Group, "releases", ""}, {"list", records.Group, "builds", ""},
		{"get", records.Group, "promotions", ""}, {"watch", "", "events", ""}, {"list", "", "events", ""},
		{"create", "", "secrets", ""}, {"get", "", "secrets", ""}, {"delete", "", "secrets", ""}, {"get", "", "namespaces", ""},
		{"list", "", "pods", ""}, {"watch", "", "pods", ""}, {"delete", "", "pods", ""}, {"create", "", "pods", ""},
		{"get", "", "pods/log", ""}, {"create", "", "pods/exec", ""}, {"list", "apps", "deployments", ""},
	} {
		if !allows(UserRules(), g.verb, g.group, g.resource, g.name) {
			t.Errorf("UserRules do not grant %s", g)
		}
	}
	for _, g := range []grant{
		{"create", records.Group, "releases", ""}, {"update", records.Group, "apps", ""}, {"delete", "", "namespaces", ""},
		{"update", records.Group, "apps/status", ""}, {"update", records.Group, "builds/status", ""},
		{"update", records.Group, "promotions/status", ""}, {"update", records.Group, "releases/status", ""},
		{"create", "", "namespaces", ""}, {"patch", "apps", "deployments", ""}, {"list", "", "secrets", ""},
		{"patch", "", "pods", ""}, {"delete", "apps", "deployments", ""},
	} {
		if allows(UserRules(), g.verb, g.group, g.resource, g.name) {
			t.Errorf("UserRules grant %s: users act through workflows", g)
		}
	}
}

func TestBindings(t *testing.T) {
	b := AppBinding("prod", "shop")
	if b.Namespace != "prod-shop" || b.Name != AppBindingName || b.RoleRef.Name != AppRole || b.RoleRef.Kind != "ClusterRole" {
		t.Errorf("AppBinding = %s/%s -> %s %s", b.Namespace, b.Name, b.RoleRef.Kind, b.RoleRef.Name)
	}
	if b.Labels[records.LabelRack] != "prod" || b.Labels[records.LabelApp] != "shop" {
		t.Errorf("AppBinding labels %v: slipway must label what it makes", b.Labels)
	}
	want := rbacv1.Subject{Kind: "ServiceAccount", Name: ServiceAccount, Namespace: "prod-system"}
	for _, subj := range [][]rbacv1.Subject{b.Subjects, WorkerBinding("prod").Subjects} {
		if len(subj) != 1 || subj[0] != want {
			t.Errorf("subjects %+v, want only %+v", subj, want)
		}
	}
	if w := WorkerBinding("prod"); w.Name != "prod-worker" || w.RoleRef.Name != WorkerRole {
		t.Errorf("WorkerBinding %s -> %s", w.Name, w.RoleRef.Name)
	}
	if sa := WorkerServiceAccount("prod"); sa.Namespace != "prod-system" || sa.Name != "slipway-worker" {
		t.Errorf("ServiceAccount %s/%s, want prod-system/slipway-worker", sa.Namespace, sa.Name)
	}
}

func TestManifests(t *testing.T) {
	b, err := Manifests("slipway")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, doc := range strings.Split(string(b), "---\n")[1:] {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("document %q: %v", doc, err)
		}
		meta := m["metadata"].(map[string]any)
		if _, ok := meta["creationTimestamp"]; ok {
			t.Errorf("%s %s has a creationTimestamp", m["kind"], meta["name"])
		}
		if m["apiVersion"] == nil {
			t.Errorf("%s %s has no apiVersion", m["kind"], meta["name"])
		}
		kinds = append(kinds, m["kind"].(string)+" "+meta["name"].(string))
	}
	want := []string{
		"Namespace slipway-system", "ServiceAccount slipway-worker", "ClusterRole slipway-worker",
		"ClusterRole slipway-worker-app", "ClusterRole slipway-user", "ClusterRoleBinding slipway-worker",
		"ValidatingAdmissionPolicy slipway-worker-namespaces", "ValidatingAdmissionPolicyBinding slipway-worker-namespaces",
		"ValidatingAdmissionPolicy slipway-worker-rolebindings", "ValidatingAdmissionPolicyBinding slipway-worker-rolebindings",
	}
	if !slices.Equal(kinds, want) {
		t.Errorf("manifests %q, want %q", kinds, want)
	}
}

func TestAdmissionPolicies(t *testing.T) {
	objs := AdmissionPolicies("prod")
	if len(objs) != 4 {
		t.Fatalf("%d objects, want 2 policies and their bindings", len(objs))
	}
	for i := 0; i < len(objs); i += 2 {
		p := objs[i].(*admissionv1.ValidatingAdmissionPolicy)
		b := objs[i+1].(*admissionv1.ValidatingAdmissionPolicyBinding)
		if b.Spec.PolicyName != p.Name || !slices.Equal(b.Spec.ValidationActions, []admissionv1.ValidationAction{admissionv1.Deny}) {
			t.Errorf("binding %s: policy %s, actions %v; want %s, Deny", b.Name, b.Spec.PolicyName, b.Spec.ValidationActions, p.Name)
		}
		if !strings.HasPrefix(p.Name, "prod-") {
			t.Errorf("policy %s is not named after its rack", p.Name)
		}
		// Only the worker is held to it: people and controllers are not.
		if len(p.Spec.MatchConditions) != 1 || p.Spec.MatchConditions[0].Expression != "request.userInfo.username == 'system:serviceaccount:prod-system:slipway-worker'" {
			t.Errorf("policy %s matches %+v", p.Name, p.Spec.MatchConditions)
		}
		if *p.Spec.FailurePolicy != admissionv1.Fail || *p.Spec.Validations[0].Reason != metav1.StatusReasonForbidden {
			t.Errorf("policy %s: failure policy %s, reason %s; want Fail, Forbidden", p.Name, *p.Spec.FailurePolicy, *p.Spec.Validations[0].Reason)
		}
		if e := p.Spec.Validations[0].Expression; !strings.Contains(e, "['slipway.dev/rack'] == 'prod'") {
			t.Errorf("policy %s checks %q, want the rack's label", p.Name, e)
		}
	}
}
