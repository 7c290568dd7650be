package records

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

func crdObject(name string, established bool) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": name},
	}}
	if established {
		u.Object["status"] = map[string]any{"conditions": []any{
			map[string]any{"type": "NamesAccepted", "status": "True"},
			map[string]any{"type": "Established", "status": "True"},
		}}
	}
	return u
}

func crdClient(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{crdResource: "CustomResourceDefinitionList"}, objs...)
}

// waitEstablished waits through a CRD that is not there yet and one not yet
// established, and returns once it is.
func TestWaitEstablished(t *testing.T) {
	dyn := crdClient()
	gets := 0
	dyn.PrependReactor("get", "customresourcedefinitions", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets++
		switch gets {
		case 1:
			return false, nil, nil // the tracker has none: NotFound
		case 2:
			return true, crdObject("apps.slipway.dev", false), nil
		}
		return true, crdObject("apps.slipway.dev", true), nil
	})
	if err := waitEstablished(context.Background(), dyn, "apps.slipway.dev"); err != nil {
		t.Fatal(err)
	}
	if gets != 3 {
		t.Errorf("%d reads, want 3 (missing, not established, established)", gets)
	}
}

// A CRD that never becomes established is an error naming it, once the
// caller's deadline passes.
func TestWaitEstablishedGivesUp(t *testing.T) {
	dyn := crdClient(crdObject("apps.slipway.dev", false))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := waitEstablished(ctx, dyn, "apps.slipway.dev")
	if err == nil || !strings.Contains(err.Error(), "CRD apps.slipway.dev is not established") {
		t.Fatalf("err = %v, want the CRD named as not established", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s, want the caller's deadline", d)
	}
}

// InstallCRDs applies every embedded CRD, each with its status
// subresource, and waits for each.
func TestInstallCRDs(t *testing.T) {
	dyn := crdClient()
	dyn.PrependReactor("get", "customresourcedefinitions", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, crdObject(a.(k8stesting.GetAction).GetName(), true), nil
	})
	// The fake does not create on apply: answer with what was applied.
	dyn.PrependReactor("patch", "customresourcedefinitions", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := &unstructured.Unstructured{}
		return true, u, u.UnmarshalJSON(a.(k8stesting.PatchAction).GetPatch())
	})
	if err := InstallCRDs(context.Background(), dyn); err != nil {
		t.Fatal(err)
	}
	var applied, waited []string
	for _, a := range dyn.Actions() {
		switch a := a.(type) {
		case k8stesting.PatchAction:
			applied = append(applied, a.GetName())
			if !strings.Contains(string(a.GetPatch()), `"subresources":{"status":{}}`) {
				t.Errorf("%s applied without the status subresource", a.GetName())
			}
		case k8stesting.GetAction:
			waited = append(waited, a.GetName())
		}
	}
	want := []string{"apps.slipway.dev", "builds.slipway.dev", "promotions.slipway.dev", "releases.slipway.dev"}
	if strings.Join(applied, " ") != strings.Join(want, " ") || strings.Join(waited, " ") != strings.Join(want, " ") {
		t.Errorf("applied %q and waited for %q, want %q for both", applied, waited, want)
	}
}
