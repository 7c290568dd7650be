package records

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const testRack = "dev"

// fakeStore is a Store over client-go's fake clients, which record every
// action so that tests can assert what was written.
type fakeStore struct {
	*Store
	dyn  *dynamicfake.FakeDynamicClient
	core *kubefake.Clientset
}

// newFakeStore seeds the dynamic client with records (App, Build, Release
// values) and the core client with Secrets. The fake dynamic client gives
// created objects no UID, so a reactor hands out uid-1, uid-2, ... to
// releases as the API server would.
func newFakeStore(t *testing.T, recs []any, secrets ...runtime.Object) *fakeStore {
	t.Helper()
	objs := make([]runtime.Object, 0, len(recs))
	for _, r := range recs {
		u, err := toUnstructured(r)
		if err != nil {
			t.Fatalf("seed %T: %v", r, err)
		}
		objs = append(objs, u)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		AppResource:       "AppList",
		BuildResource:     "BuildList",
		ReleaseResource:   "ReleaseList",
		PromotionResource: "PromotionList",
	}, objs...)
	for _, gvr := range []schema.GroupVersionResource{AppResource, BuildResource, ReleaseResource, PromotionResource} {
		statusSubresource(dyn, gvr)
	}
	uids := 0
	dyn.PrependReactor("create", "releases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().(metav1.Object)
		uids++
		obj.SetUID(types.UID(fmt.Sprintf("uid-%d", uids)))
		return false, nil, nil // let the tracker store it
	})
	core := kubefake.NewClientset(secrets...)
	return &fakeStore{Store: &Store{Dynamic: dyn, Core: core, Rack: testRack}, dyn: dyn, core: core}
}

// statusSubresource makes the fake dynamic client treat gvr as the API
// server treats a CRD with the status subresource, which the fake does not
// model: a create drops the status, an update of the main endpoint keeps
// the stored status, and an update of the status endpoint changes the
// status alone. A store that writes a status to the wrong endpoint then
// loses it here as it would on a cluster.
func statusSubresource(dyn *dynamicfake.FakeDynamicClient, gvr schema.GroupVersionResource) {
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

func testApp(name, latest string, seq int64) *App {
	return &App{
		TypeMeta: typeMeta("App"),
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: testRack + "-" + name,
			Labels: map[string]string{LabelRack: testRack, LabelApp: name},
		},
		Status: AppStatus{Status: "running", Latest: latest, Sequence: seq},
	}
}

func testRelease(app, id, parent string, seq int64) *Release {
	return &Release{
		TypeMeta: typeMeta("Release"),
		ObjectMeta: metav1.ObjectMeta{
			Name: ObjectName(id), Namespace: testRack + "-" + app,
			Labels: map[string]string{LabelApp: app},
		},
		Spec: ReleaseSpec{ID: id, App: app, Parent: parent, Sequence: seq, Env: EnvSecretName(id), Build: "B" + id[1:]},
	}
}

func testSecret(app, release string, env map[string]string) *corev1.Secret {
	data := map[string][]byte{}
	for k, v := range env {
		data[k] = []byte(v)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: EnvSecretName(release), Namespace: testRack + "-" + app},
		Data:       data,
	}
}

// writes returns the create, update, patch and delete actions recorded by
// both clients, as "verb resource[/subresource] name" strings in order per
// client.
func (fs *fakeStore) writes() []string {
	var out []string
	for _, acts := range [][]k8stesting.Action{fs.dyn.Actions(), fs.core.Actions()} {
		for _, a := range acts {
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

func (fs *fakeStore) clearActions() {
	fs.dyn.ClearActions()
	fs.core.ClearActions()
}

func mustApp(t *testing.T, s *Store, name string) *App {
	t.Helper()
	a, err := s.GetApp(context.Background(), name)
	if err != nil {
		t.Fatalf("GetApp(%s): %v", name, err)
	}
	return a
}

func chainIDs(rs []*Release) []string {
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		ids = append(ids, r.Spec.ID)
	}
	return ids
}
