package config

import (
	"path/filepath"
	"testing"
)

// The local stack's settings are the defaults; environment and Temporal
// profiles win over them, and flags win over everything.
func TestResolvePrecedence(t *testing.T) {
	home := t.TempDir()
	t.Setenv("SLIPWAY_HOME", home)
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(home, "none.toml"))
	for _, k := range []string{"KUBECONFIG", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE", "SLIPWAY_REGISTRY", "SLIPWAY_BLOB_URL", "SLIPWAY_RACK"} {
		t.Setenv(k, "")
	}
	stack := &Stack{TemporalAddress: "127.0.0.1:7233", Kubeconfig: "/stack/kubeconfig", Registry: "127.0.0.1:5000", BlobURL: "file:///stack/blobs"}
	if err := stack.Save(home); err != nil {
		t.Fatal(err)
	}

	s, err := Resolve(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Temporal.HostPort != "127.0.0.1:7233" || s.Temporal.Namespace != "default" || s.Kubeconfig != "/stack/kubeconfig" ||
		s.Registry != "127.0.0.1:5000" || s.BlobURL != "file:///stack/blobs" || s.Rack != DefaultRack {
		t.Fatalf("defaults from the local stack: %+v", s)
	}

	t.Setenv("TEMPORAL_ADDRESS", "temporal.prod:7233")
	t.Setenv("KUBECONFIG", "/env/kubeconfig")
	t.Setenv("SLIPWAY_REGISTRY", "registry.prod")
	if s, err = Resolve(Overrides{}); err != nil {
		t.Fatal(err)
	}
	if s.Temporal.HostPort != "temporal.prod:7233" || s.Kubeconfig != "/env/kubeconfig" || s.Registry != "registry.prod" {
		t.Fatalf("environment must win over the local stack: %+v", s)
	}

	if s, err = Resolve(Overrides{TemporalAddress: "flag:7233", Kubeconfig: "/flag/kubeconfig", Namespace: "prod"}); err != nil {
		t.Fatal(err)
	}
	if s.Temporal.HostPort != "flag:7233" || s.Kubeconfig != "/flag/kubeconfig" || s.Temporal.Namespace != "prod" {
		t.Fatalf("flags must win over everything: %+v", s)
	}
}

func TestNoLocalStack(t *testing.T) {
	home := t.TempDir()
	st, err := LoadStack(home)
	if err != nil || st != nil {
		t.Fatalf("LoadStack of an empty home = %v, %v; want nil, nil", st, err)
	}
}
