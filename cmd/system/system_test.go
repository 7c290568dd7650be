package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/slipway-dev/slipway/internal/fakekube"
	"os"
	"path/filepath"
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
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/incluster"
	"github.com/slipway-dev/slipway/internal/golden"
	"github.com/slipway-dev/slipway/rbac"
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
	{Version: "v1", Resource: "secrets"}:                                                                  "SecretList",
	{Version: "v1", Resource: "services"}:                                                                 "ServiceList",
	{Group: "apps", Version: "v1", Resource: "deployments"}:                                               "DeploymentList",
	{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}:                                    "PodDisruptionBudgetList",
}

// quietEnv unsets the variables install reads of its environment (the
// SLIPWAY_* settings, the codec key, Temporal's envconfig) for the test,
// and points envconfig at a file that does not exist, so no setting of
// the machine's leaks into the test.
func quietEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TEMPORAL_") || strings.HasPrefix(k, "SLIPWAY_") {
			t.Setenv(k, "") // restores it after the test
			os.Unsetenv(k)
		}
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
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
	fakekube.ServerSideApply(dyn, func(gvr schema.GroupVersionResource, u *unstructured.Unstructured) error {
		if gvr.Resource != "customresourcedefinitions" {
			return nil
		}
		cond := map[string]any{"type": "Established", "status": "True"}
		return unstructured.SetNestedSlice(u.Object, []any{cond}, "status", "conditions")
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
	quietEnv(t)
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
		image     string
		replicas  int32
		docker    string
	}
	month := 30 * 24 * time.Hour
	for args, want := range map[string]parsed{
		"":                      {false, month, "", 2, ""},
		"--print":               {true, month, "", 2, ""},
		"--retention 168h":      {false, 7 * 24 * time.Hour, "", 2, ""},
		"--replicas 0":          {false, month, "", 0, ""},
		"--image r/s:1 --print": {true, month, "r/s:1", 2, ""},
		"--replicas 3 --image registry.example.com/slipway/slipway:v1": {false, month, "registry.example.com/slipway/slipway:v1", 3, ""},
		"--docker-config /home/me/.docker/config.json":                 {false, month, "", 2, "/home/me/.docker/config.json"},
	} {
		var got *InstallOptions
		cmd := NewCmdInstall(e.Factory, func(_ context.Context, o *InstallOptions) error { got = o; return nil })
		if err := e.Run(cmd, strings.Fields(args)...); err != nil {
			t.Fatalf("install %s: %v", args, err)
		}
		if p := (parsed{got.Print, got.Retention, got.Image, got.Replicas, got.DockerConfig}); p != want {
			t.Errorf("install %s: %+v, want %+v", args, p, want)
		}
	}
	ran := false
	never := func(context.Context, *InstallOptions) error { ran = true; return nil }
	for _, args := range [][]string{{"extra"}, {"--print=maybe"}, {"--nope"}, {"--retention", "30d"}, {"--replicas", "two"}, {"--replicas", "1.5"}} {
		if err := e.Run(NewCmdInstall(e.Factory, never), args...); err == nil {
			t.Errorf("install %q: no error", args)
		}
	}
	if ran {
		t.Error("install ran with a bad command line")
	}
}

