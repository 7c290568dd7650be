package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/temporalsetup"
)

// Everything `system install` applies, by resource and list kind.
var applied = map[schema.GroupVersionResource]string{
	{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}:                 "CustomResourceDefinitionList",
	{Version: "v1", Resource: "namespaces"}:                                                               "NamespaceList",
	{Version: "v1", Resource: "serviceaccounts"}:                                                          "ServiceAccountList",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}:                         "ClusterRoleList",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}:                  "ClusterRoleBindingList",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}:                         "RoleBindingList",
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}:       "ValidatingAdmissionPolicyList",
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"}: "ValidatingAdmissionPolicyBindingList",
}

func namespace(name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

// cluster is a dynamic fake that serves server-side apply as an API server
// with one field manager does (create, or replace what the manager set),
// and establishes a CRD once it is applied. It holds an app namespace of
// the rack and an unlabelled one.
func cluster(t *testing.T) *dynamicfake.FakeDynamicClient {
	t.Helper()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), applied,
		namespace(recordstest.Namespace("shop"), map[string]string{records.LabelRack: recordstest.Rack, records.LabelApp: "shop"}),
		namespace("kube-public", nil),
	)
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
		if gvr.Resource == "customresourcedefinitions" {
			cond := map[string]any{"type": "Established", "status": "True"}
			if err := unstructured.SetNestedSlice(u.Object, []any{cond}, "status", "conditions"); err != nil {
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
	return dyn
}

// inventory is every object of the kinds install applies, by
// "resource namespace/name".
func inventory(t *testing.T, dyn *dynamicfake.FakeDynamicClient) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for gvr := range applied {
		l, err := dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range l.Items {
			out[fmt.Sprintf("%s %s/%s", gvr.Resource, u.GetNamespace(), u.GetName())] = u.Object
		}
	}
	return out
}

func keys(m map[string]map[string]any) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// env is a Factory over dyn and an empty Temporal.
func env(t *testing.T, dyn *dynamicfake.FakeDynamicClient) *cmdutiltest.Env {
	e, _ := envTemporal(t, dyn)
	return e
}

// envTemporal is env and its Temporal (see fakeTemporal).
func envTemporal(t *testing.T, dyn *dynamicfake.FakeDynamicClient) (*cmdutiltest.Env, *temporal) {
	e := cmdutiltest.New(t)
	e.Factory.Store = func() (*records.Store, error) {
		return &records.Store{Dynamic: dyn, Core: e.Store.Core, Rack: recordstest.Rack}, nil
	}
	return e, fakeTemporal(t, e)
}

func TestInstallFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	type parsed struct {
		print     bool
		retention time.Duration
	}
	for args, want := range map[string]parsed{
		"":                 {false, 30 * 24 * time.Hour},
		"--print":          {true, 30 * 24 * time.Hour},
		"--retention 168h": {false, 7 * 24 * time.Hour},
	} {
		var got *InstallOptions
		cmd := NewCmdInstall(e.Factory, func(_ context.Context, o *InstallOptions) error { got = o; return nil })
		if err := e.Run(cmd, strings.Fields(args)...); err != nil {
			t.Fatalf("install %s: %v", args, err)
		}
		if (parsed{got.Print, got.Retention}) != want {
			t.Errorf("install %s: %+v, want %+v", args, parsed{got.Print, got.Retention}, want)
		}
	}
	ran := false
	never := func(context.Context, *InstallOptions) error { ran = true; return nil }
	for _, args := range [][]string{{"extra"}, {"--print=maybe"}, {"--nope"}, {"--retention", "30d"}} {
		if err := e.Run(NewCmdInstall(e.Factory, never), args...); err == nil {
			t.Errorf("install %q: no error", args)
		}
	}
	if ran {
		t.Error("install ran with a bad command line")
	}
}

