package rbac

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/slipway-dev/slipway/internal/kubeobj"
	"github.com/slipway-dev/slipway/records"
)

var resources = map[string]schema.GroupVersionResource{
	"Namespace":                        {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":                   {Version: "v1", Resource: "serviceaccounts"},
	"ClusterRole":                      {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"RoleBinding":                      {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"ValidatingAdmissionPolicy":        {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"},
	"ValidatingAdmissionPolicyBinding": {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"},
}

// Installed says what Install did.
type Installed struct {
	// Bound lists the app namespaces the worker was bound in.
	Bound []string
	// Policies is false when the cluster serves no ValidatingAdmissionPolicy
	// (before Kubernetes 1.30): RBAC and slipway's own checks remain.
	Policies bool
}

// Install applies Objects(rack) and AdmissionPolicies(rack) (server-side,
// so it is idempotent), then binds AppRole in every app namespace the rack
// already has, so apps made before the worker ran with its own
// ServiceAccount keep working under it.
func Install(ctx context.Context, dyn dynamic.Interface, rack string) (Installed, error) {
	var done Installed
	for _, obj := range Objects(rack) {
		if err := apply(ctx, dyn, obj); err != nil {
			return done, err
		}
	}
	done.Policies = true
	for _, obj := range AdmissionPolicies(rack) {
		err := apply(ctx, dyn, obj)
		if apierrors.IsNotFound(err) {
			done.Policies = false // not served by this cluster
			break
		}
		if err != nil {
			return done, err
		}
	}
	nss, err := dyn.Resource(resources["Namespace"]).List(ctx, metav1.ListOptions{LabelSelector: records.LabelRack + "=" + rack + "," + records.LabelApp})
	if err != nil {
		return done, err
	}
	for _, ns := range nss.Items {
		app := ns.GetLabels()[records.LabelApp]
		if ns.GetName() != AppBinding(rack, app).Namespace || ns.GetDeletionTimestamp() != nil {
			continue // labelled by hand, or going: not an app namespace of this rack
		}
		if err := apply(ctx, dyn, AppBinding(rack, app)); err != nil {
			return done, err
		}
		done.Bound = append(done.Bound, ns.GetName())
	}
	return done, nil
}

func apply(ctx context.Context, dyn dynamic.Interface, obj runtime.Object) error {
	u, err := kubeobj.Unstructured(obj)
	if err != nil {
		return err
	}
	gvr, ok := resources[u.GetKind()]
	if !ok {
		return fmt.Errorf("rbac: no resource for kind %s", u.GetKind())
	}
	var r dynamic.ResourceInterface = dyn.Resource(gvr)
	if ns := u.GetNamespace(); ns != "" {
		r = dyn.Resource(gvr).Namespace(ns)
	}
	if _, err := r.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: records.FieldManager, Force: true}); err != nil {
		return fmt.Errorf("install %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}
