package activities

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/internal/fakekube"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
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
	f := recordstest.NewStore(t, append(recs, toAny(objs)...)...)
	f.Store.Rack = testRack
	return &fakeStore{Store: f.Store, dyn: f.Dyn, core: f.Core}
}

func toAny(objs []runtime.Object) []any {
	out := make([]any, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}

// coreWrites returns the create, update, patch and delete actions of the
// core client as "verb resource name" strings, in order.
func (fs *fakeStore) coreWrites() []string { return fakekube.Writes(fs.core.Actions()) }

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
