// Package incluster builds the objects that run slipway's worker on the
// cluster it deploys to: a Secret with the worker's settings and its
// Temporal connection, a Deployment of the worker under the rack's
// ServiceAccount, a Service its metrics are scraped through and, with more
// than one replica, a PodDisruptionBudget. The builders are pure: Options
// in, typed objects out; install.go is the one file that calls the API.
//
// The objects live in the rack's system namespace (<rack>-system) next to
// the ServiceAccount the rbac package makes, so the worker runs with
// exactly the rights listed there and nothing else.
package incluster

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"go.temporal.io/sdk/contrib/envconfig"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Names of the objects and of what the pod mounts.
const (
	// Name is the Secret's and the Deployment's.
	Name = "slipway-worker"
	// MetricsService is the Service /metrics is scraped through.
	MetricsService = "slipway-worker-metrics"
	// TemporalFile is the Secret's key of the envconfig TOML profile file.
	TemporalFile = "temporal.toml"
	// TemporalDir is where the pod mounts it, read-only.
	TemporalDir = "/etc/slipway/temporal"
	// DockerFile is the Secret's key of the Docker config the worker
	// reaches registries with; the pod mounts it as config.json in
	// DockerDir, which DOCKER_CONFIG names.
	DockerFile = "docker-config.json"
	DockerDir  = "/etc/slipway/docker"
	// Port serves /healthz and /metrics (the worker's --listen).
	Port = 8080
	// StopTimeout is how long a stopping worker lets running activities
	// finish; GracePeriod leaves it time to say so and exit before the
	// kubelet's SIGKILL.
	StopTimeout = "30s"
	GracePeriod = 40
	// UID is the image's user (deploy/image/Dockerfile: USER 65532:65532).
	UID = 65532
	// DefaultReplicas run side by side, so one dying or being replaced
	// never stops a promotion.
	DefaultReplicas = 2
)

// Options are everything the objects are built from.
type Options struct {
	Rack  string
	Image string
	// Replicas of the worker; 0 builds no object at all (the workers run
	// elsewhere, as with docker-compose.yml).
	Replicas int32
	// Env are the worker's own settings by variable name (config.Env):
	// SLIPWAY_* and the codec key. They go in the Secret, never in the
	// Deployment's spec.
	Env map[string]string
	// Temporal is the connection, written as the default profile of the
	// envconfig file TEMPORAL_CONFIG_FILE names. Its TLS material must be
	// inline (…Data, not …Path): no path of the installer's machine
	// exists in the pod.
	Temporal envconfig.ClientConfigProfile
	// DockerConfig, when set, is a Docker config.json with the
	// credentials of the registries the worker pushes to and pulls from.
	DockerConfig []byte
	// Resources of the worker's container; zero means DefaultResources.
	Resources corev1.ResourceRequirements
}

// DefaultResources fit a worker that runs promotions and local builds: a
// build holds an image's layers while it pushes them. No CPU limit, so a
// build is not throttled while the node has room.
func DefaultResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("250m"),
			corev1.ResourceMemory: resource.MustParse("256Mi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse("1Gi"),
		},
	}
}

// DefaultImage is slipway's image in registry (what `make image` pushes),
// tagged with version when it is a release (vX.Y.Z), else latest.
func DefaultImage(registry, version string) string {
	tag := "latest"
	if isRelease(version) {
		tag = version
	}
	return registry + "/slipway/slipway:" + tag
}

// isRelease is true for vMAJOR.MINOR.PATCH alone: a pseudo-version, a
// pre-release or a +dirty build names no image anyone pushed.
func isRelease(v string) bool {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if !strings.HasPrefix(v, "v") || len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// Validate says what is wrong with o, as one line that says what to do.
func (o Options) Validate() error {
	if o.Replicas < 0 {
		return fmt.Errorf("--replicas %d: give the number of in-cluster workers, or 0 for none", o.Replicas)
	}
	if o.Replicas == 0 {
		return nil
	}
	if o.Rack == "" {
		return fmt.Errorf("no rack: set SLIPWAY_RACK")
	}
	if o.Image == "" {
		return fmt.Errorf("no image for the in-cluster worker: pass --image REF, or set SLIPWAY_REGISTRY for the default REGISTRY/slipway/slipway:latest (or --replicas 0 for no in-cluster worker)")
	}
	if _, err := name.ParseReference(o.Image); err != nil {
		return fmt.Errorf("--image %q is not an image reference (%v): give one such as registry.example.com/slipway/slipway:v1.2.3", o.Image, err)
	}
	if t := o.Temporal.TLS; t != nil && (t.ClientCertPath != "" || t.ClientKeyPath != "" || t.ServerCACertPath != "") {
		return fmt.Errorf("the Temporal profile names TLS files by path, which the worker's pod does not have: give their contents instead")
	}
	if len(o.DockerConfig) > 0 {
		if err := checkDockerConfig(o.DockerConfig); err != nil {
			return err
		}
	}
	for k := range o.Env {
		if k == "" || strings.ContainsAny(k, "=.") {
			return fmt.Errorf("environment variable name %q: use letters, digits and _", k)
		}
	}
	return nil
}

// checkDockerConfig refuses a Docker config the worker could not use: not
// JSON, or one that keeps its credentials in a helper program, which
// slipway's image (FROM scratch) has none of.
func checkDockerConfig(b []byte) error {
	var c struct {
		Auths       map[string]json.RawMessage `json:"auths"`
		CredsStore  string                     `json:"credsStore"`
		CredHelpers map[string]string          `json:"credHelpers"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("--docker-config is not a Docker config.json (%v): give one with the registries' credentials under \"auths\"", err)
	}
	if c.CredsStore != "" || len(c.CredHelpers) > 0 {
		return fmt.Errorf("--docker-config keeps its credentials in a helper program (credsStore, credHelpers), which the worker's image has none of: give a config.json with them under \"auths\"")
	}
	if len(c.Auths) == 0 {
		return fmt.Errorf("--docker-config holds no credentials: give a config.json with the registries' under \"auths\"")
	}
	return nil
}
