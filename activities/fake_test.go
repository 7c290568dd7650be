package activities

import (
	"encoding/json"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/records"
)

const (
	testRack = "r"
	testApp  = "myapp"
	testNS   = testRack + "-" + testApp
)

// fakeStore is a Store over client-go's fake clients, which record every
// action so that tests can assert what was written.
type fakeStore struct {
	*records.Store
	dyn  *dynamicfake.FakeDynamicClient
	core *kubefake.Clientset
}

// newFakeStore seeds the dynamic client with records (App, Build,
// Release, Promotion values) and the core client with Kubernetes objects.
func newFakeStore(t *testing.T, recs []any, objs ...runtime.Object) *fakeStore {
	t.Helper()
	var seeds []runtime.Object
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("seed %T: %v", r, err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			t.Fatalf("seed %T: %v", r, err)
		}
		seeds = append(seeds, u)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		records.AppResource:       "AppList",
		records.BuildResource:     "BuildList",
		records.ReleaseResource:   "ReleaseList",
		records.PromotionResource: "PromotionList",
	}, seeds...)
	core := kubefake.NewClientset(objs...)
	return &fakeStore{Store: &records.Store{Core: core, Dynamic: dyn, Rack: testRack}, dyn: dyn, core: core}
}

// coreWrites returns the create, update, patch and delete actions of the
// core client as "verb resource name" strings, in order.
func (fs *fakeStore) coreWrites() []string {
	var out []string
	for _, a := range fs.core.Actions() {
		var name string
		switch a := a.(type) {
		case k8stesting.CreateAction: // updates have an object too
			name = a.GetObject().(interface{ GetName() string }).GetName()
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
	return out
}

// patches returns the core client's patch actions.
func (fs *fakeStore) patches() []k8stesting.PatchActionImpl {
	var out []k8stesting.PatchActionImpl
	for _, a := range fs.core.Actions() {
		if p, ok := a.(k8stesting.PatchActionImpl); ok {
			out = append(out, p)
		}
	}
	return out
}
