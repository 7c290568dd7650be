// Package fakekube makes client-go's fake clients behave a little more
// like an API server, for tests: created objects get UIDs, custom
// resources can have a status subresource, and the writes made are listed
// in a form a test can compare.
package fakekube

import (
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

// NewDynamic is a fake dynamic client holding objs, whose resources are
// listed in kinds (resource -> list kind). Every resource in kinds has a
// status subresource (see StatusSubresource), and every object created
// gets a UID, uid-1, uid-2, ... in order, as the API server gives one.
func NewDynamic(kinds map[schema.GroupVersionResource]string, objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds, objs...)
	for gvr := range kinds {
		StatusSubresource(dyn, gvr)
	}
	uids := 0
	dyn.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "" {
			uids++
			a.(k8stesting.CreateAction).GetObject().(metav1.Object).SetUID(types.UID(fmt.Sprintf("uid-%d", uids)))
		}
		return false, nil, nil // let the tracker store it
	})
	return dyn
}

// StatusSubresource makes the fake dynamic client treat gvr as the API
// server treats a CRD with the status subresource, which the fake does not
// model: a create drops the status, an update of the main endpoint keeps
// the stored status, and an update of the status endpoint changes the
// status alone. Code that writes a status to the wrong endpoint then loses
// it here as it would on a cluster.
func StatusSubresource(dyn *dynamicfake.FakeDynamicClient, gvr schema.GroupVersionResource) {
	dyn.PrependReactor("create", gvr.Resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "" {
			unstructured.RemoveNestedField(a.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured).Object, "status")
		}
		return false, nil, nil
	})
	dyn.PrependReactor("update", gvr.Resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.UpdateAction).GetObject().(*unstructured.Unstructured)
		stored, err := dyn.Tracker().Get(gvr, a.GetNamespace(), obj.GetName())
		if err != nil {
			return true, nil, err
		}
		old := stored.(*unstructured.Unstructured)
		switch a.GetSubresource() {
		case "":
			setStatus(obj, old)
			return false, nil, nil
		case "status":
			next := old.DeepCopy()
			setStatus(next, obj)
			if err := dyn.Tracker().Update(gvr, next, a.GetNamespace()); err != nil {
				return true, nil, err
			}
			return true, next, nil
		}
		return true, nil, fmt.Errorf("fake: no subresource %q of %s", a.GetSubresource(), gvr.Resource)
	})
}

// setStatus gives dst the status of src (none if src has none).
func setStatus(dst, src *unstructured.Unstructured) {
	if st, ok := src.Object["status"]; ok {
		dst.Object["status"] = runtime.DeepCopyJSONValue(st)
	} else {
		delete(dst.Object, "status")
	}
}

// Writes are the create, update, patch and delete actions among acts, as
// "verb resource[/subresource] name" strings, in order.
func Writes(acts ...[]k8stesting.Action) []string {
	var out []string
	for _, list := range acts {
		for _, a := range list {
			var name string
			switch a := a.(type) {
			case k8stesting.CreateAction: // updates have an object too
				name = a.GetObject().(metav1.Object).GetName()
			case k8stesting.PatchAction:
				name = a.GetName()
			case k8stesting.DeleteAction:
				name = a.GetName()
			}
			switch v := a.GetVerb(); v {
			case "create", "update", "patch", "delete":
				res := a.GetResource().Resource
				if sub := a.GetSubresource(); sub != "" {
					res += "/" + sub
				}
				out = append(out, fmt.Sprintf("%s %s %s", v, res, name))
			}
		}
	}
	return out
}

// ServerSideApply makes the fake dynamic client serve server-side apply
// as an API server with one field manager does: create the object, or
// replace what that manager set. applied, when not nil, may change the
// object as the server would before it is stored (a CRD established).
func ServerSideApply(dyn *dynamicfake.FakeDynamicClient, applied func(schema.GroupVersionResource, *unstructured.Unstructured) error) {
	dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchAction)
		if p.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(p.GetPatch()); err != nil {
			return true, nil, err
		}
		gvr, ns, tr := a.GetResource(), a.GetNamespace(), dyn.Tracker()
		if applied != nil {
			if err := applied(gvr, u); err != nil {
				return true, nil, err
			}
		}
		_, err := tr.Get(gvr, ns, p.GetName())
		switch {
		case apierrors.IsNotFound(err):
			err = tr.Create(gvr, u, ns)
		case err == nil:
			err = tr.Update(gvr, u, ns)
		}
		if err != nil {
			return true, nil, err
		}
		obj, err := tr.Get(gvr, ns, p.GetName())
		return true, obj, err
	})
}
