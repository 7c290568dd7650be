package incluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"go.temporal.io/sdk/contrib/envconfig"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
)

// TemporalTOML is the envconfig file of the worker's connection: o.Temporal
// as the default profile. A remote codec is left out: the worker encrypts
// with its own key, and a remote one would be called on every replay.
func TemporalTOML(o Options) ([]byte, error) {
	prof := o.Temporal
	prof.Codec = nil
	b, err := (&envconfig.ClientConfig{Profiles: map[string]*envconfig.ClientConfigProfile{
		envconfig.DefaultConfigFileProfile: &prof,
	}}).ToTOML(envconfig.ClientConfigToTOMLOptions{})
	if err != nil {
		return nil, fmt.Errorf("temporal profile: %w", err)
	}
	return b, nil
}

// Secret holds what the worker is told and must not show in its pod's
// spec: its settings (the codec key among them), one key per variable,
// the Temporal profile file (TLS key, API key) and, when given, the
// registries' credentials.
func Secret(o Options) (*corev1.Secret, error) {
	toml, err := TemporalTOML(o)
	if err != nil {
		return nil, err
	}
	data := map[string][]byte{TemporalFile: toml}
	if len(o.DockerConfig) > 0 {
		data[DockerFile] = o.DockerConfig
	}
	for k, v := range o.Env {
		data[k] = []byte(v)
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: model.SystemNamespace(o.Rack), Labels: labels(o.Rack)},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, nil
}

// envKeys are the Secret's variables, sorted, so the pod's env is always
// written in the same order.
func envKeys(o Options) []string {
	keys := make([]string, 0, len(o.Env))
	for k := range o.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checksum stands for the Secret's content on the pod template: a pod
// reads its env only when it starts, so a changed setting must replace
// the pods, and an unchanged one must not.
func checksum(s *corev1.Secret) string {
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(s.Data[k]))
		h.Write(s.Data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}
