// Package rbac builds the Kubernetes RBAC objects that let slipway's
// worker and its CLI users do what they need and nothing more, and
// installs them. The builders here are pure; install.go calls the API.
//
// What RBAC can scope and what it cannot:
//   - It scopes by resource, verb and namespace, and by object name only
//     for verbs other than create, list and watch.
//   - It cannot scope by label or by a namespace name pattern: "namespaces
//     that slipway made" (labelled slipway.dev/rack and slipway.dev/app)
//     is not expressible. The worker may create, get and delete every
//     namespace as far as RBAC goes; slipway's code refuses any namespace
//     without its labels (activities.Owned) before it adopts, changes or
//     deletes it, and deletes with a UID and resourceVersion precondition.
//     Where the cluster has ValidatingAdmissionPolicy (Kubernetes 1.30+),
//     admission.go adds what RBAC cannot: the API server itself refuses
//     the worker a namespace create or delete without the rack's label.
//   - So the worker's rights inside a namespace (Secrets, Deployments,
//     Services, Jobs, Pods, Events) are not cluster-wide: they are in the
//     ClusterRole AppRole, which the worker binds to itself with a
//     RoleBinding in each app namespace it makes (and `slipway system
//     install` binds in the rack's existing app namespaces). The worker
//     holds `bind` on that one ClusterRole only, so it can grant nothing
//     more than these rights. RBAC cannot stop it from binding them in a
//     namespace that is not an app's: the code binds only right after
//     making (or finding its own) namespace, and the admission policy
//     refuses a RoleBinding in a namespace without the rack's label.
//   - slipway's records (group slipway.dev) are read and written
//     cluster-wide: apps are listed across the rack's namespaces. Their
//     status is a subresource with its own rights: only the worker, which
//     runs the workflows, may write it.
package rbac

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// Names of the objects. The ClusterRoles are the same for every rack; the
// ServiceAccount lives in the rack's system namespace (<rack>-system) and
// the cluster-wide binding is named after the rack, so racks can share a
// cluster.
const (
	ServiceAccount = "slipway-worker"
	// WorkerRole holds the worker's cluster-wide rights.
	WorkerRole = "slipway-worker"
	// AppRole holds the worker's rights inside an app namespace; it is
	// bound per namespace, never cluster-wide.
	AppRole = "slipway-worker-app"
	// AppBindingName is the worker's RoleBinding in each app namespace.
	AppBindingName = "slipway-worker"
	// UserRole is for people who run the CLI.
	UserRole = "slipway-user"
)

var (
	read  = []string{"get", "list", "watch"}
	write = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
)

// WorkerRules are the worker's cluster-wide rights.
func WorkerRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Apps are namespaces; create and delete are refused in code for
		// any namespace without slipway's labels (see the package doc).
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
		{APIGroups: []string{records.Group}, Resources: recordResources(), Verbs: write},
		// Every record has the status subresource: the worker writes the
		// status of apps, builds and promotions there (a release has none).
		{APIGroups: []string{records.Group}, Resources: []string{"apps/status", "builds/status", "promotions/status"}, Verbs: []string{"update"}},
		// The worker binds AppRole to itself in each namespace it makes.
		{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"rolebindings"}, Verbs: []string{"create"}},
		{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, Verbs: []string{"bind"}, ResourceNames: []string{AppRole}},
	}
}

// AppRules are the worker's rights inside an app namespace: a promotion
// applies what a release renders to (Secrets, Services, Deployments,
// DaemonSets, Ingresses, autoscalers, CronJobs; server-side apply needs
// create and patch) and prunes it; it runs the app's resources as
// StatefulSets and creates their Secrets and shared volume claims once; it
// watches Deployments, DaemonSets and Pods and writes Events on the App;
// the kubernetes builder runs Jobs and reads their Pods' logs; a release
// command runs as a one-off Pod the worker creates, reads the log of and
// deletes; a staged rollout's check GETs a service through the API
// server's service proxy. slipway uses no ConfigMaps.
func AppRules() []rbacv1.PolicyRule {
	applied := []string{"get", "list", "create", "patch", "delete"}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets", "services"}, Verbs: applied},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "daemonsets"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, Verbs: applied},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: applied},
		{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: applied},
		{APIGroups: []string{"batch"}, Resources: []string{"cronjobs"}, Verbs: applied},
		{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"get", "create"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		// A staged rollout's check steps GET a service through its proxy.
		{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch", "create"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
	}
}

// UserRules are what the CLI does with a user's own credentials: read the
// records, follow a promotion's Events, and (for `env set`) stage new
// values in a Secret that the release workflow takes over and deletes;
// `env` and `releases info` read a release's env Secret. The process
// commands act on pods, which no release owns: `ps` and `logs` read them,
// `ps stop` deletes one, `exec` runs a command in one, and `run` starts a
// one-off pod with its own env Secret (so the user needs to be trusted
// with the app's env, which `env` shows anyway); `scale` reads the
// workloads. Everything else goes
// through a workflow, i.e. through the worker. Bind it with a
// RoleBinding per app namespace to keep a user out of other namespaces'
// Secrets (a ClusterRoleBinding grants them everywhere); listing apps
// across namespaces needs the records part cluster-wide.
func UserRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{records.Group}, Resources: recordResources(), Verbs: read},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: read},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "delete"}},
		// `webhooks add` and `remove` rewrite the app's webhooks Secret.
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{records.WebhooksSecretName}, Verbs: []string{"update"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create", "get"}},
		// `scale` shows each workload's desired and running processes.
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "daemonsets"}, Verbs: []string{"get", "list"}},
		// `apps create` checks up front that the namespace is not someone
		// else's.
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}},
	}
}

func recordResources() []string {
	return []string{"apps", "builds", "releases", "promotions"}
}

func labels(rack string) map[string]string {
	return map[string]string{records.LabelRack: rack}
}

// SystemNamespace is the rack's namespace for the worker's ServiceAccount.
func SystemNamespace(rack string) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: model.SystemNamespace(rack), Labels: labels(rack)},
	}
}

// WorkerServiceAccount is the identity a worker on the cluster runs as.
func WorkerServiceAccount(rack string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Name: ServiceAccount, Namespace: model.SystemNamespace(rack), Labels: labels(rack)},
	}
}

func clusterRole(rack, name string, rules []rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(rack)},
		Rules:      rules,
	}
}

func subjects(rack string) []rbacv1.Subject {
	return []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccount, Namespace: model.SystemNamespace(rack)}}
}

// WorkerBinding binds WorkerRole to the rack's worker, cluster-wide.
func WorkerBinding(rack string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: rack + "-worker", Labels: labels(rack)},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: WorkerRole},
		Subjects:   subjects(rack),
	}
}

// AppBinding binds AppRole to the rack's worker in one app's namespace.
func AppBinding(rack, app string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		TypeMeta: metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{
			Name: AppBindingName, Namespace: model.AppNamespace(rack, app),
			Labels: map[string]string{records.LabelRack: rack, records.LabelApp: app},
		},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: AppRole},
		Subjects: subjects(rack),
	}
}

// Objects are everything `slipway system install` writes besides the CRDs,
// in the order to apply them.
func Objects(rack string) []runtime.Object {
	return []runtime.Object{
		SystemNamespace(rack),
		WorkerServiceAccount(rack),
		clusterRole(rack, WorkerRole, WorkerRules()),
		clusterRole(rack, AppRole, AppRules()),
		clusterRole(rack, UserRole, UserRules()),
		WorkerBinding(rack),
	}
}
