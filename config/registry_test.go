package config

import (
	"path/filepath"
	"slices"
	"testing"
)

// Plain HTTP is for the registries named insecure, and the local stack
// names its own; the allowlist is empty (no check) unless set.
func TestResolveRegistryPolicy(t *testing.T) {
	home := t.TempDir()
	t.Setenv("SLIPWAY_HOME", home)
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(home, "none.toml"))
	t.Setenv("SLIPWAY_INSECURE_REGISTRIES", "")
	t.Setenv("SLIPWAY_REGISTRY_ALLOW", "")
	s, err := Resolve(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.InsecureRegistries) != 0 || len(s.RegistryAllow) != 0 {
		t.Fatalf("with no stack and no settings: insecure %v, allow %v", s.InsecureRegistries, s.RegistryAllow)
	}
	if err := (&Stack{Registry: "127.0.0.1:5000"}).Save(home); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLIPWAY_INSECURE_REGISTRIES", "registry.internal:5000, ,10.0.0.5:5000")
	t.Setenv("SLIPWAY_REGISTRY_ALLOW", "ghcr.io,127.0.0.1:5000")
	if s, err = Resolve(Overrides{}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"registry.internal:5000", "10.0.0.5:5000", "127.0.0.1:5000"}; !slices.Equal(s.InsecureRegistries, want) {
		t.Fatalf("insecure %q, want %q", s.InsecureRegistries, want)
	}
	if want := []string{"ghcr.io", "127.0.0.1:5000"}; !slices.Equal(s.RegistryAllow, want) {
		t.Fatalf("allow %q, want %q", s.RegistryAllow, want)
	}
}
