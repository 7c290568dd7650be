// Package recordstest gives tests a records.Store over client-go's fake
// clients, seeded with records and core objects, that records every call
// so tests can assert what was read and written. It is for tests only.
package recordstest

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/slipway-dev/slipway/internal/fakekube"
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
// Namespaces, Events...). Records behave as on a cluster: created ones get
// a UID, and their status is written only through its own endpoint.
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
	dyn := fakekube.NewDynamic(map[schema.GroupVersionResource]string{
		records.AppResource:       "AppList",
		records.BuildResource:     "BuildList",
		records.ReleaseResource:   "ReleaseList",
		records.PromotionResource: "PromotionList",
	}, recs...)
	kc := kubefake.NewClientset(core...)
	return &Fake{Store: &records.Store{Dynamic: dyn, Core: kc, Rack: Rack}, Dyn: dyn, Core: kc}
}

// Writes are the create, update, patch and delete calls made through both
// clients, as "verb resource name", in order per client (records first).
func (f *Fake) Writes() []string {
	return fakekube.Writes(f.Dyn.Actions(), f.Core.Actions())
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
