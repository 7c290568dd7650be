package incluster

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/slipway-dev/slipway/internal/kubeobj"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

var resources = map[string]schema.GroupVersionResource{
	"Secret":              {Version: "v1", Resource: "secrets"},
	"Service":             {Version: "v1", Resource: "services"},
	"Deployment":          {Group: "apps", Version: "v1", Resource: "deployments"},
	"PodDisruptionBudget": {Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
}

// Install applies Objects(o) server-side under slipway's field manager, so
// running it again with the same options changes nothing. Going down to
// one replica removes the PodDisruptionBudget an earlier install made
// (only slipway's: one without the rack's labels is left alone). With no
// replicas it does nothing: a worker already on the cluster stays.
func Install(ctx context.Context, dyn dynamic.Interface, o Options) error {
	objs, err := Objects(o)
	if err != nil || len(objs) == 0 {
		return err
	}
	for _, obj := range objs {
		u, err := kubeobj.Unstructured(obj)
		if err != nil {
			return err
		}
		gvr := resources[u.GetKind()]
		if _, err := dyn.Resource(gvr).Namespace(u.GetNamespace()).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: records.FieldManager, Force: true}); err != nil {
			return fmt.Errorf("install %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	if DisruptionBudget(o) == nil {
		return removeBudget(ctx, dyn, o.Rack)
	}
	return nil
}

func removeBudget(ctx context.Context, dyn dynamic.Interface, rack string) error {
	r := dyn.Resource(resources["PodDisruptionBudget"]).Namespace(model.SystemNamespace(rack))
	u, err := r.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read PodDisruptionBudget %s/%s: %w", model.SystemNamespace(rack), Name, err)
	}
	for k, v := range labels(rack) {
		if u.GetLabels()[k] != v {
			return nil // not the one install makes
		}
	}
	uid := u.GetUID()
	err = r.Delete(ctx, Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove PodDisruptionBudget %s/%s (one replica needs none): %w", model.SystemNamespace(rack), Name, err)
	}
	return nil
}
