package prod

import (
	"slices"
	"strings"
	"testing"
)

// A CLI or worker of the topology sees none of this machine's slipway,
// Temporal or Kubernetes settings, only its own home and what it is told.
func TestIsolatedEnvironment(t *testing.T) {
	for k, v := range map[string]string{
		"SLIPWAY_HOME": "/shared", "SLIPWAY_BLOB_URL": "file:///shared", "TEMPORAL_ADDRESS": "elsewhere:7233",
		"TEMPORAL_PROFILE": "prod", "KUBECONFIG": "/shared/kubeconfig", "XDG_CONFIG_HOME": "/shared/config",
		"DOCKER_CONFIG": "/shared/docker", "HOME": "/root", "PROD_KEEP": "kept",
	} {
		t.Setenv(k, v)
	}
	env := isolated("/own", "TEMPORAL_ADDRESS=rack:7233")
	for _, kv := range env {
		if strings.Contains(kv, "/shared") || kv == "HOME=/root" || kv == "TEMPORAL_PROFILE=prod" || kv == "TEMPORAL_ADDRESS=elsewhere:7233" {
			t.Errorf("the environment keeps %s", kv)
		}
	}
	for _, want := range []string{"HOME=/own", "SLIPWAY_HOME=/own", "TEMPORAL_ADDRESS=rack:7233", "PROD_KEEP=kept"} {
		if !slices.Contains(env, want) {
			t.Errorf("the environment lacks %s", want)
		}
	}
}

// Temporal's member ports fit its schema's smallint and stay clear of
// the kernel's and kwokctl's ranges.
func TestLowPorts(t *testing.T) {
	ports, err := lowPorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < 20000 || p > 29999 || seen[p] {
			t.Errorf("port %d: want distinct ports in 20000-29999 (%v)", p, ports)
		}
		seen[p] = true
	}
	if len(ports) != 8 {
		t.Errorf("%d ports, want 8", len(ports))
	}
}