// Bad worker settings are refused before anything is applied, with one
// line that says what to do.
func TestInstallRunBadWorker(t *testing.T) {
	helperConfig := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(helperConfig, []byte(`{"credsStore":"desktop"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		opts InstallOptions
		prep func(*cmdutiltest.Env)
		want string
	}{
		"negative replicas":           {InstallOptions{Replicas: -1}, nil, "--replicas -1: give the number of in-cluster workers, or 0 for none"},
		"bad image":                   {InstallOptions{Replicas: 2, Image: "not an image"}, nil, `--image "not an image" is not an image reference`},
		"no registry":                 {InstallOptions{Replicas: 2}, func(e *cmdutiltest.Env) { e.Settings.Registry = "" }, "no image for the in-cluster worker: pass --image REF, or set SLIPWAY_REGISTRY"},
		"missing docker config":       {InstallOptions{Replicas: 2, DockerConfig: "/nonexistent/config.json"}, nil, "--docker-config: open /nonexistent/config.json: no such file or directory: give the config.json"},
		"docker config with a helper": {InstallOptions{Replicas: 2, DockerConfig: helperConfig}, nil, "--docker-config keeps its credentials in a helper program"},
		"missing TLS file": {InstallOptions{Replicas: 2}, func(*cmdutiltest.Env) {
			t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", "/nonexistent/client.pem")
			t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", "/nonexistent/client.key")
		}, "Temporal TLS client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH, client_cert_path): open /nonexistent/client.pem"},
	} {
		t.Run(name, func(t *testing.T) {
			dyn := cluster(t)
			e, tmp := envTemporal(t, dyn)
			if c.prep != nil {
				c.prep(e)
			}
			c.opts.Factory, c.opts.Retention = e.Factory, temporalsetup.DefaultRetention
			for _, print := range []bool{false, true} {
				c.opts.Print = print
				err := installRun(context.Background(), &c.opts)
				if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("print=%v: %v, want one line starting %q", print, err, c.want)
				}
			}
			if e.Out.Len() != 0 || len(tmp.calls) != 0 {
				t.Errorf("a refused install printed %q and called Temporal %q", e.Out.String(), tmp.calls)
			}
			if got := keys(inventory(t, dyn)); !slices.Equal(got, []string{"namespaces /dev-shop", "namespaces /kube-public"}) {
				t.Errorf("a refused install left %q", got)
			}
		})
	}
}

// What the in-cluster workers are told: the installer's resolved rack,
// registries, blob store and codec key, the worker settings its
// environment sets (not the defaults, not KUBECONFIG), and its Temporal
// profile with the TLS files read in.
func TestWorkerOptions(t *testing.T) {
	quietEnv(t)
	dir := t.TempDir()
	for name, body := range map[string]string{"client.pem": "CERT", "client.key": "KEY", "ca.pem": "CA"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	toml := filepath.Join(dir, "temporal.toml")
	profile := "[profile.prod]\naddress = \"ignored:7233\"\napi_key = \"api-key-1\"\n[profile.prod.tls]\nclient_cert_path = \"" + filepath.Join(dir, "client.pem") +
		"\"\nclient_key_path = \"" + filepath.Join(dir, "client.key") + "\"\nserver_name = \"temporal.internal\"\n"
	if err := os.WriteFile(toml, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", toml)
	t.Setenv("TEMPORAL_PROFILE", "prod")
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", filepath.Join(dir, "ca.pem"))
	t.Setenv("SLIPWAY_CODEC_KEY", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, k2:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
	t.Setenv("SLIPWAY_BUILDER", "kubernetes")
	t.Setenv("SLIPWAY_SOURCE_MAX_ENTRIES", "5000")
	t.Setenv("KUBECONFIG", "/home/me/.kube/config")
	s := &config.Settings{
		Rack: "prod", Registry: "registry.example.com", BlobURL: "oci://registry.example.com/slipway/blobs",
		InsecureRegistries: []string{"a:5000", "b:5000"}, Builder: "kubernetes", JobImage: "kaniko:default", Kubeconfig: "/home/me/.kube/config",
		Temporal: client.Options{HostPort: "temporal.example.com:7233", Namespace: "slipway"},
	}
	o, err := workerOptions(s, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := map[string]string{
		"SLIPWAY_RACK": "prod", "SLIPWAY_REGISTRY": "registry.example.com", "SLIPWAY_BLOB_URL": "oci://registry.example.com/slipway/blobs",
		"SLIPWAY_INSECURE_REGISTRIES": "a:5000,b:5000", "SLIPWAY_BUILDER": "kubernetes", "SLIPWAY_SOURCE_MAX_ENTRIES": "5000",
		"SLIPWAY_CODEC_KEY": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,k2:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
	}
	if !reflect.DeepEqual(o.Env, wantEnv) {
		t.Errorf("env %v\nwant %v", o.Env, wantEnv)
	}
	if o.Image != "registry.example.com/slipway/slipway:latest" || o.Replicas != 3 || o.Rack != "prod" {
		t.Errorf("image %q, replicas %d, rack %q", o.Image, o.Replicas, o.Rack)
	}
	p := o.Temporal
	if p.Address != "temporal.example.com:7233" || p.Namespace != "slipway" || p.APIKey != "api-key-1" || p.TLS == nil {
		t.Fatalf("profile %+v: want the resolved address and namespace, the file's API key and TLS", p)
	}
	tls := *p.TLS
	if string(tls.ClientCertData) != "CERT" || string(tls.ClientKeyData) != "KEY" || string(tls.ServerCACertData) != "CA" ||
		tls.ClientCertPath != "" || tls.ClientKeyPath != "" || tls.ServerCACertPath != "" || tls.ServerName != "temporal.internal" {
		t.Errorf("TLS %+v: want every file read in and no path left", tls)
	}

	o, err = workerOptions(s, "mine/slipway:2", 0)
	if objs, oerr := incluster.Objects(o); err != nil || oerr != nil || len(objs) != 0 {
		t.Errorf("no replicas: %v", err)
	}
}

// install applies the CRDs, waits until they are established, applies the
// RBAC objects and admission policies, and binds the worker in the rack's
// app namespaces only. A second run changes nothing and says the same.
func TestInstallRun(t *testing.T) {
	dyn := cluster(t)
	e := env(t, dyn)
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: temporalsetup.DefaultRetention, Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "install")
	golden.Assert(t, "install_warnings.golden", e.ErrOut.Bytes())
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
		"deployments dev-system/slipway-worker", "poddisruptionbudgets dev-system/slipway-worker",
		"secrets dev-system/slipway-worker", "services dev-system/slipway-worker-metrics",
	}
	sort.Strings(want)
	if got := keys(first); !slices.Equal(got, want) {
		t.Errorf("after install:\n%q\nwant\n%q", got, want)
	}
	if rb := first["rolebindings dev-shop/slipway-worker"]; rb["roleRef"].(map[string]any)["name"] != "slipway-worker-app" {
		t.Errorf("the app namespace's RoleBinding %v does not grant slipway-worker-app", rb["roleRef"])
	}

	e.Out.Reset()
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: temporalsetup.DefaultRetention, Replicas: 2}); err != nil {
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

// --print needs no cluster: it writes the manifests, the worker's
// included, calls nothing, and warns on stderr that they hold credentials.
func TestInstallRunPrint(t *testing.T) {
	quietEnv(t)
	t.Setenv("SLIPWAY_CODEC_KEY", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	e := cmdutiltest.New(t)
	e.Settings.Temporal.HostPort = "temporal.example.com:7233"
	e.Settings.BlobURL = "oci://registry.test:5000/slipway/blobs"
	e.Factory.Store = func() (*records.Store, error) {
		t.Error("install --print reached for the cluster")
		return nil, errors.New("no cluster")
	}
	e.Factory.Temporal = func() (client.Client, error) {
		t.Error("install --print reached for Temporal")
		return nil, errors.New("no Temporal")
	}
	docker := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(docker, []byte(`{"auths":{"registry.test:5000":{"auth":"dTpw"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Print: true, Retention: temporalsetup.DefaultRetention, Replicas: 2, DockerConfig: docker}); err != nil {
		t.Fatal(err)
	}
	worker, err := workerOptions(e.Settings, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	worker.DockerConfig = []byte(`{"auths":{"registry.test:5000":{"auth":"dTpw"}}}`)
	want, err := Manifests(recordstest.Rack, worker)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.Out.Bytes(), want) {
		t.Error("install --print wrote something other than the manifests")
	}
	out := e.Out.String()
	for kind, n := range map[string]int{"CustomResourceDefinition": 4, "ClusterRole": 3, "ServiceAccount": 1, "ValidatingAdmissionPolicy": 2,
		"Secret": 1, "Deployment": 1, "Service": 1, "PodDisruptionBudget": 1} {
		if got := strings.Count(out, "\nkind: "+kind+"\n"); got != n {
			t.Errorf("%d %s in the manifests, want %d", got, kind, n)
		}
	}
	if got, want := e.ErrOut.String(), "WARNING: the Secret dev-system/slipway-worker printed holds credentials (the codec key, Temporal's TLS key or API key): keep it out of version control in the clear\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}

	// No replicas: the CRDs and RBAC alone, and nothing to warn of.
	e.Out.Reset()
	e.ErrOut.Reset()
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Print: true, Retention: temporalsetup.DefaultRetention}); err != nil {
		t.Fatal(err)
	}
	crds, err := records.CRDManifests()
	if err != nil {
		t.Fatal(err)
	}
	roles, err := rbac.Manifests(recordstest.Rack)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.Out.Bytes(), append(crds, roles...)) || e.ErrOut.Len() != 0 {
		t.Errorf("--replicas 0 --print wrote more than the CRDs and RBAC, or warned %q", e.ErrOut.String())
	}
}
