package incluster

import (
	"context"
	"github.com/slipway-dev/slipway/internal/fakekube"
	"reflect"
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

var listKinds = map[string]string{}

func init() {
	for kind := range resources {
		listKinds[kind] = kind + "List"
	}
}

// cluster is a dynamic fake that serves server-side apply as an API
// server with one field manager does: create, or replace what it set.
func cluster(t *testing.T, objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	t.Helper()
	lists := map[schema.GroupVersionResource]string{}
	for kind, gvr := range resources {
		lists[gvr] = listKinds[kind]
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
	fakekube.ServerSideApply(dyn, nil)
	return dyn
}

// inventory is every object of the kinds Install applies, by
// "kind namespace/name".
func inventory(t *testing.T, dyn *dynamicfake.FakeDynamicClient) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for kind, gvr := range resources {
		l, err := dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range l.Items {
			out[kind+" "+u.GetNamespace()+"/"+u.GetName()] = u.Object
		}
	}
	return out
}

func names(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Install applies the objects, and again changes nothing; only applies
// are sent.
func TestInstall(t *testing.T) {
	dyn := cluster(t)
	ctx := context.Background()
	if err := Install(ctx, dyn, options()); err != nil {
		t.Fatal(err)
	}
	first := inventory(t, dyn)
	want := []string{"Deployment prod-system/slipway-worker", "PodDisruptionBudget prod-system/slipway-worker", "Secret prod-system/slipway-worker", "Service prod-system/slipway-worker-metrics"}
	if got := names(first); !reflect.DeepEqual(got, want) {
		t.Fatalf("installed %q, want %q", got, want)
	}
	if err := Install(ctx, dyn, options()); err != nil {
		t.Fatal(err)
	}
	if second := inventory(t, dyn); !reflect.DeepEqual(first, second) {
		t.Error("a second install with the same options changed the objects")
	}
	for _, a := range dyn.Actions() {
		if v := a.GetVerb(); v != "patch" && v != "list" {
			t.Errorf("install called %s %s: it only applies", v, a.GetResource().Resource)
		}
	}
}

// Going down to one replica removes the budget install made, which would
// block every node drain; a budget of that name that is not slipway's is
// left alone. No replicas touch nothing.
func TestInstallOneReplica(t *testing.T) {
	ctx := context.Background()
	dyn := cluster(t)
	if err := Install(ctx, dyn, options()); err != nil {
		t.Fatal(err)
	}
	o := options()
	o.Replicas = 1
	if err := Install(ctx, dyn, o); err != nil {
		t.Fatal(err)
	}
	if got := names(inventory(t, dyn)); !reflect.DeepEqual(got, []string{"Deployment prod-system/slipway-worker", "Secret prod-system/slipway-worker", "Service prod-system/slipway-worker-metrics"}) {
		t.Errorf("after going to one replica: %q", got)
	}
	if err := Install(ctx, dyn, o); err != nil {
		t.Fatalf("one replica again (no budget to remove): %v", err)
	}

	foreign := &unstructured.Unstructured{}
	foreign.SetAPIVersion("policy/v1")
	foreign.SetKind("PodDisruptionBudget")
	foreign.SetNamespace("prod-system")
	foreign.SetName(Name)
	foreign.SetLabels(map[string]string{"team": "ops"})
	dyn = cluster(t, foreign)
	if err := Install(ctx, dyn, o); err != nil {
		t.Fatal(err)
	}
	if _, ok := inventory(t, dyn)["PodDisruptionBudget prod-system/slipway-worker"]; !ok {
		t.Error("install removed a PodDisruptionBudget it did not make")
	}

	dyn = cluster(t)
	o.Replicas = 0
	if err := Install(ctx, dyn, o); err != nil {
		t.Fatal(err)
	}
	if a := dyn.Actions(); len(a) != 0 {
		t.Errorf("no replicas, yet install called %v", a)
	}
}
