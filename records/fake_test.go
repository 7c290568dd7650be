package records

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/slipway-dev/slipway/internal/fakekube"
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
	dyn := fakekube.NewDynamic(map[schema.GroupVersionResource]string{
		AppResource:       "AppList",
		BuildResource:     "BuildList",
		ReleaseResource:   "ReleaseList",
		PromotionResource: "PromotionList",
	}, objs...)
	core := kubefake.NewClientset(secrets...)
	return &fakeStore{Store: &Store{Dynamic: dyn, Core: core, Rack: testRack}, dyn: dyn, core: core}
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
	return fakekube.Writes(fs.dyn.Actions(), fs.core.Actions())
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