// install applies the CRDs, waits until they are established, applies the
// RBAC objects and admission policies, and binds the worker in the rack's
// app namespaces only. A second run changes nothing and says the same.
func TestInstallRun(t *testing.T) {
	dyn := cluster(t)
	e := env(t, dyn)
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: temporalsetup.DefaultRetention}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "install")
	first := inventory(t, dyn)
	want := []string{
		"clusterrolebindings /dev-worker",
		"clusterroles /slipway-user", "clusterroles /slipway-worker", "clusterroles /slipway-worker-app",
		"customresourcedefinitions /apps.slipway.dev", "customresourcedefinitions /builds.slipway.dev",
		"customresourcedefinitions /promotions.slipway.dev", "customresourcedefinitions /releases.slipway.dev",
		"namespaces /dev-shop", "namespaces /dev-system", "namespaces /kube-public",
		"rolebindings dev-shop/slipway-worker",
		"serviceaccounts dev-system/slipway-worker",
		"validatingadmissionpolicies /dev-worker-namespaces", "validatingadmissionpolicies /dev-worker-rolebindings",
		"validatingadmissionpolicybindings /dev-worker-namespaces", "validatingadmissionpolicybindings /dev-worker-rolebindings",
	}
	if got := keys(first); !slices.Equal(got, want) {
		t.Errorf("after install:\n%q\nwant\n%q", got, want)
	}
	if rb := first["rolebindings dev-shop/slipway-worker"]; rb["roleRef"].(map[string]any)["name"] != "slipway-worker-app" {
		t.Errorf("the app namespace's RoleBinding %v does not grant slipway-worker-app", rb["roleRef"])
	}

	e.Out.Reset()
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: temporalsetup.DefaultRetention}); err != nil {
		t.Fatalf("second install: %v", err)
	}
	e.Golden(t, "install_again")
	if second := inventory(t, dyn); !reflect.DeepEqual(first, second) {
		t.Errorf("a second install changed the cluster:\n%q\nthen\n%q", keys(first), keys(second))
	}
	for _, a := range dyn.Actions() {
		if v := a.GetVerb(); v == "create" || v == "update" || v == "delete" {
			t.Errorf("install called %s %s: it only applies", v, a.GetResource().Resource)
		}
	}
}

// A cluster that serves no ValidatingAdmissionPolicy still gets its RBAC,
// and install says so.
func TestInstallRunWithoutAdmissionPolicies(t *testing.T) {
	dyn := cluster(t)
	dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetResource().Group != "admissionregistration.k8s.io" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewNotFound(a.GetResource().GroupResource(), "")
	})
	e := env(t, dyn)
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: temporalsetup.DefaultRetention}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "install_no_policies")
	got := inventory(t, dyn)
	for _, k := range []string{"rolebindings dev-shop/slipway-worker", "clusterrolebindings /dev-worker"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %s: the RBAC must go in without admission policies", k)
		}
	}
}

// A refused CRD stops the install there: the error is the API server's,
// and no RBAC object is applied.
func TestInstallRunRefused(t *testing.T) {
	dyn := cluster(t)
	dyn.PrependReactor("patch", "customresourcedefinitions", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(a.GetResource().GroupResource(), "apps.slipway.dev", errors.New("user cannot patch"))
	})
	e := env(t, dyn)
	err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: temporalsetup.DefaultRetention})
	if err == nil || !strings.Contains(err.Error(), "install apps.slipway.dev") || !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Fatalf("install on a forbidding cluster: %v, want the forbidden CRD", err)
	}
	if got, want := e.Out.String(), "Installing custom resources... "; got != want {
		t.Errorf("output %q, want %q (the ERROR line completes it)", got, want)
	}
	if got := keys(inventory(t, dyn)); !slices.Equal(got, []string{"namespaces /dev-shop", "namespaces /kube-public"}) {
		t.Errorf("a refused install left %q", got)
	}
}

// --print needs no cluster: it writes the manifests and calls nothing.
func TestInstallRunPrint(t *testing.T) {
	e := cmdutiltest.New(t)
	e.Factory.Store = func() (*records.Store, error) {
		t.Error("install --print reached for the cluster")
		return nil, errors.New("no cluster")
	}
	e.Factory.Temporal = func() (client.Client, error) {
		t.Error("install --print reached for Temporal")
		return nil, errors.New("no Temporal")
	}
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Print: true, Retention: temporalsetup.DefaultRetention}); err != nil {
		t.Fatal(err)
	}
	want, err := Manifests(recordstest.Rack)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.Out.Bytes(), want) {
		t.Error("install --print wrote something other than the manifests")
	}
	out := e.Out.String()
	for kind, n := range map[string]int{"CustomResourceDefinition": 4, "ClusterRole": 3, "ServiceAccount": 1, "ValidatingAdmissionPolicy": 2} {
		if got := strings.Count(out, "\nkind: "+kind+"\n"); got != n {
			t.Errorf("%d %s in the manifests, want %d", got, kind, n)
		}
	}
}
