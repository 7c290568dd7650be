package rbac

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/records"
)

func ns(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// Install binds the worker only in the rack's own app namespaces: not in
// one labelled by hand under another name, another rack's, or an
// unlabelled one.
func TestInstallBindsOnlyInAppNamespaces(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	lists := map[schema.GroupVersionResource]string{}
	for kind, gvr := range resources {
		lists[gvr] = kind + "List"
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, lists,
		ns("slipway-shop", map[string]string{records.LabelRack: "slipway", records.LabelApp: "shop"}),
		ns("slipway-blog", map[string]string{records.LabelRack: "slipway", records.LabelApp: "blog"}),
		ns("team-a", map[string]string{records.LabelRack: "slipway", records.LabelApp: "shop"}),
		ns("prod-shop", map[string]string{records.LabelRack: "prod", records.LabelApp: "shop"}),
		ns("slipway-raw", nil),
	)
	// The fake cannot apply; record what would be applied instead.
	var applied []string
	dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchAction)
		applied = append(applied, a.GetResource().Resource+" "+p.GetNamespace()+"/"+p.GetName())
		return true, nil, nil
	})
	done, err := Install(context.Background(), dyn, "slipway")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"slipway-blog", "slipway-shop"}; !slices.Equal(done.Bound, want) {
		t.Errorf("bound in %v, want %v", done.Bound, want)
	}
	if !done.Policies {
		t.Error("admission policies reported not installed")
	}
	want := []string{
		"namespaces /slipway-system", "serviceaccounts slipway-system/slipway-worker",
		"clusterroles /slipway-worker", "clusterroles /slipway-worker-app", "clusterroles /slipway-user",
		"clusterrolebindings /slipway-worker",
		"validatingadmissionpolicies /slipway-worker-namespaces", "validatingadmissionpolicybindings /slipway-worker-namespaces",
		"validatingadmissionpolicies /slipway-worker-rolebindings", "validatingadmissionpolicybindings /slipway-worker-rolebindings",
		"rolebindings slipway-blog/slipway-worker", "rolebindings slipway-shop/slipway-worker",
	}
	if !slices.Equal(applied, want) {
		t.Errorf("applied\n%q\nwant\n%q", applied, want)
	}
}

// A cluster that serves no ValidatingAdmissionPolicy (before 1.30) still
// gets its RBAC, and Install says the policies are missing.
func TestInstallWithoutAdmissionPolicies(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{resources["Namespace"]: "NamespaceList"})
	var applied []string
	dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetResource().Group == "admissionregistration.k8s.io" {
			return true, nil, apierrors.NewNotFound(a.GetResource().GroupResource(), "")
		}
		applied = append(applied, a.GetResource().Resource)
		return true, nil, nil
	})
	done, err := Install(context.Background(), dyn, "slipway")
	if err != nil {
		t.Fatal(err)
	}
	if done.Policies || len(applied) != len(Objects("slipway")) {
		t.Errorf("policies %v, applied %v: want the RBAC objects and no policies", done.Policies, applied)
	}
}
