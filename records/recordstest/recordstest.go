// Package recordstest gives tests a records.Store over client-go's fake
// clients, seeded with records and core objects, that records every call
// so tests can assert what was read and written. It is for tests only.
package recordstest

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/records"
)

// Rack is the rack of every fake store.
const Rack = "dev"

// Fake is a Store whose clients are client-go's fakes.
type Fake struct {
	*records.Store
	Dyn  *dynamicfake.FakeDynamicClient
	Core *kubefake.Clientset
}

// NewStore seeds the dynamic client with the records among objs (App,
// Build, Release, Promotion) and the core client with the rest (Secrets,
// Namespaces, Events...). The fake dynamic client gives created objects no
// UID, so a reactor hands them out as the API server would.
func NewStore(t testing.TB, objs ...any) *Fake {
	t.Helper()
	var recs, core []runtime.Object
	for _, o := range objs {
		switch o := o.(type) {
		case *records.App, *records.Build, *records.Release, *records.Promotion:
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
			if err != nil {
				t.Fatalf("seed %T: %v", o, err)
			}
			recs = append(recs, &unstructured.Unstructured{Object: m})
		case runtime.Object:
			core = append(core, o)
		default:
			t.Fatalf("seed %T: not a record or a Kubernetes object", o)
		}
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		records.AppResource:       "AppList",
		records.BuildResource:     "BuildList",
		records.ReleaseResource:   "ReleaseList",
		records.PromotionResource: "PromotionList",
	}, recs...)
	uids := 0
	dyn.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().(metav1.Object)
		uids++
		obj.SetUID(types.UID(fmt.Sprintf("uid-%d", uids)))
		return false, nil, nil // let the tracker store it
	})
	kc := kubefake.NewClientset(core...)
	return &Fake{Store: &records.Store{Dynamic: dyn, Core: kc, Rack: Rack}, Dyn: dyn, Core: kc}
}

// Writes are the create, update, patch and delete calls made through both
// clients, as "verb resource name", in order per client (records first).
func (f *Fake) Writes() []string {
	var out []string
	for _, acts := range [][]k8stesting.Action{f.Dyn.Actions(), f.Core.Actions()} {
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
				out = append(out, fmt.Sprintf("%s %s %s", v, a.GetResource().Resource, name))
			}
		}
	}
	return out
}

// TypeMeta is a record kind's apiVersion and kind.
func TypeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: records.Group + "/" + records.Version, Kind: kind}
}

// Namespace is the namespace of app in the fake store's rack.
func Namespace(app string) string { return Rack + "-" + app }

// App is an app record as `apps create` leaves it: labelled for the rack,
// in its namespace, running.
func App(name string) *records.App {
	return &records.App{
		TypeMeta: TypeMeta("App"),
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: Namespace(name),
			Labels: map[string]string{records.LabelRack: Rack, records.LabelApp: name},
		},
		Status: records.AppStatus{Status: "running"},
	}
}
