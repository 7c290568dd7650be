package rbac

import (
	"github.com/slipway-dev/slipway/internal/kubeobj"
)

// Manifests returns Objects(rack) and AdmissionPolicies(rack) as YAML
// documents, for `kubectl apply -f -`.
func Manifests(rack string) ([]byte, error) {
	return kubeobj.YAML(append(Objects(rack), AdmissionPolicies(rack)...))
}
